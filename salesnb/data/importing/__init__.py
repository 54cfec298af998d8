"""Bring your own data: CRM exports, spreadsheets and database tables -> a canonical dataset.

``import_dataset(source, out, mapping=..., preset=...)`` reads the export (a file, a folder
of files, or a database URL), cleans its values, maps its columns and stages onto the
canonical model (``salesnb.data.model``) and writes one UTF-8 CSV per table (ISO dates) into
``out``, with ``playbook.yaml`` when the mapping states the stages and ``import_report.json``
(what was read and the warnings the import raised). The write is atomic: a failed import
leaves nothing behind, and the source is never written to.

``import_to_cache`` does the same into the kit's cache, reusing the result while the export
and the mapping are unchanged (``salesnb run/validate --mapping/--preset``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from salesnb.data.cache import NAME_LENGTH, cache_root, content_digest
from salesnb.data.cachelimit import IMPORTS_FOLDER, cache_limit, mark_used, prune
from salesnb.data.importing.errors import ImportFailedError, MappingError, SourceError, ValueProblemsError
from salesnb.data.importing.mapping import NAME_COLUMNS, Mapping, TableMapping, convert_table
from salesnb.data.importing.presets import load_preset, preset_names, resolve_mapping
from salesnb.data.importing.readers import (
    SUPPORTED_SUFFIXES,
    as_source,
    is_database_url,
    open_database,
    read_database_table,
    read_file,
)
from salesnb.data.model import TABLES
from salesnb.data.validate import Finding

__all__ = [
    "import_dataset", "import_to_cache", "convert_export", "ImportFailedError", "MappingError", "SourceError",
    "ValueProblemsError", "load_preset", "preset_names", "REPORT_FILE", "PLAYBOOK_FILE", "import_findings",
    "imported_playbook", "neutralise_formulas",
]

IMPORTER_VERSION = "3"  # bump when the output for the same input changes: invalidates cached imports
REPORT_FILE = "import_report.json"
PLAYBOOK_FILE = "playbook.yaml"


def _export_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir()
                  if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith((".", "~$")))


def _sheets_note(path: Path, table: TableMapping, sheets: list[str] | None) -> dict | None:
    """Which sheets of a workbook were read, when it was not simply its only sheet."""
    if not sheets or table.sheet is not None:
        return None
    with pd.ExcelFile(path, engine="openpyxl") as workbook:
        names = workbook.sheet_names
    if sheets == names[:1]:
        return None
    return {
        "severity": "info", "table": table.name, "column": None, "check": "sheets_read", "count": len(sheets),
        "examples": [],
        "message": (f"{table.name}: read the sheet(s) {', '.join(map(repr, sheets))} of {path.name}, which hold the "
                    f"mapped columns (its sheets: {', '.join(map(repr, names))})."),
    }


def _wanted_headers(table: TableMapping) -> list[list[str]]:
    """The export headers the mapping reads for ``table``, one list of alternatives per column."""
    groups = [*table.columns.values(), *table.names.values(), *table.flags.values()]
    if table.status is not None:
        groups.append([str(table.status["column"])])
    return [group for group in groups if group]


def _source_frames(source, table: TableMapping, mapping: Mapping, connection=None) -> tuple[pd.DataFrame, str, list]:
    """The export frame for one table, a label saying where it came from, and notes on what was not read."""
    notes: list[dict] = []

    def read(path: Path) -> pd.DataFrame:
        frame = read_file(path, sheet=table.sheet, encoding=mapping.encoding, delimiter=mapping.delimiter,
                          wanted=_wanted_headers(table))
        note = _sheets_note(path, table, frame.attrs.get("sheets"))
        if note:
            notes.append(note)
        return frame

    if connection is not None:
        if not table.source:
            raise MappingError(f"{mapping.label}: table '{table.name}' needs 'source: <database table>' to read from "
                               f"the database.")
        frames = [read_database_table(connection, name, source) for name in table.source]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return frame, f"table {', '.join(table.source)}", notes
    path = Path(source)
    if path.is_file():
        frame = read(path)
        sheets = frame.attrs.get("sheets") or ([table.sheet] if table.sheet is not None else [])
        label = path.name + (f" (sheet {', '.join(map(repr, sheets))})" if len(sheets) > 1 or table.sheet is not None
                             else "")
        return frame, label, notes
    files = _export_files(path)
    chosen: list[Path] = []
    for pattern in table.source:
        chosen = sorted(candidate for candidate in path.glob(pattern) if candidate.is_file())
        if chosen:
            break
    if table.source and not chosen:
        raise SourceError(f"{table.name}: no file in {path} matches {' or '.join(map(repr, table.source))} (the folder "
                          f"has: {', '.join(file.name for file in files) or 'no export files'}). Fix 'source' in the "
                          "mapping.")
    if not table.source:
        if len(files) != 1:
            raise MappingError(f"{mapping.label}: table '{table.name}' has no 'source', and {path} holds "
                               f"{len(files)} export files ({', '.join(file.name for file in files[:10])}). Pass the "
                               "export file itself, or name it under 'source' in a mapping.")
        chosen = files
    frames = [read(file) for file in chosen]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame, ", ".join(file.name for file in chosen), notes


def convert_export(source, mapping: Mapping) -> tuple[dict[str, pd.DataFrame], dict | None, list[dict]]:
    """Read and convert every mapped table. Returns (canonical frames, playbook dict, notes).

    Raises one :class:`ValueProblemsError` listing every value that cannot be read safely.
    """
    source = as_source(source)
    source_text = str(source)
    connection = None
    if is_database_url(source_text):
        connection = open_database(source_text)
    elif not Path(source).exists():
        raise SourceError(f"Export {source} does not exist. Pass an export file, a folder of export files, or a "
                          "database URL such as duckdb:///path/to/crm.duckdb.")
    frames, notes, problems, names = {}, [], [], {}
    try:
        for table in mapping.tables.values():
            if table.from_names_in:
                continue
            raw, origin, read_notes = _source_frames(source, table, mapping, connection)
            notes += read_notes
            converted = convert_table(mapping, table, raw, origin)
            frames[table.name] = converted.frame
            problems += converted.problems
            notes += converted.notes
            names[table.name] = converted.names
    finally:
        if connection is not None and hasattr(connection, "disconnect"):
            connection.disconnect()
    for table in mapping.tables.values():
        if not table.from_names_in:
            continue
        key, name_column = TABLES[table.name].key, NAME_COLUMNS[table.name]
        pairs = names.get(table.from_names_in, {}).get(key)
        if pairs is None:
            if key not in mapping.tables[table.from_names_in].names:
                raise MappingError(f"{mapping.label}: table '{table.name}' is built from names in "
                                   f"'{table.from_names_in}', whose 'names' section does not name {key}.")
            notes.append({
                "severity": "warning", "table": table.name, "column": None, "check": "table_not_in_export",
                "count": 0, "examples": [],
                "message": (f"{table.name}: the export has no {name_column.replace('_', ' ')} column "
                            f"({' or '.join(map(repr, mapping.tables[table.from_names_in].names[key]))}), so no "
                            f"{table.name} table was written. Add that column to the export for {TABLES[table.name].enables}."),
            })
            continue
        frame = pd.DataFrame({key: pairs["id"], name_column: pairs["name"]}).sort_values(key).reset_index(drop=True)
        for column, value in table.constants.items():
            frame[column] = str(value)
        frames[table.name] = frame.astype(object)
    if problems:
        raise ValueProblemsError(problems)
    currency = mapping.currency
    opportunities = frames.get("opportunities")
    if currency is None and opportunities is not None and "currency" in opportunities:
        found = opportunities["currency"].dropna().unique()
        currency = str(found[0]) if len(found) == 1 else None
    return frames, mapping.playbook_dict(currency), notes


def _check_destination(source, out: Path) -> None:
    if not is_database_url(str(source)):
        source_path = Path(source).resolve()
        source_folder = source_path if source_path.is_dir() else None
        target = out.resolve()
        if target == source_path or (source_folder and source_folder in target.parents) or target == source_folder:
            raise ImportFailedError(f"--out {out} is inside the export folder {source}; the kit never writes into "
                                    "your exports. Choose an output folder elsewhere.")
    if out.exists():
        if not out.is_dir():
            raise ImportFailedError(f"--out {out} is a file; give a folder.")
        if any(out.iterdir()) and not (out / REPORT_FILE).is_file():
            raise ImportFailedError(f"--out {out} already exists and holds other files; the kit only replaces a folder "
                                    "an earlier import wrote. Choose a new or empty folder.")


# A cell starting with one of these is run as a formula when the CSV is opened in Excel or
# LibreOffice (=HYPERLINK(...), +cmd|..., @SUM(...)); tab and carriage return start one too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]?\d+)?")  # as an import writes numbers (repr of a float)


def neutralise_formulas(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'`` (the usual
    CSV-injection defence): ``=HYPERLINK("http://x")`` is written as ``'=HYPERLINK("http://x")``.

    Only text columns (IDs, names, categories, reasons): numbers and ISO dates never start
    with a formula character except a minus sign, which is a number's, not a formula's.
    """
    spec = TABLES[table]
    text_columns = [column for column in frame.columns if column in spec.column_names
                    and spec.column(column).type in ("id", "text", "category")]
    # Attributes (columns beyond the model: salesnb.data.attributes) hold numbers or categories:
    # any cell that is not a plain number ("-5.0" is one) is neutralised like text.
    attribute_columns = [column for column in frame.columns if column not in spec.column_names
                         and column != "probability"]
    if not text_columns and not attribute_columns:
        return frame

    def neutral(value):
        return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value

    def neutral_unless_number(value):
        return value if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value) else neutral(value)

    return frame.assign(**{column: frame[column].map(neutral) for column in text_columns},
                        **{column: frame[column].map(neutral_unless_number) for column in attribute_columns})


