"""The plan's target, gap, reverse funnel and leads, worked out by hand on tiny fixtures
(tests/plan_fixtures.py), and the known-answer test: on a generated pipeline with a constant
creation rate and known stage chances, a target set to the exact expected won amount of the
next period must give back the creation rate the pipeline already has."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.data.periods import Period
from salesnb.data.selection import EVERYTHING
from salesnb.metrics import conversion, forecast, planning
from salesnb.metrics.statistics import share_reached_by_day
from tests import plan_fixtures as fx
from tests.metrics.test_forecast import APRIL, T, fixture_frames

D = dt.date
MONTH = 365.25 / 12


def test_share_reached_by_day_by_hand():
    # Observed 0, 1, 2, 3 and 3 days; events on day 1 (observed 1), 0 (observed 3) and 2 (observed 3).
    frame = share_reached_by_day([0, 1, 2, 3, 3], [np.nan, 1, np.nan, 0, 2], weights=[9, 10, 9, 20, 30])
    assert frame["observed"].tolist() == [5, 4, 3, 2]
    assert frame["reached"].tolist() == [1, 1, 1, 0]
    assert frame["share_by_day"].tolist() == pytest.approx([1 / 5, 1 / 5 + 1 / 4, 1 / 5 + 1 / 4 + 1 / 3] * 1 + [
        1 / 5 + 1 / 4 + 1 / 3])
    assert frame["weight_by_day"].tolist() == pytest.approx([20 / 5, 20 / 5 + 10 / 4, 4 + 2.5 + 30 / 3, 16.5])
    # An event after the observation (a data error) is not counted; no subject: no row.
    assert share_reached_by_day([2], [5])["reached"].sum() == 0
    assert share_reached_by_day([], []).empty


def test_creation_to_win_lag_counts_open_and_lost_deals_and_no_survivors_only():
    dataset = dataset_from_frames(fx.hand_frames())
    curve, excluded = conversion.creation_to_win_lag(dataset, where=EVERYTHING)
    # Ten deals created 121 days before the data's date; five won on day 30 at 1,000 each.
    assert curve["deals_observed"].iloc[0] == 10 and curve["deals_observed"].iloc[-1] == 10
    assert len(curve) == 122 and curve["won_on_day"].sum() == 5 and curve.loc[30, "won_on_day"] == 5
    assert curve.loc[29, "won_share_by_day"] == 0 and curve.loc[30, "won_share_by_day"] == pytest.approx(0.5)
    assert curve["won_amount_per_deal_by_day"].iloc[-1] == pytest.approx(500)
    assert [item.count for item in excluded] == [0, 0]


def test_creation_to_win_lag_at_a_past_date_sees_only_what_was_known():
    dataset = dataset_from_frames(fixture_frames())  # the forecast's fixture: F1 won 02-10, F3 won 03-20 ...
    curve, _ = conversion.creation_to_win_lag(dataset, D(2025, 2, 28), where=EVERYTHING)
    # On 28 Feb: F1 (won 02-10, 39 days after 01-02) and F9 (won 02-20, 17 days after 02-03) were
    # won; F3 (won 03-20) was still open: 2 wins of 5 deals created by then (F1 F2 F3 F4 F9).
    assert curve["deals_observed"].iloc[0] == 5 and curve["won_on_day"].sum() == 2
    assert curve.loc[17, "won_on_day"] == 1 and curve.loc[39, "won_on_day"] == 1
    # Day 39 is observed only for the four deals created on 01-02 (57 days old).
    assert curve.loc[39, "deals_observed"] == 4
    assert curve["won_share_by_day"].iloc[-1] == pytest.approx(1 / 5 + 1 / 4)


def test_in_period_value_by_hand():
    values = np.array([0, 0, 10, 10, 30], dtype=float)  # V(0..4), 30 from day 4 on
    period = Period(D(2025, 1, 4), D(2025, 1, 6))  # 3 to 5 days after T = 2025-01-01
    got = planning.in_period_value(values, period, D(2025, 1, 1), np.arange(1, 6))
    # c=1: V(4) - V(1) = 30; c=2: V(3) - V(0) = 10; c=3: V(2) - V(-1) = 10; c=4: V(1) = 0; c=5: V(0) = 0.
    assert got.tolist() == [30, 10, 10, 0, 0]
    # Past the curve's last day V stays at its last value.
    assert planning.in_period_value(values, Period(D(2025, 1, 20), D(2025, 1, 30)), D(2025, 1, 1),
                                    np.array([1])).tolist() == [0]


def _hand_gap(expected: float) -> planning.Gap:
    target = planning.Target(expected, "target", "given")
    return planning.Gap(target, planning.Booked(0.0, 0, None), None, 0.0, planning.Repeat(), expected=expected)


def test_reverse_funnel_weights_each_creation_day_by_the_measured_lag():
    dataset = dataset_from_frames(fx.hand_frames())
    funnel = planning.reverse_funnel(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, _hand_gap(30_000), where=EVERYTHING)
    # A(c) = 500 for c = 1..30, 0 after (a deal created 31+ days from T is won after the period).
    assert funnel.in_period.tolist() == [500.0] * 30 + [0.0] * 30
    assert funnel.value_per_day == 15_000
    assert funnel.required_per_day == pytest.approx(2.0)
    assert funnel.required_per_month == pytest.approx(2.0 * MONTH)
    assert funnel.win_rate == pytest.approx(0.5) and funnel.won_amount_per_deal == pytest.approx(500)
    assert funnel.median_days_to_win == 30 and funnel.cohort_deals == 10 and funnel.won_deals == 5
    # The mean amount of the deals created in the last 12 months: 1,000 (ten deals).
    assert funnel.required_pipeline_per_month == pytest.approx(2.0 * MONTH * 1000)
    months = funnel.months.set_index("creation_month")
    assert months.loc[D(2025, 7, 1), "creation_days"] == 31 and months.loc[D(2025, 8, 1), "creation_days"] == 29
    # July's deals (days 1..31): 30 days bring 500 each; August's bring nothing inside the period.
    assert months.loc[D(2025, 7, 1), "expected_won_in_period"] == pytest.approx(2.0 * 30 * 500)
    assert months.loc[D(2025, 8, 1), "expected_won_in_period"] == 0
    assert months.loc[D(2025, 7, 1), "in_period_share"] == pytest.approx(30 / 31)
    assert months["expected_won_in_period"].sum() == pytest.approx(30_000)
    # No gap (covered already): no deal needed; a gap not measured: no funnel, and why.
    assert planning.reverse_funnel(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, _hand_gap(-5.0),
                                   where=EVERYTHING).required_per_day == 0
    unmeasured = _hand_gap(1.0)
    unmeasured.expected, unmeasured.reason = None, "no target"
    funnel = planning.reverse_funnel(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, unmeasured, where=EVERYTHING)
    assert funnel.required_per_day is None and funnel.reason == "no target"


def test_lead_plan_goes_one_step_further_back_and_counts_open_leads_once():
    dataset = dataset_from_frames(fx.hand_frames())
    gap = _hand_gap(30_000)
    funnel = planning.reverse_funnel(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, gap, where=EVERYTHING)
    leads = planning.lead_plan(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, gap, funnel, where=EVERYTHING)
    # 11 leads, fewer than 30: planned with the other small sources, and the page says so.
    assert leads.notes and "Website" in leads.notes[0]
    row = leads.sources.set_index("source").loc[planning.OTHER_SOURCES]
    assert row["source_leads"] == 11 and row["lead_to_deal_rate"] == pytest.approx(0.5)
    assert row["median_days_to_deal"] == 10 and row["share_of_new_deals"] == pytest.approx(0.4)
    assert leads.from_leads_share == pytest.approx(0.4)
    # Open leads: L9, L10 (5 days old) and L11 (0 days) each bring 0.5 x 500; L5-L8 nothing.
    assert row["leads_not_yet_deals"] == 7 and row["expected_from_open_leads"] == pytest.approx(750)
    # (0.4 x 30,000 - 750) / sum_c 0.5 A(c + 10) = 11,250 / 5,000 leads a day.
    assert row["leads_per_month"] == pytest.approx(2.25 * MONTH)
    assert row["current_leads_per_month"] == pytest.approx(3 / 91 * MONTH)
    assert pd.isna(row["cost_per_lead"]) and pd.isna(row["lead_cost_per_month"])  # no spend recorded
    assert leads.by_source() == pytest.approx({planning.OTHER_SOURCES: 2.25 * MONTH, "total": 2.25 * MONTH})


def test_lead_plan_costs_leads_at_the_cost_per_lead_of_the_last_12_months():
    frames = fx.hand_frames()
    # Website spend in the 12 months up to T (Jul 2024 - Jun 2025): 1,100 over its 11 leads =
    # 100 a lead. Traps: June 2024 is before the window (not counted); Events has spend but no
    # lead (no cost per lead, and no row of its own in the plan).
    frames["marketing_spend"] = pd.DataFrame(
        [("2025-02-01", "Website", "Search", 800.0), ("2025-06-01", "Website", "Search", 300.0),
         ("2024-06-01", "Website", "Search", 5000.0), ("2025-03-01", "Events", "Fair", 2000.0)],
        columns=["month", "source", "campaign", "amount"])
    dataset = dataset_from_frames(frames)
    gap = _hand_gap(30_000)
    funnel = planning.reverse_funnel(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, gap, where=EVERYTHING)
    leads = planning.lead_plan(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, gap, funnel, where=EVERYTHING)
    row = leads.sources.set_index("source").loc[planning.OTHER_SOURCES]
    assert row["cost_per_lead"] == pytest.approx(100.0)
    assert row["lead_cost_per_month"] == pytest.approx(2.25 * MONTH * 100.0)
    assert leads.cost_per_month == pytest.approx(2.25 * MONTH * 100.0)
    assert leads.sources["source"].tolist() == [planning.OTHER_SOURCES]
    # Without spend rows for the sources planned: not measured (None), never 0.
    frames["marketing_spend"] = frames["marketing_spend"].iloc[[3]]
    dataset = dataset_from_frames(frames)
    unpriced = planning.lead_plan(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, gap, funnel, where=EVERYTHING)
    assert pd.isna(unpriced.sources["cost_per_lead"]).all() and unpriced.cost_per_month is None


def test_gap_quantiles_are_those_of_the_simulated_gap():
    gap = _hand_gap(3.0)
    gap.simulated = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert gap.quantiles() == pytest.approx({"p10": 1.4, "p50": 3.0, "p90": 4.6})
    gap.expected = None
    assert gap.quantiles() == {"p10": None, "p50": None, "p90": None}


def test_the_gap_reuses_the_forecast_engine():
    dataset = dataset_from_frames(fixture_frames())
    target = planning.Target(20_000.0, "target", "given")
    gap = planning.plan_gap(dataset, APRIL, T, target, where=EVERYTHING, simulations=500, seed=3)
    outlook = forecast.forecast(dataset, APRIL, as_of=T, simulations=500, seed=3)
    # The open pipeline's part is the forecast's own, and nothing of April is booked yet at T.
    assert gap.expected_from_open == pytest.approx(outlook.expected_from_open)
    assert gap.booked_so_far.total == 0 and gap.repeat.amount is None
    assert gap.expected == pytest.approx(20_000 - outlook.expected_from_open)
    # Each simulation's open part is the forecast's: the open deals are drawn first, same seed.
    open_only, _ = forecast.simulate(outlook.open_deals["in_period_probability"], outlook.open_deals["amount"],
                                     simulations=500, seed=3)
    assert (20_000 - gap.simulated).tolist() == pytest.approx(open_only.tolist())
    assert (outlook.won_amount - (20_000 - gap.simulated) >= 0).all()  # the forecast adds the new deals
    quantiles = gap.quantiles()
    assert quantiles["p10"] <= quantiles["p50"] <= quantiles["p90"] <= 20_000


def _orders_frames() -> dict:
    deals = pd.DataFrame([
        ("W1", "A1", "2024-03-01", "2024-04-10", "Closed Won", 1000.0),
        ("W2", "A2", "2024-03-05", "2024-05-20", "Closed Won", 3000.0),
        ("W3", "A1", "2025-03-01", "2025-04-15", "Closed Won", 2000.0),
        ("O1", "A3", "2025-06-01", "2025-09-30", "Proposal", 5000.0),
    ], columns=["opportunity_id", "account_id", "created_at", "close_date", "stage", "amount"])
    orders = pd.DataFrame([
        ("R1", "A1", "2024-04-10", 1000.0, "W1"),   # the won deal's own order
        ("R2", "A1", "2024-05-02", 200.0, None),    # a repeat order without a deal: counts
        ("R3", "A4", "2024-05-03", 700.0, None),    # a new self-serve customer's first order: does not
        ("R4", "A4", "2024-06-03", 70.0, None),     # its repeat order: counts
        ("R5", "A1", "2025-05-02", 300.0, None),
    ], columns=["order_id", "account_id", "ordered_at", "amount", "opportunity_id"])
    return {"opportunities": deals, "orders": orders}


def test_booked_is_won_deals_and_repeat_orders_without_a_deal():
    dataset = dataset_from_frames(_orders_frames())
    q2 = Period(D(2024, 4, 1), D(2024, 6, 30))
    booked = planning.booked(dataset, q2, where=EVERYTHING)
    assert (booked.won_amount, booked.won, booked.repeat_amount, booked.total) == (4000.0, 2, 270.0, 4270.0)
    assert planning.booked(dataset, q2, where=EVERYTHING, repeat_revenue=False).total == 4000.0
    # A team cannot reach orders without a deal: repeat revenue is not counted for it.
    assert planning.repeat_counted(dataset, select(source="Web"), True)[0] is False
    # Orders only: the plan is about order revenue, every order counts.
    only_orders = dataset_from_frames({"orders": _orders_frames()["orders"]})
    assert planning.booked(only_orders, q2, where=EVERYTHING).total == pytest.approx(1000 + 200 + 700 + 70)


def test_target_precedence_target_then_quotas_then_last_year_plus_growth():
    frames = _orders_frames()
    frames["quotas"] = pd.DataFrame([("R1", "2025-07-01", "2025-09-30", 9000.0)],
                                    columns=["rep_id", "period_start", "period_end", "amount"])
    frames["opportunities"]["rep_id"] = "R1"
    dataset = dataset_from_frames(frames)
    q2, q3 = Period(D(2025, 4, 1), D(2025, 6, 30)), Period(D(2025, 7, 1), D(2025, 9, 30))
    assert planning.plan_target(dataset, q3, target=12_345).amount == 12_345
    quota = planning.plan_target(dataset, q3)
    assert (quota.amount, quota.basis) == (9000.0, "quotas")
    # No quotas for Q2 2025: Q2 2024 booked 4,000 won + 270 repeat, plus 20%.
    grown = planning.plan_target(dataset, q2)
    assert grown.basis == "growth" and grown.amount == pytest.approx(4270 * 1.2)
    assert "+ 20%" in grown.description and "repeat orders" in grown.description
    assert planning.plan_target(dataset, q2, growth=None).amount == pytest.approx(4270)
    # A year earlier is before the data: no target, and the sentence says to set one.
    early = planning.plan_target(dataset, Period(D(2024, 4, 1), D(2024, 6, 30)))
    assert early.amount is None and "Set the target parameter" in early.description


def test_a_plan_period_that_has_ended_leaves_nothing_to_create():
    dataset = dataset_from_frames(fx.hand_frames())
    plan = planning.plan(dataset, Period(D(2025, 4, 1), D(2025, 6, 30)), target=10_000)
    assert plan.window is None and plan.funnel.required_per_day is None
    assert "nothing is left to create" in plan.funnel.reason


def test_known_answer_the_creation_rate_you_already_have():
    """A pipeline created at a constant rate with known stage chances, and a target set to the
    exact expected won amount of the next quarter: the plan must ask for the creation rate the
    pipeline already has, within 15%."""
    frames, open_state = fx.steady_pipeline()
    exact = fx.exact_expected_won(open_state)
    dataset = dataset_from_frames(frames)
    assert dataset.as_of == fx.AS_OF
    plan = planning.plan(dataset, target=exact["total"])  # next_fiscal_quarter: Q1 2026
    assert plan.period == fx.NEXT_QUARTER
    already = fx.DEALS_PER_DAY * MONTH
    assert plan.summary()["required_new_deals_per_month"] == pytest.approx(already, rel=0.15)
    # Its parts are right too: the open pipeline's expected wins and the win rate of created deals.
    assert plan.gap.expected_from_open == pytest.approx(exact["from_open"], rel=0.25)
    assert plan.funnel.win_rate == pytest.approx(np.prod(fx.PASS), rel=0.1)
    # And the creation rate it measures now is the one it was generated with.
    assert plan.summary()["current_new_deals_per_month"] == pytest.approx(already)


def test_leads_are_counted_in_the_engine_by_source_age_and_day_they_became_a_deal():
    # The plan of leads reads the leads as counts (one row per source, age at the plan date, day
    # they became a deal, undated), not one row per lead. Worked out by hand on the hand fixture
    # at T = 2025-06-30 with four more leads, each a trap:
    frames = fx.hand_frames()
    frames["opportunities"] = pd.concat([frames["opportunities"], pd.DataFrame(
        [("D11", "2024-05-01", "2024-06-01", "Closed Lost", 1000.0, "Website")],
        columns=frames["opportunities"].columns)], ignore_index=True)
    frames["leads"] = pd.concat([frames["leads"], pd.DataFrame([
        # L12 names a deal the data does not have and has no conversion date: an undated deal.
        ("L12", "2025-02-19 09:00:00", "Website", None, "D99"),
        # L13 links D1 too, a day after L1: D1 is credited to L1 only; L13 became a deal on day 9.
        ("L13", "2025-02-20 09:00:00", "Website", "2025-03-01 09:00:00", "D1"),
        # L14 became D11 on day 10, 435 days before T: D11 was created over a year before T, so
        # it is not one of the last year's deals and is not credited in the source mix.
        ("L14", "2024-04-21 09:00:00", "Website", "2024-05-01 09:00:00", "D11"),
        # L15 was created 731 days before T: outside the two years the plan learns from.
        ("L15", "2023-06-30 09:00:00", "Website", None, None),
    ], columns=frames["leads"].columns)], ignore_index=True)
    dataset = dataset_from_frames(frames)
    recent = planning._recent_deals_table(dataset, fx.HAND_AS_OF, EVERYTHING)
    counts = planning._lead_counts(dataset, fx.HAND_AS_OF, EVERYTHING, recent)
    def key(row):
        return row[1], row[2] is None, row[2] or 0, row[3]

    found = sorted(((row.source, int(row.age), None if pd.isna(row.converted_day) else int(row.converted_day),
                     bool(row.undated), int(row.leads), int(row.credited)) for row in counts.itertuples()), key=key)
    assert found == sorted([
        ("Website", 0, None, False, 1, 0),     # L11
        ("Website", 5, None, False, 2, 0),     # L9, L10
        ("Website", 130, 9, False, 1, 0),      # L13: its deal is credited to L1
        ("Website", 131, 10, False, 4, 4),     # L1-L4: D1, D2, D6, D7, created in the last year
        ("Website", 131, None, False, 4, 0),   # L5-L8: never a deal
        ("Website", 131, None, True, 1, 0),    # L12: undated
        ("Website", 435, 10, False, 1, 0),     # L14: D11 is older than a year
    ], key=key)
    # The plan of leads from these counts, as worked out per lead: 14 in the window, L12 left out (undated), 13
    # leads; watched 9 days or more: 10 (L1-L8, L13, L14), of which L13 became a deal on day 9 and
    # L1-L4, L14 on day 10: rate 1/10 + 5/10 = 0.6, half of it by day 10 (the median); 4 of the 10
    # deals created in the last year came from a lead (D11 is older); 7 open leads, 3 of them
    # created in the last 91 days.
    gap = _hand_gap(30_000)
    funnel = planning.reverse_funnel(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, gap, where=EVERYTHING)
    leads = planning.lead_plan(dataset, fx.HAND_PERIOD, fx.HAND_AS_OF, gap, funnel, where=EVERYTHING)
    assert [(item.count, item.total) for item in leads.excluded] == [(1, 14)]
    row = leads.sources.set_index("source").loc[planning.OTHER_SOURCES]
    assert row["source_leads"] == 13 and row["leads_not_yet_deals"] == 7
    assert row["lead_to_deal_rate"] == pytest.approx(0.6) and row["median_days_to_deal"] == 10
    assert row["share_of_new_deals"] == pytest.approx(0.4) and leads.from_leads_share == pytest.approx(0.4)
    assert row["current_leads_per_month"] == pytest.approx(3 / 91 * MONTH)
