"""Checks a dataset against the data model and the playbook.

Each check returns :class:`Finding` objects: an ``error`` means the numbers would be wrong
(the run stops), a ``warning`` means the analysis proceeds and the report says so. Every
message names the table, the column, how many rows, a few example rows and what to do.

The checks are Ibis expressions, so they run inside the engine on any size of data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import ibis
import ibis.expr.types as ir

from salesnb.model import TABLES, Table, convert
from salesnb.playbook import Playbook

EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    table: str
    column: str | None
    check: str  # short machine name, e.g. "missing_column"
    count: int
    message: str  # the whole sentence for a sales-ops analyst
    examples: list[dict] = field(default_factory=list, compare=False)

    def to_dict(self) -> dict:
        return asdict(self)


def errors(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == "error"]


def warnings(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == "warning"]


def _describe_examples(examples: list[dict]) -> str:
    rows = ["(" + ", ".join(f"{key}={value!r}" for key, value in row.items()) + ")" for row in examples]
    return "; ".join(rows)


def _example_rows(table: ir.Table, condition: ir.BooleanValue, columns: list[str]) -> list[dict]:
    columns = [column for column in dict.fromkeys(columns) if column in table.columns]
    frame = table.filter(condition).select(columns).limit(EXAMPLE_ROWS).execute()
    rows = []
    for record in frame.to_dict(orient="records"):
        rows.append({key: (None if value is None or value != value else str(value)) for key, value in record.items()})
    return rows


def _row_label(spec: Table) -> list[str]:
    """Columns that identify a row in examples: the key, or the deal for history rows."""
    if spec.key:
        return [spec.key]
    return [column.name for column in spec.columns if column.references][:1]


def _finding(severity, spec: Table, column, check, count, problem, fix, examples) -> Finding:
    where = f"{spec.name}.{column}" if column else spec.name
    message = f"{where}: {count:,} row(s) {problem}"
    if examples:
        message += f", e.g. {_describe_examples(examples)}"
    message += f". {fix}"
    return Finding(severity, spec.name, column, check, int(count), message, examples)


def check_columns(name: str, raw: ir.Table) -> list[Finding]:
    """Required columns present; suggests the closest header for a misspelt one."""
    import difflib

    spec = TABLES[name]
    present = {column.strip().lower(): column for column in raw.columns}
    findings = []
    for column in spec.required_columns:
        if column in raw.columns:
            continue
        if column in present:
            hint = f"The file has '{present[column]}': rename it to '{column}' (names are lower case)."
        else:
            close = difflib.get_close_matches(column, list(raw.columns), n=1, cutoff=0.6)
            hint = (
                f"Did you mean '{close[0]}'? Rename that header to '{column}'." if close
                else f"Add a '{column}' column ({spec.column(column).description}) or map a column to it with --mapping."
            )
        findings.append(Finding(
            "error", name, column, "missing_column", 0,
            f"{name}: the required column '{column}' is missing (the file has: {', '.join(raw.columns)}). {hint}",
        ))
    return findings


def check_parsing(name: str, raw: ir.Table) -> list[Finding]:
    """Values that are present in the file but cannot be read as their column's type."""
    spec = TABLES[name]
    checked = [
        column for column in spec.columns
        if column.name in raw.columns and column.type in ("date", "timestamp", "money", "number")
        and raw[column.name].type().is_string()
    ]
    if not checked:
        return []
    flagged = raw.mutate(**{
        f"__bad_{column.name}": raw[column.name].strip().nullif("").notnull()
        & convert(raw[column.name], column.type).isnull()
        for column in checked
    })
    # One pass over the table counts every column's failures.
    counts = flagged.aggregate(**{
        column.name: flagged[f"__bad_{column.name}"].cast("int64").sum() for column in checked
    }).execute().iloc[0]
    findings = []
    label = _row_label(spec)
    for column in checked:
        count = int(counts[column.name] or 0)
        if not count:
            continue
        examples = _example_rows(flagged, flagged[f"__bad_{column.name}"], label + [column.name])
        if column.type in ("date", "timestamp"):
            problem = "have a date that cannot be read"
            fix = ("Write dates as YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS), or import the export with "
                   "'salesnb import --mapping' and state its date format.")
        else:
            problem = "have a value that is not a number"
            fix = ("Amounts must be plain numbers (no currency symbols or thousands separators), or import "
                   "the export with 'salesnb import', which cleans them.")
        findings.append(_finding("error", spec, column.name, "unparsable", count, problem, fix, examples))
    return findings


