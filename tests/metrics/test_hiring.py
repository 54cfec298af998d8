"""People for the plan: a ramped rep's productivity, the ramp curve, attrition, ramp-weighted
capacity and hires by month, worked out by hand.

Fixture (team A; data's date T = 2025-06-30; the 12 months up to T: Jul 2024 - Jun 2025):

    rep  hired        left_on      wins
    R1   2020-01-01   -            6,000 every month of the 12
    R2   2025-04-01   -            3,000 in May 2025 (month 1 since hire), 6,000 in June (month 2)
    R3   2019-01-01   2025-03-31   6,000 in each month from Jul 2024 to Mar 2025 (left in the window)
    R4   2018-01-01   2025-08-15   6,000 every month of the 12 (leaves after T: notice given)

A ramped rep books (12 + 9 + 12) x 6,000 / 33 ramped rep-months = 6,000 a month. The ramp curve
(R2, the only hire of the data): 0% in month 0, 50% in month 1, 100% in month 2. Attrition: 1
rep left in the 12 months, over 365 + 91 + 274 = 730 days employed (R1, R2, R3; R4 365 more):
1 ÷ (1,095 / 30.4375) a month.
"""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.data.periods import Period
from salesnb.data.selection import EVERYTHING
from salesnb.metrics import hiring, planning, ramp

D = dt.date
MONTH = 365.25 / 12
T = D(2025, 6, 30)
Q3 = Period(D(2025, 7, 1), D(2025, 9, 30))


def _frames() -> dict:
    reps = pd.DataFrame([
        ("R1", "Ann", "A", "2020-01-01", None), ("R2", "Bo", "A", "2025-04-01", None),
        ("R3", "Cy", "A", "2019-01-01", "2025-03-31"), ("R4", "Di", "A", "2018-01-01", "2025-08-15"),
    ], columns=["rep_id", "rep_name", "team", "hire_date", "left_on"])
    months = pd.period_range("2024-07", "2025-06", freq="M")
    deals = []
    for rep, wins in (("R1", {month: 6000 for month in months}), ("R4", {month: 6000 for month in months}),
                      ("R3", {month: 6000 for month in months[:9]}),
                      ("R2", {pd.Period("2025-05", "M"): 3000, pd.Period("2025-06", "M"): 6000})):
        for month, amount in wins.items():
            close = month.start_time + pd.Timedelta(days=14)
            deals.append((f"{rep}-{month}", rep, (close - pd.Timedelta(days=10)).date(), close.date(), "Closed Won",
                          float(amount)))
    deals.append(("OPEN", "R1", T, D(2025, 8, 1), "Proposal", 1000.0))  # dates the data on T
    return {"reps": reps, "opportunities": pd.DataFrame(deals, columns=[
        "opportunity_id", "rep_id", "created_at", "close_date", "stage", "amount"])}


def _plan(dataset, amount: float) -> planning.Plan:
    target = planning.Target(amount, "target", "given")
    gap = planning.Gap(target, planning.Booked(0.0, 0, None), None, 0.0, planning.Repeat(), expected=amount)
    return planning.Plan(Q3, T, target, gap, None, planning.LeadPlan())


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(_frames())


def test_ramped_productivity_is_a_ratio_of_sums_over_ramped_rep_months(dataset):
    frame = ramp.ramped_productivity(dataset, Period(D(2024, 7, 1), T))
    team = frame.set_index("team").loc["A"]
    assert (team["ramped_reps"], team["ramped_rep_months"]) == (3, 33)  # R2 is not ramped yet
    assert team["won_amount"] == 6000 * 33 and team["monthly_won_per_ramped_rep"] == pytest.approx(6000)
    assert team["productivity_of"] == "team"
    assert frame.iloc[-1]["team"] == ramp.COMPANY_PRODUCTIVITY


def test_a_rep_month_counts_from_the_hire_to_the_leaving_day_inclusive():
    # R3 leaving on 1 Apr 2025 instead of 31 Mar: employed on April's first day, so April is a
    # ramped rep-month (with nothing won): 12 + 10 + 12. R2 hired on 31 Mar instead of 1 Apr:
    # March is then its month 0 (employed by the month's end), and June its month 3.
    frames = _frames()
    frames["reps"].loc[frames["reps"]["rep_id"] == "R3", "left_on"] = "2025-04-01"
    team = ramp.ramped_productivity(dataset_from_frames(frames), Period(D(2024, 7, 1), T)).set_index("team").loc["A"]
    assert (team["ramped_reps"], team["ramped_rep_months"], team["won_amount"]) == (3, 34, 6000 * 33)
    frames["reps"].loc[frames["reps"]["rep_id"] == "R2", "hire_date"] = "2025-03-31"
    curve = ramp.ramp_curve(dataset_from_frames(frames), Period(D(2024, 7, 1), T))
    assert curve["month_since_hire"].tolist() == [0, 1, 2, 3]


def test_ramp_curve_by_month_since_hire(dataset):
    curve = ramp.ramp_curve(dataset, Period(D(2024, 7, 1), T))
    assert curve["month_since_hire"].tolist() == [0, 1, 2] and curve["hires_observed"].tolist() == [1, 1, 1]
    assert curve["measured_ramp_share"].tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert curve["ramp_share_used"].tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_ramp_curve_is_made_non_decreasing_and_capped():
    from scipy.optimize import isotonic_regression

    # The same weighted pool-adjacent-violators the curve uses: 0.6 then 0.2 (2 and 1 hires) pool to 0.4667.
    assert isotonic_regression([0.6, 0.2, 1.4], weights=[2, 1, 1]).x.tolist() == pytest.approx([7 / 15, 7 / 15, 1.4])
    curve = pd.DataFrame({"month_since_hire": [0, 1, 2], "ramp_share_used": [0.1, 0.4, 0.9]})
    # Months after the measured ones keep the last share; from month 12 a hire counts as ramped.
    assert hiring._share_at(curve, [-1, 0, 2, 5, 11, 12, 30, np.nan]).tolist() == pytest.approx(
        [0, 0.1, 0.9, 0.9, 0.9, 1.0, 1.0, 1.0])


