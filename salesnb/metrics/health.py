"""Data health: what a dataset holds, how complete it is, and which analyses it supports.

Used by ``notebooks/00_data_health.ipynb``. Every number is an Ibis aggregation on the
dataset's tables (one small result per table), never a loop over rows.

What was loaded (:func:`tables_loaded`, :func:`rows_by_table`) and the validator's findings
(:func:`findings_table`) describe the data as it is, not a slice of the business: they take
no selection. How complete the data is (:func:`column_coverage`, :func:`lost_reason_coverage`)
and what it supports (:func:`supported_analyses`) can be asked for a selection (``where=``):
the coverage of the selected deals, leads, activities ...
"""

from __future__ import annotations

import pandas as pd

from salesnb.data import currency
from salesnb.data.dataset import Dataset
from salesnb.data.model import TABLE_NAMES, TABLES
from salesnb.data.selection import Selection, SelectionError
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.scope import check_selection, metric, restrict
from salesnb.metrics.totals import exact_sum

# The date that places a table's rows in time (the first date column otherwise).
MAIN_DATE_COLUMN = {
    "opportunities": "created_at", "opportunity_history": "changed_at", "quotas": "period_start",
    "leads": "created_at", "activities": "occurred_at", "orders": "ordered_at", "marketing_spend": "month",
    "reps": "hire_date", "exchange_rates": "valid_from",
}

declare(
    Measure("table", "Table", "text", "A table of the dataset (opportunities, leads, ...)."),
    Measure("column", "Column", "text", "A column of a table."),
    Measure("description", "Description", "text", "What the column holds (docs/data-model.md)."),
    Measure("date_column", "Date column", "text", "The column that places a table's rows in time."),
    Measure("first_date", "First date", "date", "The earliest value of the table's date column."),
    Measure("last_date", "Last date", "date", "The latest value of the table's date column."),
    Measure("rows", "Rows", "count", "Rows of the table as loaded", section="data-health"),
    Measure("filled", "Filled", "count", "Rows with a value in the column", section="data-health"),
    Measure("share_filled", "Share filled", "percent", "Rows with a value in the column ÷ rows of the table",
            section="data-health", higher_is_better=True),
    Measure("severity", "Severity", "text", "error (the reports stop) or warning (they run and show it)."),
    Measure("message", "Message", "text", "What the validator found and what to do about it."),
    Measure("rows_affected", "Rows affected", "count", "Rows a validation finding is about", section="data-health",
            higher_is_better=False),
    Measure("needs", "Needs", "text", "An optional table or deal column."),
    Measure("available", "Available", "flag", "Whether the data has it (a deal column: filled on at least "
            "minimum_coverage of the deals)."),
    Measure("enables", "Enables", "text", "The analyses it feeds."),
    Measure("to_add", "To add", "text", "What to add to the data for it."),
    Measure("tables_loaded", "Tables loaded", "count", "Tables found in the data folder", section="data-health"),
    Measure("rows_by_table", "Rows by table", "count", "Rows of each table as loaded", section="data-health"),
    Measure("errors", "Errors", "count", "Validation findings that stop the reports until fixed",
            section="data-health", higher_is_better=False),
    Measure("warnings", "Warnings", "count", "Validation findings the reports show in their banner",
            section="data-health", higher_is_better=False),
    Measure("attribute", "Attribute", "text", "An extra column of the user's own, kept as an attribute "
            "(docs/importing.md#attributes)."),
    Measure("attribute_type", "Type", "text", "number (every value reads as one) or category."),
    Measure("distinct_values", "Distinct values", "count", "Different values the attribute holds",
            section="data-health"),
    Measure("attributes_loaded", "Attributes", "count", "Extra columns kept as attributes, over every table",
            section="data-health"),
    Measure("analyses_available", "Analyses available", "count", "Optional tables and deal columns the data "
            "supports (of those listed in the data health report)", section="data-health", higher_is_better=True),
    # Amounts by original currency (amounts_by_currency).
    Measure("currency", "Currency", "text", "A currency code, as the deals and orders carry it."),
    Measure("rows_with_amount", "Rows with an amount", "count", "Rows of the table in the currency that have an "
            "amount", section="data-health"),
    Measure("amount_in_currency", "Amount in its currency", "number", "Sum of the amounts as written, in the "
            "row's own currency", section="data-health"),
    Measure("converted_amount", "Converted amount", "currency", "Sum of the same amounts converted to the "
            "playbook currency at the rate of each row's date", section="data-health"),
    Measure("rates_from", "Rates", "text", "Where the currency's rates come from: the exchange_rates table (with "
            "its first and last valid_from), the playbook's fixed rate, or none for the reporting currency."),
    Measure("amounts_by_currency", "Amounts by currency", "currency", "Deal amounts converted to the playbook "
            "currency, by the deals' original currency", section="data-health"),
)

