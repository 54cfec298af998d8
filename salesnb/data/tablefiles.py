"""The table files of a data folder: which file holds each table, and reading one as raw text.

A CSV is read as text only (every column ``VARCHAR``): typing and checking belong to the
validator, which names the rows a value cannot be read in. What makes a file unusable before
any row is read (empty, two files for one table, a first line that is data and not a header,
another delimiter, a repeated header name, mixed line endings, a row with too many fields,
more than ``MAX_COLUMNS`` columns, a line longer than ``MAX_LINE_BYTES``) is said here, in
words, instead of DuckDB's sniffer message. Header names are read without the spaces around
them (``' stage '`` is ``stage``).

Time zones: a timestamp is the CRM's local wall-clock time (docs/importing.md#time-zones). A CSV
value's offset (``2025-01-05T23:30:00-10:00``) is dropped, never converted (the validator
warns when one column mixes offsets); a Parquet timestamp with a time zone is read as the
wall clock in that zone, not in UTC or in the zone of the machine running the kit.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import re
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from salesnb.data.model import FILE_SUFFIXES, TABLE_NAMES, TABLES
from salesnb.errors import UnreadableTableError

# The longest line of a CSV the kit reads: 16 MiB, so a cell (a note, a pasted e-mail thread)
# may be up to that long (some 8,000 pages of text). DuckDB's default is 2 MiB, Python's csv
# module's 128 KiB; a longer line is refused with its line number and column.
MAX_LINE_BYTES = 16 * 2**20
# The most columns a table file may have. A table of the model has at most 14; CRM exports
# rarely exceed a few hundred. A million "columns" is a broken file (or an attack), and
# DuckDB would first spend its memory on them.
MAX_COLUMNS = 2_000


@contextlib.contextmanager
def csv_field_limit(limit: int = MAX_LINE_BYTES):
    """Python's csv module with cells up to ``limit`` bytes (its default is 128 KiB)."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def find_table_files(folder: Path) -> dict[str, Path]:
    """The file for each canonical table in ``folder``.

    A table's name that is there but is not a readable file (a folder named
    ``opportunities.csv``, a broken or looping symbolic link) is an error, never "absent":
    a run without the table would succeed with wrong numbers. Two files for one table
    (``opportunities.parquet`` beside ``opportunities.csv``) are an error too: one of them is
    stale, and reading either silently could give last month's numbers.
    """
    found = {}
    for name in TABLE_NAMES:
        present = []
        for suffix in FILE_SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.is_file():
                present.append(path)
            elif os.path.lexists(path):
                raise UnreadableTableError(f"{name}: {path} {_not_a_file(path)}, so the {name} table cannot be "
                                           f"read. Replace it with the {name}{suffix} file, or remove it.")
        if len(present) > 1:
            raise UnreadableTableError(
                f"{name}: the folder {folder} has two files for the {name} table, "
                f"{' and '.join(path.name for path in present)}; the kit reads one file per table and will not guess "
                "which is current. Remove (or move out of the folder) the one that is not."
            )
        if present:
            found[name] = present[0]
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
        problem = _csv_layout_problem(name, path)
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
                                       delim=",", quote='"', escape='"', max_line_size=MAX_LINE_BYTES)
            header = _csv_header(path)
            if [column.strip() for column in text.columns] != [column.strip() for column in header]:
                # The sniffer skipped lines to find a consistent layout: some row is malformed.
                raise duckdb.InvalidInputException("the columns found do not match the header line")
            return connection.create_table(f"raw_{name}", _stripped_names(text))
        table = connection.read_parquet(path, table_name=f"raw_{name}")
        return _stripped_names(_local_wall_clock(connection, name, path, table, _parquet_time_zones(path)))
    except duckdb.OutOfMemoryException:
        raise  # the machine, not the file: said as such by the command (backends.out_of_memory_message)
    except duckdb.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if path.suffix == ".csv":
            first_line = (_mixed_line_endings(path) or _csv_row_problem(path) or _long_line(path)
                          or first_line)
        raise UnreadableTableError(
            f"{name}: the file {path} cannot be read as a {path.suffix[1:].upper()} table ({first_line}). "
            "A canonical CSV is UTF-8, comma-separated, with one header row and one line ending style; "
            "for an export as it comes from a CRM or a spreadsheet, use 'salesnb import' (see docs/importing.md)."
        ) from None


