"""Conversion outcomes: win rates, deals created, sales cycle, open-deal age, velocity and loss reasons.

All rates are ratios of sums over the deals of a group (never means of rep ratios), and
every rate comes with its n. Closed deals belong to the period by ``close_date``, created
deals by ``created_at``. Every metric takes the selection ``where`` (the deals of
:func:`salesnb.metrics.deals.deals`) and, where it returns a table, ``by`` (a dimension of
the selection, the deal's ``type``, or a month or quarter: :func:`salesnb.metrics.deals.grouped`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from salesnb.data.backends import as_count
from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import (LOST, OPEN, WON, aggregated, closed_in, created_in, deals, every_stage, grouped,
                                   in_group_order, missing_counts, recorded, value_win_rate_measured)
from salesnb.metrics.exclusions import Excluded
from salesnb.metrics.funnel import with_stage_reached
from salesnb.metrics.scope import metric
from salesnb.metrics.snapshots import pipeline_as_of
from salesnb.metrics.statistics import share_reached_by_day
from salesnb.metrics.totals import exact_mean, exact_std, exact_sum

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
    Measure("created_month", "Created in", "month", "The month a deal was created."),
    Measure("created_quarter", "Created in quarter", "date", "The first day of the fiscal quarter a deal was "
            "created in."),
    Measure("win_rate_by_rep", "Win rate by rep", "percent", "won ÷ (won + lost) per rep (by rep_id), over the deals "
            "closed in the period", section="win-rates", higher_is_better=True, min_n=10),
    Measure("won_with_cycle", "Won (n)", "count", "Deals won in the period that have a created_at: the n of the "
            "sales cycle", section="sales-cycle"),
    Measure("median_sales_cycle_days", "Median sales cycle", "days", "Median of close_date − created_at over the "
            "deals won in the period", section="sales-cycle", higher_is_better=False, min_n=30),
    Measure("p75_sales_cycle_days", "P75 sales cycle", "days", "75th percentile of close_date − created_at over the "
            "deals won in the period (a quarter took longer)", section="sales-cycle", higher_is_better=False),
    Measure("mean_sales_cycle_days", "Mean sales cycle", "days", "Mean of close_date − created_at over the deals won "
            "in the period", section="sales-cycle", higher_is_better=False, min_n=30),
    Measure("std_sales_cycle_days", "Sales cycle std. dev.", "days", "Sample standard deviation of close_date − "
            "created_at over the deals won in the period", section="sales-cycle"),
    Measure("avg_won_amount", "Average won deal", "currency", "Mean amount of the deals won in the period (those "
            "with an amount)", section="sales-cycle", higher_is_better=True, min_n=30),
    Measure("median_age_days", "Median age", "days", "Median of as_of − created_at over the open deals",
            section="open-deal-age", higher_is_better=False),
    Measure("p75_age_days", "P75 age", "days", "75th percentile of as_of − created_at over the open deals",
            section="open-deal-age", higher_is_better=False),
    Measure("overdue_deals", "Overdue", "count", "Open deals whose expected close date is before the data's date",
            section="open-deal-age", higher_is_better=False),
    Measure("without_close_date", "No close date", "count", "Open deals without an expected close date",
            section="open-deal-age", higher_is_better=False),
    Measure("open_qualified_deals", "Open qualified deals", "count", "Deals open in the playbook's qualified stages "
            "(qualified_stage onwards) at the end of a day", section="sales-velocity", higher_is_better=True),
    Measure("sales_velocity_per_day", "Sales velocity / day", "currency", "open qualified deals × win rate × "
            "average won deal ÷ mean sales cycle days", section="sales-velocity", higher_is_better=True),
    Measure("lost_at_stage", "Lost at stage", "text", "The last open stage a lost deal was in before it was lost."),
    Measure("share_of_lost", "Share of lost", "percent", "Deals lost for the reason (at the stage) ÷ all deals lost "
            "in the period", section="loss-reasons"),
    Measure("share_of_lost_amount", "Share of lost amount", "percent", "Lost amount for the reason (at the stage) ÷ "
            "all lost amount of the period", section="loss-reasons"),
)


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
    - ``closed`` (= won + lost) is the n of the rate; ``ranked``: closed >= the playbook's
      ``min_deals_for_ranking``.

    ``by``: None (one row), ``rep``, ``team``, ``source``, ``segment``, ``product``,
    ``region``, ``type``, ``month`` (``close_month``) or ``quarter`` (fiscal, ``close_quarter``)
    of the close date; months and quarters in time order, other groups most closed deals first.
    ``where``: the deals of a selection (:mod:`salesnb.metrics.scope`); every dimension applies.
    """
    table, columns = grouped(closed_in(deals(dataset, where), period), by, dataset.playbook)
    has_amount = table.amount.notnull()
    result = aggregated(
        table, columns,
        won=(table.outcome == WON).cast("int64").sum(),
        lost=(table.outcome == LOST).cast("int64").sum(),
        won_amount=exact_sum(table.amount, where=table.outcome == WON),
        lost_amount=exact_sum(table.amount, where=table.outcome == LOST),
        lost_without_amount=((table.outcome == LOST) & ~has_amount).cast("int64").sum(),
        closed_without_amount=(~has_amount).cast("int64").sum(),
    )
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
    return in_group_order(result, columns, by, "closed")