# Optional columns of the opportunities table and the analysis each one feeds.
OPPORTUNITY_COLUMN_USES = {
    "created_at": "creation cohorts, the stage funnel, the sales cycle and deal age",
    "close_date": "win rates and everything placed in time by close date; overdue open deals",
    "amount": "value-based numbers: win rate by value, average won deal, pipeline value, velocity",
    "account_id": "account views and repeat orders by customer",
    "rep_id": "every per-rep and per-team view (people, quota attainment)",
    "lead_id": "linking leads to the deals they became",
    "source": "win rate and pipeline by source, marketing-sourced pipeline",
    "type": "splitting new business from expansion and renewal",
    "product": "views by product",
    "lost_reason": "loss-reason analysis",
}


def tables_loaded(dataset: Dataset) -> pd.DataFrame:
    """One row per table in the dataset: rows, and the first and last value of its main date.

    rows = count(*); first/last = min/max of the main date column (e.g. created_at). What
    was loaded is about the data, not a slice: a selection does not apply (there is no
    ``where``; :func:`column_coverage` takes one).
    """
    rows = []
    for name in dataset.table_names:
        table = dataset.table(name)
        date_column = MAIN_DATE_COLUMN.get(name)
        metrics = {"rows": table.count()}
        if date_column in table.columns:
            metrics["first_date"] = table[date_column].min().cast("date")
            metrics["last_date"] = table[date_column].max().cast("date")
        result = table.aggregate(**metrics).execute().iloc[0]
        rows.append({
            "table": name, "rows": int(result["rows"]),
            "date_column": date_column if date_column in table.columns else None,
            "first_date": _as_date(result.get("first_date")), "last_date": _as_date(result.get("last_date")),
        })
    return pd.DataFrame(rows, columns=["table", "rows", "date_column", "first_date", "last_date"])


def _as_date(value):
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def amounts_by_currency(dataset: Dataset) -> pd.DataFrame:
    """Deals and orders by their original currency: ``rows_with_amount``,
    ``amount_in_currency`` (sum of the amounts as written, in that currency),
    ``converted_amount`` (the same amounts in the playbook currency, each at the rate of its
    date: ``salesnb.data.currency``) and ``rates_from``. What was loaded: no selection.

    Empty (no rows) for data whose amounts are all in the playbook currency."""
    columns = ["table", "currency", "rows_with_amount", "amount_in_currency", "converted_amount", "rates_from"]
    if not currency.is_converted(dataset):
        return pd.DataFrame(columns=columns)
    sources = currency.rate_sources(dataset)
    frames = []
    for name in currency.CONVERTED_TABLES:
        if not dataset.has(name):
            continue
        table = dataset.table(name)
        table = table.filter(table.amount_original.notnull())
        frame = table.group_by("currency").aggregate(
            rows_with_amount=table.count(), amount_in_currency=exact_sum(table.amount_original),
            converted_amount=exact_sum(table.amount)).execute()
        frames.append(frame.assign(table=name))
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)

    def described(code):
        source = sources.get(code)
        if source is None:
            return "none: not converted (see the findings)"
        if source["source"] == "exchange_rates":
            return f"exchange_rates, {source['first']:%Y-%m-%d} to {source['last']:%Y-%m-%d}"
        return "the playbook's fixed rate" if source["source"] == "playbook" else "the reporting currency"

    result["rates_from"] = result["currency"].map(described)
    result["rows_with_amount"] = result["rows_with_amount"].astype("int64")
    order = {name: index for index, name in enumerate(currency.CONVERTED_TABLES)}
    result = result.assign(_order=result["table"].map(order)).sort_values(["_order", "currency"])
    return result[columns].reset_index(drop=True)