def _stripped_names(table: ir.Table) -> ir.Table:
    """Header names without the spaces around them: ``' stage '`` is the ``stage`` column.
    (A name that would then repeat another is reported before, by the layout check.)"""
    renames = {column.strip(): column for column in table.columns if column.strip() != column}
    if not renames or len({column.strip() for column in table.columns}) < len(table.columns):
        return table
    return table.rename(renames)


@ibis.udf.scalar.builtin(name="timezone")
def _wall_clock_in(zone: str, stamp: dt.Timestamp(timezone="UTC")) -> dt.Timestamp():
    """DuckDB's ``timezone(zone, timestamptz)``: the wall-clock time in ``zone``, as a plain timestamp."""


def _parquet_time_zones(path: Path) -> dict[str, str]:
    """The time zone of each timestamp column of a Parquet file that has one (from its schema
    only: nothing else is read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return {}  # DuckDB says what is wrong with the file
    return {field.name: field.type.tz for field in schema
            if pa.types.is_timestamp(field.type) and field.type.tz is not None}


_FIXED_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def _local_wall_clock(connection, name: str, path: Path, table: ir.Table, zones: dict[str, str]) -> ir.Table:
    """Timestamps with a time zone as the wall clock in their own zone. DuckDB reads them as
    instants; cast to a plain timestamp it would give the wall clock in the session's zone
    (UTC), and a deal closed at 23:30 in Honolulu would move to the next day.

    A fixed offset (``+14:00``, as pyarrow writes a ``datetime.timezone``) is added to the UTC
    time; a zone name must be one DuckDB knows (IANA names such as ``Pacific/Honolulu``)."""
    import duckdb

    columns = {}
    for column, zone in zones.items():
        if column not in table.columns or not table[column].type().is_timestamp():
            continue
        fixed = _FIXED_OFFSET.match(zone)
        if fixed:
            minutes = (int(fixed.group(2)) * 60 + int(fixed.group(3))) * (1 if fixed.group(1) == "+" else -1)
            columns[column] = _wall_clock_in("UTC", table[column]) + ibis.interval(minutes=minutes)
            continue
        try:
            connection.con.execute("SELECT timezone(?, TIMESTAMPTZ '2000-01-01 00:00:00+00')", [zone])
        except duckdb.Error:
            raise UnreadableTableError(
                f"{name}: the file {path} stores {column} with the time zone {zone!r}, which the kit does not know. "
                "Write the timestamps without a time zone (the CRM's local time), or with a zone name such as "
                "Europe/Paris or an offset such as +02:00."
            ) from None
        columns[column] = _wall_clock_in(zone, table[column])
    return table.mutate(**columns) if columns else table


_DELIMITER_NAMES = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}


def _csv_layout_problem(name: str, path: Path) -> str | None:
    """What makes a CSV unusable before any row is read: an empty file, a first line that is
    data and not a header, another delimiter than the comma, a header naming a column twice,
    a header of more than ``MAX_COLUMNS`` columns, a first line longer than ``MAX_LINE_BYTES``.
    None when the header looks right."""
    with path.open("rb") as handle:
        head = handle.read(65536)
    text = head.decode("utf-8-sig", errors="replace")
    if not text.strip():
        return f"is empty ({len(head)} bytes, not even a header line). Export the table again, or remove the file."
    try:
        header = _csv_header(path)
    except csv.Error:
        return (f"has a first line longer than {MAX_LINE_BYTES // 2**20} MiB, the longest line the kit reads: it "
                "cannot be a header. Check that the file is a CSV export of the table.")
    header_line = text.splitlines()[0]
    if len(header) == 1:
        counts = {delimiter: header_line.count(delimiter) for delimiter in _DELIMITER_NAMES}
        detected = max(counts, key=counts.get)
        if counts[detected]:
            return (f"is separated by {_DELIMITER_NAMES[detected]}, not commas (its header line reads as one column "
                    f"{header_line[:60]!r}). Save it with commas as the delimiter, or import it with 'salesnb import' "
                    f"and a mapping that says delimiter: \"{detected}\" (see docs/importing.md).")
    if len(header) > MAX_COLUMNS:
        return (f"has {len(header):,} columns on line 1 (its header), from column {MAX_COLUMNS + 1:,} "
                f"({_shown(header[MAX_COLUMNS])}) on beyond the {MAX_COLUMNS:,} the kit reads (a table of the model "
                f"has at most {max(len(table.columns) for table in TABLES.values())}). Check that the file is a CSV "
                "export of the table, and remove the columns it does not need.")
    names = [column.strip() for column in header]
    if _looks_like_data(name, names):
        shown = ", ".join(_shown(value) for value in header[:5]) + (", ..." if len(header) > 5 else "")
        spec = TABLES[name]
        return (f"has no header line: its first line looks like data, not a header ({shown}). Add a first line "
                f"naming the columns ({', '.join(spec.required_columns)}, ...: see docs/data-model.md), or export the "
                "table again with its headers.")
    repeated = sorted({column for column in names if names.count(column) > 1})
    if repeated:
        where = "; ".join(
            f"'{column}' in columns {', '.join(str(index + 1) for index, name in enumerate(names) if name == column)}"
            for column in repeated)
        return (f"has a header that names a column more than once ({where}). Rename or remove the extra column so "
                "each name appears once.")
    return None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:39] + "…")


def _looks_like_data(name: str, names: list[str]) -> bool:
    """A first line of values, not names: none of them is a column of the table, and some are
    empty or read as a number or a date (a header is words: "stage", "Deal Stage")."""
    known = {column.lower() for column in TABLES[name].column_names}
    if any(column.lower() in known for column in names):
        return False
    value = re.compile(r"^[+-]?[\d.,:/ T-]*\d[\d.,:/ T-]*$")  # 1200, 2025-01-06, 06/01/2025 09:00
    return any(column == "" or value.match(column) for column in names)


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
    with csv_field_limit(), path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        return next(csv.reader(handle), [])


def _csv_row_problem(path: Path) -> str | None:
    """The first line whose number of fields differs from the header's, if any (DuckDB's
    own message only says the dialect could not be detected)."""
    try:
        with csv_field_limit(), path.open(newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle)
            header = next(rows, [])
            for row in rows:
                if row and len(row) != len(header):
                    return (f"line {rows.line_num} has {len(row)} fields where the header has {len(header)}: "
                            f"{','.join(row)[:80]!r}")
    except csv.Error:
        return _long_line(path)
    except UnicodeDecodeError as error:
        return f"{type(error).__name__}: {error}"
    return None


def _long_line(path: Path) -> str | None:
    """The first record of a CSV file with a cell longer than ``MAX_LINE_BYTES``: its line and column."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        return long_cell(handle)


