"""Data health: what a dataset holds, how complete it is, and which analyses it supports.

Used by ``notebooks/00_data_health.ipynb``. Every number is an Ibis aggregation on the
dataset's tables (one small result per table), never a loop over rows.
"""

from __future__ import annotations

import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.model import TABLE_NAMES, TABLES

# The date that places a table's rows in time (the first date column otherwise).
MAIN_DATE_COLUMN = {
    "opportunities": "created_at", "opportunity_history": "changed_at", "quotas": "period_start",
    "leads": "created_at", "activities": "occurred_at", "orders": "ordered_at", "marketing_spend": "month",
    "reps": "hire_date",
}

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

    rows = count(*); first/last = min/max of the main date column (e.g. created_at).
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


def rows_by_table(dataset: Dataset) -> dict[str, int]:
    """Table name -> number of rows."""
    frame = tables_loaded(dataset)
    return dict(zip(frame["table"], frame["rows"]))


def column_coverage(dataset: Dataset) -> pd.DataFrame:
    """Share of non-empty values of every optional column, per table.

    coverage = count(column is not null) / count(*); a column missing from the file is 0.
    """
    frames = []
    for name in dataset.table_names:
        table = dataset.table(name)
        optional = [column for column in TABLES[name].columns if not column.required]
        if not optional:
            continue
        counts = table.aggregate(
            rows=table.count(), **{column.name: table[column.name].count() for column in optional}
        ).execute().iloc[0]
        total = int(counts["rows"])
        frames.append(pd.DataFrame({
            "table": name,
            "column": [column.name for column in optional],
            "filled": [int(counts[column.name]) for column in optional],
            "coverage": [int(counts[column.name]) / total if total else None for column in optional],
            "description": [column.description for column in optional],
        }))
    if not frames:
        return pd.DataFrame(columns=["table", "column", "filled", "coverage", "description"])
    return pd.concat(frames, ignore_index=True)


def lost_reason_coverage(dataset: Dataset) -> float | None:
    """Share of lost deals with a loss reason: count(lost_reason) / count(lost deals).
    Won and open deals have no loss reason, so they are not in the denominator."""
    if not dataset.has("opportunities"):
        return None
    deals = dataset.table("opportunities")
    lost = deals.filter(deals.stage.isin(dataset.playbook.lost_stages))
    counts = lost.aggregate(lost=lost.count(), with_reason=lost.lost_reason.count()).execute().iloc[0]
    return int(counts["with_reason"]) / int(counts["lost"]) if int(counts["lost"]) else None


def findings_table(findings) -> pd.DataFrame:
    """Validation findings, errors first: severity, table, column, rows affected, message."""
    frame = pd.DataFrame(
        [{"severity": f.severity, "table": f.table, "column": f.column or "", "rows": f.count, "message": f.message}
         for f in findings],
        columns=["severity", "table", "column", "rows", "message"],
    )
    order = frame["severity"].map({"error": 0, "warning": 1}).fillna(2)
    return frame.assign(_order=order).sort_values(["_order", "table", "column"], kind="stable").drop(columns="_order") \
        .reset_index(drop=True)


def supported_analyses(dataset: Dataset, coverage: pd.DataFrame | None = None, minimum_coverage: float = 0.5) -> pd.DataFrame:
    """What the data supports and what to add: one row per optional table and per optional
    opportunity column, with ``available`` True/False and what it enables.

    An optional opportunity column counts as available when at least ``minimum_coverage``
    of the deals have a value in it.
    """
    rows = []
    for name in TABLE_NAMES:
        spec = TABLES[name]
        if spec.required:
            continue
        present = dataset.has(name)
        rows.append({
            "needs": f"{name} table", "available": present, "enables": spec.enables,
            "to add": "" if present else f"{name}.csv with {', '.join(spec.required_columns)} (docs/data-model.md)",
        })
    coverage = column_coverage(dataset) if coverage is None else coverage
    deal_columns = coverage[coverage["table"] == "opportunities"].set_index("column")["coverage"].to_dict()
    deal_columns["lost_reason"] = lost_reason_coverage(dataset)
    for column, use in OPPORTUNITY_COLUMN_USES.items():
        share = deal_columns.get(column)
        present = share is not None and not pd.isna(share) and share >= minimum_coverage
        rows.append({
            "needs": f"opportunities.{column}", "available": bool(present), "enables": use,
            "to add": "" if present else (f"fill opportunities.{column} (filled on {0 if share is None else share:.0%} "
                                          f"of {'lost ' if column == 'lost_reason' else ''}deals)"),
        })
    return pd.DataFrame(rows, columns=["needs", "available", "enables", "to add"])
