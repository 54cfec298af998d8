"""The backtest: its scores by hand, the periods it picks, and that a frozen forecast uses no
row dated after its freeze date (delete the future from the sample: the same forecast)."""

import datetime as dt

import pandas as pd
import pytest

from salesnb import dataset_from_frames, open_dataset, select
from salesnb.data.periods import Period
from salesnb.metrics import backtest, forecast

D = dt.date
Q3_2025, Q4_2025, Q1_2026 = (Period(D(2025, 7, 1), D(2025, 9, 30)), Period(D(2025, 10, 1), D(2025, 12, 31)),
                             Period(D(2026, 1, 1), D(2026, 3, 31)))


def test_accuracy_and_bias():
    assert backtest.accuracy(90, 100) == pytest.approx(0.9)
    assert backtest.accuracy(110, 100) == pytest.approx(0.9)  # too high or too low alike
    assert backtest.accuracy(250, 100) == pytest.approx(-0.5)  # can fall below 0
    assert backtest.bias(110, 100) == pytest.approx(0.1) and backtest.bias(80, 100) == pytest.approx(-0.2)
    assert backtest.accuracy(50, 0) is None and backtest.bias(None, 100) is None  # nothing won: no scale


def test_summary_takes_medians_and_the_hit_rate():
    results = pd.DataFrame({
        "forecast_p50": [90.0, 120.0, 100.0, 70.0], "forecast_accuracy": [0.9, 0.8, 1.0, 0.7],
        "forecast_bias": [-0.1, 0.2, 0.0, -0.3],
        "naive_accuracy": [0.5, 0.9, 0.6, 0.4], "naive_bias": [-0.5, -0.1, -0.4, -0.6],
        "in_band": [True, False, True, True], "simulation_closer": [True, False, True, True],
    })
    stats = backtest.summary(results)
    # medians of 4 values: (0.8 + 0.9) / 2, (-0.1 + 0.0) / 2, (0.5 + 0.6) / 2; 3 of 4 in band
    assert stats["backtest_accuracy"] == pytest.approx(0.85)
    assert stats["backtest_bias"] == pytest.approx(-0.05)
    assert stats["naive_backtest_accuracy"] == pytest.approx(0.55)
    assert stats["backtest_p10_p90_hit_rate"] == pytest.approx(0.75)
    assert (stats["periods"], stats["simulation_closer"]) == (4, 3)
    assert backtest.verdict(stats).startswith("On this data the simulation beat the naive forecast: median accuracy 85%")
    worse = backtest.verdict({**stats, "naive_backtest_accuracy": 0.9})
    assert "did NOT beat the naive forecast" in worse


def test_nothing_to_backtest_is_said_plainly():
    stats = backtest.summary(pd.DataFrame(columns=backtest.COLUMNS))
    assert stats["backtest_accuracy"] is None and stats["periods"] == 0
    assert backtest.verdict(stats).startswith("Not enough history to backtest")


@pytest.fixture(scope="module")
def sample(sample_dir):
    return open_dataset(sample_dir)


def test_backtest_periods_are_past_periods_with_a_period_of_data_before_them(sample):
    # Data from 2024-01-02: Q1 2024 has nothing before it, Q2 2024 starts before a whole
    # quarter of data (Q1 2024 begins 01-01, a day before the data): the first is Q3 2024.
    periods = backtest.backtest_periods(sample, Q1_2026, periods=8)
    assert [period.start for period in periods] == [D(2024, 7, 1), D(2024, 10, 1), D(2025, 1, 1), D(2025, 4, 1),
                                                     D(2025, 7, 1), D(2025, 10, 1)]
    assert len(backtest.backtest_periods(sample, Q1_2026, periods=4)) == 4


def _as_exported_on(folder, day: dt.date) -> dict:
    """The dataset as a CRM export on ``day`` would have been: history up to that day, deals
    created by then in the state of their last history row, everything later deleted."""
    history = pd.read_csv(folder / "opportunity_history.csv", dtype={"opportunity_id": str})
    history = history[pd.to_datetime(history["changed_at"]).dt.date <= day]
    last = history.sort_values(["opportunity_id", "changed_at"]).groupby("opportunity_id").tail(1)
    deals = pd.read_csv(folder / "opportunities.csv", dtype={"opportunity_id": str, "rep_id": str, "account_id": str})
    deals = deals[pd.to_datetime(deals["created_at"]).dt.date <= day]
    deals = deals.drop(columns=["stage", "amount", "close_date", "probability", "lost_reason"]).merge(
        last[["opportunity_id", "stage", "amount", "close_date"]], on="opportunity_id")
    return {"opportunities": deals, "opportunity_history": history,
            "reps": pd.read_csv(folder / "reps.csv", dtype=str), "accounts": pd.read_csv(folder / "accounts.csv", dtype=str)}


def test_a_frozen_forecast_uses_nothing_dated_after_its_freeze_date(sample, sample_dir):
    frozen = backtest.backtest(sample, Q4_2025, periods=4, simulations=500, seed=11).set_index("period_start")
    freeze = D(2025, 6, 30)
    row = frozen.loc[Q3_2025.start]
    assert row["freeze_date"] == freeze
    past = dataset_from_frames(_as_exported_on(sample_dir, freeze))
    assert past.as_of <= freeze < sample.as_of
    again = forecast.forecast(past, Q3_2025, as_of=freeze, simulations=500, seed=11)
    # The export of 30 June knows nothing of what came after; the backtest, run on the full
    # data, must have seen exactly the same: the same inputs give the same draws.
    assert again.quantiles() == {"p10": row["forecast_p10"], "p50": row["forecast_p50"], "p90": row["forecast_p90"]}
    assert again.naive_amount == pytest.approx(row["naive_forecast"], rel=1e-12)
    # The actual comes from the full data (what happened), never from the frozen one.
    won = pd.read_csv(sample_dir / "opportunities.csv")
    won = won[(won["stage"] == "Closed Won") & won["close_date"].between("2025-07-01", "2025-09-30")]
    assert row["won_amount"] == pytest.approx(won["amount"].sum()) and row["won"] == len(won)


def test_the_backtest_of_a_team_and_a_source(sample, sample_dir):
    where = select(team="Enterprise", source="Referral")
    frozen = backtest.backtest(sample, Q1_2026, where=where, periods=4, simulations=200, seed=3)
    # What was won, per period, by the team's reps from referrals: counted here in pandas.
    deals = pd.read_csv(sample_dir / "opportunities.csv", dtype={"rep_id": str})
    reps = pd.read_csv(sample_dir / "reps.csv", dtype={"rep_id": str})
    deals = deals[deals["rep_id"].isin(reps.loc[reps["team"] == "Enterprise", "rep_id"]) & (deals["source"] == "Referral")
                  & (deals["stage"] == "Closed Won")]
    expected = [deals.loc[deals["close_date"].between(f"{start}", f"{end}"), "amount"].sum()
                for start, end in zip(frozen["period_start"], frozen["period_end"])]
    assert len(frozen) == 4 and frozen["won_amount"].tolist() == pytest.approx(expected)
    assert frozen["forecast_p50"].notna().all() and (frozen["forecast_p10"] <= frozen["forecast_p90"]).all()