def converted_deal_amounts(frame: pd.DataFrame) -> dict[str, float]:
    """Currency -> the deals' converted amount, from :func:`amounts_by_currency`'s table (the
    data health report records it as ``amounts_by_currency``)."""
    deals = frame[frame["table"] == "opportunities"]
    return {str(code): float(amount) for code, amount in zip(deals["currency"], deals["converted_amount"])}


def rows_by_table(dataset: Dataset) -> dict[str, int]:
    """Table name -> number of rows, as loaded (a selection does not apply)."""
    frame = tables_loaded(dataset)
    return dict(zip(frame["table"], frame["rows"]))


@metric
def column_coverage(dataset: Dataset, *, where: Selection) -> pd.DataFrame:
    """Share of non-empty values of every optional column, per table, over the rows of the
    selection ``where`` (every row without one).

    ``share_filled`` = ``filled`` / rows, ``filled`` = count(column is not null); a column
    missing from the file is 0. With a selection, each table's rows are those the selection
    names (:func:`salesnb.metrics.scope.restrict`: a team's deals, leads, activities ...); a
    table the selection cannot reach (marketing spend by team) is not measured (empty) and
    its description says why. No ``by``.
    """
    if where:
        check_selection(dataset, where)  # an unknown value is a typo: refused before anything is measured
    frames = []
    for name in dataset.table_names:
        table = dataset.table(name)
        optional = [column for column in TABLES[name].columns if not column.required]
        if not optional:
            continue
        names = [column.name for column in optional]
        descriptions = [column.description for column in optional]
        try:
            table = restrict(dataset, table, where, rows=f"{name} rows")
        except SelectionError as unreachable:
            frames.append(pd.DataFrame({"table": name, "column": names, "filled": float("nan"),
                                        "share_filled": float("nan"),
                                        "description": f"not measured for this selection: {unreachable}"}))
            continue
        counts = table.aggregate(rows=table.count(), **{column: table[column].count() for column in names}).execute().iloc[0]
        total = int(counts["rows"])
        frames.append(pd.DataFrame({
            "table": name,
            "column": names,
            "filled": [int(counts[column]) for column in names],
            "share_filled": [int(counts[column]) / total if total else None for column in names],
            "description": descriptions,
        }))
    if not frames:
        return pd.DataFrame(columns=["table", "column", "filled", "share_filled", "description"])
    return pd.concat(frames, ignore_index=True)


@metric
def lost_reason_coverage(dataset: Dataset, *, where: Selection) -> float | None:
    """Share of the lost deals of the selection ``where`` that have a loss reason.

    count(lost_reason) / count(lost deals): won and open deals have no loss reason, so they
    are not in the denominator. None without deals or lost deals. No ``by``."""
    if not dataset.has("opportunities"):
        return None
    deals = restrict(dataset, dataset.table("opportunities"), where, rows="deals")
    lost = deals.filter(deals.stage.isin(dataset.playbook.lost_stages))
    counts = lost.aggregate(lost=lost.count(), with_reason=lost.lost_reason.count()).execute().iloc[0]
    return int(counts["with_reason"]) / int(counts["lost"]) if int(counts["lost"]) else None


