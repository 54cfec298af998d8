"""Levers: what each improvement buys in the plan period, in the same unit (won amount).

All at the creation rate you already have (deals created in the 91 days before the plan
date, per day: r0) and the plan's measured curves (:mod:`salesnb.metrics.planning`), over
the deals created from the plan date to the period's end (expected won in the period
E_new = r0 x sum_c A(c)) and the deals open at the plan date (E_open, the forecast engine's):

| lever | what it buys in the period |
|---|---|
| +1 point of win rate | (E_open + E_new) x 0.01 ÷ p, p the cohort win rate: every deal's chance is p + 1 point |
| +10% deal size | 0.10 x E_new (the open deals' amounts are already set) |
| −10 days of cycle | r0 x sum_c [A'(c) − A(c)], A' from the curve with every win 10 days sooner: V'(d) = V(d + 10) (new deals only) |
| +10% lead → deal rate | 0.10 x E_new x the share of new deals that come from leads |
| one more ramped rep | a ramped rep's monthly bookings x the months of the period left |

``equivalent_deals_per_month``: the extra new deals per month at today's win rate, size and
lag that would buy the same (impact ÷ sum_c A(c) x 365.25/12), so levers compare with the
plain "create more deals".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics import hiring, planning
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.hiring import Staffing
from salesnb.metrics.planning import MONTH_DAYS, Plan, in_period_value
from salesnb.metrics.scope import metric

WIN_RATE_POINTS = 0.01
DEAL_SIZE_CHANGE = 0.10
CYCLE_DAYS = 10
LEAD_RATE_CHANGE = 0.10

# The levers, in the order the table shows them: key (as recorded), label.
LEVERS = (
    ("win_rate_plus_1_point", "+1 point of win rate"),
    ("deal_size_plus_10_percent", "+10% deal size"),
    ("cycle_minus_10_days", "−10 days of sales cycle"),
    ("lead_to_deal_plus_10_percent", "+10% lead → deal rate"),
    ("one_more_ramped_rep", "One more ramped rep"),
)

declare(
    Measure("lever", "Lever", "text", "The improvement."),
    Measure("lever_key", "Lever key", "text", "The lever's name as recorded in lever_impact."),
    Measure("lever_assumes", "Assumes", "text", "What the lever's number rests on."),
    Measure("lever_impact", "Buys in the period", "currency", "Extra won amount in the plan period, in expectation, "
            "from the improvement alone.", section="plan-levers", higher_is_better=True),
    Measure("equivalent_deals_per_month", "Same as new deals / month", "count", "Extra new deals per month at "
            "today's win rate, size and lag that would buy the same.", section="plan-levers"),
)


@metric(default_period="next_fiscal_quarter")
def lever_table(dataset: Dataset, period: Period | None = None, *, where: Selection, plan: Plan | None = None,
                staffing: Staffing | None = None, **plan_options) -> pd.DataFrame:
    """What each lever buys in the plan period (module docstring): one row per lever with
    ``lever_key`` (as recorded), ``lever``, ``lever_impact`` (None when not measured),
    ``equivalent_deals_per_month`` and ``lever_assumes``; the largest impact first, the levers
    not measured last. ``plan`` and ``staffing``: the plan of the period and its people side
    when already computed (else computed here, with ``plan_options`` as for
    :func:`salesnb.metrics.planning.plan`)."""
    if plan is None:
        plan = planning.plan(dataset, period, where=where, **plan_options)
    if staffing is None and dataset.has("opportunities"):  # without deals there are no reps to staff
        staffing = hiring.staffing(dataset, plan, where=where)
    funnel, currency = plan.funnel, dataset.playbook.currency
    rows = {key: (None, "not measured") for key, _ in LEVERS}
    if funnel is not None and funnel.won_amount_per_deal and len(funnel.in_period):
        rate = funnel.current_per_day
        new = rate * funnel.value_per_day
        opened = plan.gap.expected_from_open or 0.0
        share = funnel.win_rate
        rows["win_rate_plus_1_point"] = ((opened + new) * WIN_RATE_POINTS / share if share else None,
                                         f"win rate {share:.1%} → {share + WIN_RATE_POINTS:.1%} on the open and the new "
                                         "deals" if share else "not measured: no win rate")
        rows["deal_size_plus_10_percent"] = (DEAL_SIZE_CHANGE * new, "new deals 10% larger; open deals as they are")
        values = funnel.curve["won_amount_per_deal_by_day"].to_numpy(dtype=float)
        sooner = np.r_[values[CYCLE_DAYS:], np.full(min(CYCLE_DAYS, len(values)), values[-1])]
        offsets = np.arange(1, len(funnel.in_period) + 1)
        faster = in_period_value(sooner, plan.period, plan.as_of, offsets).sum()
        rows["cycle_minus_10_days"] = (rate * (faster - funnel.value_per_day),
                                       f"every new deal won {CYCLE_DAYS} days sooner; open deals as they are")
        from_leads = plan.leads.from_leads_share
        rows["lead_to_deal_plus_10_percent"] = (
            (LEAD_RATE_CHANGE * new * from_leads, f"10% more deals from the same leads ({from_leads:.0%} of new deals "
             "come from leads)") if from_leads is not None else (None, "not measured: no leads linked to deals"))
    if staffing is not None and not staffing.productivity.empty and plan.window is not None:
        company = staffing.productivity["monthly_won_per_ramped_rep"].iloc[-1]
        months = Period(max(plan.period.start, plan.window.start), plan.period.end).days / MONTH_DAYS
        if pd.notna(company):
            rows["one_more_ramped_rep"] = (company * months, f"{currency} {company:,.0f} a month (a ramped rep of the "
                                           f"company) × {months:.1f} months")
    per_day = funnel.value_per_day if funnel is not None and len(funnel.in_period) else 0.0
    table = pd.DataFrame([{"lever_key": key, "lever": label, "lever_impact": rows[key][0],
                           "equivalent_deals_per_month": rows[key][0] / per_day * MONTH_DAYS
                           if rows[key][0] is not None and per_day > 0 else None,
                           "lever_assumes": rows[key][1]} for key, label in LEVERS])
    table = table.astype({"lever_impact": float, "equivalent_deals_per_month": float})
    return table.sort_values("lever_impact", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def impacts(table: pd.DataFrame) -> dict:
    """The recorded KPI ``lever_impact``: lever key -> impact (None where not measured)."""
    return {key: (None if pd.isna(value) else float(value)) for key, value in zip(table["lever_key"],
                                                                                    table["lever_impact"])}