def test_attrition_by_hand(dataset):
    leaving = hiring.attrition(dataset, T, where=EVERYTHING)
    assert leaving.leavers == 1 and leaving.rep_months == pytest.approx((365 + 91 + 274 + 365) / MONTH)
    assert leaving.monthly_rate == pytest.approx(1 / ((365 + 91 + 274 + 365) / MONTH))
    assert leaving.leaving_ahead["rep_id"].tolist() == ["R4"]
    # Without any left_on, attrition is not measured (and the plan says it assumes none).
    frames = _frames()
    frames["reps"] = frames["reps"].drop(columns="left_on")
    unmeasured = hiring.attrition(dataset_from_frames(frames), T, where=EVERYTHING)
    assert unmeasured.monthly_rate is None and "not measured" in unmeasured.reason


def test_capacity_and_hires_are_ramp_and_attrition_weighted(dataset):
    staffing = hiring.staffing(dataset, _plan(dataset, 60_000), where=EVERYTHING)
    attrition = 1 / ((365 + 91 + 274 + 365) / MONTH)
    days = {7: 31, 8: 31, 9: 30}
    stay = {month: (1 - attrition) ** (month - 6) for month in days}
    # R1 and R2 (month 3+ since hire: 100% from the measured month 2 on), with attrition;
    # R4 until 15 Aug (15 of August's 31 days), no other attrition.
    ramped = sum(6000 * days[month] / MONTH * stay[month] for month in days)
    leaving = 6000 * (31 + 15) / MONTH
    team = staffing.teams.set_index("team").loc["A"]
    assert (team["reps_now"], team["leaving_ahead"]) == (3, 1)
    assert team["capacity"] == pytest.approx(2 * ramped + leaving)
    assert team["plan_bookings"] == 60_000
    assert team["reps_needed"] == pytest.approx(60_000 / (6000 * 92 / MONTH))
    shortfall = 60_000 - (2 * ramped + leaving)
    assert team["shortfall"] == pytest.approx(shortfall)
    # A rep hired on 1 July brings 0% in July, 50% in August, 100% in September, with attrition.
    july = 6000 * (31 / MONTH * 0.0 + 31 / MONTH * 0.5 * (1 - attrition) + 30 / MONTH * 1.0 * (1 - attrition) ** 2)
    by_month = staffing.hires_by_month.set_index("hire_month")
    assert by_month.loc[D(2025, 7, 1), "capacity_per_hire"] == pytest.approx(july)
    assert team["hires_needed"] == math.ceil(shortfall / july) == by_month.loc[D(2025, 7, 1), "hires_needed"]
    # Hired in September, a rep books nothing in the period: no number of hires helps.
    assert by_month.loc[D(2025, 9, 1), "capacity_per_hire"] == 0
    assert pd.isna(by_month.loc[D(2025, 9, 1), "hires_needed"])
    assert staffing.required_hires() == {"A": team["hires_needed"]}
    assert staffing.hires_table().columns.tolist() == ["team", "Jul 2025", "Aug 2025", "Sep 2025"]
    # A target the team can book: no shortfall, no hire.
    assert hiring.staffing(dataset, _plan(dataset, 1000), where=EVERYTHING).required_hires() == {"A": 0}


def test_a_team_selection_keeps_its_reps_only(dataset):
    staffing = hiring.staffing(dataset, _plan(dataset, 60_000), where=select(team="A"))
    assert staffing.teams["team"].tolist() == ["A"]
    frames = _frames()
    frames["reps"].loc[1, "team"] = "B"  # R2 in team B: one rep, no ramped rep -> the company's productivity
    other = dataset_from_frames(frames)
    rows = ramp.ramped_productivity(other, Period(D(2024, 7, 1), T)).set_index("team")
    assert rows.loc["B", "productivity_of"] == "company"
    assert rows.loc["B", "monthly_won_per_ramped_rep"] == pytest.approx(rows.iloc[-1]["monthly_won_per_ramped_rep"])


def test_without_hire_dates_capacity_counts_reps_as_ramped_and_hires_are_not_measured():
    frames = _frames()
    frames["reps"] = frames["reps"].drop(columns="hire_date")
    staffing = hiring.staffing(dataset_from_frames(frames), _plan(None, 60_000), where=EVERYTHING)
    # Every rep is ramped in every month employed: R1, R2 and R4 12 months, R3 9: 45 rep-months
    # for 33 x 6,000 + 9,000 won. Attrition: 1 leaver over 365 + 365 + 274 (+ 365 for R4) days.
    rate = (33 * 6000 + 9000) / 45
    attrition = 1 / ((365 + 365 + 274 + 365) / MONTH)
    days = {7: 31, 8: 31, 9: 30}
    ramped = sum(rate * days[month] / MONTH * (1 - attrition) ** (month - 6) for month in days)
    team = staffing.teams.set_index("team").loc["A"]
    assert team["capacity"] == pytest.approx(2 * ramped + rate * (31 + 15) / MONTH)
    assert pd.isna(team["hires_needed"]) and staffing.required_hires() is None
    assert staffing.hires_by_month.empty and any("Hires are not measured" in note for note in staffing.notes)
