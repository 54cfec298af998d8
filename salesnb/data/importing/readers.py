"""Reading an export into a pandas frame: CSV, Excel, Parquet, or a database table.

Readers return the export as it is, column names stripped of whitespace and byte-order
marks. CSV cells stay text (so ``007`` stays ``007``); Excel, Parquet and database cells
keep their native types (numbers, datetimes), which the cleaning step accepts as they are.
Sources are only ever read: a database is opened read-only where the backend allows it.
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
    CRLF line ends, quoted fields with line breaks inside."""
    text = _decode(path, encoding)
    if not text.strip():
        raise SourceError(f"{path.name} is empty.")
    separator = delimiter or _sniff_delimiter(text)
    try:
        frame = pd.read_csv(io.StringIO(text, newline=""), sep=separator, dtype=str, keep_default_na=False,
                            na_filter=False, skip_blank_lines=True, engine="python")
    except (pd.errors.ParserError, csv.Error) as error:
        raise SourceError(f"{path.name} is not a well-formed CSV file ({error}). Check that every row has the "
                          "same number of columns and that quotes are closed.") from None
    return frame


def read_excel(path: Path, sheet=None) -> pd.DataFrame:
    """One sheet of an .xlsx workbook (the first unless ``sheet`` names one)."""
    try:
        workbook = pd.ExcelFile(path, engine="openpyxl")
    except Exception as error:  # openpyxl raises several types for a damaged file
        raise SourceError(f"{path.name} cannot be opened as an Excel workbook ({error}).") from None
    with workbook:
        sheets = workbook.sheet_names
        if sheet is None:
            chosen = sheets[0]
        elif isinstance(sheet, int) and 0 <= sheet < len(sheets):
            chosen = sheets[sheet]
        elif sheet in sheets:
            chosen = sheet
        else:
            raise SourceError(f"{path.name} has no sheet {sheet!r}; its sheets are: {', '.join(map(repr, sheets))}. "
                              "Set 'sheet' in the mapping to one of them.")
        return pd.read_excel(workbook, sheet_name=chosen, dtype=object, keep_default_na=False, na_filter=False)


def sheets_like_the_first(path: Path) -> tuple[str, list[str]]:
    """(the first sheet, the other sheets whose header row is the same): an export split over
    several sheets (Excel's row limit, one sheet per quarter) of which only the first is read."""
    with pd.ExcelFile(path, engine="openpyxl") as workbook:
        sheets = workbook.sheet_names
        headers = {name: [str(column).strip() for column in pd.read_excel(workbook, sheet_name=name, nrows=0).columns]
                   for name in sheets}
    return sheets[0], [name for name in sheets[1:] if headers[name] and headers[name] == headers[sheets[0]]]


def read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises ArrowInvalid and OSError subclasses
        raise SourceError(f"{path.name} cannot be read as a Parquet file ({error}).") from None


def read_file(path: Path, *, sheet=None, encoding: str | None = None, delimiter: str | None = None) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        frame = read_csv(path, encoding=encoding, delimiter=delimiter)
    elif suffix in (".xlsx", ".xlsm"):
        frame = read_excel(path, sheet)
    elif suffix == ".parquet":
        frame = read_parquet(path)
    elif suffix == ".xls":
        raise SourceError(f"{path.name} is an old-style .xls workbook; save it as .xlsx or CSV and import that.")
    else:
        raise SourceError(f"{path.name}: the kit reads {', '.join(SUPPORTED_SUFFIXES)} files, not '{suffix}'.")
    return tidy_columns(frame, path.name)


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