def _write(frames: dict[str, pd.DataFrame], playbook: dict | None, notes: list[dict], report: dict, out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=out.parent))
    except OSError as error:
        raise _write_error(out, error) from None
    try:
        for name, frame in frames.items():
            neutralise_formulas(frame, name).to_csv(staging / f"{name}.csv", index=False, encoding="utf-8",
                                                    lineterminator="\n")
        if playbook is not None:
            header = "# Playbook written by 'salesnb import': the stages of the imported data. Edit as needed.\n"
            (staging / PLAYBOOK_FILE).write_text(header + yaml.safe_dump(playbook, sort_keys=False, allow_unicode=True),
                                                 encoding="utf-8")
        (staging / REPORT_FILE).write_text(json.dumps({**report, "findings": notes}, indent=2, ensure_ascii=False),
                                           encoding="utf-8")
        if out.exists():
            # Swap in the new folder; the old one is removed only once the new one is in place.
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(retired / out.name)
            staging.rename(out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(out)
    except OSError as error:  # a full disk, a read-only folder, a quota: nothing half-written is left
        raise _write_error(out, error) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_error(out: Path, error: OSError) -> ImportFailedError:
    import errno

    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "the disk is full: free some space there, or import into a folder on another disk"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = "the folder cannot be written: choose a folder you can write to"
    else:
        advice = "check the folder and the disk"
    return ImportFailedError(f"Could not write the imported dataset to {out} ({reason}): {advice}. Nothing was "
                             "written there (an earlier import in that folder is left as it was), and the export was "
                             "not changed.")


def import_dataset(source, out, mapping=None, preset: str | None = None) -> list[str]:
    """Import ``source`` (file, folder or database URL) into the dataset folder ``out``.

    Returns the names of the tables written. Exactly one of ``mapping`` (a YAML path or a
    :class:`Mapping`) and ``preset`` (``salesforce``, ``hubspot``, ``pipedrive``) is given.
    """
    resolved = resolve_mapping(mapping, preset)
    source = as_source(source)
    out = Path(out).expanduser()
    _check_destination(source, out)
    frames, playbook, notes = convert_export(source, resolved)
    report = {
        "source": str(source).split("@")[-1], "mapping": resolved.label,
        "rows": {name: int(len(frame)) for name, frame in frames.items()},
    }
    _write(frames, playbook, notes, report, out)
    return sorted(frames)


def _fingerprint(source) -> tuple[str, bool]:
    """(text identifying the export's content, whether it can be reused while unchanged)."""
    source = as_source(source)
    text = str(source)
    if is_database_url(text):
        from salesnb.data.backends import FILE_SCHEMES, database_file
        from salesnb.errors import DatasetNotFoundError

        if text.partition("://")[0].lower() in FILE_SCHEMES:
            try:
                return f"{text}|{content_digest(database_file(text))}", True
            except DatasetNotFoundError as error:
                raise SourceError(str(error)) from None
        return text, False  # a server database can change at any time: import afresh
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceError(f"Export {source} does not exist.")
    files = [path] if path.is_file() else _export_files(path)
    # Content, not size and time: an export rewritten with the same size and time is still new.
    parts = [f"{file.resolve()}|{content_digest(file)}" for file in files]
    return "\n".join(parts), True


def import_to_cache(source, mapping=None, preset: str | None = None) -> Path:
    """Import into the kit's cache (``salesnb.data.cache.cache_root()/imports``) and return the
    folder; reused while the export and the mapping are unchanged."""
    from salesnb import __version__

    resolved = resolve_mapping(mapping, preset)
    fingerprint, reusable = _fingerprint(source)
    digest = hashlib.sha256(
        f"importer={IMPORTER_VERSION};kit={__version__}\n{resolved.text}\n{fingerprint}".encode()
    ).hexdigest()[:NAME_LENGTH]
    folder = cache_root() / IMPORTS_FOLDER / digest
    if reusable and (folder / REPORT_FILE).is_file():
        mark_used(folder)
        return folder
    limit = cache_limit()  # a mistyped SALESNB_CACHE_LIMIT stops before the import
    import_dataset(source, folder, mapping=resolved)
    prune(limit, keep=folder)
    return folder


def imported_playbook(folder) -> Path | None:
    """The playbook an import wrote beside the data (``playbook.yaml``), if any."""
    path = Path(folder) / PLAYBOOK_FILE
    return path if path.is_file() else None


def import_findings(folder) -> list:
    """The warnings an import raised (e.g. duplicate rows dropped), as validation findings,
    so the reports' data-quality banner shows them. Empty for a folder no import wrote."""
    path = Path(folder) / REPORT_FILE
    if not path.is_file():
        return []
    try:
        notes = json.loads(path.read_text(encoding="utf-8")).get("findings", [])
    except (OSError, ValueError, AttributeError):
        return []
    fields = ("severity", "table", "column", "check", "count", "message", "examples")
    return [Finding(**{key: note.get(key) for key in fields}) for note in notes
            if isinstance(note, dict) and note.get("severity") == "warning"]
