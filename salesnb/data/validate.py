"""Checks a dataset against the data model and the playbook.

Each check returns :class:`Finding` objects: an ``error`` means the numbers would be wrong
(the run stops), a ``warning`` means the analysis proceeds and the report says so. Every
message names the table, the column, how many rows, a few example rows and what to do.

The checks are Ibis expressions, so they run inside the engine on any size of data.

Errors (the run stops): a required column missing (with the closest header suggested),
a table with a header and no rows, values that cannot be read as their type (dates past
year 9999 included), NaN and infinite numbers, amounts above ``MAX_AMOUNT`` (whose sums
would overflow), duplicate or missing IDs, empty required values, stages the playbook does
not know, exchange rates of 0 or less or given twice for one date (:func:`check_exchange_rates`),
amounts in a currency without a rate on the date that converts them
(:func:`check_currency_rates`, run by the loader once the data date is known), negative amounts,
probabilities on a 0..100 scale where 0..1 is used, and two events of a row in the wrong
order (``EVENT_ORDERS``: a deal closed before it was created, a lead answered or qualified
before it was created, a quota ending before it starts) in more than ``ORDER_ERROR_SHARE``
of the rows.

Warnings (the analysis proceeds, the report's banner says so): a few rows with events in
the wrong order, quota periods of one rep that overlap or leave a gap, references to reps,
accounts, leads or deals the dataset does not have, dates implausibly far in the past
(before ``EARLIEST_PLAUSIBLE_DATE``) or the future (more than ``FUTURE_YEARS`` after the day
of the check), dates far outside the rest of their column (:func:`date_fences`), won or open
deals without an amount (or no amount at all), lost deals whose amounts the CRM zeroes
(:func:`lost_amounts_zeroed`), date columns mixing time-zone offsets
(:func:`check_time_zones`), and, at the data date, open deals without or past their
expected close date (:func:`check_open_deal_close_dates`, run by the loader once the data
date is known) and events dated far after the data date (``Dataset.events_after_as_of``).

In ``opportunities`` only ``opportunity_id`` and ``stage`` are required: a deal without a
date or an amount is valid, and each metric leaves it out only where it needs the value.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
from dataclasses import asdict, dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data import currency
from salesnb.data.formats import shorten
from salesnb.data.backends import as_count
from salesnb.data.model import TABLES, Table, convert, stripped_or_null
from salesnb.data.playbook import Playbook

EXAMPLE_ROWS = 5
# Above this share of rows with two events in the wrong order (a deal closing before its
# creation, a lead answered before it arrived), the dates themselves are wrong (e.g. swapped
# columns or day/month mixed up): an error. Below it, a few typos: a warning.
ORDER_ERROR_SHARE = 0.01
CLOSE_BEFORE_CREATION_ERROR_SHARE = ORDER_ERROR_SHARE  # the name the first such check had
# Dates before this, or more than FUTURE_YEARS after today, are almost surely typos
# (1900-01-01 placeholders, 2204 for 2024).
EARLIEST_PLAUSIBLE_DATE = dt.date(1990, 1, 1)
FUTURE_YEARS = 5


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


# Values quoted in a message are cut to this many characters: a pasted e-mail in a stage
# or ID must not fill the terminal (the examples in the finding keep the whole value).
MAX_QUOTED_LENGTH = 80


def _quoted(value) -> str:
    return repr(shorten(value, MAX_QUOTED_LENGTH))


def _describe_examples(examples: list[dict]) -> str:
    rows = ["(" + ", ".join(f"{key}={_quoted(value)}" for key, value in row.items()) + ")" for row in examples]
    return "; ".join(rows)


def _example_value(value) -> str | None:
    if value is None or value != value:
        return None
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()  # a date column comes back as midnight timestamps
    return str(value)


def example_rows(table: ir.Table, condition: ir.BooleanValue, columns: list[str]) -> list[dict]:
    """The first few rows matching ``condition`` (ordered, so every run shows the same ones)."""
    columns = [column for column in dict.fromkeys(columns) if column in table.columns]
    frame = table.filter(condition).select(columns).order_by(columns).limit(EXAMPLE_ROWS).execute()
    rows = []
    for record in frame.to_dict(orient="records"):
        rows.append({key: _example_value(value) for key, value in record.items()})
    return rows


def _row_label(spec: Table) -> list[str]:
    """Columns that identify a row in examples: the key, or the deal for history rows."""
    if spec.key:
        return [spec.key]
    if spec.name == "exchange_rates":  # a rate is named by its currency and date
        return ["currency", "valid_from"]
    return [column.name for column in spec.columns if column.references][:1]


def _share(count: int, total: int) -> str:
    """A share for a message; a few rows of many read "<0.1%", never "0.0%"."""
    share = count / total
    return "<0.1%" if share < 0.001 else f"{share:.1%}"


def make_finding(severity, spec: Table, column, check, count, problem, fix, examples) -> Finding:
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
            if column == spec.key:
                hint += (f" An export without an ID column can be imported with 'generate_ids: true' for {name} "
                         "in the mapping: each row then gets a stable generated ID.")
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
    ]
    if not checked:
        return []

    def present(value):
        # Text cells count as present unless blank; a Parquet column of another type (e.g.
        # dates stored as the integer 20250105) when not NULL: it must not vanish silently.
        return stripped_or_null(value).notnull() if value.type().is_string() else value.notnull()

    flagged = raw.mutate(**{
        f"__bad_{column.name}": present(raw[column.name]) & convert(raw[column.name], column.type).isnull()
        for column in checked
    })
    # One pass over the table counts every column's failures.
    counts = flagged.aggregate(**{
        column.name: flagged[f"__bad_{column.name}"].cast("int64").sum() for column in checked
    }).execute().iloc[0]
    findings = []
    label = _row_label(spec)
    for column in checked:
        count = as_count(counts[column.name])
        if not count:
            continue
        # As text: a stored value may be one Python cannot represent (a timestamp in year 10000).
        shown = flagged.mutate(**{column.name: flagged[column.name].cast("string")})
        examples = example_rows(shown, shown[f"__bad_{column.name}"], label + [column.name])
        if column.type in ("date", "timestamp"):
            problem = "have a date that cannot be read"
            fix = ("Write dates as YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS), years up to 9999, or import the export with "
                   "'salesnb import --mapping' and state its date format.")
        elif name == "exchange_rates":
            problem = "have a rate that is not a number"
            fix = "Write each rate as a plain number above 0 with a dot for decimals (1.08), or drop the row."
        else:
            problem = "have a value that is not a number"
            fix = ("Amounts must be plain numbers (no currency symbols or thousands separators), or import "
                   "the export with 'salesnb import', which cleans them.")
        findings.append(make_finding("error", spec, column.name, "unparsable", count, problem, fix, examples))
    return findings


def id_hash(key: ir.Value) -> ir.IntegerValue:
    """An integer standing for an ID, equal for equal IDs (different IDs may share one)."""
    return key.hash()


def check_duplicate_ids(name: str, typed: ir.Table) -> list[Finding]:
    spec = TABLES[name]
    if not spec.key:
        return []
    key = typed[spec.key]
    # One pass first counts the rows, the IDs and the IDs' distinct 64-bit hashes. Equal IDs hash
    # alike, so as many distinct hashes as IDs means that no ID repeats, exactly, and the search
    # for the copies is skipped: the usual case, and the dearest check of a large export (xlarge,
    # 125M activity IDs: 50 s -> 20 s; benchmarks/README.md, round 12).
    tally = typed.aggregate(rows=typed.count(), ids=key.count(),
                            hashes=id_hash(key).nunique(where=key.notnull())).execute()
    rows, ids, hashes = (as_count(tally[column].iloc[0]) for column in ("rows", "ids", "hashes"))
    findings = []
    duplicated = None if hashes == ids else _duplicated_ids(typed, spec.key)
    total = 0 if duplicated is None else as_count(duplicated.copies.sum().execute())
    if total:
        examples = duplicated.order_by(ibis.desc("copies"), spec.key).limit(EXAMPLE_ROWS).execute()
        copies = [{spec.key: str(row[spec.key]), "copies": int(row["copies"])} for _, row in examples.iterrows()]
        findings.append(make_finding(
            "error", spec, spec.key, "duplicate_id", total, "share an ID with another row",
            f"Each {spec.key} must appear once; remove the duplicate rows or give them distinct IDs. If the "
            f"export has no unique {spec.key} (its ID column names the customer, not the {name} row), import it "
            f"with 'generate_ids: true' for {name} in the mapping (docs/importing.md): each row then gets a "
            "stable generated ID, and the repeated column can be mapped where it belongs (e.g. account_id).", copies,
        ))
    missing = rows - ids
    if missing:
        findings.append(make_finding(
            "error", spec, spec.key, "missing_id", missing, "have no ID",
            f"Every row needs a {spec.key}; fill it in or drop those rows, or import the export with "
            f"'generate_ids: true' for {name} in the mapping, which gives each row a stable ID.", [],
        ))
    return findings


def _duplicated_ids(typed: ir.Table, key_name: str) -> ir.Table:
    """Each ID (``key_name``) on more than one row, with its ``copies``. Grouped first by a 64-bit
    hash of the ID, then only the rows whose hash is shared (the duplicates, and any two IDs that
    happen to hash alike) by the ID itself: the count is exact. Grouping the xlarge sample's 125M
    activity IDs as text ran DuckDB out of memory at its 700 MB limit, with or without threads."""
    key = typed[key_name]
    present = typed.filter(key.notnull()).select(key_name, key_hash=id_hash(key))
    shared = present.group_by("key_hash").aggregate(copies=present.count())
    candidates = present.semi_join(shared.filter(shared.copies > 1), "key_hash")
    counted = candidates.group_by(key_name).aggregate(copies=candidates[key_name].count())
    return counted.filter(counted.copies > 1)


# Columns a table has on every row or on none: a lead list without dates is data without dates
# (docs/data-model.md), but leads dated on some rows and not on others would drop out of every
# period unseen, so a partly empty one is an error like an empty required value.
EVERY_ROW_OR_NONE = {"leads": ("created_at",)}


def check_required_values(name: str, raw: ir.Table, typed: ir.Table | None = None) -> list[Finding]:
    """Required columns (other than the key) left empty, and the columns of
    ``EVERY_ROW_OR_NONE`` empty on some rows but not all. Unreadable values are reported
    by :func:`check_parsing`, so only truly empty cells count here.

    With the ``typed`` table, the empty text cells of an ID, text or category column are
    counted there: its value is the raw text stripped and NULL when blank (``model.convert``),
    so a NULL there is exactly a blank cell, counted without stripping every cell again."""
    spec = TABLES[name]
    columns = [column for column in spec.required_columns if column != spec.key]
    every_or_none = [column for column in EVERY_ROW_OR_NONE.get(name, ()) if column in raw.columns]
    columns += every_or_none
    if not columns:
        return []

    def empty(column):
        value = raw[column]
        # Only text can be blank; a typed Parquet column (a timestamp) is empty when NULL.
        # Casting 12M timestamps to text to strip them took 32 s of the large sample's check.
        return stripped_or_null(value).isnull() if value.type().is_string() else value.isnull()

    def blank_in_typed(column):
        return (typed is not None and column in typed.columns and raw[column].type().is_string()
                and spec.column(column).type in ("id", "text", "category"))

    from_typed = [column for column in columns if blank_in_typed(column)]
    from_raw = [column for column in columns if column not in from_typed]
    # One pass over each table counts every column's empty cells.
    counts = raw.aggregate(__rows=raw.count(),
                           **{column: empty(column).cast("int64").sum() for column in from_raw}).execute().iloc[0]
    counts = dict(counts)
    if from_typed:
        counts.update(typed.aggregate(**{column: typed[column].isnull().cast("int64").sum()
                                         for column in from_typed}).execute().iloc[0])
    findings = []
    for column in columns:
        count = as_count(counts[column])
        if column in every_or_none and count == as_count(counts["__rows"]):
            continue  # empty on every row: the table has no such dates at all
        if count:
            examples = example_rows(raw, empty(column), _row_label(spec) + [column])
            findings.append(make_finding(
                "error", spec, column, "missing_value", count, "have no value in a required column"
                if column not in every_or_none else "have no value where the other rows have one",
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
    listed = ", ".join(f"{_quoted(value)} ({n:,})" for value, n in zip(values["stage"], values["stage_count"]))
    examples = example_rows(typed, unknown, _row_label(spec) + ["stage"])
    fix = (f"The playbook's stages are: {', '.join(playbook.stage_names)}. Add the missing stages to your "
           "playbook config (--config) or map the export's stage names onto these.")
    # "Won" / "Lost" for "Closed Won" / "Closed Lost": the first file of many; show the two lines that fix it.
    meant = {value: playbook.stage_meant_by(value) for value in values["stage"]}
    meant = {value: stage for value, stage in meant.items() if stage}
    if meant:
        lines = "; ".join(f"'- name: {stage}' becomes '- name: {value}'" for value, stage in meant.items())
        fix += (f" {' and '.join(map(_quoted, meant))} look like the playbook's "
                f"{' and '.join(map(_quoted, meant.values()))}: write those names in the file, or copy "
                f"salesnb/data/playbook.yaml, change {'this line' if len(meant) == 1 else 'these lines'} in its "
                f"stages ({lines}) and pass the copy with --config.")
    return [make_finding("error", spec, "stage", "unknown_stage", count,
                         f"have a stage the playbook does not know ({listed})", fix, examples)]


def check_exchange_rates(name: str, typed: ir.Table, playbook: Playbook) -> list[Finding]:
    """The ``exchange_rates`` table: a rate of 0 or less, a currency given two rates for one
    date, the playbook currency at a rate other than 1, and a currency that also has a fixed
    rate in the playbook (which one would apply?): errors. Rates that are not numbers are
    :func:`check_parsing`'s, NaN and infinity :func:`check_finite`'s."""
    if name != "exchange_rates":
        return []
    spec = TABLES[name]
    findings = []
    shown = ["currency", "valid_from", "rate"]
    not_positive = (typed.rate <= 0).fill_null(False)
    count = as_count(typed.filter(not_positive).count().execute())
    if count:
        findings.append(make_finding(
            "error", spec, "rate", "rate_not_positive", count, "have a rate of 0 or less",
            "A rate is what one unit of the currency is worth in the playbook currency, always above 0 (EUR 1.08 "
            "with a USD playbook). Correct the rate or drop the row.", example_rows(typed, not_positive, shown)))
    dated = typed.filter(typed.currency.notnull() & typed.valid_from.notnull())
    dated = dated.mutate(currency_code=currency.code(dated.currency, playbook))
    copies = dated.group_by(["currency_code", "valid_from"]).aggregate(copies=dated.count())
    repeated = copies.filter(copies.copies > 1)
    count = as_count(repeated.copies.sum().execute())
    if count:
        examples = repeated.order_by(["currency_code", "valid_from"]).limit(EXAMPLE_ROWS).execute()
        rows = [{"currency": code, "valid_from": _example_value(day), "copies": int(n)}
                for code, day, n in zip(examples["currency_code"], examples["valid_from"], examples["copies"])]
        findings.append(make_finding(
            "error", spec, "valid_from", "duplicate_rate", count, "give a currency a second rate for the same date",
            "Keep one rate per currency and valid_from date (finance publishes one); a second would make the "
            "conversion depend on which row is read first.", rows))
    own = currency.reporting_currency(playbook)
    wrong_own = (currency.code(typed.currency, playbook) == own) & (typed.rate != 1).fill_null(False)
    count = as_count(typed.filter(wrong_own).count().execute())
    if count:
        findings.append(make_finding(
            "error", spec, "rate", "own_currency_rate", count,
            f"give the playbook currency {own} a rate other than 1",
            f"Rates convert to the playbook currency {own}, so its own rate is always 1: drop these rows, or set "
            "'currency' in the playbook to the currency the rates convert to.", example_rows(typed, wrong_own, shown)))
    fixed = [code for code, _ in playbook.exchange_rates]
    if fixed:
        both = currency.code(typed.currency, playbook).isin(fixed)
        count = as_count(typed.filter(both).count().execute())
        if count:
            named = sorted(set(typed.filter(both).select(code=currency.code(typed.currency, playbook))
                               .distinct().execute()["code"]))
            findings.append(make_finding(
                "error", spec, "currency", "rate_given_twice", count,
                f"give rates for {', '.join(named)}, which the playbook also fixes (exchange_rates)",
                "A currency takes its rates from one place: remove it from the playbook's exchange_rates to use the "
                "dated rates of this table, or drop its rows here to use the fixed rate.",
                example_rows(typed, both, shown)))
    return findings


def _date_range(first, last) -> str:
    first, last = _example_value(first), _example_value(last)
    return f"on {first}" if first == last else f"from {first} to {last}"


def check_currency_rates(tables: dict[str, ir.Table], playbook: Playbook, as_of: dt.date) -> list[Finding]:
    """Every amount in another currency has a rate on the date that converts it
    (``salesnb.data.currency``: a closed deal's close date, an open deal's data date, an
    order's date). Errors, never a silent rate of 1 or a dropped deal:

    - ``no_exchange_rate``: a currency the data has no rate for at all (neither the
      ``exchange_rates`` table nor the playbook's fixed rates): say where to add one;
    - ``missing_exchange_rate``: dates before a currency's first rate: the currency, the
      first and last dates without a rate and the number of deals (or orders).

    And a warning, ``exchange_rates_start_late``: deals whose history starts before their
    currency's first rate; views of the pipeline on such a date cannot convert them.
    """
    originals = {name: tables[name] for name in currency.CONVERTED_TABLES
                 if name in tables and "currency" in tables[name].columns}
    if not currency.needs_conversion(originals, playbook):
        return []
    periods = currency.rate_periods(tables.get("exchange_rates"))
    findings = []
    nouns = {"opportunities": "deals", "orders": "orders"}
    for name, table in originals.items():
        spec = TABLES[name]
        label = _row_label(spec)
        foreign = table.filter(currency.foreign_amounts(table, playbook))
        coded = foreign.mutate(currency=currency.code(foreign.currency, playbook), amount_original=foreign.amount)
        day = currency.rate_date(name, coded, playbook, as_of)
        rated = currency.with_rates(coded.mutate(rate_day=day), "currency", day, periods, playbook)
        missing = rated.filter(rated.exchange_rate.isnull() & rated.rate_day.notnull())
        known = set() if periods is None else set(periods.rate_currency.name("code").as_table().distinct()
                                                   .execute()["code"])
        known |= {code for code, _ in playbook.exchange_rates}
        summary = missing.group_by("currency").aggregate(
            rows=missing.count(), first=missing.rate_day.min(), last=missing.rate_day.max()).order_by("currency").execute()
        for code_value, rows, first, last in zip(summary["currency"], summary["rows"], summary["first"], summary["last"]):
            rows = int(rows)
            examples = example_rows(missing, missing.currency == code_value, label + ["currency", "amount_original",
                                                                                        "rate_day"])
            examples = [{("amount" if key == "amount_original" else "rate_date" if key == "rate_day" else key): value
                         for key, value in row.items()} for row in examples]
            if code_value not in known:
                findings.append(make_finding(
                    "error", spec, "currency", "no_exchange_rate", rows,
                    f"are {nouns[name]} with an amount in {_quoted(code_value)}, a currency the data has no exchange "
                    f"rate for (needed {_date_range(first, last)})",
                    f"Add {code_value} rates to the exchange_rates table (currency, valid_from, rate: what one "
                    f"{code_value} is worth in {currency.reporting_currency(playbook)}), or, for a fixed rate, set "
                    f"'exchange_rates: {{{code_value}: <rate>}}' in the playbook (docs/data-model.md). If {code_value} "
                    f"is the currency you report in, set 'currency: {code_value}' in the playbook instead; if the code "
                    "is a typo, correct it in the CRM.", examples))
            else:
                findings.append(make_finding(
                    "error", spec, "amount", "missing_exchange_rate", rows,
                    f"are {nouns[name]} in {code_value} that need a rate on a date without one: "
                    f"{_date_range(first, last)}, before the first {code_value} rate",
                    f"Add {code_value} rates valid from {_example_value(first)} on to the exchange_rates table (an "
                    "amount is never converted at a guessed rate, nor left out). A closed deal converts at its close "
                    "date, an open deal at the data's date, an order at its order date.", examples))
    if "opportunity_history" in tables and "opportunities" in originals and periods is not None:
        findings += _history_before_rates(tables, originals["opportunities"], periods, playbook)
    return findings


def _history_before_rates(tables, deals: ir.Table, periods: ir.Table, playbook: Playbook) -> list[Finding]:
    """Deals in a currency of the rate table whose stage history starts before its first rate."""
    history = tables["opportunity_history"]
    foreign = deals.filter(currency.foreign_amounts(deals, playbook))
    foreign = foreign.select("opportunity_id", currency_code=currency.code(foreign.currency, playbook))
    starts = periods.group_by("rate_currency").aggregate(first_rate=periods.rate_from.min())
    first_rows = history.group_by("opportunity_id").aggregate(first_day=history.changed_at.min().date())
    joined = foreign.join(first_rows, "opportunity_id").join(starts, foreign.currency_code == starts.rate_currency)
    early = joined.filter(joined.first_day < joined.first_rate)
    summary = early.group_by(["currency_code", "first_rate"]).aggregate(
        deals=early.count(), first=early.first_day.min()).order_by("currency_code").execute()
    findings = []
    for code_value, first_rate, deals_count, first in zip(summary["currency_code"], summary["first_rate"],
                                                        summary["deals"], summary["first"]):
        findings.append(make_finding(
            "warning", TABLES["opportunity_history"], "changed_at", "exchange_rates_start_late", int(deals_count),
            f"belong to deals in {code_value} whose history starts on {_example_value(first)}, before the first "
            f"{code_value} rate (valid from {_example_value(first_rate)})",
            f"A view of the pipeline on a date before {_example_value(first_rate)} (a waterfall, the forecast's "
            f"training, a backtest) cannot convert them and stops with an error: add {code_value} rates from "
            f"{_example_value(first)} on to the exchange_rates table.", []))
    return findings


def check_negative_amounts(name: str, typed: ir.Table) -> list[Finding]:
    """Money columns below zero: a refund or credit note is not a deal or an order."""
    spec = TABLES[name]
    findings = []
    for column in spec.columns:
        if column.type != "money" or column.name not in typed.columns:
            continue
        negative = typed[column.name] < 0
        count = int(typed.filter(negative).count().execute())
        if count:
            examples = example_rows(typed, negative, _row_label(spec) + [column.name])
            findings.append(make_finding(
                "error", spec, column.name, "negative_amount", count, "have a negative amount",
                "Amounts must be zero or more: remove credit notes and refunds from the export, or correct the "
                "sign.", examples,
            ))
    return findings


@dataclass(frozen=True)
class EventOrder:
    """Two timestamps of a row that the metrics subtract: ``later`` must not be before ``earlier``.

    ``earlier`` lists columns tried in turn (the nearest earlier step the row has: a lead
    converted without an SQL date is compared with its MQL date, else its creation).
    """

    table: str
    later: str
    earlier: tuple[str, ...]
    check: str
    problem: str  # completes "N row(s) ..."
    unit: str  # what a row is, for "(2.0% of deals)"
    consequence: str  # what goes wrong in the numbers


EVENT_ORDERS = (
    EventOrder("opportunities", "close_date", ("created_at",), "close_before_creation",
               "close before they were created", "deals", "Their sales cycle would be negative"),
    EventOrder("leads", "first_response_at", ("created_at",), "response_before_creation",
               "were answered before the lead was created", "leads",
               "Response times would look faster than they are (counted as 0 hours)"),
    EventOrder("leads", "mql_at", ("created_at",), "lead_stage_order",
               "became MQL before the lead was created", "leads", "Their time to MQL would be negative"),
    EventOrder("leads", "sql_at", ("mql_at", "created_at"), "lead_stage_order",
               "became SQL before they were created or became MQL", "leads", "Their time to SQL would be wrong"),
    EventOrder("leads", "converted_at", ("sql_at", "mql_at", "created_at"), "lead_stage_order",
               "were converted before an earlier step (created, MQL or SQL)", "leads",
               "Their time to opportunity would be wrong"),
    EventOrder("reps", "left_on", ("hire_date",), "left_before_hire", "left before they were hired", "reps",
               "Their months employed (attrition, capacity) would be negative"),
    EventOrder("quotas", "period_end", ("period_start",), "quota_end_before_start",
               "end before they start", "quotas", "Attainment over such a quota period is meaningless"),
)


def check_event_order(name: str, typed: ir.Table) -> list[Finding]:
    """Rows whose later event is dated before the earlier one (both present).

    An error when more than ``ORDER_ERROR_SHARE`` of the rows have it (the date columns are
    probably swapped or misread), a warning for a few typos.
    """
    spec = TABLES[name]
    findings = []
    for order in EVENT_ORDERS:
        if order.table != name or order.later not in typed.columns:
            continue
        earlier_columns = [column for column in order.earlier if column in typed.columns]
        earlier = ibis.coalesce(*[typed[column] for column in earlier_columns]) if len(earlier_columns) > 1 \
            else typed[earlier_columns[0]]
        early = (typed[order.later] < earlier).fill_null(False)
        counts = typed.aggregate(total=typed.count(), early=early.cast("int64").sum()).execute().iloc[0]
        count, total = as_count(counts["early"]), as_count(counts["total"])
        if not count:
            continue
        many = count > ORDER_ERROR_SHARE * total
        shown = _row_label(spec) + [*earlier_columns, order.later] + (["stage"] if name == "opportunities" else [])
        examples = example_rows(typed, early, shown)
        fix = ("That many usually means the date columns are swapped or read with the wrong day/month order: check "
               "the export or the mapping's date_order." if many else
               f"{order.consequence}; correct the dates in the CRM.")
        findings.append(make_finding(
            "error" if many else "warning", spec, order.later, order.check, count,
            f"{order.problem} ({_share(count, total)} of {order.unit})", fix, examples,
        ))
    return findings


def check_quota_periods(name: str, typed: ir.Table) -> list[Finding]:
    """Quota periods of one rep that overlap (a deal would count towards two quotas) or leave
    a gap (deals closed in it count towards no quota): warnings."""
    if name != "quotas":
        return []
    spec = TABLES[name]
    valid = typed.filter(typed.rep_id.notnull() & typed.period_start.notnull() & typed.period_end.notnull()
                         & (typed.period_end >= typed.period_start))
    by_rep = ibis.window(group_by="rep_id", order_by=["period_start", "period_end"])
    ordered = valid.mutate(previous_end=valid.period_end.lag().over(by_rep))
    ordered = ordered.filter(ordered.previous_end.notnull())
    findings = []
    for check, condition, problem, fix in (
        ("overlapping_quotas", ordered.period_start <= ordered.previous_end,
         "start before the rep's previous quota period ended (overlapping quotas)",
         "A won deal would count towards both quotas: correct the periods, or keep one quota per rep and period."),
        ("quota_gap", ordered.period_start > ordered.previous_end.add(ibis.interval(days=1)),
         "start more than a day after the rep's previous quota period ended (a gap)",
         "Deals closed in the gap count towards no quota; add the missing quota rows if the rep had one."),
    ):
        count = int(ordered.filter(condition).count().execute())
        if count:
            examples = example_rows(ordered, condition, ["rep_id", "period_start", "period_end"])
            findings.append(make_finding("warning", spec, "period_start", check, count, problem, fix, examples))
    return findings


def _rows_flagged(spec, typed: ir.Table, columns: list[str], flagged) -> list[tuple[str, int, list[dict]]]:
    """(column, count, example rows) for each column with rows where ``flagged(column)`` holds:
    every column counted in one query, examples drawn only for a column that has some (its
    values shown as text, as NaN would show as an empty value)."""
    counts = typed.aggregate(**{column: flagged(column).cast("int64").sum() for column in columns}).execute().iloc[0]
    found = []
    for column in columns:
        count = as_count(counts[column])
        if count:
            shown = typed.mutate(__flagged=flagged(column), **{column: typed[column].cast("string")})
            found.append((column, count, example_rows(shown, shown["__flagged"], _row_label(spec) + [column])))
    return found


def check_finite(name: str, typed: ir.Table) -> list[Finding]:
    """Money and number columns holding NaN, Infinity or an overflowing value (``1e309``):
    they would show as "$inf" or turn a win rate by value into 0%."""
    spec = TABLES[name]
    columns = [column.name for column in spec.columns
               if column.type in ("money", "number") and column.name in typed.columns]
    if not columns:
        return []

    def bad(column):
        return (typed[column].isnan() | typed[column].isinf()).fill_null(False)

    return [make_finding(
        "error", spec, column, "non_finite", count, "have a value that is not a finite number (NaN or infinity)",
        f"Write a real {'amount' if spec.column(column).type == 'money' else 'number'} or leave the cell empty; "
        "values like NaN, Infinity or 1e309 (too large) are never counted.", examples,
    ) for column, count, examples in _rows_flagged(spec, typed, columns, bad)]


# No amount of money in a CRM is this large (a thousand trillion, in any currency: 10^15
# Indonesian rupiah is some 60 billion US dollars). Beyond it a value is a typo or a
# placeholder (1e308), and sums of such values overflow to infinity: "Average won deal $inf".
# Below it, a sum over a billion rows stays far from float64's limit (about 1.8e308).
MAX_AMOUNT = 1e15


def check_amount_bounds(name: str, typed: ir.Table) -> list[Finding]:
    """Money above ``MAX_AMOUNT``: an error naming the rows (every sum over them would be
    wrong, or infinite)."""
    spec = TABLES[name]
    columns = [column.name for column in spec.columns if column.type == "money" and column.name in typed.columns]
    if not columns:
        return []

    def too_large(column):
        value = typed[column]
        return ((value > MAX_AMOUNT) & ~value.isnan() & ~value.isinf()).fill_null(False)

    return [make_finding(
        "error", spec, column, "amount_too_large", count,
        f"have an amount above {MAX_AMOUNT:,.0f} (a thousand trillion), which no deal, order or quota reaches",
        "A typo or a placeholder? Correct the amount or leave the cell empty: sums over such values are wrong "
        "or infinite (\"Average won deal $inf\").", examples,
    ) for column, count, examples in _rows_flagged(spec, typed, columns, too_large)]


def check_not_empty(name: str, raw: ir.Table) -> list[Finding]:
    """A table present with a header but no rows: an error, never "no data" (every number
    would be zero)."""
    if int(raw.count().execute()):
        return []
    return [Finding(
        "error", name, None, "empty_table", 0,
        f"{name}: the file has a header but no rows. Export the table again with its rows, or remove the file "
        "if the dataset has no such table.",
    )]


def check_probability_scale(name: str, raw: ir.Table) -> list[Finding]:
    """A ``probability`` column written as 0..100 where the kit expects 0..1."""
    if "probability" not in raw.columns:
        return []
    spec = TABLES[name]
    value = convert(raw.probability, "number")
    # NaN is not "above 1" (DuckDB sorts NaN after every number): it is reported as not finite.
    above = (value > 1) & ~value.isnan()
    count = int(raw.filter(above).count().execute())
    if not count:
        return []
    # If the model uses the column the weighted numbers would be 100x too big: an error.
    severity = "error" if "probability" in spec.column_names else "warning"
    examples = example_rows(raw, above, _row_label(spec) + ["probability"])
    return [make_finding(
        severity, spec, "probability", "probability_scale", count,
        "have a probability above 1, as if on a 0..100 scale",
        "Probabilities are 0..1 (25% is 0.25): divide the column by 100, or import the export with a mapping "
        "that says 'probability_scale: 100'.", examples,
    )]


def time_zone_offset(value: ir.StringValue) -> ir.StringValue:
    """The time-zone offset a date written as text ends with, as ``+HH:MM`` (``Z``, ``UTC``
    and ``GMT`` as ``+00:00``), or NULL: ``+05:30``, ``+0530`` or ``+14`` after a time
    (``2025-01-05T23:30:00-10:00``), or ``Z``, ``UTC``, ``GMT``.

    Only the end of the text is compared, with LIKE patterns: a regular expression over every
    cell, or trimming it first, costs 5 to 14 times the date parsing itself (12M timestamps).
    """
    timed = value.like("%:%")  # a time is written: an offset can follow it

    def ends(*patterns):
        return ibis.or_(*[value.like(pattern) for pattern in patterns])

    return ibis.cases(
        (timed & ends("%Z", "%UTC", "%GMT"), ibis.literal("+00:00")),
        # A plain time never has a sign 6 or 5 characters from its end ("23:30:00", "T23:30").
        (timed & ends("%+__:__", "%-__:__"), value.right(6)),
        (timed & ends("%+____", "%-____") & value.right(4).re_search(r"^[0-9]{4}$"),
         value.right(5).left(3).concat(":", value.right(2))),
        (timed & ends("%:__+__", "%:__-__") & value.right(2).re_search(r"^[0-9]{2}$"),
         value.right(3).concat(":00")),
        else_=ibis.null("string"),
    )


def check_time_zones(name: str, raw: ir.Table) -> list[Finding]:
    """Date columns (text) whose values carry different time-zone offsets (``+14:00`` on one
    row, ``-10:00`` on another). Every value is read as the wall-clock time written, its
    offset dropped (the CRM's local time); times written in different zones are then
    compared as if in one: a warning."""
    spec = TABLES[name]
    columns = [column.name for column in spec.columns if column.type in ("date", "timestamp")
               and column.name in raw.columns and raw[column.name].type().is_string()]
    if not columns:
        return []
    findings = []
    for column in columns:
        value = raw[column]
        # Cheap tests first (a "+", a suffix, a "-" after the date part): the offset is worked out
        # only for the few cells that may have one. On 12M timestamps without offsets this costs
        # about as much as parsing them once.
        maybe = (value.contains("+") | value.endswith("Z") | value.endswith("UTC") | value.endswith("GMT")
                 | value.substr(10).contains("-"))
        offsets = raw.filter(maybe).mutate(__offset=time_zone_offset(value))
        with_offset = offsets.filter(offsets["__offset"].notnull())
        counted = (with_offset.group_by("__offset").aggregate(rows=with_offset.count())
                   .order_by([ibis.desc("rows"), "__offset"]).execute())
        if len(counted) < 2:
            continue
        usual = counted["__offset"].iloc[0]
        others = int(counted["rows"].iloc[1:].sum())
        listed = ", ".join(f"{offset} on {rows:,} row(s)" for offset, rows in
                           zip(counted["__offset"].head(5), counted["rows"].head(5)))
        differs = offsets["__offset"].notnull() & (offsets["__offset"] != usual)
        examples = example_rows(offsets, differs, _row_label(spec) + [column])
        findings.append(make_finding(
            "warning", spec, column, "mixed_time_zones", others,
            f"carry a time-zone offset other than the column's usual {usual} ({listed})",
            "Each time is read as the wall-clock time written, its offset dropped (the CRM's local time), so times "
            "written in different zones are compared as if in one: hours between events can be off, and a date by a "
            "day. Export every time in the CRM's own time zone.", examples,
        ))
    return findings


def check_date_range(name: str, typed: ir.Table, today: dt.date | None = None) -> list[Finding]:
    """Dates before ``EARLIEST_PLAUSIBLE_DATE`` or more than ``FUTURE_YEARS`` after today."""
    spec = TABLES[name]
    today = today or dt.date.today()
    try:
        latest = today.replace(year=today.year + FUTURE_YEARS)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + FUTURE_YEARS, day=28)
    columns = [column.name for column in spec.columns
               if column.type in ("date", "timestamp") and column.name in typed.columns]
    if not columns:
        return []

    def implausible(column):
        day = typed[column].cast("date") if spec.column(column).type == "timestamp" else typed[column]
        return (day < ibis.literal(EARLIEST_PLAUSIBLE_DATE)) | (day > ibis.literal(latest))

    counts = typed.aggregate(**{column: implausible(column).cast("int64").sum() for column in columns}).execute().iloc[0]
    findings = []
    for column in columns:
        count = as_count(counts[column])
        if not count:
            continue
        examples = example_rows(typed, implausible(column), _row_label(spec) + [column])
        findings.append(make_finding(
            "warning", spec, column, "implausible_date", count,
            f"have a date before {EARLIEST_PLAUSIBLE_DATE:%Y-%m-%d} or after {latest:%Y-%m-%d}",
            "These are usually typos or placeholder dates; correct them in the CRM. Until then they fall outside "
            "most reporting periods.", examples,
        ))
    return findings


# How a reference check names the missing thing, and what the rows lack without it.
REFERENCE_WORDS = {
    "reps": ("a rep", "a rep name or team"),
    "accounts": ("an account", "an account name or segment"),
    "leads": ("a lead", "the lead's source and dates"),
    "opportunities": ("a deal", "the deal's stage and amount"),
}


def check_references(typed_tables: dict[str, ir.Table]) -> list[Finding]:
    """IDs pointing at a rep, account, lead or deal the dataset does not have (a warning:
    the rows still count, but they show without a name or segment). Only checked when the
    referenced table is part of the dataset."""
    findings = []
    for name, table in typed_tables.items():
        spec = TABLES[name]
        for column in spec.columns:
            target = column.references
            if target is None or target not in typed_tables or column.name not in table.columns:
                continue
            key = TABLES[target].key
            known = typed_tables[target].select(known_reference_id=typed_tables[target][key])
            # An anti-join: the rows whose ID has no match, without building the joined rows.
            referencing = table.select(column.name).filter(table[column.name].notnull())
            orphans = referencing.anti_join(known, referencing[column.name] == known["known_reference_id"])
            count = as_count(orphans.count().execute())
            if not count:
                continue
            values = (orphans.group_by(column.name).aggregate(rows=orphans.count())
                      .order_by([ibis.desc("rows"), column.name]).limit(EXAMPLE_ROWS).execute())
            examples = [{column.name: str(value), "rows": int(rows)} for value, rows in zip(values[column.name], values["rows"])]
            noun, details = REFERENCE_WORDS[target]
            findings.append(make_finding(
                "warning", spec, column.name, "unknown_reference", count,
                f"refer to {noun} that is not in the {target} table",
                f"Add the missing rows to {target}, or check that both exports use the same IDs. Until then these "
                f"rows count, but without {details}.", examples,
            ))
    return findings


def check_deal_amounts(name: str, typed: ir.Table, playbook: Playbook) -> list[Finding]:
    """Won and open deals without an amount (lost deals often have none: see
    :func:`check_lost_amounts`). No amount on any deal at all is one finding of its own."""
    if name != "opportunities":
        return []
    spec = TABLES[name]
    counts = typed.aggregate(deals=typed.count(), with_amount=typed.amount.count()).execute().iloc[0]
    if int(counts["deals"]) and not int(counts["with_amount"]):
        return [make_finding(
            "warning", spec, "amount", "no_amounts", int(counts["deals"]), "have no amount: the data holds no deal value",
            "Every count-based number (deals, win rates, funnel, cycle) works; value-based numbers (win rate by "
            "value, average won deal, pipeline value, velocity) are shown as not measured. Add the deal amount to "
            "the export to see them.", [],
        )]
    missing = typed.amount.isnull() & ~typed.stage.isin(playbook.lost_stages)
    count = int(typed.filter(missing).count().execute())
    if not count:
        return []
    examples = example_rows(typed, missing, ["opportunity_id", "stage", "amount"])
    return [make_finding(
        "warning", spec, "amount", "missing_amount", count, "are won or open deals without an amount",
        "Counts and win rates include them, but value-based numbers (win rate by value, average won "
        "deal, pipeline value, velocity) leave them out: fill in the amount in the CRM.", examples,
    )]


# When at least this share of lost deals has amount 0 or none while won deals carry amounts,
# the CRM zeroes (or never records) lost value: won / (won + lost) by value would read ~100%.
ZEROED_LOST_AMOUNT_SHARE = 0.5


def lost_amount_counts(deals: ir.Table, playbook: Playbook) -> dict[str, int]:
    """``lost``, ``lost_without_value`` (amount 0 or empty) and ``won_with_amount`` (> 0)."""
    if not playbook.lost_stages:
        return {"lost": 0, "lost_without_value": 0, "won_with_amount": 0}
    lost = deals.stage.isin(playbook.lost_stages)
    won = deals.stage.isin(playbook.won_stages)
    counts = deals.aggregate(
        lost=lost.cast("int64").sum(),
        lost_without_value=(lost & (deals.amount.isnull() | (deals.amount == 0))).cast("int64").sum(),
        won_with_amount=(won & (deals.amount > 0)).fill_null(False).cast("int64").sum(),
    ).execute().iloc[0]
    return {key: as_count(value) for key, value in counts.items()}


def lost_amounts_zeroed(counts: dict[str, int]) -> bool:
    """True when the lost deals' amounts cannot be used for a value-weighted win rate:
    at least ``ZEROED_LOST_AMOUNT_SHARE`` of the lost deals have 0 or no amount while some
    won deal has one (see :func:`lost_amount_counts`)."""
    return (counts["lost"] > 0 and counts["won_with_amount"] > 0
            and counts["lost_without_value"] >= ZEROED_LOST_AMOUNT_SHARE * counts["lost"])


def check_lost_amounts(name: str, typed: ir.Table, playbook: Playbook) -> list[Finding]:
    """Lost deals whose amount was zeroed or left empty while won deals have amounts."""
    if name != "opportunities":
        return []
    counts = lost_amount_counts(typed, playbook)
    if not lost_amounts_zeroed(counts):
        return []
    without = typed.stage.isin(playbook.lost_stages) & (typed.amount.isnull() | (typed.amount == 0))
    examples = example_rows(typed, without, ["opportunity_id", "stage", "amount"])
    return [make_finding(
        "warning", TABLES[name], "amount", "lost_amounts_zeroed", counts["lost_without_value"],
        f"are lost deals with amount 0 or none ({counts['lost_without_value']:,} of {counts['lost']:,} lost deals) "
        f"while {counts['won_with_amount']:,} won deals have an amount",
        "The CRM seems to zero the value of lost deals, so a win rate by value would read close to 100%: it is "
        "shown as not measured. Count-based win rates are unaffected. Export the lost deals' last amount to see it.",
        examples,
    )]


# A date this far (or further) outside the bulk of a column's dates, and at least
# OUTLYING_DATE_MIN_DAYS, is almost surely a typo (a close date decades before the rest).
OUTLYING_DATE_QUANTILES = (0.05, 0.95)
OUTLYING_DATE_MIN_DAYS = 730
# Columns whose dates place the rows of a table in time (checked for outliers, and the
# data's span for whole-history periods is taken from them).
EVENT_DATE_COLUMNS = {
    "opportunities": ("created_at", "close_date"), "opportunity_history": ("changed_at",),
    "leads": ("created_at",), "orders": ("ordered_at",), "activities": ("occurred_at",),
}
OUTLYING_DATE_MIN_VALUES = 10  # fewer dates than this have no "bulk" to compare with


def day_counts(table: ir.Table, column: str) -> list[tuple[dt.date, int]]:
    """How many rows of ``table`` fall on each day of the date or timestamp ``column``, from
    ``EARLIEST_PLAUSIBLE_DATE`` on, in order of day.

    One group-by with a row per distinct day (a few thousand for years of data): the column's
    quantiles (:func:`date_fences`) and the rows outside its fences are read from it, instead of
    sorting every value for the quantiles and scanning the column again to count (12.5M
    activities: 0.3 s against 2 to 3 s)."""
    day = table[column].cast("date") if table[column].type().is_timestamp() else table[column]
    plausible = table.filter(day >= ibis.literal(EARLIEST_PLAUSIBLE_DATE))
    plausible_day = plausible[column].cast("date") if table[column].type().is_timestamp() else plausible[column]
    counted = (plausible.select(day=plausible_day).group_by("day").aggregate(rows=ibis._.count())
               .order_by("day").execute())
    return [(pd.Timestamp(value).date(), int(rows)) for value, rows in zip(counted["day"], counted["rows"])]


def _epoch_days(day: dt.date) -> float:
    return float((day - dt.date(1970, 1, 1)).days)


def continuous_quantile(days: list[tuple[dt.date, int]], total: int, fraction: float) -> float:
    """The ``fraction`` quantile of the days counted in ``days`` (as days since 1970-01-01), with
    the linear interpolation of SQL's ``QUANTILE_CONT`` / ``PERCENTILE_CONT`` as DuckDB computes
    it: position ``(total - 1) * fraction``, between the values at its floor and its ceiling,
    ``low * (1 - w) + high * w`` with ``w = position - floor``, in the same floating-point steps
    (checked against DuckDB bit for bit in tests/data/test_validate.py), so the fences are the
    ones the engine's quantile gave."""
    position = (total - 1) * fraction
    below, above = math.floor(position), math.ceil(position)
    ends = list(itertools.accumulate(rows for _, rows in days))  # the index after each day's last row

    def value_at(index: int) -> float:
        return _epoch_days(days[bisect.bisect_right(ends, index)][0])

    low = value_at(below)
    if above == below:
        return low
    high = value_at(above)
    weight = position - below
    return low * (1 - weight) + high * weight


def fences_from_counts(days: list[tuple[dt.date, int]]) -> tuple[dt.date, dt.date] | None:
    """:func:`date_fences` from a column's :func:`day_counts`."""
    total = sum(rows for _, rows in days)
    if total < OUTLYING_DATE_MIN_VALUES:
        return None
    low, high = (continuous_quantile(days, total, fraction) for fraction in OUTLYING_DATE_QUANTILES)
    margin = max(high - low, OUTLYING_DATE_MIN_DAYS)
    start = dt.date(1970, 1, 1)
    return start + dt.timedelta(days=int(low - margin)), start + dt.timedelta(days=int(high + margin))


def date_fences(table: ir.Table, column: str) -> tuple[dt.date, dt.date] | None:
    """The range of plausible dates of a column: [q05 - margin, q95 + margin] with
    margin = max(q95 - q05, ``OUTLYING_DATE_MIN_DAYS``), the quantiles over the dates from
    ``EARLIEST_PLAUSIBLE_DATE`` on; None with too few dates.

    Wide history (15 years of deals) gives a wide margin; a column whose dates sit in two
    years flags a date a decade away."""
    return fences_from_counts(day_counts(table, column))


def check_outlying_dates(name: str, typed: ir.Table) -> list[Finding]:
    """Dates far outside the bulk of their column (see :func:`date_fences`), e.g. a close
    date of 1998 among deals of 2020-2021. Dates already reported as implausible (before
    ``EARLIEST_PLAUSIBLE_DATE``) are not reported twice."""
    spec = TABLES[name]
    findings = []
    for column in EVENT_DATE_COLUMNS.get(name, ()):
        if column not in typed.columns:
            continue
        days = day_counts(typed, column)
        fences = fences_from_counts(days)
        if fences is None:
            continue
        # Counted from the same day counts: the days before 1990 are not in them.
        count = sum(rows for day, rows in days if day < fences[0] or day > fences[1])
        if not count:
            continue
        day = typed[column].cast("date") if typed[column].type().is_timestamp() else typed[column]
        outside = (day >= ibis.literal(EARLIEST_PLAUSIBLE_DATE)) & (
            (day < ibis.literal(fences[0])) | (day > ibis.literal(fences[1])))
        examples = example_rows(typed, outside, _row_label(spec) + [column])
        findings.append(make_finding(
            "warning", spec, column, "outlying_date", count,
            f"have a date far outside the rest of the column (most of its dates lie between "
            f"{fences[0]:%Y-%m-%d} and {fences[1]:%Y-%m-%d})",
            "Usually a typo (a wrong year) or a placeholder: correct it in the CRM. Whole-history periods "
            "(period 'all') start after such dates, and numbers placed in time by this date leave these rows out "
            "of every period they do not fall in.", examples,
        ))
    return findings


def check_open_deal_close_dates(typed: ir.Table, playbook: Playbook, as_of: dt.date) -> list[Finding]:
    """Pipeline hygiene at the data date: open deals without an expected close date, and
    open deals whose expected close date has already passed."""
    spec = TABLES["opportunities"]
    if not playbook.open_stages:
        return []
    is_open = typed.stage.isin(playbook.open_stages)
    checks = [
        ("open_without_close_date", is_open & typed.close_date.isnull(),
         "are open deals without an expected close date",
         "They count in the open pipeline and its value, but not in anything placed in time by close date "
         "(overdue deals, pipeline due in a period). Set an expected close date in the CRM."),
        ("open_past_close_date", is_open & (typed.close_date < ibis.literal(as_of)),
         f"are open deals whose expected close date is before the data date {as_of:%Y-%m-%d}",
         "Pipeline hygiene: close them out as won or lost, or move their expected close date; until then "
         "they make the forecast optimistic."),
    ]
    counts = typed.aggregate(**{check: condition.fill_null(False).cast("int64").sum()
                                for check, condition, _, _ in checks}).execute().iloc[0]
    findings = []
    for check, condition, problem, fix in checks:
        count = as_count(counts[check])
        if count:
            examples = example_rows(typed, condition.fill_null(False), ["opportunity_id", "stage", "close_date"])
            findings.append(make_finding("warning", spec, "close_date", check, count, problem, fix, examples))
    return findings


def validate_table(name: str, raw: ir.Table, typed: ir.Table | None, playbook: Playbook) -> list[Finding]:
    """All checks for one table. ``typed`` is None when required columns are missing."""
    findings = check_columns(name, raw)
    if typed is None or findings:
        return findings
    findings += check_not_empty(name, raw)
    if findings:
        return findings
    unreadable = check_parsing(name, raw)
    findings += unreadable
    findings += check_duplicate_ids(name, typed)
    findings += check_required_values(name, raw, typed)
    findings += check_stages(name, typed, playbook)
    findings += check_exchange_rates(name, typed, playbook)
    # Amounts written "$4,500" are reported once, as unreadable, not also as deals without an amount.
    if not any(finding.column == "amount" for finding in unreadable):
        findings += check_deal_amounts(name, typed, playbook)
        findings += check_lost_amounts(name, typed, playbook)
    findings += check_finite(name, typed)
    findings += check_amount_bounds(name, typed)
    findings += check_negative_amounts(name, typed)
    findings += check_event_order(name, typed)
    findings += check_quota_periods(name, typed)
    findings += check_probability_scale(name, raw)
    findings += check_date_range(name, typed)
    findings += check_time_zones(name, raw)
    findings += check_outlying_dates(name, typed)
    return findings


def validate_dataset(typed_tables: dict[str, ir.Table]) -> list[Finding]:
    """Checks across tables, after each table passed its own."""
    return check_references(typed_tables)
