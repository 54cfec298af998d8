"""The plan's findings: what has to change now to hit the coming period's number.

Composed from the views ``06_plan`` has already computed (the plan, its people side, the
levers and the backtest): nothing is computed a second time. Each finding holds only when
the data says so (a creation rate short of the plan, deals created too late to count, a
lead source short of its share, a team short of reps, a backtest that does not hold).
"""

from __future__ import annotations

import pandas as pd

from salesnb.data.formats import format_value
from salesnb.metrics.findings import PER_TOPIC, Movement
from salesnb.metrics.hiring import Staffing
from salesnb.metrics.plan_backtest import trusted, verdict
from salesnb.metrics.planning import Plan

# Needed ÷ now beyond these is news (10% more, or 10% fewer, deals than today).
SHORT, AHEAD = 1.10, 0.90
# A lead source is short when it must grow its leads by at least this much.
SOURCE_SHORT = 1.25
# Deals created in a month that bring less than this share of their value inside the period come too late.
LATE_SHARE = 0.25
NOTHING_FOUND = ("Nothing stands out: the plan asks for about the deals and leads created today, every team has the "
                 "capacity for its share, and the plan's backtest holds (or the data cannot tell).")


def plan_findings(plan: Plan, staffing: Staffing | None, levers: pd.DataFrame | None, backtest_stats: dict | None,
                  *, currency: str = "USD") -> list[Movement]:
    """What has to change now, each with its numbers and n:

    1. new deals needed per month against today's (when they differ by 10% or more);
    2. the first creation month whose deals win less than 25% of their value inside the
       period: deals have to be created before it;
    3. lead sources that must grow their leads by 25% or more (at most
       :data:`~salesnb.metrics.findings.PER_TOPIC`, furthest short first);
    4. teams that must hire now, and reps leaving (a known ``left_on`` ahead);
    5. the lever that buys most, against the gap;
    6. a backtest that says the plan cannot be taken at face value.

    Views that are None or not measured skip their topic."""
    money = lambda value: format_value(value, "currency", currency)  # noqa: E731
    found: list[Movement] = []
    funnel, summary = plan.funnel, plan.summary()
    required, current = summary["required_new_deals_per_month"], summary["current_new_deals_per_month"]
    if required is not None and current:
        ratio = required / current
        if ratio >= SHORT or ratio <= AHEAD:
            more = ratio >= SHORT
            found.append(Movement(
                "creation", "New deals",
                f"To win the gap of {money(plan.gap.expected)} in {plan.period.short_label()}, create {required:,.0f} "
                f"deals a month from now to {plan.period.end:%d %b %Y}: {ratio:.2f}x the {current:,.0f} a month "
                f"created in the last 91 days ({funnel.current_deals:,} deals). "
                + ("Today's creation rate falls short." if more else "Today's creation rate is ahead of the plan."),
                ratio, funnel.current_deals))
    if funnel is not None and len(funnel.months) and funnel.required_per_day:
        late = funnel.months[funnel.months["in_period_share"] < LATE_SHARE]
        if len(late):
            first = late.iloc[0]
            found.append(Movement(
                "timing", "Late deals",
                f"Deals created from {pd.Timestamp(first['creation_month']):%B %Y} on win less than {LATE_SHARE:.0%} "
                f"of their value inside {plan.period.short_label()} (by the measured creation-to-win lags, median "
                f"{funnel.median_days_to_win:,.0f} days): the plan's deals have to be created before then.",
                float(1 - first["in_period_share"]), funnel.cohort_deals))
    sources = plan.leads.sources
    if len(sources) and sources["leads_per_month"].notna().any():
        short = sources[(sources["current_leads_per_month"] > 0)
                        & (sources["leads_per_month"] >= SOURCE_SHORT * sources["current_leads_per_month"])]
        movements = [Movement(
            "leads", str(row.source),
            f"{row.source}: {row.leads_per_month:,.0f} leads a month needed against {row.current_leads_per_month:,.0f} "
            f"now ({row.leads_per_month / row.current_leads_per_month:.1f}x; lead → deal {row.lead_to_deal_rate:.1%} "
            f"on {row.source_leads:,} leads)"
            + (f", about {money(row.lead_cost_per_month)} a month at {money(row.cost_per_lead)} a lead." if
               pd.notna(row.lead_cost_per_month) else "."),
            float(row.leads_per_month / row.current_leads_per_month), int(row.source_leads))
            for row in short.itertuples(index=False)]
        found += sorted(movements, key=lambda movement: (-movement.strength, movement.subject))[:PER_TOPIC]
    if staffing is not None and len(staffing.teams):
        hiring = staffing.teams[staffing.teams["hires_needed"].fillna(0) > 0]
        for row in hiring.itertuples(index=False):
            leaving = f" ({row.leaving_ahead} of its {row.reps_now} reps leaving)" if row.leaving_ahead else ""
            found.append(Movement(
                "people", f"Team {row.team}",
                f"Team {row.team}{leaving} can book {money(row.capacity)} of its {money(row.plan_bookings)} in "
                f"{plan.period.short_label()}: hire {int(row.hires_needed)} rep(s) this month; hired later, new reps "
                "ramp too late to close the gap.", float(row.shortfall), int(row.reps_now)))
    if levers is not None and levers["lever_impact"].notna().any() and plan.gap.expected and plan.gap.expected > 0:
        best = levers.dropna(subset=["lever_impact"]).iloc[0]
        found.append(Movement(
            "levers", str(best["lever"]),
            f"The lever that buys most: {best['lever']} brings {money(best['lever_impact'])} in the period "
            f"({best['lever_impact'] / plan.gap.expected:.0%} of the gap), as much as "
            f"{best['equivalent_deals_per_month']:,.0f} more new deals a month.",
            float(best["lever_impact"]), funnel.cohort_deals if funnel else 0))
    if backtest_stats and backtest_stats["periods"]:
        if not trusted(backtest_stats):
            found.append(Movement("backtest", "Backtest", verdict(backtest_stats),
                                  abs(backtest_stats["plan_backtest_ratio"] - 1), backtest_stats["periods"]))
    return found