@metric
def deals_created(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                  where: Selection) -> pd.DataFrame:
    """Deals created in the period (by ``created_at``): ``opportunities_created`` = count.

    ``by`` as for :func:`win_rates`, months and quarters of the creation date
    (``created_month``, ``created_quarter``); deals without a value show as "(none)". Deals
    without a ``created_at`` are in no period (``deals.missing_counts``); when no deal has
    one, the count is not measured (NaN), not 0. Every selection dimension applies.
    """
    table, columns = grouped(created_in(deals(dataset, where), period), by, dataset.playbook, dated_by="created_at")
    result = aggregated(table, columns, opportunities_created=table.count())
    result["opportunities_created"] = result["opportunities_created"].fillna(0).astype("int64")
    if not recorded(dataset, "created_at"):
        result["opportunities_created"] = float("nan")
    return in_group_order(result, columns, by, "opportunities_created")


def _cycle_days(table: ir.Table) -> ir.IntegerValue:
    return table.close_date.delta(table.created_at, unit="day")


@metric
def sales_cycle(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                where: Selection) -> pd.DataFrame:
    """Sales cycle of deals won in the period: ``close_date - created_at`` in days.

    Returns ``won_with_cycle`` (the n: won deals with a ``created_at``; the others are left
    out, ``deals.missing_counts``), ``median_sales_cycle_days``, ``p75_sales_cycle_days``
    (linear interpolation, as pandas does), ``mean_sales_cycle_days`` and
    ``std_sales_cycle_days`` (sample standard deviation). ``by`` as for :func:`win_rates`
    (months of the close date). Every selection dimension applies.
    """
    closed = closed_in(deals(dataset, where), period)
    won = closed.filter((closed.outcome == WON) & closed.created_at.notnull())
    won, columns = grouped(won.mutate(cycle_days=_cycle_days(won)), by, dataset.playbook)
    result = aggregated(
        won, columns,
        won_with_cycle=won.count(), median_sales_cycle_days=won.cycle_days.median(),
        p75_sales_cycle_days=won.cycle_days.quantile(0.75), mean_sales_cycle_days=won.cycle_days.mean(),
        std_sales_cycle_days=exact_std(won.cycle_days),
    )
    return in_group_order(result, columns, by, "won_with_cycle")


@metric
def open_deal_age(dataset: Dataset, by: str | None = "stage", *, where: Selection) -> pd.DataFrame:
    """Age of the deals open at the data's snapshot date (no period: the pipeline now).

    ``age_days = as_of - created_at``; returns ``deals`` (every open deal), ``amount`` (sum of
    the amounts present; NaN when none of the group's deals has one), ``median_age_days`` and
    ``p75_age_days`` (over the deals with a ``created_at``), ``overdue_deals`` (expected close
    date already passed) and ``without_close_date`` (no expected close date).

    ``by``: ``stage`` (default: every open stage in process order, an empty one with 0 deals
    and amount 0), None (one row), or a grouping of :func:`win_rates` (``month`` is the
    expected close month). Every selection dimension applies.
    """
    table = deals(dataset, where)
    open_deals = table.filter(table.outcome == OPEN)
    as_of = ibis.date(dataset.as_of.isoformat())
    open_deals = open_deals.mutate(age_days=as_of.delta(open_deals.created_at, unit="day"))
    if by == "stage":
        columns = ["stage"]
    else:
        open_deals, columns = grouped(open_deals, by, dataset.playbook)
    result = aggregated(
        open_deals, columns,
        deals=open_deals.count(), amount=exact_sum(open_deals.amount),
        median_age_days=open_deals.age_days.median(), p75_age_days=open_deals.age_days.quantile(0.75),
        overdue_deals=(open_deals.close_date < as_of).fill_null(False).cast("int64").sum(),
        without_close_date=open_deals.close_date.isnull().cast("int64").sum(),
    )
    counts = ["deals", "overdue_deals", "without_close_date"]
    if by == "stage":
        result = every_stage(result, [], dataset.playbook.open_stages, counts)
    result[counts] = result[counts].fillna(0).astype("int64")
    # An empty stage holds 0 value; a group whose deals have no amount holds an unknown value.
    result["amount"] = result["amount"].astype("float64").where(result["amount"].notna() | (result["deals"] > 0), 0.0)
    return result if by == "stage" else in_group_order(result, columns, by, "deals")


