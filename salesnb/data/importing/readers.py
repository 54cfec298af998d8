"""Reading an export into a pandas frame: CSV, Excel, Parquet, or a database table.

Readers return the export as it is, column names stripped of whitespace and byte-order
marks. CSV cells stay text (so ``007`` stays ``007``); Excel, Parquet and database cells
keep their native types (numbers, datetimes), which the cleaning step accepts as they are.
Sources are only ever read: a database is opened read-only where the backend allows it.

A CSV cell may be up to ``tablefiles.MAX_LINE_BYTES`` (16 MiB) long and a file may have up
to ``tablefiles.MAX_COLUMNS`` columns, as in a data folder. A workbook's sheet is the one
the mapping names, else the sheet(s) holding the mapped columns (:func:`read_excel`); a
formula cell whose result was never saved stops the import (:func:`unsaved_formulas`).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from salesnb.data.importing.errors import SourceError

SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")
DATABASE_SCHEMES = ("duckdb", "sqlite", "postgres", "postgresql", "mysql", "snowflake", "bigquery")
DELIMITERS = ",;\t|"
# Tried in order; latin-1 decodes any byte, so it is the last resort.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def is_database_url(source) -> bool:
    return isinstance(source, str) and re.match(rf"^({'|'.join(DATABASE_SCHEMES)})://", source) is not None


def as_source(source):
    """The export as given, with a database URL that went through ``pathlib.Path`` restored:
    ``Path("duckdb:///srv/crm.duckdb")`` reads ``duckdb:/srv/crm.duckdb`` (slashes collapsed),
    which would otherwise be taken for a file that does not exist."""
    text = str(source)
    match = re.match(rf"^({'|'.join(DATABASE_SCHEMES)}):/+(?=[^/])", text)
    if isinstance(source, Path) and match and not Path(text).exists():
        return f"{match.group(1)}:///{text[match.end():]}"
    return text if is_database_url(text) else source


def _decode(path: Path, encoding: str | None) -> str:
    data = path.read_bytes()
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise SourceError(f"{path.name} cannot be read as {encoding} ({error}). Fix 'encoding' in the mapping "
                              "or leave it out to let the kit detect it.") from None
    for candidate in ENCODINGS:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return text
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # One-column files and odd samples: count candidates on the header line instead.
        header = sample.splitlines()[0] if sample else ""
        counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def read_csv(path: Path, *, encoding: str | None = None, delimiter: str | None = None) -> pd.DataFrame:
    """A CSV export as text cells: any delimiter, UTF-8 (with or without BOM) or cp1252/latin-1,
    CRLF line ends, quoted fields with line breaks inside, cells up to 16 MiB."""
    from salesnb.data.tablefiles import MAX_COLUMNS, csv_field_limit, long_cell

    text = _decode(path, encoding)
    if not text.strip():
        raise SourceError(f"{path.name} is empty.")
    separator = delimiter or _sniff_delimiter(text)
    with csv_field_limit():
        try:
            header = next(csv.reader(io.StringIO(text, newline=""), delimiter=separator), [])
        except csv.Error:
            header = []  # a first line longer than the limit: said below
        if len(header) > MAX_COLUMNS:
            raise SourceError(f"{path.name} has {len(header):,} columns on line 1 (its header), from column "
                              f"{MAX_COLUMNS + 1:,} ({header[MAX_COLUMNS][:40]!r}) on beyond the {MAX_COLUMNS:,} the "
                              "kit reads. Check that the file is a CSV export, and export only the columns needed.")
        try:
            frame = pd.read_csv(io.StringIO(text, newline=""), sep=separator, dtype=str, keep_default_na=False,
                                na_filter=False, skip_blank_lines=True, engine="python")
        except (pd.errors.ParserError, csv.Error) as error:
            where = long_cell(io.StringIO(text, newline=""), separator)
            if where:
                raise SourceError(f"{path.name}: {where}.") from None
            raise SourceError(f"{path.name} is not a well-formed CSV file ({error}). Check that every row has the "
                              "same number of columns and that quotes are closed.") from None
    return frame


def _folded(header) -> str:
    return " ".join(str(header).split()).casefold()


def read_excel(path: Path, sheet=None, wanted: list[list[str]] | None = None) -> pd.DataFrame:
    """The sheet(s) of an .xlsx workbook that hold a table.

    ``sheet`` (a name or a 0-based number) reads that sheet. Otherwise the sheets whose header
    row has the most of the ``wanted`` columns (each a list of headers, any of which will do)
    are read: a cover or notes sheet before the data is passed over, and an export split over
    sheets with the same header (one per quarter, or Excel's row limit) is read whole, the
    sheets' rows one after the other. Sheets that hold the mapped columns under different
    headers are a :class:`SourceError` asking which to read. Without ``wanted``, the first sheet.
    The names of the sheets read are in ``frame.attrs["sheets"]``.
    """
    try:
        workbook = pd.ExcelFile(path, engine="openpyxl")
    except Exception as error:  # openpyxl raises several types for a damaged file
        raise SourceError(f"{path.name} cannot be opened as an Excel workbook ({error}).") from None
    with workbook:
        sheets = workbook.sheet_names
        if sheet is None:
            chosen = _sheets_with_the_columns(path, workbook, wanted or [])
        elif isinstance(sheet, int) and 0 <= sheet < len(sheets):
            chosen = [sheets[sheet]]
        elif sheet in sheets:
            chosen = [sheet]
        else:
            raise SourceError(f"{path.name} has no sheet {sheet!r}; its sheets are: {', '.join(map(repr, sheets))}. "
                              "Set 'sheet' in the mapping to one of them.")
        frames = [pd.read_excel(workbook, sheet_name=name, dtype=object, keep_default_na=False, na_filter=False)
                  for name in chosen]
    problems = [problem for name in chosen for problem in unsaved_formulas(path, name)]
    if problems:
        raise SourceError(
            f"{path.name} holds {len(problems):,} formula(s) whose result was never saved, e.g. "
            f"{'; '.join(problems[:5])}: the kit would import empty cells where the workbook shows values. Workbooks "
            "written by a script or an export tool store the formula but not its result. Open the workbook in Excel "
            "or LibreOffice and save it (that stores the results), or export the sheet as CSV."
        )
    if len(frames) > 1:
        # One header, maybe spelt or ordered differently from sheet to sheet: the first sheet's names.
        names = {_folded(column): column for column in frames[0].columns}
        frames = [frame.rename(columns=lambda column: names.get(_folded(column), column)) for frame in frames]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.attrs["sheets"] = chosen
    return frame


def _sheets_with_the_columns(path: Path, workbook: pd.ExcelFile, wanted: list[list[str]]) -> list[str]:
    sheets = workbook.sheet_names
    if not wanted or len(sheets) == 1:
        return sheets[:1]
    headers = {name: [str(column).strip() for column in pd.read_excel(workbook, sheet_name=name, nrows=0).columns]
               for name in sheets}

    def score(name: str) -> int:
        present = {_folded(header) for header in headers[name]}
        return sum(any(_folded(item) in present for item in group) for group in wanted)

    best = max(score(name) for name in sheets)
    if best == 0:
        return sheets[:1]  # no sheet has a mapped column: the mapping's message lists the first one's
    candidates = [name for name in sheets if score(name) == best]
    layouts: dict[tuple, list[str]] = {}
    for name in candidates:
        layouts.setdefault(tuple(sorted(_folded(header) for header in headers[name])), []).append(name)
    if len(layouts) > 1:
        described = "; ".join(f"{names[0]!r} ({', '.join(headers[names[0]][:6])}"
                              f"{', ...' if len(headers[names[0]]) > 6 else ''})" for names in layouts.values())
        raise SourceError(f"{path.name} has several sheets with the mapped columns, under different headers: "
                          f"{described}. Say which to read with 'sheet:' for the table in a mapping "
                          "(see docs/importing.md).")
    return candidates


def unsaved_formulas(path: Path, sheet: str) -> list[str]:
    """Cells of ``sheet`` that hold a formula but no saved result, as ``"sheet 'Deals' cell E3 (=E2*2)"``.

    A workbook keeps each formula's last result beside it; one written by a program that does
    not calculate (openpyxl, many export tools) has none, and every reader then sees an empty
    cell. Two read-only passes: the formulas, then (only if there are any) their results.
    """
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    def is_formula(value) -> bool:
        return (isinstance(value, str) and value.startswith("=")) or type(value).__name__.endswith("Formula")

    def cells(data_only: bool, keep) -> dict:
        book = load_workbook(path, read_only=True, data_only=data_only)
        try:
            return {(row, column): value
                    for row, values in enumerate(book[sheet].iter_rows(values_only=True), start=1)
                    for column, value in enumerate(values, start=1) if keep((row, column), value)}
        finally:
            book.close()

    formulas = cells(False, lambda place, value: is_formula(value))
    if not formulas:
        return []
    results = cells(True, lambda place, value: place in formulas)
    return [f"sheet {sheet!r} cell {get_column_letter(column)}{row} ({str(getattr(value, 'text', value))[:40]})"
            for (row, column), value in sorted(formulas.items()) if results.get((row, column)) in (None, "")]


def read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises ArrowInvalid and OSError subclasses
        raise SourceError(f"{path.name} cannot be read as a Parquet file ({error}).") from None


def read_file(path: Path, *, sheet=None, encoding: str | None = None, delimiter: str | None = None,
              wanted: list[list[str]] | None = None) -> pd.DataFrame:
    """An export file as a frame; ``wanted`` (the mapped headers) picks a workbook's sheets."""
    suffix = path.suffix.lower()
    sheets = None
    if suffix in (".csv", ".txt", ".tsv"):
        frame = read_csv(path, encoding=encoding, delimiter=delimiter)
    elif suffix in (".xlsx", ".xlsm"):
        frame = read_excel(path, sheet, wanted)
        sheets = frame.attrs.get("sheets")
    elif suffix == ".parquet":
        frame = read_parquet(path)
    elif suffix == ".xls":
        raise SourceError(f"{path.name} is an old-style .xls workbook; save it as .xlsx or CSV and import that.")
    else:
        raise SourceError(f"{path.name}: the kit reads {', '.join(SUPPORTED_SUFFIXES)} files, not '{suffix}'.")
    frame = tidy_columns(frame, path.name)
    if sheets:
        frame.attrs["sheets"] = sheets
    return frame


def tidy_columns(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Strip header whitespace and BOMs; drop trailing empty columns (a trailing delimiter)."""
    frame = frame.copy()
    frame.columns = [str(column).replace("\ufeff", "").strip() for column in frame.columns]
    unnamed = [column for column in frame.columns if column == "" or re.fullmatch(r"Unnamed: \d+(\.\d+)?", column)]
    for column in unnamed:
        values = frame[column]
        blank = values.isna() | (values.astype(str).str.strip() == "")
        if blank.all():
            frame = frame.drop(columns=column)
    return frame


def open_database(url: str):
    """An Ibis connection to ``url``; DuckDB and SQLite files must exist and are not written
    (``salesnb.data.backends.database_file`` says what a URL was read as)."""
    import ibis

    from salesnb.data.backends import FILE_SCHEMES, database_file
    from salesnb.errors import DatasetNotFoundError

    scheme = url.partition("://")[0].lower()
    path = None
    if scheme in FILE_SCHEMES:
        try:
            path = database_file(url)
        except DatasetNotFoundError as error:
            raise SourceError(str(error)) from None
    try:
        if scheme == "duckdb":
            return ibis.duckdb.connect(str(path), read_only=True)
        if scheme == "sqlite":
            return ibis.sqlite.connect(str(path))
        return ibis.connect(url)
    except Exception as error:  # driver errors vary by backend
        raise SourceError(f"Cannot connect to {url.split('@')[-1]}: {error}") from None


def read_database_table(connection, table: str, url: str) -> pd.DataFrame:
    tables = connection.list_tables()
    if table not in tables:
        raise SourceError(f"The database {url.split('@')[-1]} has no table {table!r}; it has: "
                          f"{', '.join(tables) or 'no tables'}. Set 'source' in the mapping to one of them.")
    return tidy_columns(connection.table(table).to_pandas(), table)
