"""Levers, worked out by hand on the hand-made dataset of tests/plan_fixtures.py: a created deal
is won 30 days later with chance 0.5 at 1,000 (V(d) = 500 from day 30), and the plan is set to
create one deal a day now (91 deals in the last 91 days)."""

import datetime as dt

import pandas as pd
import pytest

from salesnb import dataset_from_frames
from salesnb.data.periods import Period
from salesnb.data.selection import EVERYTHING
from salesnb.metrics import levers, planning
from salesnb.metrics.hiring import Attrition, Staffing
from tests import plan_fixtures as fx

MONTH = 365.25 / 12


def _plan(period: Period) -> planning.Plan:
    dataset = dataset_from_frames(fx.hand_frames())
    target = planning.Target(30_000.0, "target", "given")
    gap = planning.Gap(target, planning.Booked(0.0, 0, None), None, 2000.0, planning.Repeat(), expected=28_000.0)
    funnel = planning.reverse_funnel(dataset, period, fx.HAND_AS_OF, gap, where=EVERYTHING)
    funnel.current_deals = 91  # one a day
    leads = planning.LeadPlan(from_leads_share=0.4)
    return dataset, planning.Plan(period, fx.HAND_AS_OF, target, gap, funnel, leads)


def _staffing() -> Staffing:
    productivity = pd.DataFrame({"team": ["A", "Company"], "monthly_won_per_ramped_rep": [5000.0, 6000.0]})
    return Staffing(productivity, pd.DataFrame(), Attrition())


def test_each_lever_in_won_amount_inside_the_period():
    dataset, plan = _plan(fx.HAND_PERIOD)  # 31..60 days after T
    table = levers.lever_table(dataset, where=EVERYTHING, plan=plan, staffing=_staffing())
    impact = levers.impacts(table)
    new = 1.0 * 15_000  # one deal a day x sum_c A(c)
    assert impact["win_rate_plus_1_point"] == pytest.approx((2000 + new) * 0.01 / 0.5)
    assert impact["deal_size_plus_10_percent"] == pytest.approx(0.1 * new)
    # Wins 10 days sooner: deals created on days 11..40 count instead of 1..30, as many days.
    assert impact["cycle_minus_10_days"] == pytest.approx(0)
    assert impact["lead_to_deal_plus_10_percent"] == pytest.approx(0.1 * new * 0.4)
    assert impact["one_more_ramped_rep"] == pytest.approx(6000 * 30 / MONTH)  # the company's rep, 30 days
    row = table.set_index("lever_key").loc["deal_size_plus_10_percent"]
    assert row["equivalent_deals_per_month"] == pytest.approx(1500 / 15_000 * MONTH)
    assert table["lever_impact"].is_monotonic_decreasing  # the largest first (a tornado)


def test_a_shorter_cycle_helps_when_the_period_has_started():
    start = fx.HAND_AS_OF + dt.timedelta(days=1)
    dataset, plan = _plan(Period(start, fx.HAND_PERIOD.end))  # 1..60 days after T
    impact = levers.impacts(levers.lever_table(dataset, where=EVERYTHING, plan=plan, staffing=_staffing()))
    # A(c) = 500 for c <= 30 before, for c <= 40 after: 10 more days of deals at one a day.
    assert impact["cycle_minus_10_days"] == pytest.approx(10 * 500)


def test_levers_not_measured_without_the_data():
    dataset, plan = _plan(fx.HAND_PERIOD)
    plan.leads.from_leads_share = None
    unmeasured = Staffing(pd.DataFrame(columns=["team", "monthly_won_per_ramped_rep"]), pd.DataFrame(), Attrition())
    table = levers.lever_table(dataset, where=EVERYTHING, plan=plan, staffing=unmeasured)
    impact = levers.impacts(table)
    assert impact["lead_to_deal_plus_10_percent"] is None and impact["one_more_ramped_rep"] is None
    assert table["lever_key"].tolist()[-2:] == ["lead_to_deal_plus_10_percent", "one_more_ramped_rep"]
