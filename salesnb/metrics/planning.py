"""The plan: what has to be created, and when, to hit the target of a coming period.

Made at a plan date T (the data's date, or a past date in the backtest) for a plan period P
(by default the next full fiscal quarter), in four steps, each a function here:

1. **Target** (:func:`plan_target`): the ``target`` given, else the quotas of P, else what
   was booked in the same period a year earlier x (1 + ``growth``). *Booked* means won deals
   (by close date) and, where ``orders`` exist and ``repeat_revenue`` is on, repeat orders
   that come through no deal (:func:`booked`).
2. **Gap** (:func:`plan_gap`): target - booked so far in P - the open pipeline's expected
   wins in P - expected repeat revenue in P. The open pipeline's part is the pipeline
   review's forecast engine (:func:`salesnb.metrics.forecast.forecast`: each open deal's
   learned probability of being won *in P*), never a second model; its simulation
   (:func:`salesnb.metrics.forecast.simulate` on the open deals, the same seed) gives the
   gap's P10/P50/P90. Repeat revenue is the accounts' lifetime-value model
   (:mod:`salesnb.metrics.clv`, BG/NBD x Gamma-Gamma) over the days of P.
3. **Reverse funnel** (:func:`reverse_funnel`): the deals to create each day from T + 1 to
   the end of P so that the deals created then win the gap in expectation. A deal created
   c days after T brings A(c) = V(P.end - T - c) - V(P.start - 1 - T - c) in P, with V(d)
   the amount a created deal brings within d days of its creation, measured on creation
   cohorts (:func:`salesnb.metrics.conversion.creation_to_win_lag`): the win rate, the deal
   size and the lag from creation to win in one measured curve, never an average cycle.
   So required deals per day = gap / sum_c A(c), and a deal created in the last weeks of
   P counts for little.
4. **Leads** (:func:`lead_plan`): the deals each lead source gives (its share of the new
   deals of the last year) come from its leads, one step further back: a lead created c
   days after T brings B(c) = sum_u h(u) A(c + u) in P, h(u) the source's measured share of
   leads that become a deal u days after creation
   (:func:`salesnb.metrics.leads.lead_to_deal_lag`); leads already open at T bring their
   remaining chance. Leads per day = (the source's share of the gap - what its open leads
   bring) / sum_c B(c), costed at the source's cost per lead (``marketing_spend``).

:func:`plan` runs them all and returns a :class:`Plan`; people
(:mod:`salesnb.metrics.hiring`), levers (:mod:`salesnb.metrics.levers`) and the backtest
(:mod:`salesnb.metrics.plan_backtest`) start from it. Everything is read as it was known at
T, so a plan made at a past date uses only what was known then.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.formats import format_value
from salesnb.data.periods import Period
from salesnb.data.selection import Selection, as_selection
from salesnb.errors import SalesnbError
from salesnb.metrics import clv, coverage, forecast, marketing
from salesnb.metrics import leads as lead_metrics
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.conversion import creation_to_win_lag
from salesnb.metrics.deals import WON, amounts_recorded, deals, recorded
from salesnb.metrics.exclusions import Excluded
from salesnb.metrics.orders import order_facts, purchase_days
from salesnb.metrics.scope import metric
from salesnb.metrics.snapshots import pipeline_as_of
from salesnb.metrics.statistics import MIN_N, share_reached_by_day
from salesnb.metrics.totals import exact_mean, exact_sum

MONTH_DAYS = 365.25 / 12  # "per month" is per average calendar month
# The creation rate "you already have": deals created in the last quarter before the plan date.
CURRENT_RATE_DAYS = 91
# Deal size of the new pipeline and the source mix of new deals: the last year before the plan date.
RECENT_DAYS = 365
DEFAULT_GROWTH = 0.2
DEFAULT_PERIOD = "next_fiscal_quarter"
# A source with fewer leads than this in the learning window is planned with the other small ones.
MIN_SOURCE_LEADS = MIN_N
OTHER_SOURCES = "Other sources"
QUANTILES = (0.1, 0.5, 0.9)
# Selection dimensions an order can be placed in without a deal (the account's, the order's own).
ORDER_DIMENSIONS = ("segment", "region", "product")

PLAN = "plan"
declare(
    # Recorded KPIs and headline tiles of 06_plan.
    Measure("plan_target", "Target", "currency", "The plan period's target: the target given, else its quotas, else "
            "last year's bookings of the same period × (1 + growth).", section="plan-target"),
    Measure("plan_booked_so_far", "Booked so far", "currency", "Won (and repeat orders without a deal) from the plan "
            "period's start to the plan date.", section="plan-gap", higher_is_better=True),
    Measure("expected_from_open_pipeline", "Expected from open deals", "currency", "Σ over the deals open at the plan "
            "date of their probability of being won in the plan period × amount (the forecast engine).",
            section="plan-gap"),
    Measure("plan_expected_repeat_revenue", "Expected repeat revenue", "currency", "Expected repeat orders of "
            "existing customers in the plan period that come through no deal (lifetime-value model).",
            section="plan-gap"),
    Measure("plan_gap", "Gap", "currency", "target − booked so far − expected from open deals − expected repeat "
            "revenue: what new deals must win in the period, in expectation.", section="plan-gap",
            higher_is_better=False),
    Measure("plan_gap_p10", "Gap P10", "currency", "10th percentile of the simulated gap (a good outcome of the open "
            "pipeline: 1 simulation in 10 leaves less to win).", section="plan-gap", higher_is_better=False),
    Measure("plan_gap_p50", "Gap P50", "currency", "Median of the simulated gap.", section="plan-gap",
            higher_is_better=False),
    Measure("plan_gap_p90", "Gap P90", "currency", "90th percentile of the simulated gap (a poor outcome: 1 simulation "
            "in 10 leaves more to win).", section="plan-gap", higher_is_better=False),
    Measure("required_new_deals_per_month", "New deals needed / month", "count", "Deals to create each month from "
            "the plan date to the period's end so that they win the gap in expectation.", section="plan-funnel"),
    Measure("required_new_pipeline_per_month", "New pipeline needed / month", "currency", "New deals needed per "
            "month × the mean amount of the deals created in the last 12 months.", section="plan-funnel"),
    Measure("current_new_deals_per_month", "New deals / month now", "count", "Deals created in the 91 days before "
            "the plan date, per month: the creation rate you already have.", section="plan-funnel",
            higher_is_better=True),
    Measure("required_vs_current_deals", "Needed ÷ now", "ratio", "New deals needed per month ÷ new deals per month "
            "now.", section="plan-funnel", higher_is_better=False),
    Measure("required_leads_per_month", "Leads needed / month", "count", "Leads to create each month, per source "
            "and in total, so that the deals they become win each source's share of the gap.",
            section="plan-leads"),
    Measure("plan_lead_cost_per_month", "Lead cost / month", "currency", "Leads needed per month × cost per lead, over "
            "the sources with spend.", section="plan-leads", higher_is_better=False),
    # The reverse funnel by creation month (ReverseFunnel.months) and its inputs (ReverseFunnel.inputs).
    Measure("creation_month", "Created in", "month", "The month the new deals are created in."),
    Measure("creation_days", "Days", "count", "Days of the month from the plan date to the period's end.",
            section="plan-funnel"),
    Measure("deals_to_create", "Deals to create", "count", "New deals needed per day × the month's days.",
            section="plan-funnel"),
    Measure("pipeline_to_create", "Pipeline to create", "currency", "Deals to create × the mean amount of the deals "
            "created in the last 12 months.", section="plan-funnel"),
    Measure("expected_won_in_period", "Expected won in period", "currency", "What those deals win inside the plan "
            "period, in expectation: Σ over the month's days of deals per day × A(day).", section="plan-funnel"),
    Measure("in_period_share", "Won in period", "percent", "Of what a deal created that month ever wins, the share "
            "won inside the plan period (A ÷ the cohort's won amount per deal).", section="plan-funnel"),
    Measure("plan_input", "Measured", "text", "What the plan rests on."),
    Measure("plan_value", "Value", "text", "The measured value, formatted."),
    Measure("plan_n", "n", "count", "What the value rests on (deals, leads, customers).", section="plan-funnel"),
    # The lead plan (LeadPlan.sources).
    Measure("source_leads", "Leads (last 2 years)", "count", "Leads of the source created in the learning window: "
            "the n of its rate.", section="plan-leads"),
    Measure("lead_to_deal_rate", "Lead → deal", "percent", "Share of the source's leads that became a deal "
            "(cohort estimate, recent leads not counted as failures).", section="plan-leads", higher_is_better=True,
            min_n=MIN_N),
    Measure("median_days_to_deal", "Days to deal (median)", "days", "Days from lead creation by which half of the "
            "source's eventual deals were created.", section="plan-leads", higher_is_better=False),
    Measure("share_of_new_deals", "Share of new deals", "percent", "Deals created in the last 12 months that came from "
            "a lead of the source ÷ all deals created then.", section="plan-leads"),
    Measure("leads_not_yet_deals", "Leads not yet deals", "count", "Leads of the source not yet a deal at the plan date (created in the "
            "learning window).", section="plan-leads"),
    Measure("expected_from_open_leads", "Expected from open leads", "currency", "What the source's open leads win in "
            "the plan period through the deals they become, in expectation.", section="plan-leads"),
    Measure("leads_per_month", "Leads / month", "count", "Leads of the source to create each month from the plan "
            "date to the period's end.", section="plan-leads"),
    Measure("current_leads_per_month", "Leads / month now", "count", "Leads of the source created in the 91 days "
            "before the plan date, per month.", section="plan-leads", higher_is_better=True),
    Measure("lead_cost_per_month", "Cost / month", "currency", "Leads per month × the source's cost per lead of the "
            "last 12 months; – without spend for the source.", section="plan-leads", higher_is_better=False),
    Measure("planned_as", "Planned", "text", "on its own, or with the other sources of fewer than 30 leads."),
)


# ----------------------------------------------------------------------------- booked and target


def _repeat_reachable(where: Selection) -> bool:
    """Repeat orders without a deal carry no owner and no lead: a selection by team, rep or
    source cannot reach them (a segment, region or product can)."""
    return all(name in ORDER_DIMENSIONS for name in as_selection(where).dimensions)


def repeat_counted(dataset: Dataset, where: Selection, repeat_revenue: bool) -> tuple[bool, str | None]:
    """Whether repeat revenue is part of the plan, and if not, why."""
    if not dataset.has("orders"):
        return False, ("repeat revenue is not measured: the data has no 'orders' table, so the plan counts won deals "
                       "only (add orders to count what existing customers reorder)")
    if not repeat_revenue:
        return False, "repeat orders are left out of the plan (repeat_revenue = False): the target counts won deals only"
    if not _repeat_reachable(where):
        return False, (f"repeat orders without a deal belong to no team, rep or source, so they are not planned for "
                       f"{where.describe()}: the target counts won deals only")
    return True, None


@dataclass(frozen=True)
class Booked:
    """What a period booked: ``won_amount`` (deals won, by close date; None without deals or
    amounts), ``won`` (their count), ``repeat_amount`` (orders without a deal that are not a
    customer's first; every order when there are no deals; None when repeat revenue is not
    counted) and ``total`` (the measured parts added; None when neither is measured)."""

    won_amount: float | None
    won: int | None
    repeat_amount: float | None

    @property
    def total(self) -> float | None:
        parts = [part for part in (self.won_amount, self.repeat_amount) if part is not None]
        return float(sum(parts)) if parts else None


def booked(dataset: Dataset, period: Period, *, where: Selection, repeat_revenue: bool = True,
           until: dt.date | None = None) -> Booked:
    """What the selection booked in the period (up to ``until`` when given), as known now.

    Won deals by close date; with ``orders`` (and :func:`repeat_counted`), the repeat orders
    that come through no deal (``opportunity_id`` empty and not the customer's first order:
    a won deal's order is the deal itself, a first order is a new customer); without any
    deal data, every order (the plan is then about order revenue)."""
    end = min(period.end, until) if until else period.end
    won_amount, won = None, None
    if dataset.has("opportunities"):
        table = deals(dataset, where)
        table = table.filter((table.outcome == WON) & table.close_date.between(period.start, end))
        row = table.aggregate(count=table.count(), amount=exact_sum(table.amount)).execute().iloc[0]
        won = int(row["count"] or 0)
        if amounts_recorded(dataset):
            won_amount = float(row["amount"]) if pd.notna(row["amount"]) else 0.0
    repeat = None
    if repeat_counted(dataset, where, repeat_revenue)[0]:
        facts = order_facts(dataset, where)
        facts = facts.filter(facts.ordered_at.between(period.start, end))
        if dataset.has("opportunities"):
            facts = facts.filter(facts.opportunity_id.isnull() & (facts.order_number > 1))
        value = exact_sum(facts.amount).execute()
        repeat = float(value) if value is not None and pd.notna(value) else 0.0
    return Booked(won_amount, won, repeat)


@dataclass
class Target:
    """The plan period's target and where it comes from.

    ``amount`` (None: not measured), ``basis`` (``target``, ``quotas``, ``growth`` or None),
    ``description`` (one sentence for the page), ``quotas`` (the period's quotas, when there
    are any), ``last_year`` (the same period a year earlier), ``last_year_booked``
    (:class:`Booked`) and ``growth``."""

    amount: float | None
    basis: str | None
    description: str
    quotas: float | None = None
    last_year: Period | None = None
    last_year_booked: Booked | None = None
    growth: float | None = None


def _quotas(dataset: Dataset, period: Period, where: Selection) -> float | None:
    """The period's quotas (coverage.quota_in_period: prorated by days), None without any."""
    if not dataset.has("quotas"):
        return None
    try:
        value = exact_sum(coverage.quota_in_period(dataset, period, where=where).quota).execute()
    except SalesnbError:  # quotas are per rep: a segment, source or product cannot select them
        return None
    return float(value) if value is not None and pd.notna(value) and value > 0 else None


def _money(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{currency} {value:,.0f}"


@metric(default_period=DEFAULT_PERIOD)
def plan_target(dataset: Dataset, period: Period | None = None, *, where: Selection, target: float | None = None,
                growth: float | None = DEFAULT_GROWTH, repeat_revenue: bool = True) -> Target:
    """The plan period's target (a :class:`Target`): the ``target`` given, else the quotas of
    the period, else last year's bookings x (1 + ``growth``).

    In this order of precedence:
    1. ``target``, an amount in the playbook currency;
    2. the quotas of the period (``coverage.quota_in_period``: each quota row prorated by its
       days in the period), over the selection's reps;
    3. what was booked (:func:`booked`) in the same period a year earlier x (1 + ``growth``)
       (0.2 = +20%; None counts as 0), when the data covers that period entirely.

    Otherwise the target is not measured (``amount`` None) and ``description`` says why."""
    currency = dataset.playbook.currency
    quotas = _quotas(dataset, period, where)
    last_year = period.year_earlier()
    if target is not None:
        return Target(float(target), "target", f"Target {_money(float(target), currency)}, as given (the target "
                      "parameter).", quotas=quotas, growth=growth)
    if quotas is not None:
        return Target(quotas, "quotas", f"Target {_money(quotas, currency)}: the quotas of {period.label()} (each quota "
                      "row prorated by its days in the period).", quotas=quotas, growth=growth)
    growth_value = 0.0 if growth is None else float(growth)
    if last_year.start < dataset.first_date:
        return Target(None, None, f"No target: no target was given, there are no quotas for {period.label()}, and the "
                      f"data does not cover the same period a year earlier ({last_year.label()}) to grow from. Set "
                      "the target parameter.", last_year=last_year, growth=growth)
    before = booked(dataset, last_year, where=where, repeat_revenue=repeat_revenue)
    if before.total is None:
        return Target(None, None, "No target: no target was given, there are no quotas, and nothing booked a year "
                      "earlier has an amount. Set the target parameter.", last_year=last_year, growth=growth)
    amount = before.total * (1 + growth_value)
    parts = " + ".join(part for part in (
        f"won {_money(before.won_amount, currency)}" if before.won_amount is not None else "",
        f"repeat orders {_money(before.repeat_amount, currency)}" if before.repeat_amount is not None else "") if part)
    return Target(amount, "growth", f"Target {_money(amount, currency)}: booked in {last_year.label()} ({parts}) "
                  f"{'+' if growth_value >= 0 else '−'} {abs(growth_value):.0%} (growth parameter; no target given and "
                  "no quotas for the period).", last_year=last_year, last_year_booked=before, growth=growth)


# ----------------------------------------------------------------------------- the gap


@dataclass
class Repeat:
    """Expected repeat revenue in the plan period: ``amount`` (None: not counted or not
    measured), ``reason`` (why not), ``customers`` and ``valued`` (customers the spend model
    could value; the others at ``fallback_value``, the mean repeat purchase of the last
    year), ``without_deal_share`` (the share of repeat order value that comes through no
    deal, which the amount is multiplied by)."""

    amount: float | None = None
    reason: str | None = None
    customers: int = 0
    valued: int = 0
    without_deal_share: float | None = None
    fallback_value: float | None = None

    def note(self, currency: str) -> str | None:
        """What the page says about how the customers were valued, when not all by the model."""
        if self.amount is None or self.valued == self.customers:
            return None
        return (f"{self.customers - self.valued:,} of {self.customers:,} customers could not be valued by the spend "
                f"model (Gamma-Gamma: its mean does not exist when spend varies too widely between customers): their "
                f"expected repeat purchases are valued at the mean repeat purchase of the last 12 months, {currency} "
                f"{self.fallback_value:,.0f}.")


def _without_deal_share(dataset: Dataset, as_of: dt.date, where: Selection) -> float | None:
    """Of the value of repeat orders (not a customer's first) in the last year before
    ``as_of``, the share that came through no deal (with deals, the rest is the deals' own)."""
    facts = order_facts(dataset, where)
    recent = facts.filter(facts.ordered_at.between(as_of - dt.timedelta(days=RECENT_DAYS - 1), as_of)
                          & (facts.order_number > 1) & facts.amount.notnull())
    row = recent.aggregate(total=exact_sum(recent.amount),
                           without=exact_sum(recent.amount, where=recent.opportunity_id.isnull())).execute().iloc[0]
    total = row["total"]
    if total is None or pd.isna(total) or total <= 0:
        return None
    return float(row["without"] or 0.0) / float(total)


def _mean_repeat_purchase(dataset: Dataset, as_of: dt.date, where: Selection) -> float | None:
    """Mean amount of the repeat purchase days (not a customer's first) of the last year before ``as_of``."""
    days = purchase_days(dataset, where)
    recent = days.filter(days.ordered_at.between(as_of - dt.timedelta(days=RECENT_DAYS - 1), as_of)
                         & (days.day_number > 1) & days.amount.notnull())
    value = exact_mean(recent.amount).execute()
    return float(value) if value is not None and pd.notna(value) else None


def expected_repeat_revenue(dataset: Dataset, period: Period, as_of: dt.date, *, where: Selection,
                            repeat_revenue: bool = True) -> Repeat:
    """Repeat revenue the customers of ``as_of`` will bring in the plan period, in expectation.

    The accounts' lifetime-value model (:func:`salesnb.metrics.clv.customer_lifetime_value`,
    fitted on the orders up to ``as_of``): per customer, the expected purchases from ``as_of``
    to the period's end minus those before its start (BG/NBD), x the expected value per
    purchase (Gamma-Gamma; customers it cannot value at the mean repeat purchase of the last
    year), summed. With deals in the data, only the part that comes through no deal counts (x :func:`_without_deal_share`): renewals and expansions booked as deals are
    in the open pipeline and the deal plan already."""
    counted, reason = repeat_counted(dataset, where, repeat_revenue)
    if not counted:
        return Repeat(reason=reason)
    start_days = max((period.start - as_of).days - 1, 0)
    end_days = (period.end - as_of).days
    value = clv.customer_lifetime_value(dataset, as_of, where=where, horizon_days=max(end_days, 1))
    if value.purchases is None:
        return Repeat(reason=f"repeat revenue is not measured: {value.not_measured}")
    customers = value.customers
    purchases = [clv.expected_purchases(value.purchases, days, customers["x"], customers["t_x"], customers["T"])
                 for days in (start_days, end_days)]
    in_period = np.asarray(purchases[1]) - (np.asarray(purchases[0]) if start_days > 0 else 0.0)
    per_purchase = customers["expected_value_per_purchase"].to_numpy(dtype=float)
    valued = ~np.isnan(per_purchase)
    fallback = None
    if not valued.all():
        # The spend model could not value some customers (its mean does not exist on this
        # data): they are valued at the mean repeat purchase of the last year instead.
        fallback = _mean_repeat_purchase(dataset, as_of, where)
        if fallback is None:
            return Repeat(reason="repeat revenue is not measured: no repeat purchase of the last year has an amount",
                          customers=len(customers))
        per_purchase = np.where(valued, per_purchase, fallback)
    share = 1.0
    if dataset.has("opportunities"):
        share = _without_deal_share(dataset, as_of, where)
        if share is None:
            return Repeat(reason="repeat revenue is not measured: no repeat order with an amount in the last year",
                          customers=len(customers))
    return Repeat(float((in_period * per_purchase).sum()) * share, None, len(customers), int(valued.sum()), share,
                  fallback)


@dataclass
class Gap:
    """What new deals must win in the plan period (see the module docstring, step 2).

    ``booked_so_far`` (:class:`Booked` from the period's start to the plan date),
    ``outlook`` (the forecast engine's :class:`~salesnb.metrics.forecast.Forecast`),
    ``expected_from_open`` (its expected wins of the open deals in P), ``repeat``
    (:class:`Repeat`), ``expected`` = target - booked so far - expected from open - expected
    repeat (None when a part is not measured), ``simulated`` (the gap in each simulation:
    the open deals' simulated wins in place of their expectation) and ``reason`` (why the gap
    is not measured)."""

    target: Target
    booked_so_far: Booked
    outlook: forecast.Forecast | None
    expected_from_open: float | None
    repeat: Repeat
    expected: float | None = None
    simulated: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reason: str | None = None

    def quantiles(self) -> dict:
        """P10, P50 and P90 of the simulated gap (None when not measured)."""
        if self.expected is None or not len(self.simulated):
            return {"p10": None, "p50": None, "p90": None}
        p10, p50, p90 = np.quantile(self.simulated, QUANTILES)
        return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}


def plan_gap(dataset: Dataset, period: Period, as_of: dt.date, target: Target, *, where: Selection,
             repeat_revenue: bool = True, simulations: int = forecast.DEFAULT_SIMULATIONS,
             seed: int = forecast.DEFAULT_SEED, model: forecast.Model | None = None) -> Gap:
    """The gap of the plan period at ``as_of`` (a :class:`Gap`; module docstring, step 2).

    The open pipeline's part is ``forecast.forecast(dataset, period, where=, as_of=)``:
    ``expected_from_open`` is its :attr:`~salesnb.metrics.forecast.Forecast.expected_from_open`,
    and the simulated gap re-runs :func:`salesnb.metrics.forecast.simulate` on the same open
    deals and seed without new deals (the open deals are drawn first, so each simulation's
    open part is the forecast's own). ``model``: the forecast engine's, when already learned."""
    so_far = booked(dataset, period, where=where, repeat_revenue=repeat_revenue, until=as_of) \
        if period.start <= as_of else Booked(0.0 if amounts_recorded(dataset) else None, 0,
                                             0.0 if repeat_counted(dataset, where, repeat_revenue)[0] else None)
    repeat = expected_repeat_revenue(dataset, period, as_of, where=where, repeat_revenue=repeat_revenue)
    gap = Gap(target, so_far, None, None, repeat)
    has_deals = dataset.has("opportunities") and amounts_recorded(dataset)
    if has_deals:
        outlook = forecast.forecast(dataset, period, where=where, as_of=as_of, simulations=simulations, seed=seed,
                                    model=model)
        gap.outlook = outlook
        if outlook.measured:
            gap.expected_from_open = outlook.expected_from_open
    if target.amount is None:
        gap.reason = target.description
        return gap
    if has_deals and gap.expected_from_open is None:
        gap.reason = (f"The open pipeline's expected wins are not measured ({gap.outlook.reason}), so the gap is not "
                      "either.")
        return gap
    repeat_amount = repeat.amount or 0.0
    already = so_far.total or 0.0
    gap.expected = target.amount - already - (gap.expected_from_open or 0.0) - repeat_amount
    if has_deals:
        # The forecast's own simulation of its open deals (same deals, simulations and seed), not a second draw.
        gap.simulated = target.amount - already - gap.outlook.open_won_amount - repeat_amount
    else:
        gap.simulated = np.full(simulations, gap.expected)
    return gap


# ----------------------------------------------------------------------------- the reverse funnel


def _window_days(period: Period, as_of: dt.date) -> int:
    """Days from the day after ``as_of`` to the period's end (0 when it has ended)."""
    return max((period.end - as_of).days, 0)


def in_period_value(curve_values: np.ndarray, period: Period, as_of: dt.date, days: np.ndarray) -> np.ndarray:
    """A(c) for deals created ``days`` (c >= 1) after ``as_of``: V(P.end - T - c) -
    V(P.start - 1 - T - c), V(d) = ``curve_values[d]`` (0 below day 0, its last value after
    the last day): what a created deal brings inside the period."""
    last = len(curve_values) - 1

    def value(lag):
        lag = np.asarray(lag)
        return np.where(lag < 0, 0.0, curve_values[np.clip(lag, 0, last)])

    end, start = (period.end - as_of).days, (period.start - as_of).days - 1
    return value(end - days) - value(start - days)


def _lag_quantile(share: np.ndarray, quantile: float) -> float | None:
    """The first day by which ``quantile`` of the eventual share was reached."""
    if not len(share) or share[-1] <= 0:
        return None
    return float(np.argmax(share >= quantile * share[-1]))


@dataclass
class ReverseFunnel:
    """The deals to create, and when (module docstring, step 3).

    ``curve`` (:func:`salesnb.metrics.conversion.creation_to_win_lag`) and what it left out
    (``excluded``); its summary: ``cohort_deals`` (n), ``win_rate`` (won ÷ created),
    ``won_amount_per_deal``, ``median_days_to_win`` and ``p75_days_to_win``; ``value_per_day``
    = sum_c A(c) (the won amount in P of one deal created every day); ``mean_created_amount``
    and ``created_with_amount`` (deals created in the last 12 months, with an amount);
    ``current_per_day`` and ``current_deals`` (deals created in the last 91 days);
    ``required_per_day``; ``months`` (one row per creation month) and ``reason`` (why it is
    not measured)."""

    as_of: dt.date
    period: Period
    curve: pd.DataFrame
    excluded: list[Excluded]
    cohort_deals: int = 0
    won_deals: int = 0
    win_rate: float | None = None
    won_amount_per_deal: float | None = None
    median_days_to_win: float | None = None
    p75_days_to_win: float | None = None
    in_period: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mean_created_amount: float | None = None
    created_with_amount: int = 0
    current_deals: int = 0
    required_per_day: float | None = None
    months: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str | None = None

    @property
    def value_per_day(self) -> float:
        return float(self.in_period.sum())

    @property
    def current_per_day(self) -> float:
        return self.current_deals / CURRENT_RATE_DAYS

    def per_month(self, per_day: float | None) -> float | None:
        return None if per_day is None else per_day * MONTH_DAYS

    @property
    def required_per_month(self) -> float | None:
        return self.per_month(self.required_per_day)

    @property
    def required_pipeline_per_month(self) -> float | None:
        if self.required_per_month is None or self.mean_created_amount is None:
            return None
        return self.required_per_month * self.mean_created_amount

    def inputs(self, currency: str) -> pd.DataFrame:
        """What the reverse funnel rests on, one row each with its n (for the page)."""
        def fmt(value, kind):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return "–"
            return {"percent": f"{value:.1%}", "money": format_value(value, "currency", currency),
                    "days": f"{value:,.0f} days", "number": f"{value:,.1f}"}[kind]
        rows = [
            ("Win rate of created deals (won ÷ created, creation cohorts of the last 2 years)",
             fmt(self.win_rate, "percent"), self.cohort_deals),
            ("Won amount per created deal (eventually)", fmt(self.won_amount_per_deal, "money"), self.cohort_deals),
            ("Days from creation to win: median of the won deals", fmt(self.median_days_to_win, "days"),
             self.won_deals),
            ("Days from creation to win: 75th percentile", fmt(self.p75_days_to_win, "days"), self.won_deals),
            ("Mean amount of a new deal (created in the last 12 months)", fmt(self.mean_created_amount, "money"),
             self.created_with_amount),
            ("New deals per month now (created in the last 91 days)", fmt(self.per_month(self.current_per_day),
                                                                          "number"), self.current_deals),
        ]
        return pd.DataFrame(rows, columns=["plan_input", "plan_value", "plan_n"])


def _recent_deals_table(dataset: Dataset, as_of: dt.date, where: Selection) -> ir.Table:
    """The deals created in the last year before ``as_of``, as known then (an Ibis table)."""
    states = pipeline_as_of(dataset, [as_of], where=where)
    return states.filter(states.created_at.between(as_of - dt.timedelta(days=RECENT_DAYS - 1), as_of))


def _recent_deals(dataset: Dataset, as_of: dt.date, where: Selection) -> pd.DataFrame:
    """The deals created in the last year before ``as_of``, as known then: id, created_at, amount."""
    recent = _recent_deals_table(dataset, as_of, where)
    return recent.select("opportunity_id", "created_at", "amount").order_by("opportunity_id").execute()


def reverse_funnel(dataset: Dataset, period: Period, as_of: dt.date, gap: Gap, *, where: Selection,
                   recent: pd.DataFrame | None = None) -> ReverseFunnel:
    """New deals (and pipeline) per month from ``as_of`` to the period's end (a
    :class:`ReverseFunnel`; module docstring, step 3).

    required deals per day = max(gap, 0) / sum_c A(c) over c = 1 .. P.end - T (A:
    :func:`in_period_value`); per month x 365.25/12; pipeline = deals x the mean amount of the
    deals created in the last 12 months. Not measured without created deals with a win,
    without amounts, or without a gap."""
    curve, excluded = creation_to_win_lag(dataset, as_of, where)
    result = ReverseFunnel(as_of, period, curve, excluded)
    days = _window_days(period, as_of)
    recent = _recent_deals(dataset, as_of, where) if recent is None else recent
    created = pd.to_datetime(recent["created_at"])
    result.current_deals = int((created > pd.Timestamp(as_of - dt.timedelta(days=CURRENT_RATE_DAYS))).sum())
    amounts = recent["amount"].dropna()
    result.created_with_amount = len(amounts)
    result.mean_created_amount = float(amounts.mean()) if len(amounts) else None
    if curve.empty or curve["won_on_day"].sum() == 0:
        result.reason = "no deal created in the last two years has been won yet: there is no measured path from " \
                        "creation to win to plan on"
        return result
    share = curve["won_share_by_day"].to_numpy(dtype=float)
    result.cohort_deals = int(curve["deals_observed"].iloc[0])
    result.won_deals = int(curve["won_on_day"].sum())
    result.win_rate = float(share[-1])
    result.median_days_to_win = _lag_quantile(share, 0.5)
    result.p75_days_to_win = _lag_quantile(share, 0.75)
    value = curve["won_amount_per_deal_by_day"].to_numpy(dtype=float)
    if np.isnan(value).all():
        result.reason = "no won deal has an amount: the plan needs amounts to turn the gap into deals"
        return result
    result.won_amount_per_deal = float(value[-1])
    offsets = np.arange(1, days + 1)
    result.in_period = in_period_value(value, period, as_of, offsets)
    if days == 0:
        result.reason = f"the plan period ended on {period.end:%d %b %Y}, before the plan date: nothing is left to create"
        return result
    if gap.expected is None:
        result.reason = gap.reason
        return result
    if result.value_per_day <= 0:
        result.reason = ("no deal created from now to the period's end can be won inside it, by the measured "
                         "creation-to-win lags")
        return result
    result.required_per_day = max(gap.expected, 0.0) / result.value_per_day
    dates = pd.to_datetime(as_of) + pd.to_timedelta(offsets, unit="D")
    frame = pd.DataFrame({"creation_month": dates.to_period("M").to_timestamp().date, "in_period": result.in_period})
    months = frame.groupby("creation_month", sort=True).agg(creation_days=("in_period", "size"),
                                                            value=("in_period", "sum")).reset_index()
    months["deals_to_create"] = result.required_per_day * months["creation_days"]
    months["pipeline_to_create"] = months["deals_to_create"] * (result.mean_created_amount or np.nan)
    months["expected_won_in_period"] = result.required_per_day * months["value"]
    months["in_period_share"] = months["value"] / months["creation_days"] / result.won_amount_per_deal \
        if result.won_amount_per_deal else np.nan
    result.months = months.drop(columns="value")
    return result


# ----------------------------------------------------------------------------- leads


@dataclass
class LeadPlan:
    """Leads per month by source (module docstring, step 4).

    ``sources``: one row per planned source (``planned_as``: on its own, or pooled into
    :data:`OTHER_SOURCES` when it had fewer than :data:`MIN_SOURCE_LEADS` leads) with
    ``source_leads`` (n), ``lead_to_deal_rate``, ``median_days_to_deal``,
    ``share_of_new_deals``, ``leads_not_yet_deals``, ``expected_from_open_leads``,
    ``leads_per_month`` (and ``current_leads_per_month``, created in the last 91 days),
    ``cost_per_lead`` and ``lead_cost_per_month``; ``from_leads_share`` (of the new deals of
    the last year, the share that came from a lead); ``excluded`` and ``notes``."""

    sources: pd.DataFrame = field(default_factory=pd.DataFrame)
    from_leads_share: float | None = None
    excluded: list[Excluded] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None

    @property
    def total_per_month(self) -> float | None:
        if self.sources.empty or self.sources["leads_per_month"].isna().all():
            return None
        return float(self.sources["leads_per_month"].sum())

    @property
    def cost_per_month(self) -> float | None:
        costs = self.sources["lead_cost_per_month"].dropna() if not self.sources.empty else pd.Series(dtype=float)
        return float(costs.sum()) if len(costs) else None

    def by_source(self) -> dict | None:
        """Leads per month by source and ``total`` (the recorded KPI), None when not measured."""
        if self.total_per_month is None:
            return None
        return {**dict(zip(self.sources["source"], self.sources["leads_per_month"])), "total": self.total_per_month}


def _lead_counts(dataset: Dataset, as_of: dt.date, where: Selection, recent: ir.Table) -> pd.DataFrame:
    """The leads created in the learning window up to ``as_of``, counted in the engine (one row
    per lead was read into pandas before: at scale the plan's largest frame, once per plan).

    One row per ``source``, ``age`` (days from creation to ``as_of``), ``converted_day`` (the
    day after creation it became a deal, when that was by ``as_of``; NULL otherwise) and
    ``undated`` (reached an opportunity on an unknown day), with ``leads`` (how many) and
    ``credited`` (of those, the leads a deal of ``recent``, the deals created in the last
    year, is credited to). Everything :func:`lead_plan` reads of the leads is a sum of these."""
    first = as_of - dt.timedelta(days=lead_metrics.LAG_LEARNING_DAYS - 1)
    facts = lead_metrics.created_in(lead_metrics.lead_facts(dataset, where), Period(first, as_of))
    age = ibis.date(as_of.isoformat()).delta(facts.created_date, unit="day")
    reached = facts.reached_opportunity.fill_null(False)
    days = facts.days_to_opportunity
    converted = reached & days.notnull() & (days <= age).fill_null(False)
    credited = facts.deal_credited.fill_null(False) & facts.linked_opportunity_id.isin(recent.opportunity_id)
    facts = facts.mutate(age=age, converted_day=ibis.cases((converted, days), else_=ibis.null().cast("float64")),
                         undated=reached & days.isnull(), is_credited=credited.fill_null(False).cast("int64"))
    counts = facts.group_by(["source", "age", "converted_day", "undated"]).aggregate(
        leads=facts.count(), credited=facts.is_credited.sum())
    return counts.order_by(["source", "age", "converted_day", "undated"]).execute()


def _per_lead(counts: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` of the counted leads, once per lead (what one row per lead gave)."""
    return np.repeat(counts[column].to_numpy(dtype=float), counts["leads"].to_numpy(dtype=np.int64))


def lead_plan(dataset: Dataset, period: Period, as_of: dt.date, gap: Gap, funnel: ReverseFunnel, *,
              where: Selection, recent: pd.DataFrame | None = None, costs: bool = True) -> LeadPlan:
    """Leads per month by source (a :class:`LeadPlan`; module docstring, step 4).

    For a source s: h_s(u) the share of its leads that became a deal u days after creation
    (:func:`salesnb.metrics.leads.lead_to_deal_lag`'s estimate, as known at ``as_of``), f_s the
    share of the deals created in the last 12 months that came from its leads (each deal once,
    credited to its earliest lead). A lead created c days after ``as_of`` brings B_s(c) = sum_u
    h_s(u) A(c + u) in the period (A: the reverse funnel's, 0 after the period's end); a lead
    open at ``as_of`` at age a brings sum_{k >= 1} h_s(a + k) / (1 - H_s(a)) x A(k) (H_s: the
    cumulative share). Leads per day = max(0, max(gap, 0) x f_s - what the open leads bring) /
    sum_c B_s(c); per month x 365.25/12; cost = leads x the source's cost per lead over the 12
    months up to ``as_of`` (``marketing.marketing_costs``; none without spend)."""
    result = LeadPlan()
    if not dataset.has("leads") or not lead_metrics.any_leads(dataset, where):
        result.reason = "there are no leads to plan on" if dataset.has("leads") else \
            "the plan of leads needs the 'leads' table"
        return result
    if not lead_metrics.measured_steps(dataset)["opportunity"]:
        result.reason = "no lead is linked to a deal or has a conversion date: lead → deal rates cannot be measured"
        return result
    recent_deals = _recent_deals_table(dataset, as_of, where)
    counts = _lead_counts(dataset, as_of, where, recent_deals)
    undated = counts["undated"].fillna(False).astype(bool)
    result.excluded = [Excluded(int(counts.loc[undated, "leads"].sum()), int(counts["leads"].sum()),
                                "leads created in the window",
                                "reached an opportunity on an unknown day (no converted_at, no deal creation date)")]
    counts = counts[~undated]
    if counts.empty:
        result.reason = "no lead was created in the two years before the plan date"
        return result
    deals_created = len(_recent_deals(dataset, as_of, where) if recent is None else recent)
    leads_by_source = counts.groupby("source")["leads"].sum()
    small = sorted(leads_by_source[leads_by_source < MIN_SOURCE_LEADS].index)
    counts = counts.assign(planned_source=counts["source"].where(~counts["source"].isin(small), OTHER_SOURCES))
    from_leads = counts.groupby("planned_source")["credited"].sum()
    credited = int(counts["credited"].sum())
    result.from_leads_share = min(credited / deals_created, 1.0) if deals_created else None
    if small:
        result.notes.append(f"{len(small)} source(s) with fewer than {MIN_SOURCE_LEADS} leads in the last two years "
                            f"({', '.join(small)}) are planned together as '{OTHER_SOURCES}'.")
    in_period = funnel.in_period
    days = len(in_period)
    gap_value = max(gap.expected, 0.0) if gap.expected is not None else None
    cost_per_lead = _cost_per_lead(dataset, as_of, where, small) if costs else {}
    if costs and not dataset.has("marketing_spend"):
        result.notes.append("Lead costs are not measured: the data has no 'marketing_spend' table (add spend by month "
                            "and source to see what the leads cost).")
    table = []
    for source, group in counts.groupby("planned_source", sort=True):
        curve = share_reached_by_day(_per_lead(group, "age"), _per_lead(group, "converted_day"))
        curve = curve["share_by_day"].to_numpy(dtype=float)
        rate = float(curve[-1]) if len(curve) else 0.0
        daily = np.diff(np.r_[0.0, curve])
        share = (int(from_leads.get(source, 0)) / deals_created) if deals_created else 0.0
        open_groups = group[group["converted_day"].isna()]
        open_value = _open_lead_value(daily, curve, in_period, _per_lead(open_groups, "age"))
        per_lead = _lead_value(daily, in_period)
        leads_per_day = None
        if gap_value is not None and funnel.required_per_day is not None and per_lead.sum() > 0:
            leads_per_day = max(gap_value * share - open_value, 0.0) / per_lead.sum()
        per_month = None if leads_per_day is None else leads_per_day * MONTH_DAYS
        price = cost_per_lead.get(source)
        table.append({
            "source": source, "planned_as": "with the other small sources" if source == OTHER_SOURCES else "on its own",
            "source_leads": int(group["leads"].sum()), "lead_to_deal_rate": rate,
            "median_days_to_deal": _lag_quantile(curve, 0.5),
            "share_of_new_deals": share, "leads_not_yet_deals": int(open_groups["leads"].sum()),
            "expected_from_open_leads": open_value, "leads_per_month": per_month,
            "current_leads_per_month": int(group.loc[group["age"] < CURRENT_RATE_DAYS, "leads"].sum())
            / CURRENT_RATE_DAYS * MONTH_DAYS,
            "cost_per_lead": price,
            "lead_cost_per_month": None if per_month is None or price is None else per_month * price,
        })
    result.sources = pd.DataFrame(table).astype({"leads_per_month": float, "cost_per_lead": float,
                                                  "lead_cost_per_month": float, "median_days_to_deal": float})
    if days and gap_value is not None and funnel.required_per_day is None:
        result.reason = funnel.reason
    return result


def _lead_value(daily: np.ndarray, in_period: np.ndarray) -> np.ndarray:
    """B(c) = sum_u h(u) A(c + u) for c = 1 .. len(in_period) (A = 0 after the period)."""
    days = len(in_period)
    padded = np.r_[in_period, np.zeros(len(daily))]
    return np.array([np.dot(daily, padded[c - 1: c - 1 + len(daily)]) for c in range(1, days + 1)])


def _open_lead_value(daily: np.ndarray, cumulative: np.ndarray, in_period: np.ndarray, ages: np.ndarray) -> float:
    """What leads still open at the plan date (ages in days) bring in the period: per lead,
    sum_{k >= 1} h(age + k) / (1 - H(age)) x A(k)."""
    if not len(ages) or not len(in_period) or not len(daily):
        return 0.0
    total = 0.0
    for age, count in zip(*np.unique(ages.astype(int), return_counts=True)):
        later = daily[age + 1: age + 1 + len(in_period)]
        if not len(later):
            continue
        remaining = 1.0 - cumulative[min(age, len(cumulative) - 1)]
        if remaining > 0:
            total += count * float(np.dot(later, in_period[:len(later)])) / remaining
    return total


def _cost_per_lead(dataset: Dataset, as_of: dt.date, where: Selection, small: list[str]) -> dict:
    """Cost per lead by planned source over the 12 months up to ``as_of`` (spend ÷ leads; only
    sources with spend). None when spend cannot be split by the selection."""
    if not dataset.has("marketing_spend") or not marketing.spend_measured(where):
        return {}
    window = Period(as_of - dt.timedelta(days=RECENT_DAYS - 1), as_of)
    costs = marketing.marketing_costs(dataset, window, by="source", where=where)
    costs = costs.assign(planned=costs["source"].where(~costs["source"].isin(small), OTHER_SOURCES))
    summed = costs.groupby("planned")[["spend", "leads"]].sum()
    summed = summed[(summed["spend"] > 0) & (summed["leads"] > 0)]
    return (summed["spend"] / summed["leads"]).to_dict()


# ----------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    """Everything :func:`plan` computed: ``target`` (:class:`Target`), ``gap`` (:class:`Gap`),
    ``funnel`` (:class:`ReverseFunnel`), ``leads`` (:class:`LeadPlan`), the plan date
    ``as_of`` and the ``period``; :meth:`summary` gives the recorded KPIs by catalogue name."""

    period: Period
    as_of: dt.date
    target: Target
    gap: Gap
    funnel: ReverseFunnel | None
    leads: LeadPlan
    notes: list[str] = field(default_factory=list)

    @property
    def window(self) -> Period | None:
        """From the day after the plan date to the period's end: when the plan's deals are created."""
        days = _window_days(self.period, self.as_of)
        return Period(self.as_of + dt.timedelta(days=1), self.period.end) if days else None

    def summary(self) -> dict:
        """The plan's headline numbers by catalogue name (None where not measured)."""
        quantiles = self.gap.quantiles()
        funnel = self.funnel
        current = funnel.per_month(funnel.current_per_day) if funnel and funnel.current_deals else None
        required = funnel.required_per_month if funnel else None
        return {
            "plan_target": self.target.amount,
            "plan_booked_so_far": self.gap.booked_so_far.total,
            "expected_from_open_pipeline": self.gap.expected_from_open,
            "plan_expected_repeat_revenue": self.gap.repeat.amount,
            "plan_gap": self.gap.expected,
            "plan_gap_p10": quantiles["p10"], "plan_gap_p50": quantiles["p50"], "plan_gap_p90": quantiles["p90"],
            "required_new_deals_per_month": required,
            "required_new_pipeline_per_month": funnel.required_pipeline_per_month if funnel else None,
            "current_new_deals_per_month": current,
            "required_vs_current_deals": required / current if required is not None and current else None,
            "required_leads_per_month": self.leads.by_source(),
            "plan_lead_cost_per_month": self.leads.cost_per_month if self.leads.by_source() else None,
        }


def make_plan(dataset: Dataset, period: Period, as_of: dt.date, target: Target, *, where: Selection,
              repeat_revenue: bool = True, simulations: int = forecast.DEFAULT_SIMULATIONS,
              seed: int = forecast.DEFAULT_SEED, costs: bool = True, model: forecast.Model | None = None) -> Plan:
    """The plan of ``period`` made at ``as_of`` for a given :class:`Target` (what :func:`plan`
    and the backtest share; ``model``: the forecast engine's, when already learned)."""
    gap = plan_gap(dataset, period, as_of, target, where=where, repeat_revenue=repeat_revenue,
                   simulations=simulations, seed=seed, model=model)
    funnel, recent = None, None
    notes = []
    if dataset.has("opportunities") and recorded(dataset, "created_at"):
        recent = _recent_deals(dataset, as_of, where)
        funnel = reverse_funnel(dataset, period, as_of, gap, where=where, recent=recent)
    elif dataset.has("opportunities"):
        notes.append("No deal has a creation date: the deals to create (the reverse funnel) cannot be measured.")
    else:
        notes.append("There are no deals (no 'opportunities' table): the plan is about order revenue only; the deals "
                     "and leads to create cannot be planned.")
    if funnel is not None and dataset.has("leads"):
        leads = lead_plan(dataset, period, as_of, gap, funnel, where=where, recent=recent, costs=costs)
    else:
        leads = LeadPlan(reason="the plan of leads needs the 'leads' table" if not dataset.has("leads") else
                         "the plan of leads needs the deals' creation dates")
    return Plan(period, as_of, target, gap, funnel, leads, notes)


@metric(default_period=DEFAULT_PERIOD)
def plan(dataset: Dataset, period: Period | None = None, *, where: Selection, target: float | None = None,
         growth: float | None = DEFAULT_GROWTH, repeat_revenue: bool = True,
         simulations: int = forecast.DEFAULT_SIMULATIONS, seed: int = forecast.DEFAULT_SEED) -> Plan:
    """The plan of the period (default: the next full fiscal quarter) made at the data's date:
    target, gap, reverse funnel and leads (a :class:`Plan`; the module docstring gives each
    step's formula). ``target``, ``growth`` and ``repeat_revenue``: :func:`plan_target` and
    :func:`booked`; ``simulations`` and ``seed``: the forecast engine's. Every selection
    dimension applies (repeat orders only to a segment, region or product)."""
    goal = plan_target(dataset, period, where=where, target=target, growth=growth, repeat_revenue=repeat_revenue)
    return make_plan(dataset, period, dataset.as_of, goal, where=where, repeat_revenue=repeat_revenue,
                     simulations=simulations, seed=seed)
