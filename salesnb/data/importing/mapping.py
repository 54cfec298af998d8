"""The mapping: how an export's files and columns become the canonical tables.

A mapping is YAML (documented with a worked example in ``docs/importing.md``)::

    date_order: month_first        # how to read 03/04/2024 (month_first | day_first)
    decimal: "."                   # decimal separator of amounts ("." or ",")
    probability_scale: 100         # the export's probabilities are 0..100
    currency: USD                  # the playbook currency written with the dataset
    stages:                        # the process, in order; `from` lists the export's values
      - {name: Discovery, probability: 0.2, from: [Intro call, discovery]}
      - {name: Won, probability: 1.0, outcome: won, from: [closed won]}
      - {name: Lost, probability: 0.0, outcome: lost}
    tables:
      opportunities:
        source: deals.csv          # file (glob) in the source folder, or a database table
        columns: {opportunity_id: Deal ID, stage: Phase, amount: Value}
        names: {rep_id: Owner}     # rep_id derived from the owner's name
        constants: {currency: USD}
      reps:
        from_names_in: opportunities

This module checks the mapping's shape and turns one source frame into one canonical frame.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from salesnb.data.importing import cleaning
from salesnb.data.importing.errors import MappingError
from salesnb.data.model import TABLES
from salesnb.data.playbook import playbook_from_dict

TOP_LEVEL_KEYS = {"name", "description", "date_order", "date_formats", "decimal", "probability_scale", "currency",
                  "missing_values", "encoding", "delimiter", "stages", "playbook", "tables"}
TABLE_KEYS = {"source", "sheet", "columns", "constants", "names", "from_names_in", "status", "keep_duplicates",
              "generate_ids", "flags", "converted_amounts", "attributes"}
# The tables whose extra columns may be kept as attributes (salesnb.data.attributes), and how
# a mapping asks for every column it does not otherwise read.
from salesnb.data.attributes import ATTRIBUTE_TABLES, CATEGORY, NUMBER  # noqa: E402

ALL_UNMAPPED = "all"
# Columns an import may carry beyond the model: the CRM's own win probability (0..1).
EXTRA_COLUMNS = {"opportunities": {"probability": "number"}}
# What exports call the canonical tables, for "did you mean" hints.
TABLE_SYNONYMS = {"deals": "opportunities", "deal": "opportunities", "opportunity": "opportunities",
                  "users": "reps", "owners": "reps", "salespeople": "reps", "companies": "accounts",
                  "organizations": "accounts", "organisations": "accounts", "contacts": "leads"}
# The display-name column of the tables that can be built from names.
NAME_COLUMNS = {"reps": "rep_name", "accounts": "account_name"}


@dataclass
class TableMapping:
    name: str
    source: list[str] = field(default_factory=list)
    sheet: object = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    from_names_in: str | None = None
    status: dict | None = None
    keep_duplicates: bool = False
    generate_ids: bool = False  # the table's key is a stable ID generated from each row's content
    flags: dict[str, list[str]] = field(default_factory=dict)  # "won" / "closed": boolean export columns
    # Headers of ``amount`` already converted by the CRM to the playbook currency (HubSpot's
    # "Amount in company currency"): a row whose amount comes from one of them is in the
    # playbook currency, whatever its currency column says (else it would be converted twice).
    converted_amounts: list[str] = field(default_factory=list)
    # Export headers kept as attributes (None: none; "all": every column the mapping does not
    # read), each with its type or None (a number if every value reads as one, else a category).
    attributes: dict[str, str | None] | str | None = None


@dataclass
class Mapping:
    tables: dict[str, TableMapping]
    date_order: str | None = None
    date_formats: tuple[str, ...] = ()
    decimal: str = "."
    probability_scale: float = 1
    currency: str | None = None
    missing_values: tuple[str, ...] = cleaning.DEFAULT_MISSING_VALUES
    encoding: str | None = None
    delimiter: str | None = None
    stages: list[dict] | None = None
    playbook: dict = field(default_factory=dict)
    label: str = "mapping"
    text: str = ""  # the YAML as read, for the import cache key
    is_preset: bool = False  # a preset lists a CRM's headers, some of which an export may lack

    def column_type(self, table: str, column: str) -> str:
        extra = EXTRA_COLUMNS.get(table, {})
        if column in extra:
            return extra[column]
        return TABLES[table].column(column).type

    def playbook_dict(self, currency: str | None = None) -> dict | None:
        """The playbook the imported data needs: the mapping's stages, currency and settings."""
        if not self.stages:
            return None
        stages = []
        for stage in self.stages:
            probability = stage.get("probability", 0.0)
            # Anything but a number is passed on as written: the playbook's checks name it.
            number = isinstance(probability, (int, float)) and not isinstance(probability, bool)
            entry = {"name": stage["name"], "probability": float(probability) if number else probability}
            if number and entry["probability"] > 1 and self.probability_scale != 1:
                entry["probability"] = entry["probability"] / self.probability_scale
            if stage.get("outcome"):
                entry["outcome"] = stage["outcome"]
            stages.append(entry)
        settings = {"currency": currency or self.currency or "USD", **self.playbook, "stages": stages}
        return settings

    def stage_lookup(self) -> dict[str, str]:
        """Export value (case-insensitive, trimmed) -> canonical stage name."""
        lookup = {}
        for stage in self.stages or []:
            for value in [stage["name"], *stage.get("from", [])]:
                lookup[" ".join(str(value).split()).casefold()] = stage["name"]
        return lookup

    def outcome_stage(self, outcome: str) -> str:
        for stage in self.stages or []:
            if stage.get("outcome") == outcome:
                return stage["name"]
        raise MappingError(f"{self.label}: 'status' says deals can be {outcome}, but no stage has 'outcome: {outcome}'.")


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [str(value)]


