"""Conversion outcomes: win rates, sales cycle, open-deal age, velocity and loss reasons.

All rates are ratios of sums over the deals of a group (never means of rep ratios), and
every rate comes with its n. Closed deals belong to the period by ``close_date``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.backends import as_count
from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period, fiscal_quarter_start_expression
from salesnb.data.selection import Selection, select
from salesnb.errors import SalesnbError
from salesnb.metrics.deals import LOST, OPEN, WON, closed_in, created_in, deals, recorded, value_win_rate_measured
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.funnel import with_stage_reached
from salesnb.metrics.scope import metric
from salesnb.metrics.snapshots import pipeline_as_of

GROUPINGS = {
    "rep": ["rep_id", "rep_name"],
    "team": ["team"],
    "source": ["source"],
    "segment": ["segment"],
    "product": ["product"],
    "region": ["region"],
    "type": ["type"],
    "month": ["close_month"],
    "quarter": ["close_quarter"],  # fiscal quarter (playbook fiscal_year_start_month), by its first day
}

declare(
    Measure("win_rate", "Win rate", "percent", "won ÷ (won + lost) over deals closed in the period; open deals are "
            "never losses", section="win-rates", higher_is_better=True, min_n=30),
    Measure("win_rate_by_value", "Win rate (value)", "percent", "won amount ÷ (won + lost amount) over deals closed "
            "in the period with an amount", section="win-rates", higher_is_better=True, min_n=30),
    Measure("lost_without_amount", "Lost without amount", "count", "Deals lost in the period without an amount "
            "(they add nothing to the lost amount)", section="win-rates"),
    Measure("closed_without_amount", "Closed without amount", "count", "Deals closed in the period without an "
            "amount, left out of value-based rates", section="win-rates"),
    Measure("close_month", "Close month", "month", "The month a deal closed (or is expected to close)."),
    Measure("close_quarter", "Close quarter", "date", "The first day of the fiscal quarter a deal closed in."),
)


def _group_columns(table: ir.Table, by: str | None, playbook) -> tuple[ir.Table, list[str]]:
    if by is None:
        return table, []
    if by not in GROUPINGS:
        raise SalesnbError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}.")
    if by == "month":
        table = table.mutate(close_month=table.close_date.truncate("M"))
    if by == "quarter":
        table = table.mutate(close_quarter=fiscal_quarter_start_expression(table.close_date, playbook.fiscal_year_start_month))
    columns = GROUPINGS[by]
    # Keep deals with no value in the grouping column visible as "(none)".
    table = table.mutate(**{column: table[column].fill_null("(none)") for column in columns
                            if table[column].type().is_string()})
    return table, columns


def _cycle_days(table: ir.Table) -> ir.IntegerValue:
    return table.close_date.delta(table.created_at, unit="day")


@metric
def win_rates(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
              where: Selection) -> pd.DataFrame:
    """Win rate by count and by value over deals closed in the period (by ``close_date``;
    closed deals without one are left out, see ``deals.missing_counts``).

    - ``win_rate`` = won / (won + lost); not measured (NaN) when the playbook has no lost
      stage (only won deals recorded: the rate would always read 100%).
    - ``win_rate_by_value`` = won amount / (won amount + lost amount), over the closed deals
      with an amount (``closed_without_amount`` are left out; a lost deal without an amount
      adds nothing, as 0 would). Not measured (NaN) when no closed deal of the group has an
      amount, or when the CRM zeroes lost amounts (``deals.value_win_rate_measured``).
    - ``won_amount`` / ``lost_amount``: sums of the amounts present (NaN when none is).
    - ``closed`` (= won + lost) is the n of the rate.

    ``by``: None (one row), ``rep``, ``team``, ``source``, ``segment``, ``product``,
    ``region``, ``type``, ``month`` or ``quarter`` (fiscal, by its first day) of the close
    date; ``where``: the deals of a selection (:mod:`salesnb.metrics.scope`).
    """
    table, columns = _group_columns(closed_in(deals(dataset, where), period), by, dataset.playbook)
    has_amount = table.amount.notnull()
    aggregates = dict(
        won=(table.outcome == WON).cast("int64").sum(),
        lost=(table.outcome == LOST).cast("int64").sum(),
        won_amount=ibis.cases((table.outcome == WON, table.amount), else_=ibis.null()).sum(),
        lost_amount=ibis.cases((table.outcome == LOST, table.amount), else_=ibis.null()).sum(),
        lost_without_amount=((table.outcome == LOST) & ~has_amount).cast("int64").sum(),
        closed_without_amount=(~has_amount).cast("int64").sum(),
    )
    grouped = table.group_by(columns).aggregate(**aggregates) if columns else table.aggregate(**aggregates)
    result = grouped.execute()
    counts = ["won", "lost", "lost_without_amount", "closed_without_amount"]
    result[counts] = result[counts].fillna(0).astype("int64")  # an empty group sums to NULL
    result["closed"] = result["won"] + result["lost"]
    records_lost = bool(dataset.playbook.lost_stages)
    result["win_rate"] = (result["won"] / result["closed"]).where((result["closed"] > 0) & records_lost)
    value_total = result["won_amount"].fillna(0.0) + result["lost_amount"].fillna(0.0)
    with_amount = result["closed"] > result["closed_without_amount"]
    measured = with_amount & (value_total > 0) & value_win_rate_measured(dataset)
    result["win_rate_by_value"] = (result["won_amount"].fillna(0.0) / value_total).where(measured)
    result[["won_amount", "lost_amount", "win_rate", "win_rate_by_value"]] = \
        result[["won_amount", "lost_amount", "win_rate", "win_rate_by_value"]].astype("float64")
    result["ranked"] = result["closed"] >= dataset.playbook.min_deals_for_ranking
    if columns:
        result = result.sort_values(["closed"] + columns, ascending=[False] + [True] * len(columns))
    return result.reset_index(drop=True)


def deals_created(dataset: Dataset, period: Period, by: str | None = None,
                  team: str | None = None, segment: str | None = None) -> pd.DataFrame:
    """Deals created in the period (by ``created_at``): ``created`` = count, per group of ``by``
    (``team``, ``source``, ...; deals without a value show as "(none)")."""
    table, columns = _group_columns(created_in(deals(dataset, select(team=team, segment=segment)), period), by, dataset.playbook)
    grouped = table.group_by(columns).aggregate(created=table.count()) if columns else table.aggregate(created=table.count())
    result = grouped.execute()
    if columns:
        result = result.sort_values(["created"] + columns, ascending=[False] + [True] * len(columns))
    return result.reset_index(drop=True)


def sales_cycle(dataset: Dataset, period: Period, by: str | None = None,
                team: str | None = None, segment: str | None = None) -> pd.DataFrame:
    """Sales cycle of deals won in the period: ``close_date - created_at`` in days.

    Returns ``won``, ``median_days``, ``p75_days``, ``mean_days`` and ``std_days`` (sample
    standard deviation; median and p75 use linear interpolation, as pandas does), over the
    won deals with a ``created_at`` (the others are left out: ``deals.missing_counts``).
    """
    closed = closed_in(deals(dataset, select(team=team, segment=segment)), period)
    won = closed.filter((closed.outcome == WON) & closed.created_at.notnull())
    won, columns = _group_columns(won.mutate(cycle_days=_cycle_days(won)), by, dataset.playbook)
    aggregates = dict(
        won=won.count(), median_days=won.cycle_days.median(),
        p75_days=won.cycle_days.quantile(0.75), mean_days=won.cycle_days.mean(),
        std_days=won.cycle_days.std(how="sample"),
    )
    grouped = won.group_by(columns).aggregate(**aggregates) if columns else won.aggregate(**aggregates)
    result = grouped.execute()
    if columns:
        result = result.sort_values(["won"] + columns, ascending=[False] + [True] * len(columns))
    return result.reset_index(drop=True)


def open_deal_age(dataset: Dataset, team: str | None = None, segment: str | None = None) -> pd.DataFrame:
    """Age of the deals open at the data's snapshot date, by current stage.

    ``age_days = as_of - created_at``; returns ``deals`` (every open deal), ``amount`` (sum of
    the amounts present; NaN when none of the stage's deals has one), ``median_age_days`` and
    ``p75_age_days`` (over the deals with a ``created_at``), ``overdue`` (expected close date
    already passed) and ``no_close_date`` (no expected close date) per open stage.
    """
    table = deals(dataset, select(team=team, segment=segment))
    open_deals = table.filter(table.outcome == OPEN)
    as_of = ibis.date(dataset.as_of.isoformat())
    open_deals = open_deals.mutate(age_days=as_of.delta(open_deals.created_at, unit="day"))
    result = open_deals.group_by("stage").aggregate(
        deals=open_deals.count(), amount=open_deals.amount.sum(),
        median_age_days=open_deals.age_days.median(), p75_age_days=open_deals.age_days.quantile(0.75),
        overdue=(open_deals.close_date < as_of).fill_null(False).cast("int64").sum(),
        no_close_date=open_deals.close_date.isnull().cast("int64").sum(),
    ).execute()
    stages = dataset.playbook.open_stages
    result = result.set_index("stage").reindex(stages).reset_index()
    counts = ["deals", "overdue", "no_close_date"]
    result[counts] = result[counts].fillna(0).astype("int64")
    # An empty stage holds 0 value; a stage whose deals have no amount holds an unknown value.
    result["amount"] = result["amount"].astype("float64").where(result["amount"].notna() | (result["deals"] > 0), 0.0)
    return result


def open_qualified_deals(dataset: Dataset, date, team: str | None = None, segment: str | None = None) -> int | None:
    """Deals open in a qualified stage (``qualified_stage`` onwards) at the end of ``date``.

    The pipeline as it stood then (:func:`salesnb.metrics.snapshots.pipeline_as_of`): at or
    after the snapshot date the current pipeline; before it, each deal's stage from its
    history (a deal without history rows counts with its current stage if it is still
    open). Without any history an earlier date cannot be answered: None.
    """
    qualified = dataset.playbook.qualified_stages
    if not qualified:
        return None  # the process records no open deals: the pipeline is not measured, not 0
    if date < dataset.as_of and not dataset.has("opportunity_history"):
        return None
    states = pipeline_as_of(dataset, [date], where=select(team=team, segment=segment))
    return int(states.filter((states.outcome == OPEN) & states.stage.isin(qualified)).count().execute())


def sales_velocity(dataset: Dataset, period: Period, team: str | None = None, segment: str | None = None) -> dict:
    """Sales velocity in revenue per day:

    ``open qualified deals x win rate x average won deal size / average sales cycle days``

    - open qualified deals: deals open on the period's last day in the playbook's
      qualified stages (:func:`open_qualified_deals`; for a past period this needs the
      stage history, otherwise velocity is None);
    - win rate (count), average won amount and average (mean) cycle of the deals closed in
      the period; all four from the same team/segment filter.
    """
    table = deals(dataset, select(team=team, segment=segment))
    open_qualified = open_qualified_deals(dataset, period.end, team, segment)
    closed = closed_in(table, period)
    won = closed.filter(closed.outcome == WON)
    stats = closed.aggregate(
        won=(closed.outcome == WON).cast("int64").sum(), closed=closed.count(),
    ).execute().iloc[0]
    # Means over the won deals that have the value (an amount; a creation date).
    won_stats = won.aggregate(average_won_amount=won.amount.mean(),
                              average_cycle_days=_cycle_days(won).mean()).execute().iloc[0]
    won_count, closed_count = as_count(stats["won"]), as_count(stats["closed"])
    win_rate = won_count / closed_count if closed_count and dataset.playbook.lost_stages else None
    average_won_amount = _number(won_stats["average_won_amount"])
    average_cycle_days = _number(won_stats["average_cycle_days"])
    velocity = None
    if None not in (open_qualified, win_rate, average_won_amount) and average_cycle_days:
        velocity = open_qualified * win_rate * average_won_amount / average_cycle_days
    return {
        "open_qualified_deals": open_qualified,
        "win_rate": win_rate,
        "average_won_amount": average_won_amount,
        "average_cycle_days": average_cycle_days,
        "velocity_per_day": velocity,
    }


def _number(value):
    return None if value is None or pd.isna(value) else float(value)


def loss_reasons(dataset: Dataset, period: Period, team: str | None = None, segment: str | None = None, *,
                 by_stage: bool = True) -> pd.DataFrame:
    """Deals lost in the period by reason and by the stage they were lost at (``by_stage``;
    with ``by_stage=False`` by reason only, the stages added together).

    ``share_of_lost`` = deals lost for the reason at the stage / all deals lost in the
    period; ``share_of_lost_amount`` likewise on the amounts present (a lost deal without
    an amount adds nothing). ``lost_amount`` and its share are NaN (not measured) when no
    lost deal has an amount or the CRM zeroes lost amounts (``deals.value_win_rate_measured``).
    Deals without a reason show as "(no reason given)".
    """
    closed = closed_in(deals(dataset, select(team=team, segment=segment)), period)
    lost = with_stage_reached(dataset, closed.filter(closed.outcome == LOST))
    lost = lost.mutate(reason=lost.lost_reason.fill_null("(no reason given)"))
    keys = ["reason", "lost_at_stage"] if by_stage else ["reason"]
    result = lost.group_by(keys).aggregate(deals=lost.count(), lost_amount=lost.amount.sum()).execute()
    if result.empty:
        return result.assign(share_of_lost=[], share_of_lost_amount=[])
    result["share_of_lost"] = result["deals"] / result["deals"].sum()
    result["lost_amount"] = result["lost_amount"].astype("float64")
    if not value_win_rate_measured(dataset):
        result["lost_amount"] = float("nan")
    total_amount = result["lost_amount"].sum()
    result["share_of_lost_amount"] = result["lost_amount"].fillna(0.0) / total_amount if total_amount else float("nan")
    return result.sort_values(["deals", *keys], ascending=[False, *[True] * len(keys)]).reset_index(drop=True)


def summary(dataset: Dataset, period: Period, team: str | None = None, segment: str | None = None) -> dict:
    """The headline numbers of the conversion report for the period.

    ``opportunities_created`` (by created_at; None when no deal has one), ``won``/``lost`` (by close_date),
    ``win_rate``, ``win_rate_by_value``, ``median_sales_cycle_days``, ``avg_won_amount``
    (mean amount of deals won in the period) and ``sales_velocity_per_day``.
    """
    table = deals(dataset, select(team=team, segment=segment))
    # Without any creation date in the data, deals created is not measured, not 0.
    created = int(created_in(table, period).count().execute()) if recorded(dataset, "created_at") else None
    rates = win_rates(dataset, period, team=team, segment=segment).iloc[0]
    cycle = sales_cycle(dataset, period, team=team, segment=segment).iloc[0]
    velocity = sales_velocity(dataset, period, team=team, segment=segment)
    return {
        "opportunities_created": created,
        "won": int(rates["won"]),
        "lost": int(rates["lost"]),
        "win_rate": _number(rates["win_rate"]),
        "win_rate_by_value": _number(rates["win_rate_by_value"]),
        "median_sales_cycle_days": _number(cycle["median_days"]),
        "avg_won_amount": velocity["average_won_amount"],
        "sales_velocity_per_day": velocity["velocity_per_day"],
    }
