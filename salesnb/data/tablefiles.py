"""The table files of a data folder: which file holds each table, and reading one as raw text.

A CSV is read as text only (every column ``VARCHAR``): typing and checking belong to the
validator, which names the rows a value cannot be read in. What makes a file unusable before
any row is read (empty, another delimiter, a repeated header name, mixed line endings, a row
with too many fields) is said here, in words, instead of DuckDB's sniffer message.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import ibis.expr.types as ir

from salesnb.data.model import FILE_SUFFIXES, TABLE_NAMES
from salesnb.errors import UnreadableTableError


def find_table_files(folder: Path) -> dict[str, Path]:
    """The file for each canonical table in ``folder`` (Parquet preferred over CSV).

    A table's name that is there but is not a readable file (a folder named
    ``opportunities.csv``, a broken or looping symbolic link) is an error, never "absent":
    a run without the table would succeed with wrong numbers.
    """
    found = {}
    for name in TABLE_NAMES:
        for suffix in FILE_SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.is_file():
                found[name] = path
                break
            if os.path.lexists(path):
                raise UnreadableTableError(f"{name}: {path} {_not_a_file(path)}, so the {name} table cannot be "
                                           f"read. Replace it with the {name}{suffix} file, or remove it.")
    return found


def _not_a_file(path: Path) -> str:
    if path.is_dir():
        return "is a folder, not a file"
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as error:
            if error.errno == errno.ELOOP:
                return "is a symbolic link that loops back on itself"
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
    return "is not a regular file"



def read_raw(connection, name: str, path: Path) -> ir.Table:
    import duckdb

    if path.suffix == ".csv":
        problem = _csv_layout_problem(path)
        if problem:
            raise UnreadableTableError(f"{name}: the file {path} {problem}")
    try:
        if path.suffix == ".csv":
            # Everything as text: the validator reports unreadable values instead of DuckDB
            # guessing a type from the first rows and failing on a later one. Loaded into a
            # table once: as a view, every validation query would parse the file again.
            # The canonical CSV is comma-separated: stating it keeps one bad row from making the
            # sniffer guess another layout (and report every column missing).
            text = connection.read_csv(path, table_name=f"csv_{name}", all_varchar=True, header=True,
                                       delim=",", quote='"', escape='"')
            if text.columns != tuple(_csv_header(path)):
                # The sniffer skipped lines to find a consistent layout: some row is malformed.
                raise duckdb.InvalidInputException("the columns found do not match the header line")
            return connection.create_table(f"raw_{name}", text)
        return connection.read_parquet(path, table_name=f"raw_{name}")
    except duckdb.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if path.suffix == ".csv":
            first_line = _mixed_line_endings(path) or _csv_row_problem(path) or first_line
        raise UnreadableTableError(
            f"{name}: the file {path} cannot be read as a {path.suffix[1:].upper()} table ({first_line}). "
            "A canonical CSV is UTF-8, comma-separated, with one header row and one line ending style; "
            "for an export as it comes from a CRM or a spreadsheet, use 'salesnb import' (see docs/importing.md)."
        ) from None


_DELIMITER_NAMES = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}


def _csv_layout_problem(path: Path) -> str | None:
    """What makes a CSV unusable before any row is read: an empty file, another delimiter
    than the comma, a header naming a column twice. None when the header looks right."""
    import csv

    with path.open("rb") as handle:
        head = handle.read(65536)
    text = head.decode("utf-8-sig", errors="replace")
    if not text.strip():
        return f"is empty ({len(head)} bytes, not even a header line). Export the table again, or remove the file."
    header_line = text.splitlines()[0]
    header = next(csv.reader([header_line]), [])
    if len(header) == 1:
        counts = {delimiter: header_line.count(delimiter) for delimiter in _DELIMITER_NAMES}
        detected = max(counts, key=counts.get)
        if counts[detected]:
            return (f"is separated by {_DELIMITER_NAMES[detected]}, not commas (its header line reads as one column "
                    f"{header_line[:60]!r}). Save it with commas as the delimiter, or import it with 'salesnb import' "
                    f"and a mapping that says delimiter: \"{detected}\" (see docs/importing.md).")
    names = [column.strip() for column in header]
    repeated = sorted({column for column in names if names.count(column) > 1})
    if repeated:
        where = "; ".join(
            f"'{column}' in columns {', '.join(str(index + 1) for index, name in enumerate(names) if name == column)}"
            for column in repeated)
        return (f"has a header that names a column more than once ({where}). Rename or remove the extra column so "
                "each name appears once.")
    return None


def _mixed_line_endings(path: Path) -> str | None:
    """Lines ending in both Windows (CRLF) and Unix (LF) style: the reader cannot tell the rows apart."""
    data = path.read_bytes()
    windows = data.count(b"\r\n")
    unix = data.count(b"\n") - windows
    if windows and unix:
        return (f"it mixes line endings: {windows:,} line(s) end in Windows style (CRLF) and {unix:,} in Unix style "
                "(LF); save it again with one style")
    return None


def _csv_header(path: Path) -> list[str]:
    import csv

    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        return next(csv.reader(handle), [])


def _csv_row_problem(path: Path) -> str | None:
    """The first line whose number of fields differs from the header's, if any (DuckDB's
    own message only says the dialect could not be detected)."""
    import csv

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle)
            header = next(rows, [])
            for row in rows:
                if row and len(row) != len(header):
                    return (f"line {rows.line_num} has {len(row)} fields where the header has {len(header)}: "
                            f"{','.join(row)[:80]!r}")
    except (UnicodeDecodeError, csv.Error) as error:
        return f"{type(error).__name__}: {error}"
    return None


