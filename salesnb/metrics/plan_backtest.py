"""Does the plan work on this data? The plan made before each of the last periods, with its
target set to what was actually won, against the deals and leads actually created.

For the plan period P made at the plan date T, each of the last ``periods`` (4 to 8) periods
Pk of the same length (``Period.previous()``) that ended by T is planned as the plan of P is:
frozen as far ahead of its start as T is of P's (``lead_days`` = P.start - T, at least one
day: a plan made on the day before the period begins when P has started), from what was
known on that freeze date F only (the forecast engine, the creation-to-win and lead-to-deal
curves and the lifetime-value model all read the data as of F), with the target set to what
Pk actually won (:func:`salesnb.metrics.planning.booked`, deals only). A method that works asks for
about what was actually created between F and the end of Pk:

    ratio = deals the plan required from F + 1 to Pk's end ÷ deals actually created then

(and the same for leads). The median ratio over the periods says whether the plan can be
trusted on this data (:func:`verdict`). Repeat orders are left out of the check on both sides
(the target is the won deals, the plan expects no repeat revenue): the ratio is about the
deals, and the lifetime-value model has its own holdout check in the account report.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics import forecast, planning
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import deals
from salesnb.metrics.leads import created_in as leads_created_in
from salesnb.metrics.leads import lead_facts
from salesnb.metrics.scope import metric

DEFAULT_PERIODS = 6
MIN_PERIODS, MAX_PERIODS = 4, 8
# The plan can be trusted when the median ratio lies within this band and at least
# TRUSTED_SHARE of the periods do too.
TRUSTED = (0.8, 1.25)
TRUSTED_SHARE = 2 / 3

declare(
    Measure("plan_freeze_date", "Planned on", "date", "The day the past plan was made (as far ahead of the period as "
            "this plan is of its own)."),
    Measure("booked_in_period", "Won (target)", "currency", "What the period actually won: the past plan's "
            "target.", section="plan-backtest"),
    Measure("required_deals", "Deals required", "count", "New deals the past plan asked for from its plan date to the "
            "period's end.", section="plan-backtest"),
    Measure("actual_deals", "Deals created", "count", "Deals actually created from the day after the plan date to "
            "the period's end.", section="plan-backtest"),
    Measure("deals_ratio", "Required ÷ actual deals", "ratio", "Deals required ÷ deals created: about 1 when the "
            "method works.", section="plan-backtest"),
    Measure("required_leads", "Leads required", "count", "Leads the past plan asked for from its plan date to the "
            "period's end.", section="plan-backtest"),
    Measure("actual_leads", "Leads created", "count", "Leads actually created then.", section="plan-backtest"),
    Measure("leads_ratio", "Required ÷ actual leads", "ratio", "Leads required ÷ leads created.",
            section="plan-backtest"),
    Measure("plan_backtest_ratio", "Backtest: required ÷ actual deals", "ratio", "Median over the backtest periods of "
            "deals required ÷ deals created: about 1 when the plan can be trusted.", section="plan-backtest"),
    Measure("plan_backtest_leads_ratio", "Backtest: required ÷ actual leads", "ratio", "Median over the backtest "
            "periods of leads required ÷ leads created.", section="plan-backtest"),
)

COLUMNS = ["period", "plan_freeze_date", "booked_in_period", "expected_from_open_pipeline", "plan_gap", "required_deals", "actual_deals", "deals_ratio",
           "required_leads", "actual_leads", "leads_ratio"]


def lead_days(period: Period, as_of: dt.date) -> int:
    """How far ahead of its period the plan is made: P.start - T days, at least 1."""
    return max((period.start - as_of).days, 1)


def backtest_periods(dataset: Dataset, period: Period, periods: int = DEFAULT_PERIODS) -> list[tuple[Period, dt.date]]:
    """The last ``periods`` (4 to 8) periods of the same length before ``period`` that ended by
    the data's date and whose freeze date leaves a whole period of data before it (something
    to learn from), oldest first, each with its freeze date."""
    periods = min(max(int(periods), MIN_PERIODS), MAX_PERIODS)
    start = forecast.data_start(dataset)
    ahead = lead_days(period, dataset.as_of)
    chosen, earlier = [], period
    for _ in range(periods + 8):  # periods ending after the data's date are skipped, not counted
        earlier = earlier.previous()
        freeze = earlier.start - dt.timedelta(days=ahead)
        if start is None or freeze - dt.timedelta(days=earlier.days) < start:
            break
        if earlier.end <= dataset.as_of:
            chosen.append((earlier, freeze))
        if len(chosen) == periods:
            break
    return chosen[::-1]


def _ratio(required, actual) -> float | None:
    if required is None or not actual:
        return None
    return float(required) / float(actual)


@metric(default_period=planning.DEFAULT_PERIOD)
def plan_backtest(dataset: Dataset, period: Period | None = None, *, where: Selection, periods: int = DEFAULT_PERIODS,
                  simulations: int = forecast.DEFAULT_SIMULATIONS,
                  seed: int = forecast.DEFAULT_SEED) -> pd.DataFrame:
    """The plan made before each of the last periods against what was actually created: one
    row per period, oldest first (module docstring).

    Per period: ``plan_freeze_date`` F, ``booked_in_period`` (the target: what it actually
    won), the plan's ``expected_from_open_pipeline`` and ``plan_gap`` as of F, ``required_deals`` = the plan's deals per day x the days from F + 1
    to the period's end, ``actual_deals`` (created then, as known now), ``deals_ratio`` =
    required ÷ actual, and ``required_leads``, ``actual_leads``, ``leads_ratio`` likewise (all
    planned sources; none without leads). Every selection dimension applies. Needs
    ``opportunity_history`` (a plan frozen in the past reads the pipeline as it stood); without
    it no row."""
    if not dataset.has("opportunities") or not dataset.has("opportunity_history"):
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    chosen = backtest_periods(dataset, period, periods)
    # The forecast engine's model of every period learned in one query (the same question with other dates).
    models = forecast.learn_many(dataset, chosen, where=where)
    for (earlier, freeze), model in zip(chosen, models):
        actual = planning.booked(dataset, earlier, where=where, repeat_revenue=False)
        target = planning.Target(actual.total, "backtest", "what the period won")
        past = planning.make_plan(dataset, earlier, freeze, target, where=where, repeat_revenue=False,
                                  simulations=simulations, seed=seed, costs=False, model=model)
        window = Period(freeze + dt.timedelta(days=1), earlier.end)
        funnel = past.funnel
        required = funnel.required_per_day * window.days if funnel and funnel.required_per_day is not None else None
        created = deals(dataset, where)
        created = int(created.filter(created.created_at.between(window.start, window.end)).count().execute())
        leads_per_month = past.leads.total_per_month
        required_leads = leads_per_month / planning.MONTH_DAYS * window.days if leads_per_month is not None else None
        actual_leads = None
        if dataset.has("leads"):
            actual_leads = int(leads_created_in(lead_facts(dataset, where), window).count().execute())
        rows.append({
            "period": earlier.short_label(), "plan_freeze_date": freeze, "booked_in_period": actual.total,
            "expected_from_open_pipeline": past.gap.expected_from_open, "plan_gap": past.gap.expected,
            "required_deals": required, "actual_deals": created, "deals_ratio": _ratio(required, created),
            "required_leads": required_leads, "actual_leads": actual_leads,
            "leads_ratio": _ratio(required_leads, actual_leads),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(results: pd.DataFrame) -> dict:
    """Over the backtest periods: ``plan_backtest_ratio`` and ``plan_backtest_leads_ratio``
    (medians), ``periods`` (scored), ``within`` (periods whose deal ratio is within
    :data:`TRUSTED`), ``lowest`` and ``highest`` deal ratios. None where nothing was scored."""
    ratios = pd.to_numeric(results["deals_ratio"], errors="coerce").dropna() if len(results) else pd.Series(dtype=float)
    leads = pd.to_numeric(results["leads_ratio"], errors="coerce").dropna() if len(results) else pd.Series(dtype=float)
    return {
        "plan_backtest_ratio": float(np.median(ratios)) if len(ratios) else None,
        "plan_backtest_leads_ratio": float(np.median(leads)) if len(leads) else None,
        "periods": int(len(ratios)),
        "within": int(ratios.between(*TRUSTED).sum()),
        "lowest": float(ratios.min()) if len(ratios) else None,
        "highest": float(ratios.max()) if len(ratios) else None,
    }


def trusted(stats: dict) -> bool | None:
    """Whether the plan can be trusted on this data: the median ratio within :data:`TRUSTED`
    and at least :data:`TRUSTED_SHARE` of the periods too (None when nothing was scored)."""
    if not stats["periods"]:
        return None
    low, high = TRUSTED
    return low <= stats["plan_backtest_ratio"] <= high and stats["within"] >= TRUSTED_SHARE * stats["periods"] - 1e-9


def verdict(stats: dict) -> str:
    """One plain sentence: can the plan be trusted on this data, and which way it errs."""
    if not stats["periods"]:
        return ("Not enough history to check the plan on this data: no past period could be planned from what was "
                "known before it (the check needs the stage history and a whole period of data before each plan).")
    ratio, periods, within = stats["plan_backtest_ratio"], stats["periods"], stats["within"]
    spread = f"from {stats['lowest']:.2f} to {stats['highest']:.2f}"
    low, high = TRUSTED
    if trusted(stats):
        return (f"The plan can be trusted on this data: made before each of the last {periods} periods with the target "
                f"set to what was won, it asked for {ratio:.2f}x the deals actually created (median; {spread}, "
                f"{within} of {periods} periods within {low:.2f}–{high:.2f}).")
    direction = ("asks for more deals than were needed: read its numbers as an upper bound" if ratio > 1 else
                 "asks for fewer deals than were needed: read its numbers as a lower bound")
    return (f"Do not take the plan at face value on this data: made before each of the last {periods} periods, it "
            f"asked for {ratio:.2f}x the deals actually created (median; {spread}, {within} of {periods} within "
            f"{low:.2f}–{high:.2f}). It {direction}.")