def load_mapping(path: str | Path) -> Mapping:
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"Mapping file {path} does not exist. See docs/importing.md for how to write one, or use "
                           "--preset salesforce|hubspot|pipedrive.")
    text = path.read_text(encoding="utf-8")
    return mapping_from_text(text, label=f"Mapping {path}")


def mapping_from_text(text: str, label: str = "mapping") -> Mapping:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise MappingError(f"{label} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise MappingError(f"{label} must be a YAML mapping with a 'tables' section (see docs/importing.md).")
    mapping = mapping_from_dict(raw, label)
    mapping.text = text
    return mapping


def mapping_from_dict(raw: dict, label: str = "mapping") -> Mapping:
    def fail(problem: str):
        raise MappingError(f"{label}: {problem} (see docs/importing.md).")

    unknown = sorted(set(raw) - TOP_LEVEL_KEYS)
    if unknown:
        fail(f"unknown setting(s) {', '.join(unknown)}; the settings are {', '.join(sorted(TOP_LEVEL_KEYS))}")
    date_order = raw.get("date_order")
    if date_order is not None and date_order not in cleaning.DATE_ORDERS:
        fail(f"date_order must be month_first (US: 03/04/2024 is 4 March) or day_first (4 March is 04/03/2024), "
             f"not {date_order!r}")
    decimal = str(raw.get("decimal", "."))
    if decimal not in (".", ","):
        fail(f"decimal must be '.' or ',', not {decimal!r}")
    scale = raw.get("probability_scale", 1)
    if scale not in (1, 100):
        fail(f"probability_scale must be 1 (probabilities 0..1) or 100 (0..100), not {scale!r}")
    raw_tables = raw.get("tables")
    if not isinstance(raw_tables, dict) or not raw_tables:
        fail("'tables' must name at least one canonical table, e.g. opportunities")

    tables = {}
    for name, spec in raw_tables.items():
        if name not in TABLES:
            close = [TABLE_SYNONYMS[str(name).lower()]] if str(name).lower() in TABLE_SYNONYMS else \
                difflib.get_close_matches(str(name), list(TABLES), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            fail(f"unknown table '{name}'; the tables are {', '.join(TABLES)}.{hint}")
        spec = spec or {}
        if not isinstance(spec, dict):
            fail(f"table '{name}' must be a mapping with source, columns, ...")
        unknown = sorted(set(spec) - TABLE_KEYS)
        if unknown:
            fail(f"table '{name}' has unknown setting(s) {', '.join(unknown)}; they are {', '.join(sorted(TABLE_KEYS))}")
        known_columns = set(TABLES[name].column_names) | set(EXTRA_COLUMNS.get(name, {}))
        columns = {str(key): _as_list(value) for key, value in (spec.get("columns") or {}).items()}
        constants = dict(spec.get("constants") or {})
        names = {str(key): _as_list(value) for key, value in (spec.get("names") or {}).items()}
        for section, entries in (("columns", columns), ("constants", constants), ("names", names)):
            for column in entries:
                if column not in known_columns:
                    close = difflib.get_close_matches(column, sorted(known_columns), n=1)
                    hint = f" Did you mean '{close[0]}'?" if close else ""
                    fail(f"table '{name}', {section}: '{column}' is not a column of {name} "
                         f"({', '.join(sorted(known_columns))}).{hint}")
        for column in names:
            if TABLES[name].column(column).type != "id":
                fail(f"table '{name}', names: '{column}' is not an ID column; 'names' derives IDs from names")
        from_names_in = spec.get("from_names_in")
        if from_names_in is not None and name not in NAME_COLUMNS:
            fail(f"table '{name}' cannot be built from names; only {', '.join(NAME_COLUMNS)} can")
        status = spec.get("status")
        if status is not None and (not isinstance(status, dict) or "column" not in status):
            fail(f"table '{name}', status: needs 'column' and the values meaning won and lost, "
                 "e.g. {column: Status, won: [won], lost: [lost]}")
        generate_ids = spec.get("generate_ids", False)
        if not isinstance(generate_ids, bool):
            fail(f"table '{name}', generate_ids: must be true or false, not {generate_ids!r}")
        key = TABLES[name].key
        if generate_ids and key is None:
            fail(f"table '{name}' has no ID column, so 'generate_ids' does not apply to it")
        if generate_ids and (key in columns or key in names or key in constants):
            fail(f"table '{name}': generate_ids gives each row a generated {key}, so {key} cannot also be read "
                 f"from the export; map the export's repeating ID column where it belongs (e.g. account_id)")
        flags = spec.get("flags") or {}
        if flags and (not isinstance(flags, dict) or set(flags) - {"won", "closed"} or "won" not in flags):
            fail(f"table '{name}', flags: needs 'won' (and optionally 'closed'): the export's boolean columns, "
                 "e.g. {won: Is Won, closed: Is Closed}")
        if flags and "stage" not in TABLES[name].column_names:
            fail(f"table '{name}' has no stage, so 'flags' does not apply to it")
        converted_amounts = _as_list(spec.get("converted_amounts"))
        amount_headers = {" ".join(header.split()).casefold() for header in columns.get("amount", [])}
        stray = [header for header in converted_amounts if " ".join(header.split()).casefold() not in amount_headers]
        if stray:
            fail(f"table '{name}', converted_amounts: {', '.join(map(repr, stray))} must also be listed under "
                 "columns: amount (converted_amounts says which of the amount's columns the CRM has already "
                 "converted to the playbook currency)")
        tables[name] = TableMapping(
            name=name, source=_as_list(spec.get("source")), sheet=spec.get("sheet"), columns=columns,
            constants=constants, names=names, from_names_in=from_names_in, status=status,
            keep_duplicates=bool(spec.get("keep_duplicates", False)), generate_ids=generate_ids,
            flags={outcome: _as_list(headers) for outcome, headers in flags.items()},
            converted_amounts=converted_amounts,
            attributes=_attributes_setting(name, spec.get("attributes"), fail),
        )
    for table in tables.values():
        if table.from_names_in and table.from_names_in not in tables:
            fail(f"table '{table.name}' is built from names in '{table.from_names_in}', which the mapping does not map")
        if not table.from_names_in and not table.columns and not table.constants:
            fail(f"table '{table.name}' maps no columns")

    stages = raw.get("stages")
    if stages is not None:
        if not isinstance(stages, list) or not all(isinstance(stage, dict) and "name" in stage for stage in stages):
            fail("'stages' must be a list of stages, each with a name (and probability, outcome, from)")
        for stage in stages:
            stage["from"] = _as_list(stage.get("from"))
    missing_values = cleaning.DEFAULT_MISSING_VALUES + tuple(_as_list(raw.get("missing_values")))
    playbook = dict(raw.get("playbook") or {})
    mapping = Mapping(
        tables=tables, date_order=date_order, date_formats=tuple(_as_list(raw.get("date_formats"))), decimal=decimal,
        probability_scale=scale, currency=raw.get("currency"), missing_values=missing_values,
        encoding=raw.get("encoding"), delimiter=raw.get("delimiter"), stages=stages, playbook=playbook, label=label,
    )
    if stages:
        from salesnb.errors import ConfigError

        try:
            playbook_from_dict(mapping.playbook_dict(), source=label)
        except ConfigError as error:
            raise MappingError(f"{label}: its stages do not make a valid playbook: {error}") from None
    return mapping


def _attributes_setting(name: str, value, fail) -> dict[str, str | None] | str | None:
    """``attributes:`` of a table: ``all``, a list of export headers, or headers with their
    type (``{Company Size: category, Total Visits: number}``)."""
    if value is None:
        return None
    example = "e.g. attributes: [Company Size, Total Visits], or attributes: all"
    if name not in ATTRIBUTE_TABLES:
        fail(f"table '{name}', attributes: only {', '.join(ATTRIBUTE_TABLES)} keep extra columns as attributes")
    if isinstance(value, str) and value.strip().lower() == ALL_UNMAPPED:
        return ALL_UNMAPPED
    if isinstance(value, (list, tuple)) and value:
        return {str(header): None for header in value}
    if isinstance(value, dict) and value:
        kinds = {str(header): (str(kind).strip().lower() if kind is not None else None) for header, kind in value.items()}
        wrong = {header: kind for header, kind in kinds.items() if kind not in (None, NUMBER, CATEGORY)}
        if wrong:
            fail(f"table '{name}', attributes: the type of {', '.join(map(repr, wrong))} must be "
                 f"'{NUMBER}' or '{CATEGORY}', not {', '.join(map(repr, wrong.values()))}")
        return kinds
    fail(f"table '{name}', attributes: list the export headers to keep ({example}), not {value!r}")


# ------------------------------------------------------------------------------ applying


@dataclass
class Converted:
    frame: pd.DataFrame  # canonical columns, values as text ready for CSV
    problems: list[str]  # values that cannot be read: the import fails with these
    notes: list[dict]  # warnings for the data-quality banner (Finding fields)
    names: dict[str, pd.DataFrame]  # id column -> frame(id, name) for tables built from names


def _find_header(frame: pd.DataFrame, wanted: str) -> str | None:
    if wanted in frame.columns:
        return wanted
    folded = {" ".join(str(column).split()).casefold(): column for column in frame.columns}
    return folded.get(" ".join(wanted.split()).casefold())


def _example_ids(frame: pd.DataFrame, mask: pd.Series, column: str, label_column: str | None) -> str:
    rows = frame[mask.to_numpy(dtype=bool)].head(3)
    if label_column and label_column in rows.columns:
        return "; ".join(f"row {index + 2} ({label_column}={row[label_column]!r}): {row[column]!r}"
                         for index, row in rows.iterrows())
    return "; ".join(f"row {index + 2}: {row[column]!r}" for index, row in rows.iterrows())


def _absent_column_note(mapping: Mapping, table: str, canonical: str, wanted: list[str], origin: str,
                        unread: list[str]) -> tuple[dict | None, str | None]:
    """An optional column the mapping names but the export lacks: (note, problem).

    A preset lists a CRM's standard headers, and an export may lack some: a note, or a warning
    with "did you mean" when an unread header is close to the preset's (``Lost Reasn`` for
    ``Lost Reason``: the export's header was changed). A user's own mapping names the headers
    of its export: a header it names that is not there is a mistake in the mapping, and the
    import stops with the closest header (the column would otherwise stay empty, unnoticed).
    """
    folded = {" ".join(header.split()).casefold(): header for header in unread}
    close = None
    for item in wanted:
        match = difflib.get_close_matches(" ".join(item.split()).casefold(), list(folded), n=1,
                                          cutoff=0.85 if mapping.is_preset else 0.6)
        if match:
            close = folded[match[0]]
            break
    names = " or ".join(map(repr, wanted))
    if not mapping.is_preset:
        hint = (f" Did you mean {close!r}? Write {close!r} for {canonical} in the mapping." if close else
                f" Fix the header name in the mapping, or leave {canonical} out of it if the export has no such column.")
        return None, (f"{table}.{canonical}: the mapping reads it from {names}, but {origin} has no such column (the columns "
                      f"it does not read yet: {', '.join(unread[:15])}{', ...' if len(unread) > 15 else ''}).{hint}")
    message = f"{table}.{canonical}: {origin} has no column {names}, so {canonical} is left empty."
    if close is None:
        message += " Add it to the export if the analyses should use it."
    else:
        message += (f" Did you mean {close!r}? Rename that header to {wanted[0]!r} in the export, or copy the preset "
                    f"into a mapping that reads {canonical} from {close!r} (docs/importing.md).")
    return {"severity": "warning" if close else "info", "table": table, "column": canonical,
            "check": "misspelt_column" if close else "column_not_in_export", "count": 0, "examples": [],
            "message": message}, None


def convert_table(mapping: Mapping, table: TableMapping, source: pd.DataFrame, origin: str) -> Converted:
    """One export frame -> the canonical table ``table.name`` (text values, ISO dates)."""
    spec = TABLES[table.name]
    problems, notes = [], []
    frame = source.reset_index(drop=True)
    generated_ids = cleaning.row_ids(frame) if table.generate_ids else None
    if table.generate_ids:
        # Identical rows are separate events here (two purchases of the same thing on the
        # same day): kept, each with its own ID, and counted.
        identical = int(frame.astype("string").duplicated().sum())
        if identical:
            notes.append({
                "severity": "info", "table": table.name, "column": spec.key, "check": "identical_rows_kept",
                "count": identical, "examples": [],
                "message": (f"{table.name}: {identical:,} row(s) of {origin} are identical to another row; with "
                            f"generated IDs each is kept as its own {table.name} row (e.g. two purchases on one day)."),
            })
    elif not table.keep_duplicates:
        duplicated = frame.astype("string").duplicated()
        if duplicated.any():
            count = int(duplicated.sum())
            frame = frame[~duplicated.to_numpy()]  # keep the index: example rows keep their row numbers
            notes.append({
                "severity": "warning", "table": table.name, "column": None, "check": "duplicate_rows_dropped",
                "count": count, "examples": [],
                "message": (f"{table.name}: {count:,} row(s) of {origin} were exact copies of another row and were "
                            "dropped on import. If they are real separate deals, give them distinct IDs in the CRM."),
            })
    frame = frame.apply(lambda column: cleaning.blank_missing(column, mapping.missing_values))

    def header_for(canonical: str, wanted: list[str], required: bool) -> list[str]:
        found = [header for header in (_find_header(frame, item) for item in wanted) if header is not None]
        if not found and required:
            close = difflib.get_close_matches(wanted[0], [str(column) for column in frame.columns], n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise MappingError(
                f"{table.name}.{canonical}: the mapping reads it from {' or '.join(map(repr, wanted))}, but {origin} "
                f"has no such column (it has: {', '.join(map(str, frame.columns))}).{hint} Fix the column name in "
                "the mapping." + (f" If the export has no unique ID column, copy the mapping, leave {canonical} out "
                                  f"and set 'generate_ids: true' under tables.{table.name}: each row then gets a "
                                  "stable generated ID." if canonical == spec.key else ""))
        return found

    def first_present(headers: list[str]) -> pd.Series:
        values = frame[headers[0]]
        for header in headers[1:]:
            values = values.where(values.notna(), frame[header])
        return values

    out: dict[str, pd.Series] = {}
    raw_values: dict[str, pd.Series] = {}
    label_header = None
    flag_headers = {outcome: header_for(f"flags.{outcome}", wanted, False) for outcome, wanted in table.flags.items()}
    flag_headers = {outcome: headers for outcome, headers in flag_headers.items() if headers}
    if generated_ids is not None:
        raw_values[spec.key] = generated_ids
    # Headers no mapping entry reads: where a misspelt optional column would be.
    read_by_mapping = [*table.columns.values(), *table.names.values(), *table.flags.values()]
    mapped = {header for wanted in read_by_mapping for item in wanted if (header := _find_header(frame, item)) is not None}
    unread = [str(column) for column in frame.columns if column not in mapped]
    for canonical, wanted in table.columns.items():
        required = canonical in spec.required_columns and canonical not in table.constants
        if canonical == "stage" and "won" in flag_headers:
            required = False  # the outcome comes from the flags; a stage column only names open stages
        headers = header_for(canonical, wanted, required and canonical not in table.names)
        if headers:
            raw_values[canonical] = first_present(headers)
            if canonical == spec.key:
                label_header = headers[0]
        elif canonical not in table.names:
            note, problem = _absent_column_note(mapping, table.name, canonical, wanted, origin, unread)
            notes += [note] if note else []
            problems += [problem] if problem else []
    if table.converted_amounts and "amount" in raw_values and "currency" in raw_values:
        note = _amounts_already_converted(mapping, table, frame, raw_values, header_for, origin)
        notes += [note] if note else []
    names: dict[str, pd.DataFrame] = {}
    for canonical, wanted in table.names.items():
        headers = header_for(canonical, wanted, canonical in spec.required_columns and canonical not in raw_values)
        if not headers:
            continue
        name_values = cleaning.as_text(first_present(headers)).str.replace(r"\s+", " ", regex=True)
        if canonical in raw_values:
            ids = cleaning.clean_ids(raw_values[canonical])
        else:
            ids = cleaning.ids_from_names(name_values)
            raw_values[canonical] = ids
        pairs = pd.DataFrame({"id": ids, "name": name_values}).dropna().drop_duplicates("id")
        names[canonical] = pairs.reset_index(drop=True)

    for canonical, value in table.constants.items():
        if canonical not in raw_values:
            raw_values[canonical] = pd.Series(str(value), index=frame.index, dtype=object)
        else:  # a constant fills the gaps of a mapped column
            raw_values[canonical] = raw_values[canonical].where(raw_values[canonical].notna(), str(value))

    if table.status is not None and "stage" in spec.column_names:
        status_header = header_for("stage", _as_list(table.status["column"]), True)[0]
        status = cleaning.as_text(frame[status_header]).str.casefold()
        stage = raw_values.get("stage", pd.Series(None, index=frame.index, dtype=object)).astype(object)
        for outcome in ("won", "lost"):
            values = {str(value).strip().casefold() for value in _as_list(table.status.get(outcome))}
            hit = status.isin(values).fillna(False).to_numpy(dtype=bool)
            stage = stage.where(~hit, mapping.outcome_stage(outcome))
        raw_values["stage"] = stage

    if "won" in flag_headers:
        raw_values["stage"] = _stage_from_flags(mapping, table, frame, flag_headers, raw_values.get("stage"),
                                                origin, label_header, problems)

    for canonical in [column for column in [*spec.column_names, *EXTRA_COLUMNS.get(table.name, {})] if column in raw_values]:
        values = raw_values[canonical]
        kind = mapping.column_type(table.name, canonical)
        where = f"{table.name}.{canonical} (from {origin})"
        if kind == "id":
            out[canonical] = cleaning.clean_ids(values)
        elif kind == "text":
            out[canonical] = cleaning.as_text(values)
        elif kind == "category":
            out[canonical] = cleaning.unify_categories(values)
        elif kind in ("money", "number"):
            if canonical == "probability":
                parsed, bad = cleaning.parse_probabilities(values, mapping.probability_scale, mapping.decimal)
            else:
                parsed, bad = cleaning.parse_amounts(values, mapping.decimal)
            if bad.any():
                convention = "1,234.50" if mapping.decimal == "." else "1.234,50"
                problems.append(
                    f"{where}: {int(bad.sum()):,} value(s) are not amounts written like {convention}: "
                    f"{_example_ids(frame.assign(**{canonical: values}), bad, canonical, label_header)}. "
                    "Set 'decimal' in the mapping to the export's decimal separator, or correct these cells.")
            out[canonical] = parsed.map(lambda number: None if pd.isna(number) else repr(float(number)))
        elif kind in ("date", "timestamp"):
            parsed, bad, needs_order = cleaning.parse_dates(values, mapping.date_order, mapping.date_formats)
            shown = frame.assign(**{canonical: values})
            if needs_order.any():
                problems.append(
                    f"{where}: {int(needs_order.sum()):,} date(s) like 03/04/2024 could be day-first or month-first: "
                    f"{_example_ids(shown, needs_order, canonical, label_header)}. State the export's order in the "
                    "mapping: 'date_order: month_first' (US) or 'date_order: day_first'.")
            if bad.any():
                problems.append(
                    f"{where}: {int(bad.sum()):,} value(s) are not dates: "
                    f"{_example_ids(shown, bad, canonical, label_header)}. Correct them, or add the export's format "
                    "to 'date_formats' in the mapping (e.g. '%d.%m.%Y %H:%M').")
            offsets = cleaning.time_zone_offsets(values)
            if offsets.nunique() > 1:
                notes.append(_mixed_offsets_note(table.name, canonical, origin, offsets, shown, label_header))
            fmt = "%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M:%S"
            out[canonical] = parsed.dt.strftime(fmt).astype(object).where(parsed.notna(), None)

    if "stage" in out and mapping.stages:
        lookup = mapping.stage_lookup()
        key = out["stage"].str.replace(r"\s+", " ", regex=True).str.casefold()
        mapped = key.map(lookup)
        unknown = out["stage"].notna() & mapped.isna()
        if unknown.any():
            counts = out["stage"][unknown].value_counts()
            listed = ", ".join(f"'{value}' ({count:,})" for value, count in counts.head(10).items())
            problems.append(
                f"{table.name}.stage (from {origin}): {int(unknown.sum()):,} row(s) have a stage the mapping does not "
                f"list: {listed}. Add each under 'stages' in the mapping (as a stage, or in the 'from' list of the "
                "stage it means).")
        out["stage"] = mapped.where(~unknown, out["stage"])

    problems += _key_problems(table, out, origin)
    columns = [column for column in [*spec.column_names, *EXTRA_COLUMNS.get(table.name, {})] if column in out]
    result = pd.DataFrame({column: out[column].astype(object) for column in columns}, index=frame.index)
    if table.attributes:
        # Every header the mapping reads for the model (columns, names, flags, status): not an attribute.
        wanted_headers = [*read_by_mapping, *([_as_list(table.status["column"])] if table.status else [])]
        read = {header for group in wanted_headers for item in group if (header := _find_header(frame, item)) is not None}
        kept = _attribute_columns(mapping, table, frame, read, origin, label_header, problems, notes)
        result = result.assign(**kept) if kept else result
    result = result.astype(object).where(result.notna(), None)
    return Converted(result, problems, notes, names)


def _amounts_already_converted(mapping: Mapping, table: TableMapping, frame: pd.DataFrame,
                               raw_values: dict[str, pd.Series], header_for, origin: str) -> dict | None:
    """Clear the currency of the rows whose amount comes from a column the CRM has already
    converted to the playbook currency (``converted_amounts``), so that it is not converted a
    second time; a note says how many."""
    converted = {header for header in (_find_header(frame, item) for item in table.converted_amounts) if header}
    taken = pd.Series(False, index=frame.index)
    from_converted = taken.copy()
    for header in header_for("amount", table.columns["amount"], False):  # first_present's order
        present = frame[header].notna() & ~taken
        if header in converted:
            from_converted |= present
        taken |= present
    currency = raw_values["currency"]
    cleared = from_converted & currency.notna()
    if not cleared.any():
        return None
    raw_values["currency"] = currency.where(~cleared, None)
    count = int(cleared.sum())
    return {
        "severity": "info", "table": table.name, "column": "currency", "check": "amount_already_converted",
        "count": count, "examples": [],
        "message": (f"{table.name}: {count:,} row(s) of {origin} have their amount only in "
                    f"{' or '.join(map(repr, sorted(converted)))}, which the CRM has already converted to its "
                    "company currency: they are read in the playbook currency, not in their currency column. "
                    "Export the amount in the deal's currency to convert at the kit's dated rates."),
    }


def _attribute_columns(mapping: Mapping, table: TableMapping, frame: pd.DataFrame, read: set, origin: str,
                       label_header: str | None, problems: list[str], notes: list[dict]) -> dict[str, pd.Series]:
    """The export columns the mapping keeps as attributes (``attributes:``), cleaned: a number
    column (every value an amount in the mapping's convention, or stated ``number``) as plain
    numbers, any other as a category (trimmed, case variants unified). Named after the export
    header (spaces collapsed); a header that would clash with a model column is a problem when
    the mapping names it, and left out with a note under ``attributes: all``."""
    spec = TABLES[table.name]
    model_names = {column.lower() for column in [*spec.column_names, *EXTRA_COLUMNS.get(table.name, {})]}
    if table.attributes == ALL_UNMAPPED:
        wanted = {str(header): None for header in frame.columns if header not in read and str(header).strip()}
    else:
        wanted = {}
        for header, kind in table.attributes.items():
            found = _find_header(frame, header)
            if found is None:
                close = difflib.get_close_matches(header, [str(column) for column in frame.columns], n=1, cutoff=0.6)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                problems.append(f"{table.name}.attributes: the mapping keeps {header!r} as an attribute, but {origin} "
                                f"has no such column.{hint} Fix the header in the mapping or leave it out.")
            elif found in read:
                problems.append(f"{table.name}.attributes: {header!r} is already read as a column of the model; list "
                                "only the columns the mapping does not read.")
            else:
                wanted[found] = kind
    kept: dict[str, pd.Series] = {}
    for header, kind in wanted.items():
        name = " ".join(str(header).split())
        if name.lower() in model_names or name.lower() in {existing.lower() for existing in kept}:
            message = (f"{table.name}.attributes: the export column {header!r} has the name of a column of the "
                       f"model (or of another attribute); rename it in the export")
            if table.attributes == ALL_UNMAPPED:
                notes.append({"severity": "info", "table": table.name, "column": None, "check": "attribute_not_kept",
                              "count": 0, "examples": [], "message": message + ": it was not kept as an attribute."})
            else:
                problems.append(message + " or leave it out of 'attributes'.")
            continue
        values = frame[header]
        numbers, bad = cleaning.parse_amounts(values, mapping.decimal)
        if kind == NUMBER and bad.any():
            problems.append(f"{table.name}.attributes.{name} (from {origin}): {int(bad.sum()):,} value(s) are not "
                            f"numbers: {_example_ids(frame, bad, header, label_header)}. Correct them, or state "
                            f"'{CATEGORY}' for it under attributes.")
            continue
        if kind == NUMBER or (kind is None and not bad.any() and numbers.notna().any()):
            kept[name] = numbers.map(lambda number: None if pd.isna(number) else repr(float(number)))
        else:
            kept[name] = cleaning.unify_categories(values)
    return kept


def _stage_from_flags(mapping: Mapping, table: TableMapping, frame: pd.DataFrame, headers: dict[str, list[str]],
                      stage: pd.Series | None, origin: str, label_header: str | None, problems: list[str]) -> pd.Series:
    """The stage from boolean won / closed columns: won -> the won stage; closed and not won
    -> the lost stage; not closed -> open, in the stage the stage column names (else the
    mapping's first open stage). Unreadable flags and outcomes the mapping has no stage
    for are added to ``problems``."""
    flags, readable = {}, pd.Series(True, index=frame.index)
    for outcome, found in headers.items():
        values, bad = cleaning.parse_flags(frame[found[0]])
        flags[outcome] = values
        readable &= ~bad
        if bad.any():
            problems.append(
                f"{table.name}.stage (from {origin}, column {found[0]!r}): {int(bad.sum()):,} value(s) are not "
                f"TRUE/FALSE, 1/0 or yes/no: {_example_ids(frame, bad, found[0], label_header)}. Correct them or "
                "map another column under 'flags'.")
    stage = (stage if stage is not None else pd.Series(None, index=frame.index, dtype=object)).astype(object)
    won = flags["won"].fillna(False).astype(bool)
    closed = flags.get("closed", pd.Series(pd.NA, index=frame.index, dtype="boolean"))
    lost = (closed.fillna(False).astype(bool) & ~won).to_numpy()
    is_open = (~closed.fillna(True).astype(bool) & ~won).to_numpy()
    stages = {stage_spec["name"]: stage_spec.get("outcome") for stage_spec in mapping.stages or []}
    for outcome, hit in (("won", won.to_numpy()), ("lost", lost)):
        if hit.any():
            names = [name for name, kind in stages.items() if kind == outcome]
            if not names:
                problems.append(f"{table.name}.stage (from {origin}): {int(hit.sum()):,} row(s) are {outcome} by "
                                f"their flags, but the mapping's stages have no stage with 'outcome: {outcome}'. "
                                f"Add one under 'stages'.")
                continue
            stage = stage.where(~hit, names[0])
    open_stages = [name for name, kind in stages.items() if kind is None]
    # An open deal keeps the open stage its stage column names; none, or a closed stage, is
    # replaced by the first open stage.
    lookup = mapping.stage_lookup()

    def names_open_stage(value) -> bool:
        name = lookup.get(" ".join(str(value).split()).casefold()) if isinstance(value, str) else None
        return name is not None and stages.get(name) is None

    unnamed = is_open & ~stage.map(names_open_stage).astype(bool).to_numpy()
    if unnamed.any():
        if open_stages:
            stage = stage.where(~unnamed, open_stages[0])
        else:
            problems.append(f"{table.name}.stage (from {origin}): {int(unnamed.sum()):,} row(s) are open (not closed "
                            "by their flags), but the mapping's stages have no open stage. Add one under 'stages' "
                            "(a stage without an outcome).")
    return stage


def _mixed_offsets_note(table: str, canonical: str, origin: str, offsets: pd.Series, shown: pd.DataFrame,
                        label_header: str | None) -> dict:
    """A warning: one column's times carry different time-zone offsets (every time is read as
    the wall-clock time written, its offset dropped: the CRM's local time)."""
    counts = offsets.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    usual = counts.index[0]
    other = offsets.notna() & (offsets != usual)
    listed = ", ".join(f"{offset} on {count:,} row(s)" for offset, count in counts.head(5).items())
    return {
        "severity": "warning", "table": table, "column": canonical, "check": "mixed_time_zones",
        "count": int(other.sum()), "examples": [],
        "message": (f"{table}.{canonical} (from {origin}): {int(other.sum()):,} value(s) carry a time-zone offset other "
                    f"than the column's usual {usual} ({listed}), e.g. "
                    f"{_example_ids(shown, other.fillna(False), canonical, label_header)}. Each time is read as the "
                    "wall-clock time written, its offset dropped (the CRM's local time), so times written in different "
                    "zones are compared as if in one: hours between events can be off, and a date by a day. Export "
                    "every time in the CRM's own time zone."),
    }


def _key_problems(table: TableMapping, out: dict[str, pd.Series], origin: str) -> list[str]:
    """The table's ID absent from the mapping, or repeated on different rows: say how many,
    show examples and name the way out (``generate_ids``)."""
    key = TABLES[table.name].key
    if key is None or table.generate_ids:
        return []
    way_out = (f"set 'generate_ids: true' under tables.{table.name} in the mapping: each row then gets a stable ID "
               "generated from its content (the same export gives the same IDs on every import)")
    if key not in out:
        return [f"{table.name}.{key}: the mapping reads no {key} for {origin}. Map the export's unique ID column to "
                f"it, or, if the export has none, {way_out}."]
    ids = out[key]
    repeated = ids.notna() & ids.duplicated(keep=False)
    if not repeated.any():
        return []
    copies = ids[repeated].value_counts()
    copies = copies.sort_values(ascending=False, kind="stable").head(3)  # most repeated first, then first seen
    examples = "; ".join(
        f"{value!r} on {count:,} rows (rows {', '.join(str(row + 2) for row in ids.index[ids == value][:4])}"
        f"{', ...' if count > 4 else ''})" for value, count in copies.items())
    return [f"{table.name}.{key} (from {origin}): {int(repeated.sum()):,} rows share their ID with another row "
            f"({int(ids[repeated].nunique()):,} IDs repeat), e.g. {examples}. The column mapped to "
            f"{key} does not identify one {table.name} row. If it names something that can appear on several rows "
            f"(a person or account that bought or applied several times), map it where it belongs (e.g. "
            f"account_id) and {way_out}."]