def attributes_loaded(dataset: Dataset) -> pd.DataFrame:
    """The extra columns of the user's own kept as attributes (:mod:`salesnb.data.attributes`):
    one row per table and attribute, with its type (number or category), ``filled`` (rows with a
    value), ``share_filled`` (filled ÷ rows of the table) and ``distinct_values``. About the data
    as loaded: no selection."""
    rows = []
    for name in dataset.table_names:
        table = dataset.attributes(name)
        if table is None:
            continue
        kinds = dataset.attribute_kinds(name)
        counts = table.aggregate(__rows=table.count(), **{f"filled_{index}": table[column].count()
                                                           for index, column in enumerate(kinds)},
                                 **{f"distinct_{index}": table[column].nunique()
                                    for index, column in enumerate(kinds)}).execute().iloc[0]
        total = int(counts["__rows"])
        for index, (column, kind) in enumerate(kinds.items()):
            filled = int(counts[f"filled_{index}"])
            rows.append({"table": name, "attribute": column, "attribute_type": kind, "filled": filled,
                         "share_filled": filled / total if total else None,
                         "distinct_values": int(counts[f"distinct_{index}"])})
    return pd.DataFrame(rows, columns=["table", "attribute", "attribute_type", "filled", "share_filled",
                                       "distinct_values"])


def findings_table(findings) -> pd.DataFrame:
    """Validation findings, errors first: severity, table, column, rows affected, message.
    (About the data as loaded: a selection does not apply.)"""
    frame = pd.DataFrame(
        [{"severity": f.severity, "table": f.table, "column": f.column or "", "rows_affected": f.count,
          "message": f.message} for f in findings],
        columns=["severity", "table", "column", "rows_affected", "message"],
    )
    order = frame["severity"].map({"error": 0, "warning": 1}).fillna(2)
    return frame.assign(_order=order).sort_values(["_order", "table", "column"], kind="stable").drop(columns="_order") \
        .reset_index(drop=True)


@metric
def supported_analyses(dataset: Dataset, *, where: Selection, coverage: pd.DataFrame | None = None,
                       minimum_coverage: float = 0.5) -> pd.DataFrame:
    """What the data supports and what to add: one row per optional table and per optional
    opportunity column, with ``available`` True/False, what it ``enables`` and what ``to_add``.

    A table counts when the dataset has it (whatever the selection). An optional opportunity
    column counts as available when at least ``minimum_coverage`` of the deals of the
    selection ``where`` have a value in it (``coverage``: :func:`column_coverage` of the same
    selection, when already computed). No ``by``.
    """
    rows = []
    for name in TABLE_NAMES:
        spec = TABLES[name]
        if spec.required:
            continue
        present = dataset.has(name)
        rows.append({
            "needs": f"{name} table", "available": present, "enables": spec.enables,
            "to_add": "" if present else f"{name}.csv with {', '.join(spec.required_columns)} (docs/data-model.md)",
        })
    rows.append({
        "needs": "dates", "available": dataset.dated,
        "enables": "everything placed in time: periods and trends, comparisons with an earlier period, the funnel "
                   "by cohort, the sales cycle, deal age, lead response, the forecast",
        "to_add": "" if dataset.dated else "created_at and close_date on the deals, or created_at on the leads "
                                           "(without dates, win rates, loss reasons and scoring use all rows)",
    })
    coverage = column_coverage(dataset, where=where) if coverage is None else coverage
    deal_columns = coverage[coverage["table"] == "opportunities"].set_index("column")["share_filled"].to_dict()
    deal_columns["lost_reason"] = lost_reason_coverage(dataset, where=where)
    for column, use in OPPORTUNITY_COLUMN_USES.items():
        share = deal_columns.get(column)
        present = share is not None and not pd.isna(share) and share >= minimum_coverage
        rows.append({
            "needs": f"opportunities.{column}", "available": bool(present), "enables": use,
            "to_add": "" if present else (f"fill opportunities.{column} (filled on {0 if share is None else share:.0%} "
                                          f"of {'lost ' if column == 'lost_reason' else ''}deals)"),
        })
    return pd.DataFrame(rows, columns=["needs", "available", "enables", "to_add"])
