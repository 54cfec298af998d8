"""Deals (opportunities) with what every analysis needs beside them: outcome, rep, team, segment.

``deals(dataset)`` is the one place opportunities are joined to reps and accounts and
filtered by team or segment, so every metric sees the same deals.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.errors import SalesnbError

WON, LOST, OPEN = "won", "lost", "open"

# The filter parameters a report can take, and the (table, column) their values come from.
# The runner's per-value fan-out (``salesnb run --each team``) reads the values from here.
FILTER_COLUMNS = {"team": ("reps", "team"), "segment": ("accounts", "segment"), "rep": ("reps", "rep_id")}


def outcome(stage: ir.StringValue, playbook) -> ir.StringValue:
    """``won``, ``lost`` or ``open`` from the playbook's stage outcomes."""
    return ibis.cases(
        (stage.isin(playbook.won_stages), WON),
        (stage.isin(playbook.lost_stages), LOST),
        else_=OPEN,
    )


def deals(dataset: Dataset, team: str | None = None, segment: str | None = None) -> ir.Table:
    """Opportunities with ``outcome``, ``rep_name``, ``team`` and ``segment``, optionally filtered.

    ``rep_name`` falls back to the rep_id when there is no reps table (or no match), so a
    rep is never silently dropped; ``team``/``segment`` are NULL without reps/accounts.
    """
    return dataset.materialized(("deals", team, segment), lambda: _deals(dataset, team, segment))


def _deals(dataset: Dataset, team: str | None, segment: str | None) -> ir.Table:
    opportunities = dataset.table("opportunities")
    table = opportunities.mutate(outcome=outcome(opportunities.stage, dataset.playbook))
    if dataset.has("reps"):
        reps = dataset.table("reps").select("rep_id", rep_name_joined="rep_name", team="team")
        table = table.left_join(reps, "rep_id").drop("rep_id_right")
        table = table.mutate(rep_name=table.rep_name_joined.fill_null(table.rep_id)).drop("rep_name_joined")
    else:
        table = table.mutate(rep_name=table.rep_id, team=ibis.null().cast("string"))
    if dataset.has("accounts"):
        accounts = dataset.table("accounts").select("account_id", segment="segment")
        table = table.left_join(accounts, "account_id").drop("account_id_right")
    else:
        table = table.mutate(segment=ibis.null().cast("string"))
    if team:
        if not dataset.has("reps"):
            raise SalesnbError("The team filter needs the 'reps' table (rep_id, team); add reps.csv or set team = None.")
        _check_filter_value(dataset.table("reps").team, "team", team)
        table = table.filter(table.team == team)
    if segment:
        if not dataset.has("accounts"):
            raise SalesnbError("The segment filter needs the 'accounts' table (account_id, segment); add accounts.csv or set segment = None.")
        _check_filter_value(dataset.table("accounts").segment, "segment", segment)
        table = table.filter(table.segment == segment)
    return table


def _distinct_values(column: ir.Value) -> list[str]:
    return sorted(str(item) for item in column.name("value").as_table().distinct().execute()["value"].dropna())


def filter_values(dataset: Dataset, name: str) -> list[str]:
    """Every value of the filter ``name`` (``team``, ``segment``, ``rep``) in the data, sorted.

    Empty when the table that holds the filter is absent (no reps table: no teams)."""
    if name not in FILTER_COLUMNS:
        raise SalesnbError(f"There is no filter {name!r}; the filters are: {', '.join(FILTER_COLUMNS)}.")
    table, column = FILTER_COLUMNS[name]
    if not dataset.has(table):
        return []
    return _distinct_values(dataset.table(table)[column])


def _check_filter_value(column: ir.StringValue, name: str, value: str) -> None:
    """A filter value that matches nothing is a typo, not an empty report."""
    known = _distinct_values(column)
    if value not in known:
        raise SalesnbError(f"{name} = {value!r} matches no data; the {name}s are: {', '.join(known)}.")


def created_in(table: ir.Table, period: Period) -> ir.Table:
    """Deals created in the period (by ``created_at`` date)."""
    return table.filter(table.created_at.between(period.start, period.end))


def closed_in(table: ir.Table, period: Period) -> ir.Table:
    """Deals won or lost in the period (by ``close_date``); open deals are never included."""
    return table.filter((table.outcome != OPEN) & table.close_date.between(period.start, period.end))