@metric
def open_qualified_deals(dataset: Dataset, *, where: Selection, date=None) -> int | None:
    """Deals open in a qualified stage (``qualified_stage`` onwards) at the end of ``date``
    (default: the data's date), among the deals of the selection ``where``.

    The pipeline as it stood then (:func:`salesnb.metrics.snapshots.pipeline_as_of`): at or
    after the snapshot date the current pipeline; before it, each deal's stage from its
    history (a deal without history rows counts with its current stage if it is still
    open). Without any history an earlier date cannot be answered: None. No ``by``.
    """
    date = dataset.as_of if date is None else pd.Timestamp(date).date()
    qualified = dataset.playbook.qualified_stages
    if not qualified:
        return None  # the process records no open deals: the pipeline is not measured, not 0
    if date < dataset.as_of and not dataset.has("opportunity_history"):
        return None
    states = pipeline_as_of(dataset, [date], where=where)  # the deals of the selection, as they stood then
    return int(states.filter((states.outcome == OPEN) & states.stage.isin(qualified)).count().execute())


@metric
def sales_velocity(dataset: Dataset, period: Period | None = None, *, where: Selection) -> dict:
    """Sales velocity in revenue per day, and its four inputs, for the period and the selection ``where``.

    ``sales_velocity_per_day`` = open qualified deals x win rate x average won deal size /
    mean sales cycle days

    - ``open_qualified_deals``: deals open on the period's last day in the playbook's
      qualified stages (:func:`open_qualified_deals`; for a past period this needs the
      stage history, otherwise velocity is None);
    - ``win_rate`` (count), ``avg_won_amount`` and ``mean_sales_cycle_days`` of the deals
      closed in the period; all four from the same selection ``where`` (every dimension
      applies). No ``by``: one set of inputs.
    """
    # Data without dates has no "open on the period's last day" and no cycle: velocity is not measured.
    open_qualified = open_qualified_deals(dataset, where=where, date=period.end) if period.dated else None
    closed = closed_in(deals(dataset, where), period)
    won = closed.filter(closed.outcome == WON)
    stats = closed.aggregate(
        won=(closed.outcome == WON).cast("int64").sum(), closed=closed.count(),
    ).execute().iloc[0]
    # Means over the won deals that have the value (an amount; a creation date).
    won_stats = won.aggregate(average_won_amount=exact_mean(won.amount),
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
        "avg_won_amount": average_won_amount,
        "mean_sales_cycle_days": average_cycle_days,
        "sales_velocity_per_day": velocity,
    }


def _number(value):
    return None if value is None or pd.isna(value) else float(value)


def _shares(result: pd.DataFrame, column: str, columns: list[str]) -> pd.Series:
    """Each row's ``column`` as a share of its group's total (NaN where the total is 0 or none)."""
    total = result.groupby(columns)[column].transform("sum") if columns else result[column].sum()
    if not columns:
        return result[column].fillna(0.0) / total if total else pd.Series(float("nan"), index=result.index)
    return result[column].fillna(0.0) / total.where(total != 0)