def long_cell(handle, delimiter: str = ",") -> str | None:
    """Where the first cell longer than ``MAX_LINE_BYTES`` is in the CSV text ``handle`` (a
    seekable text stream opened with ``newline=""``), as "line N, column 'name' holds ...";
    None when every cell is within the limit."""
    with csv_field_limit():
        rows = csv.reader(handle, delimiter=delimiter)
        header, lines_read = [], 0
        try:
            header = next(rows, [])
            lines_read = rows.line_num
            for _ in rows:
                lines_read = rows.line_num
            return None
        except csv.Error:
            pass  # the record after `lines_read` lines holds the long cell
    handle.seek(0)
    for _ in range(lines_read):
        handle.readline()
    # Only that record is walked, from quote to delimiter: a delimiter outside quotes ends a cell.
    separator = re.compile(f'["{re.escape(delimiter)}]')
    column, size, in_quotes = 0, 0, False
    while chunk := handle.read(1 << 20):
        position = 0
        for match in separator.finditer(chunk + delimiter):  # the extra delimiter closes the chunk
            size += match.start() - position
            position = match.end()
            if size > MAX_LINE_BYTES:
                where = repr(header[column]) if column < len(header) else f"{column + 1}"
                return (f"line {lines_read + 1}, column {where} holds a cell longer than {MAX_LINE_BYTES // 2**20} MiB, "
                        "the longest the kit reads; shorten it in the CRM, or leave that column out of the export")
            if match.start() == len(chunk):
                break
            if match.group() == '"':
                in_quotes = not in_quotes
                size += 1
            elif in_quotes:
                size += 1
            else:
                column, size = column + 1, 0
    return None
