"""Deals (opportunities) with what every analysis needs beside them: outcome, rep, team, segment.

``deals(dataset, where)`` is the one place opportunities are joined to reps and accounts
and restricted to a selection (:func:`salesnb.metrics.scope.restrict`), so every metric sees
the same deals.

Real data is partial: only ``opportunity_id`` and ``stage`` are always there. A deal
without a value stays in every number that does not need it and leaves only those that
do (``created_at``: creation cohorts, the funnel and the cycle; ``close_date``: anything
placed in time by close date; ``amount``: value-based numbers). :func:`missing_counts`
counts them so each view can say how many it left out, and :func:`process_gaps` says
what a process without open or lost stages cannot show.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data import validate
from salesnb.data.backends import as_count
from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period, fiscal_quarter_start_expression, within
from salesnb.data.selection import Selection, as_selection, select
from salesnb.errors import SalesnbError
from salesnb.metrics.scope import check_selection, metric, restrict

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


def deals(dataset: Dataset, where: Selection | None = None) -> ir.Table:
    """Opportunities with ``outcome``, ``rep_name``, ``team``, ``segment`` and ``region``, the
    deals of the selection ``where`` (:func:`salesnb.metrics.scope.restrict`).

    ``rep_name`` falls back to the rep_id when there is no reps table (or no match), so a
    rep is never silently dropped; ``team``/``segment`` are NULL without reps/accounts;
    ``region`` is the account's region, else the owner's. Materialized once per selection.
    """
    where = as_selection(where)
    every_deal = dataset.derived("deals", lambda: _deals(dataset))  # kept in the cache for the next report
    if not where:
        return every_deal
    return dataset.materialized(("deals", where), lambda: restrict(dataset, every_deal, where, rows="deals"))


def _deals(dataset: Dataset) -> ir.Table:
    opportunities = dataset.table("opportunities")
    table = opportunities.mutate(outcome=outcome(opportunities.stage, dataset.playbook))
    if dataset.has("reps"):
        reps = dataset.table("reps").select("rep_id", rep_name_joined="rep_name", team="team", rep_region="region")
        table = table.left_join(reps, "rep_id").drop("rep_id_right")
        table = table.mutate(rep_name=table.rep_name_joined.fill_null(table.rep_id)).drop("rep_name_joined")
    else:
        table = table.mutate(rep_name=table.rep_id, team=ibis.null().cast("string"), rep_region=ibis.null().cast("string"))
    if dataset.has("accounts"):
        accounts = dataset.table("accounts").select("account_id", segment="segment", account_region="region")
        table = table.left_join(accounts, "account_id").drop("account_id_right")
    else:
        table = table.mutate(segment=ibis.null().cast("string"), account_region=ibis.null().cast("string"))
    table = table.mutate(region=table.account_region.fill_null(table.rep_region))
    return table.drop("account_region", "rep_region")


# What ``by=`` may name for deals, and the columns each grouping adds: the selection's
# dimensions, the deal's own ``type``, and the month or fiscal quarter of the date that places
# the view's deals in time (close date, or creation date for creation cohorts).
GROUPINGS = {
    "rep": ["rep_id", "rep_name"],
    "team": ["team"],
    "source": ["source"],
    "segment": ["segment"],
    "product": ["product"],
    "region": ["region"],
    "type": ["type"],
    "month": ["{date}_month"],
    "quarter": ["{date}_quarter"],  # fiscal quarter (playbook fiscal_year_start_month), by its first day
}
# The grouped column's prefix per date column (``close_month``, ``created_month``).
DATE_PREFIXES = {"close_date": "close", "created_at": "created"}
# Shown for a deal without a value in the grouping column (it stays in the view).
NO_VALUE = "(none)"


def grouped(table: ir.Table, by: str | None, playbook, *, dated_by: str = "close_date",
            allowed=None) -> tuple[ir.Table, list[str]]:
    """``table`` (deals) with the columns of the grouping ``by`` and their names.

    ``by``: None (no grouping), a dimension of a selection (``rep``, ``team``, ``source``,
    ``segment``, ``product``, ``region``), ``type``, or ``month`` / ``quarter`` (fiscal, by its
    first day) of ``dated_by`` (``close_date``: ``close_month``; ``created_at``:
    ``created_month``). ``allowed`` limits the names a view accepts. A deal without a value in
    a text grouping column stays, as "(none)".
    """
    allowed = list(GROUPINGS) if allowed is None else list(allowed)
    if by is None:
        return table, []
    if by not in allowed:
        raise SalesnbError(f"by must be one of {', '.join(allowed)} (or None), not {by!r}.")
    prefix = DATE_PREFIXES[dated_by]
    columns = [column.format(date=prefix) for column in GROUPINGS[by]]
    if by == "month":
        table = table.mutate(**{columns[0]: table[dated_by].truncate("M")})
    if by == "quarter":
        table = table.mutate(**{columns[0]: fiscal_quarter_start_expression(table[dated_by],
                                                                           playbook.fiscal_year_start_month)})
    table = table.mutate(**{column: table[column].fill_null(NO_VALUE) for column in columns
                            if table[column].type().is_string()})
    return table, columns


def aggregated(table: ir.Table, columns: list[str], **aggregates) -> pd.DataFrame:
    """``aggregates`` over ``table`` per group of ``columns`` (one row without columns), executed."""
    expression = table.group_by(columns).aggregate(**aggregates) if columns else table.aggregate(**aggregates)
    return expression.execute()


def in_group_order(result: pd.DataFrame, columns: list[str], by: str | None, largest: str) -> pd.DataFrame:
    """Rows in reading order: months and quarters in time order, other groups with the most
    ``largest`` (e.g. closed deals) first, ties by name."""
    if not columns:
        return result.reset_index(drop=True)
    if by in ("month", "quarter"):
        return result.sort_values(columns).reset_index(drop=True)
    return result.sort_values([largest] + columns, ascending=[False] + [True] * len(columns)).reset_index(drop=True)


def every_stage(result: pd.DataFrame, columns: list[str], stages: list[str], counts: list[str]) -> pd.DataFrame:
    """``result`` (one row per group of ``columns`` and ``stage``) with a row for every stage
    of ``stages`` in each group, in process order (``counts`` of a missing row are 0); rows of
    stages outside ``stages`` are dropped."""
    grid = pd.DataFrame({"stage": pd.Series(list(stages), dtype=object)})
    if columns:
        grid = result[columns].drop_duplicates().sort_values(columns).merge(grid, how="cross")
    full = grid.merge(result, on=[*columns, "stage"], how="left")
    full[counts] = full[counts].fillna(0).astype("int64")
    return full.reset_index(drop=True)


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


def check_segment(dataset: Dataset, segment: str) -> None:
    """A segment filter needs the accounts table and a segment that occurs in it (for deals,
    orders, any table with an ``account_id``)."""
    if not dataset.has("accounts"):
        raise SalesnbError("The segment filter needs the 'accounts' table (account_id, segment); add accounts.csv "
                           "or set segment = None.")
    check_selection(dataset, select(segment=segment))


def created_in(table: ir.Table, period: Period) -> ir.Table:
    """Deals created in the period (by ``created_at`` date); every deal in ``periods.UNDATED``
    (data without dates: the creation cohort is all deals)."""
    return table.filter(within(table.created_at, period))


def closed_in(table: ir.Table, period: Period) -> ir.Table:
    """Deals won or lost in the period (by ``close_date``); open deals are never included.
    In ``periods.UNDATED`` (data without dates) every closed deal."""
    return table.filter((table.outcome != OPEN) & within(table.close_date, period))


@metric
def missing_counts(dataset: Dataset, period: Period | None = None, *, where: Selection) -> dict[str, int]:
    """How many deals of the selection ``where`` each kind of view leaves out for a missing
    value (one pass).

    - ``deals``; ``without_created_at``: left out of creation cohorts (deals created in the
      period, the stage funnel) and of the sales cycle;
    - ``closed``, ``closed_without_close_date``: closed deals left out of everything placed
      in time by close date (win rates, cycle, loss reasons);
    - ``won_in_period``, ``won_in_period_without_created_at``: won deals of the period left
      out of the sales cycle;
    - ``closed_in_period``, ``closed_in_period_without_amount``: left out of value-based
      numbers (win rate by value, average won deal);
    - ``open``, ``open_without_amount`` (left out of pipeline value),
      ``open_without_created_at`` (left out of deal age), ``open_without_close_date``
      (no expected close date: not counted as overdue).

    No ``by``: one count of each kind for the selection.
    """
    table = deals(dataset, where)
    is_open, is_closed, is_won = table.outcome == OPEN, table.outcome != OPEN, table.outcome == WON
    in_period = is_closed & within(table.close_date, period)
    no_created, no_close, no_amount = table.created_at.isnull(), table.close_date.isnull(), table.amount.isnull()
    if not period.dated:  # data without dates: every view covers every deal, none is left out for a date
        # A column of False per deal (a scalar literal would not sum over the rows).
        no_created = no_close = table.created_at.isnull() & ibis.literal(False)

    def count(condition):
        return condition.fill_null(False).cast("int64").sum()

    counts = table.aggregate(
        deals=table.count(), without_created_at=count(no_created),
        closed=count(is_closed), closed_without_close_date=count(is_closed & no_close),
        won_in_period=count(in_period & is_won), won_in_period_without_created_at=count(in_period & is_won & no_created),
        closed_in_period=count(in_period), closed_in_period_without_amount=count(in_period & no_amount),
        open=count(is_open), open_without_amount=count(is_open & no_amount),
        open_without_created_at=count(is_open & no_created), open_without_close_date=count(is_open & no_close),
    ).execute().iloc[0]
    return {key: as_count(value) for key, value in counts.items()}


def value_win_rate_measured(dataset: Dataset) -> bool:
    """Whether a value-weighted win rate means anything on this data: the process records
    lost deals, and the CRM does not zero (or leave empty) most lost deals' amounts while
    won deals have amounts (``validate.lost_amounts_zeroed``, the ``lost_amounts_zeroed``
    warning)."""
    if not dataset.playbook.lost_stages:
        return False
    return dataset.memo("value_win_rate_measured", lambda: not validate.lost_amounts_zeroed(
        validate.lost_amount_counts(dataset.table("opportunities"), dataset.playbook)))


def recorded(dataset: Dataset, column: str) -> bool:
    """Whether any deal has a value in ``column`` (``amount``, ``created_at``, ...). Without
    one, every number that needs it is not measured (None, "–"), never 0."""
    if not dataset.has("opportunities"):
        return False
    return dataset.memo(("recorded", column),
                              lambda: int(dataset.table("opportunities")[column].count().execute()) > 0)


def amounts_recorded(dataset: Dataset) -> bool:
    """Whether any deal has an amount (without, every value-based number is not measured)."""
    return recorded(dataset, "amount")


def process_gaps(dataset: Dataset) -> list[str]:
    """What the data cannot show, one sentence each: a process without lost stages (funnel
    exports that record only the deals won), without open stages, or without any amount."""
    playbook = dataset.playbook
    gaps = []
    if not playbook.lost_stages:
        gaps.append("No lost deals are recorded (the playbook has no lost stage): win rates (won / (won + lost)) "
                    "and loss reasons cannot be measured and are shown as not measured (–).")
    if not playbook.open_stages:
        gaps.append("No open deals are recorded (the playbook has no open stage): the open pipeline, deal age, "
                    "the stage funnel and sales velocity cannot be measured.")
    if dataset.has("opportunities") and not amounts_recorded(dataset):
        gaps.append("No deal has an amount: every count works, but value-based numbers (win rate by value, "
                    "average won deal, pipeline value, velocity) are not measured (–).")
    elif dataset.has("opportunities") and playbook.lost_stages and not value_win_rate_measured(dataset):
        gaps.append("Most lost deals have amount 0 or none while won deals have amounts (the CRM zeroes lost "
                    "deals): a win rate by value would read close to 100%, so it is shown as not measured (–).")
    return gaps