@metric
def loss_reasons(dataset: Dataset, period: Period | None = None, by: str | None = None, *, where: Selection,
                 by_stage: bool = True) -> pd.DataFrame:
    """Deals lost in the period by reason and by the stage they were lost at (``by_stage``;
    with ``by_stage=False`` by reason only, the stages added together).

    ``share_of_lost`` = deals lost for the reason at the stage / all deals lost in the
    period (of the row's group with ``by``); ``share_of_lost_amount`` likewise on the amounts
    present (a lost deal without an amount adds nothing). ``lost_amount`` and its share are
    NaN (not measured) when no lost deal has an amount or the CRM zeroes lost amounts
    (``deals.value_win_rate_measured``). Deals without a reason show as "(no reason given)".
    ``deals`` counts lost deals. ``by`` as for :func:`win_rates`; every selection dimension applies.
    """
    closed, columns = grouped(closed_in(deals(dataset, where), period), by, dataset.playbook)
    lost = with_stage_reached(dataset, closed.filter(closed.outcome == LOST))
    lost = lost.mutate(reason=lost.lost_reason.fill_null("(no reason given)"))
    keys = [*columns, "reason", "lost_at_stage"] if by_stage else [*columns, "reason"]
    # In key order: the shares below add up each group's amounts in pandas, in the order of the rows.
    result = lost.group_by(keys).aggregate(deals=lost.count(), lost_amount=exact_sum(lost.amount)).order_by(keys).execute()
    if result.empty:
        return result.assign(share_of_lost=[], share_of_lost_amount=[])
    result["share_of_lost"] = _shares(result, "deals", columns)
    result["lost_amount"] = result["lost_amount"].astype("float64")
    if not value_win_rate_measured(dataset):
        result["lost_amount"] = float("nan")
    result["share_of_lost_amount"] = _shares(result, "lost_amount", columns)
    order = [*columns, "deals", *keys[len(columns):]]
    ascending = [True] * len(columns) + [False] + [True] * (len(keys) - len(columns))
    return result.sort_values(order, ascending=ascending).reset_index(drop=True)


@metric
def summary(dataset: Dataset, period: Period | None = None, *, where: Selection) -> dict:
    """The headline numbers of the conversion report for the period and the selection ``where``.

    ``opportunities_created`` (by created_at; None when no deal has one), ``won``/``lost`` (by
    close_date), ``win_rate``, ``win_rate_by_value``, ``median_sales_cycle_days``,
    ``avg_won_amount`` (mean amount of deals won in the period) and ``sales_velocity_per_day``.
    No ``by``: one number each (the grouped views give the breakdowns).
    """
    created = deals_created(dataset, period, where=where).iloc[0]["opportunities_created"]
    rates = win_rates(dataset, period, where=where).iloc[0]
    cycle = sales_cycle(dataset, period, where=where).iloc[0]
    velocity = sales_velocity(dataset, period, where=where)
    return {
        "opportunities_created": None if pd.isna(created) else int(created),
        "won": int(rates["won"]),
        "lost": int(rates["lost"]),
        "win_rate": _number(rates["win_rate"]),
        "win_rate_by_value": _number(rates["win_rate_by_value"]),
        "median_sales_cycle_days": _number(cycle["median_sales_cycle_days"]),
        "avg_won_amount": velocity["avg_won_amount"],
        "sales_velocity_per_day": velocity["sales_velocity_per_day"],
    }


@metric
def exclusions(dataset: Dataset, period: Period | None = None, *, where: Selection) -> dict[str, Excluded]:
    """What each view of the conversion report leaves out for a missing value, and why.

    From ``deals.missing_counts`` of the selection, in one pass; by kind of view: ``created``
    (deals created in the period), ``closed`` (anything placed in time by close date),
    ``value`` (value-based numbers), ``cohort`` (the stage funnel), ``close_month`` (win rate
    by month), ``cycle`` (the sales cycle), ``age`` and ``open_amount`` (open deals' age and
    amount). Show each with ``display.left_out(*item)``. No ``by``.
    """
    missing = missing_counts(dataset, period, where=where)
    deals_total, closed, opened = missing["deals"], missing["closed"], missing["open"]
    return {
        "created": Excluded(missing["without_created_at"], deals_total, "deals",
                            "have no created_at, so they are not counted as created in any period"),
        "closed": Excluded(missing["closed_without_close_date"], closed, "closed deals",
                           "have no close_date, so they fall in no period (won, win rates, cycle)"),
        "value": Excluded(missing["closed_in_period_without_amount"], missing["closed_in_period"],
                          "deals closed in the period", "have no amount: left out of win rate by value and average "
                          "won deal"),
        "cohort": Excluded(missing["without_created_at"], deals_total, "deals",
                           "have no created_at, so they belong to no creation cohort"),
        "close_month": Excluded(missing["closed_without_close_date"], closed, "closed deals",
                                "have no close_date, so they fall in no month"),
        "cycle": Excluded(missing["won_in_period_without_created_at"], missing["won_in_period"],
                          "deals won in the period", "have no created_at, so their sales cycle is unknown"),
        "age": Excluded(missing["open_without_created_at"], opened, "open deals",
                        "have no created_at: counted in their stage, left out of its age"),
        "open_amount": Excluded(missing["open_without_amount"], opened, "open deals",
                                "have no amount: counted in their stage, left out of its amount"),
    }