def check_duplicate_ids(name: str, typed: ir.Table) -> list[Finding]:
    spec = TABLES[name]
    if not spec.key:
        return []
    key = typed[spec.key]
    counted = typed.filter(key.notnull()).group_by(spec.key).aggregate(copies=key.count())
    duplicated = counted.filter(counted.copies > 1)
    total = int(duplicated.copies.sum().execute() or 0)
    findings = []
    if total:
        examples = duplicated.order_by(ibis.desc("copies"), spec.key).limit(EXAMPLE_ROWS).execute()
        rows = [{spec.key: str(row[spec.key]), "copies": int(row["copies"])} for _, row in examples.iterrows()]
        findings.append(_finding(
            "error", spec, spec.key, "duplicate_id", total, "share an ID with another row",
            f"Each {spec.key} must appear once; remove the duplicate rows or give them distinct IDs.", rows,
        ))
    missing = int(typed.filter(key.isnull()).count().execute())
    if missing:
        findings.append(_finding(
            "error", spec, spec.key, "missing_id", missing, "have no ID",
            f"Every row needs a {spec.key}; fill it in or drop those rows.", [],
        ))
    return findings


def check_required_values(name: str, raw: ir.Table) -> list[Finding]:
    """Required columns (other than the key) left empty. Unreadable values are reported
    by :func:`check_parsing`, so only truly empty cells count here."""
    spec = TABLES[name]
    findings = []
    for column in spec.required_columns:
        if column == spec.key or (name == "opportunities" and column == "amount"):
            continue  # lost deals often carry no amount; the metrics handle it
        empty = raw[column].cast("string").strip().nullif("").isnull()
        count = int(raw.filter(empty).count().execute())
        if count:
            examples = _example_rows(raw, empty, _row_label(spec) + [column])
            findings.append(_finding(
                "error", spec, column, "missing_value", count, "have no value in a required column",
                f"Fill in {column} ({spec.column(column).description}) or drop those rows.", examples,
            ))
    return findings


def check_stages(name: str, typed: ir.Table, playbook: Playbook) -> list[Finding]:
    if name not in ("opportunities", "opportunity_history") or "stage" not in typed.columns:
        return []
    spec = TABLES[name]
    unknown = typed.stage.notnull() & ~typed.stage.isin(playbook.stage_names)
    count = int(typed.filter(unknown).count().execute())
    if not count:
        return []
    values = typed.filter(unknown).stage.value_counts().order_by(ibis.desc("stage_count"), "stage").limit(10).execute()
    listed = ", ".join(f"'{value}' ({n:,})" for value, n in zip(values["stage"], values["stage_count"]))
    examples = _example_rows(typed, unknown, _row_label(spec) + ["stage"])
    return [_finding(
        "error", spec, "stage", "unknown_stage", count,
        f"have a stage the playbook does not know ({listed})",
        f"The playbook's stages are: {', '.join(playbook.stage_names)}. Add the missing stages to your "
        "playbook config (--config) or map the export's stage names onto these.", examples,
    )]


def check_currency(name: str, typed: ir.Table, playbook: Playbook) -> list[Finding]:
    if "currency" not in typed.columns:
        return []
    spec = TABLES[name]
    other = typed.currency.notnull() & (typed.currency.upper() != playbook.currency.upper())
    count = int(typed.filter(other).count().execute())
    if not count:
        return []
    examples = _example_rows(typed, other, _row_label(spec) + ["currency", "amount"])
    return [_finding(
        "error", spec, "currency", "mixed_currency", count,
        f"are in a currency other than the playbook's {playbook.currency}",
        "Amounts in different currencies are never added together: convert them to "
        f"{playbook.currency} first, or set 'currency' in the playbook if the whole dataset is in another currency.",
        examples,
    )]


def validate_table(name: str, raw: ir.Table, typed: ir.Table | None, playbook: Playbook) -> list[Finding]:
    """All checks for one table. ``typed`` is None when required columns are missing."""
    findings = check_columns(name, raw)
    if typed is None or findings:
        return findings
    findings += check_parsing(name, raw)
    findings += check_duplicate_ids(name, typed)
    findings += check_required_values(name, raw)
    findings += check_stages(name, typed, playbook)
    findings += check_currency(name, typed, playbook)
    return findings
