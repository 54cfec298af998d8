"""The plan's backtest: which past periods it plans and from when, the ratio required ÷ actual,
and that on a steady pipeline (tests/plan_fixtures.py) the method asks for what was created."""

import datetime as dt

import pytest

from salesnb import dataset_from_frames
from salesnb.data.periods import Period
from salesnb.metrics import plan_backtest
from tests import plan_fixtures as fx

D = dt.date


@pytest.fixture(scope="module")
def steady():
    frames, _ = fx.steady_pipeline()
    return dataset_from_frames(frames)


def test_periods_are_planned_as_far_ahead_as_the_plan_itself(steady):
    # The plan of Q1 2026 is made on 15 Nov 2025, 47 days ahead: so are the past plans.
    chosen = plan_backtest.backtest_periods(steady, fx.NEXT_QUARTER, 8)
    assert [(period.start, freeze) for period, freeze in chosen] == [
        (D(2024, 7, 1), D(2024, 5, 15)), (D(2024, 10, 1), D(2024, 8, 15)), (D(2024, 11, 15) + dt.timedelta(days=47),
                                                                           D(2024, 11, 15)),
        (D(2025, 4, 1), D(2025, 2, 13)), (D(2025, 7, 1), D(2025, 5, 15))]
    # Q2 2024 is left out: its freeze date (14 Feb 2024) has no whole quarter of data before it.
    assert plan_backtest.lead_days(fx.NEXT_QUARTER, fx.AS_OF) == 47
    # A period under way is planned the day before it began.
    assert plan_backtest.lead_days(Period(D(2025, 10, 1), D(2025, 12, 31)), fx.AS_OF) == 1


def test_on_a_steady_pipeline_the_plan_asks_for_what_was_created(steady):
    results = plan_backtest.plan_backtest(steady, fx.NEXT_QUARTER, simulations=200)
    assert len(results) == 5
    first = results.iloc[0]
    # Actual deals: four a day from the day after the freeze date to the period's end.
    assert first["actual_deals"] == 4 * (D(2024, 9, 30) - D(2024, 5, 15)).days
    assert first["deals_ratio"] == pytest.approx(first["required_deals"] / first["actual_deals"])
    assert first["booked_in_period"] % fx.AMOUNT == 0 and first["actual_leads"] is None
    stats = plan_backtest.summary(results)
    assert stats["periods"] == 5 and stats["plan_backtest_ratio"] == pytest.approx(1, abs=0.1)
    assert plan_backtest.trusted(stats) and plan_backtest.verdict(stats).startswith("The plan can be trusted")


def test_the_verdict_says_which_way_it_errs():
    stats = {"plan_backtest_ratio": 1.4, "periods": 5, "within": 1, "lowest": 1.1, "highest": 1.6,
             "plan_backtest_leads_ratio": None}
    assert plan_backtest.trusted(stats) is False
    assert "more deals than were needed" in plan_backtest.verdict(stats)
    # A median inside the band is not enough when too few periods are.
    assert plan_backtest.trusted({**stats, "plan_backtest_ratio": 1.1, "within": 3}) is False
    assert plan_backtest.trusted({**stats, "plan_backtest_ratio": 1.1, "within": 4}) is True
    assert plan_backtest.trusted({**stats, "periods": 0}) is None
    assert "Not enough history" in plan_backtest.verdict({**stats, "periods": 0})


def test_without_history_there_is_no_backtest():
    frames = fx.hand_frames()
    assert plan_backtest.plan_backtest(dataset_from_frames(frames), fx.HAND_PERIOD).empty