# ----------------------------------------------------------------------------- creation to win, by lag

# Creation cohorts the creation-to-win curve learns from: the deals created in the last two
# years before the date (long enough to see most cycles through, recent enough to be today's).
LAG_LEARNING_DAYS = 730

declare(
    Measure("days_since_creation", "Days since creation", "days", "Days from a deal's (or lead's) creation date.",
            section="creation-to-win"),
    Measure("deals_observed", "Deals observed", "count", "Deals of the creation cohorts observed at least this many "
            "days after creation (created that long before the date): the n of the day's rate.",
            section="creation-to-win"),
    Measure("won_on_day", "Won that day", "count", "Deals of those won exactly this many days after creation.",
            section="creation-to-win"),
    Measure("won_share_by_day", "Won by this day", "percent", "Σ over the days up to this one of won that day ÷ "
            "deals observed that day: the share of created deals won within this many days.",
            section="creation-to-win", higher_is_better=True),
    Measure("won_amount_per_deal_by_day", "Won amount per created deal", "currency", "Σ over the days up to this "
            "one of the won amount that day ÷ deals observed that day: the amount a created deal brings within "
            "this many days.", section="creation-to-win", higher_is_better=True),
)


def creation_to_win_lag(dataset: Dataset, as_of=None, where: Selection | None = None,
                        learning_days: int = LAG_LEARNING_DAYS) -> tuple[pd.DataFrame, list[Excluded]]:
    """How soon created deals are won: the share of created deals won within each number of
    days after creation (a building block of the plan, :mod:`salesnb.metrics.planning`).

    A cohort estimate, so no survivor bias (not only the deals that closed quickly count):
    over the deals of the selection created in the ``learning_days`` up to ``as_of`` (default
    the data's date), as they stood at ``as_of`` (:func:`salesnb.metrics.snapshots.pipeline_as_of`,
    so a past date sees only what was known then), for each number of days u after creation:

    - ``deals_observed`` n(u): deals created at least u days before ``as_of``;
    - ``won_on_day`` w(u): those won exactly u days after creation (close date − created_at;
      0 for a close dated before the creation);
    - ``won_share_by_day`` Q(d) = Σ_{u ≤ d} w(u) / n(u), the share won within d days; at the
      longest lag it is the cohort win rate (won ÷ created);
    - ``won_amount_per_deal_by_day`` V(d) = Σ_{u ≤ d} (amount won on day u) / n(u), what a
      created deal brings within d days (a won deal without an amount counts at the mean
      amount of the won deals that have one; NaN when none has).

    A deal still open or lost at ``as_of`` counts in n(u) and is won on no day. One row per
    day from 0 to the longest lag observed; no row without a created deal. Returns the frame
    and what it left out (:class:`~salesnb.metrics.exclusions.Excluded`): deals without a
    creation date, and won deals without a close date.
    """
    as_of = pd.Timestamp(as_of or dataset.as_of).date()
    first = (pd.Timestamp(as_of) - pd.Timedelta(days=learning_days - 1)).date()
    states = pipeline_as_of(dataset, [as_of], where=where)
    undated = int(states.filter(states.created_at.isnull()).count().execute())
    cohort = states.filter(states.created_at.between(first, as_of))
    rows = cohort.select("opportunity_id", "created_at", "close_date", "outcome", "amount") \
        .order_by("opportunity_id").execute()
    won = (rows["outcome"] == WON).to_numpy()
    won_undated = won & rows["close_date"].isna().to_numpy()
    excluded = [Excluded(undated, undated + len(rows), "deals", "have no created_at, so they belong to no creation "
                         "cohort"),
                Excluded(int(won_undated.sum()), len(rows), "deals of the creation cohorts",
                         "are won without a close_date, so when they were won is unknown")]
    rows, won = rows[~won_undated], won[~won_undated]
    created = pd.to_datetime(rows["created_at"])
    lag = (pd.to_datetime(rows["close_date"]) - created).dt.days.where(won)
    amounts = rows["amount"].astype(float)
    known = won & amounts.notna().to_numpy()
    amounts = amounts.fillna(amounts[known].mean() if known.any() else np.nan)
    curve = share_reached_by_day((pd.Timestamp(as_of) - created).dt.days, lag, amounts)
    return pd.DataFrame({
        "days_since_creation": curve["day"], "deals_observed": curve["observed"], "won_on_day": curve["reached"],
        "won_share_by_day": curve["share_by_day"],
        "won_amount_per_deal_by_day": curve["weight_by_day"] if known.any() else np.nan,
    }), excluded
