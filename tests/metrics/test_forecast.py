"""The forecast: the simulation against analytic expectations, and what it learns from
history worked out by hand on a small fixture.

Fixture (all deals start in Proposal; forecast at T = 2025-03-31 for April 2025, so a deal
must be won 1..30 days after a snapshot to count as won *in the window*):

    deal created     amount  outcome               open on month-ends (age)
    F1   2025-01-02   1,000  won 02-10             01-31 (29 d)
    F2   2025-01-02   1,000  lost 03-01            01-31 (29 d), 02-28 (57 d)
    F3   2025-01-02   1,000  won 03-20             01-31 (29 d), 02-28 (57 d)
    F4   2025-01-02  10,000  open (due 04-15)      01-31, 02-28: not closed by T, not learned from
    F6   2025-03-15   6,000  open (due 04-20)
    F7   2025-03-20   8,000  open (due 04-25), Negotiation
    F8   2025-03-05   4,000  won 03-25             (created and won in March)
    F9   2025-02-03   2,000  won 02-20             (created and won in February)

Sources: Web F1 F2 F3 F4 F9; Event F6 F7 F8.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.data.periods import Period
from salesnb.metrics import forecast
from tests.pipeline_fixtures import playbook

D = dt.date
APRIL = Period(D(2025, 4, 1), D(2025, 4, 30))
T = D(2025, 3, 31)


def fixture_frames():
    deals = [  # id, created, expected close, final stage, final amount, closed on
        ("F1", "2025-01-02", "2025-02-15", "Closed Won", 1000.0, "2025-02-10"),
        ("F2", "2025-01-02", "2025-03-10", "Closed Lost", 1000.0, "2025-03-01"),
        ("F3", "2025-01-02", "2025-03-01", "Closed Won", 1000.0, "2025-03-20"),
        ("F4", "2025-01-02", "2025-04-15", "Proposal", 10000.0, None),
        ("F6", "2025-03-15", "2025-04-20", "Proposal", 6000.0, None),
        ("F7", "2025-03-20", "2025-04-25", "Negotiation", 8000.0, None),
        ("F8", "2025-03-05", "2025-03-28", "Closed Won", 4000.0, "2025-03-25"),
        ("F9", "2025-02-03", "2025-02-25", "Closed Won", 2000.0, "2025-02-20"),
    ]
    sources = {"F6": "Event", "F7": "Event", "F8": "Event"}
    opportunities, history = [], []
    for deal, created, expected, stage, amount, closed in deals:
        first_stage = "Negotiation" if stage == "Negotiation" else "Proposal"
        history.append((deal, f"{created} 09:00:00", first_stage, amount, expected))
        if closed:
            history.append((deal, f"{closed} 15:00:00", stage, amount, closed))
        opportunities.append((deal, "R1", created, closed or expected, stage, amount, sources.get(deal, "Web")))
    return {
        "opportunities": pd.DataFrame(opportunities, columns=["opportunity_id", "rep_id", "created_at", "close_date",
                                                              "stage", "amount", "source"]),
        "opportunity_history": pd.DataFrame(history, columns=["opportunity_id", "changed_at", "stage", "amount",
                                                              "close_date"]),
    }


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(fixture_frames(), playbook(min_deals_for_ranking=3))


# ----------------------------------------------------------------------------- the simulation


def test_p50_matches_the_analytic_expectation_within_two_percent():
    rng = np.random.default_rng(7)
    probabilities = rng.uniform(0.05, 0.95, 1500)
    amounts = rng.lognormal(9, 0.8, 1500)
    won_amount, won_count = forecast.simulate(probabilities, amounts, simulations=4000, seed=1)
    expected = float((probabilities * amounts).sum())
    assert np.median(won_amount) == pytest.approx(expected, rel=0.02)
    assert np.median(won_count) == pytest.approx(probabilities.sum(), rel=0.02)


def test_new_deals_add_their_run_rate():
    # No open deal; 40 new deals a period on average, amounts 1,000 or 3,000 (mean 2,000).
    won_amount, won_count = forecast.simulate([], [], simulations=4000, seed=3, new_deals_per_period=40.0,
                                              new_deal_amounts=[1000.0, 3000.0])
    assert won_count.mean() == pytest.approx(40, rel=0.02)
    assert np.median(won_amount) == pytest.approx(80000, rel=0.02)


def test_certain_and_impossible_deals():
    won_amount, won_count = forecast.simulate([1.0, 0.0, 1.0], [100.0, 1e9, float("nan")], simulations=50, seed=0)
    # A deal without amount counts as won deal but adds nothing to the amount.
    assert set(won_amount) == {100.0} and set(won_count) == {2.0}


def test_same_seed_same_numbers_whatever_the_block_size(monkeypatch):
    probabilities, amounts = np.linspace(0.1, 0.9, 300), np.linspace(1000, 5000, 300)
    first = forecast.simulate(probabilities, amounts, simulations=500, seed=42, new_deals_per_period=3,
                              new_deal_amounts=[10.0, 20.0])
    monkeypatch.setattr(forecast, "BLOCK_SIZE", 7 * 300)  # blocks of 7 simulations
    second = forecast.simulate(probabilities, amounts, simulations=500, seed=42, new_deals_per_period=3,
                               new_deal_amounts=[10.0, 20.0])
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    other = forecast.simulate(probabilities, amounts, simulations=500, seed=43)
    assert not np.array_equal(first[0], other[0])


def test_new_deals_drawn_in_blocks_are_the_draws_of_one_call(monkeypatch):
    # The new deals' amounts are drawn a block of simulations at a time (memory at scale); the
    # reference draws them as one call: Poisson arrivals, then rng.choice of all amounts at once,
    # summed per simulation. No open deal, so the stream starts with the arrivals.
    pool = np.array([100.0, 250.0, 4000.0, 7.5])
    rng = np.random.default_rng(11)
    arrivals = rng.poisson(2.0, 50)
    drawn = rng.choice(pool, size=int(arrivals.sum()))
    expected = np.bincount(np.repeat(np.arange(50), arrivals), weights=drawn, minlength=50)
    for block in (forecast.BLOCK_SIZE, 13, 1):  # one block; several simulations a block; one a block
        monkeypatch.setattr(forecast, "BLOCK_SIZE", block)
        won_amount, won_count = forecast.simulate([], [], simulations=50, seed=11, new_deals_per_period=2.0,
                                                  new_deal_amounts=pool)
        assert np.array_equal(won_count, arrivals) and np.array_equal(won_amount, expected)
    # A simulation with no new deal wins nothing from them (the reference has some).
    assert (expected[arrivals == 0] == 0).all() and (arrivals == 0).any()


@pytest.mark.parametrize("amounts", [[100.0, float("nan"), 250.0, 0.0, 4000.0],  # amount x won
                                     [-100.0, -0.0, -250.0, -30.0, -0.0]])  # signs: np.where
def test_open_deals_drawn_in_blocks_are_the_draws_of_one_call(monkeypatch, amounts):
    # The reference: every simulation's draws in one call, a deal won when its draw is below its
    # probability, the won amounts (a missing one as 0) added up per simulation in deal order.
    probabilities = np.array([0.2, 0.3, 0.1, 0.3, 0.25])  # a quarter of the simulations win nothing
    draws = np.random.default_rng(7).random((40, 5))
    won = draws < probabilities
    expected_amount = np.where(won, np.nan_to_num(np.array(amounts)), 0.0).sum(axis=1)
    for block in (forecast.BLOCK_SIZE, 13, 1):  # one block; several simulations a block; one a block
        monkeypatch.setattr(forecast, "BLOCK_SIZE", block)
        won_amount, won_count = forecast.simulate(probabilities, amounts, simulations=40, seed=7)
        # Bit for bit, the sign of a simulation that won nothing included (0.0, never -0.0).
        assert won_amount.tobytes() == expected_amount.tobytes()
        assert np.array_equal(won_count, won.sum(axis=1))


def test_the_forecast_keeps_its_open_deals_part_of_each_simulation(dataset):
    # The plan's simulated gap reads it instead of drawing the open deals a second time.
    outlook = forecast.forecast(dataset, APRIL, as_of=T, simulations=300, seed=5)
    probabilities = outlook.open_deals["in_period_probability"].to_numpy()
    amounts = outlook.open_deals["amount"].to_numpy(dtype=float)
    open_only, _ = forecast.simulate(probabilities, amounts, simulations=300, seed=5)
    assert np.array_equal(outlook.open_won_amount, open_only)
    whole, _ = forecast.simulate(probabilities, amounts, simulations=300, seed=5,
                                 new_deals_per_period=outlook.run_rate["deals_per_period"],
                                 new_deal_amounts=outlook.run_rate["amounts"])
    assert np.array_equal(outlook.won_amount, whole + outlook.already_won_amount)
    assert outlook.run_rate["deals_per_period"] > 0 and not np.array_equal(whole, open_only)  # new deals were added


# ----------------------------------------------------------------------------- what it learns


def test_learned_win_probability_and_timing_by_stage_and_age(dataset):
    model = forecast.learn(dataset, APRIL, T)
    assert model.snapshots == [D(2025, 1, 31), D(2025, 2, 28)] and model.window == (1, 30)
    cells = model.cells.set_index(["stage", "age_band"])
    # 0-30 d: F1 (won 10 days after 01-31: in the window), F2 (lost), F3 (won 48 days later: not).
    young = cells.loc[("Proposal", "0–30 d")]
    assert young[["closed", "won", "won_in_window"]].tolist() == [3, 2, 1]
    assert young[["win_probability", "timing", "in_period_probability"]].tolist() == pytest.approx([2 / 3, 1 / 2, 1 / 3])
    # 31-90 d (on 02-28): F2 lost, F3 won 20 days later.
    assert cells.loc[("Proposal", "31–90 d"), ["closed", "won", "won_in_window"]].tolist() == [2, 1, 1]
    stage = model.stages.set_index("stage").loc["Proposal"]
    assert stage[["closed", "won", "won_in_window"]].tolist() == [5, 3, 2]
    assert model.overall_timing == pytest.approx(2 / 3)

def test_several_periods_are_learned_in_one_query_as_each_alone(dataset):
    # The backtests learn every period's model in one query; each must be the model of its own
    # pair only. March forecast on 02-28 (a month-end the April pair learns from: the overlap
    # trap); February forecast on 01-15 has no month-end since the data's first day.
    march, february = Period(D(2025, 3, 1), D(2025, 3, 31)), Period(D(2025, 2, 1), D(2025, 2, 28))
    may = Period(D(2025, 5, 1), D(2025, 5, 31))  # forecast on T too: same date, another window (31 to 61 days)
    pairs = [(APRIL, T), (march, D(2025, 2, 28)), (february, D(2025, 1, 15)), (may, T)]
    april_model, march_model, february_model, may_model = forecast.learn_many(dataset, pairs)
    cells = april_model.cells.set_index(["stage", "age_band"])  # the hand-worked model above
    assert cells.loc[("Proposal", "0–30 d"), ["closed", "won", "won_in_window"]].tolist() == [3, 2, 1]
    assert cells.loc[("Proposal", "31–90 d"), ["closed", "won", "won_in_window"]].tolist() == [2, 1, 1]
    # March on 02-28 learns from 01-31 only (F1-F4 open, 29 days old); by 02-28 only F1 has
    # closed, won 10 days after 01-31: inside the window of 1 to 31 days.
    assert march_model.snapshots == [D(2025, 1, 31)] and march_model.window == (1, 31)
    assert march_model.cells[["stage", "age_band", "closed", "won", "won_in_window"]].values.tolist() == [
        ["Proposal", "0–30 d", 1, 1, 1]]
    assert february_model.snapshots == [] and not february_model.learned
    # May on T: F3 (won 48 days after 01-31) is in its window, F1 (10 days) is not; on 02-28
    # F3 was won 20 days later: before the window.
    cells = may_model.cells.set_index(["stage", "age_band"])
    assert may_model.window == (31, 61)
    assert cells.loc[("Proposal", "0–30 d"), ["closed", "won", "won_in_window"]].tolist() == [3, 2, 1]
    assert cells.loc[("Proposal", "31–90 d"), ["closed", "won", "won_in_window"]].tolist() == [2, 1, 0]
    for (period, as_of), model in zip(pairs, (april_model, march_model, february_model, may_model)):
        alone = forecast.learn(dataset, period, as_of)
        pd.testing.assert_frame_equal(model.cells, alone.cells)
        pd.testing.assert_frame_equal(model.stages, alone.stages)


def test_each_open_deal_gets_the_most_specific_probability_with_enough_n(dataset):
    result = forecast.forecast(dataset, APRIL, as_of=T, simulations=20000, seed=5)
    deals = result.open_deals.set_index("opportunity_id")
    # F4 is 88 days old: its cell has 2 closed deals (< 3), so the stage: 2 / 5 = 0.4.
    # F6 is 16 days old: its cell has 3: 1 / 3. F7 (Negotiation) has no history: the
    # playbook's 0.75 x the share of won deals won within the window (2 / 3) = 0.5.
    assert deals["in_period_probability"].to_dict() == pytest.approx({"F4": 0.4, "F6": 1 / 3, "F7": 0.5})
    assert deals["probability_basis"].to_dict() == {"F4": "stage", "F6": "stage and age", "F7": "playbook"}
    assert result.expected_from_open == pytest.approx(0.4 * 10000 + 6000 / 3 + 0.5 * 8000)  # 10,000


def test_new_deals_come_from_the_same_stretch_of_earlier_periods(dataset):
    rate = forecast.new_deal_run_rate(dataset, APRIL, T)
    # March: F8 created 03-05 and won 03-25; February: F9 created 02-03 and won 02-20.
    # January starts before the data's first day (01-02): not used.
    assert rate["counts"] == [1, 1] and rate["deals_per_period"] == 1.0
    assert sorted(rate["amounts"]) == [2000.0, 4000.0] and rate["mean_amount"] == 3000.0
    # Half way through April only deals created from 04-16 on are still to come: in March
    # that stretch (from 03-16) created nothing that was won by 03-31.
    later = forecast.new_deal_run_rate(dataset, APRIL, D(2025, 4, 15))
    assert later["counts"] == [0, 0] and later["deals_per_period"] == 0


def test_forecast_adds_up_and_the_naive_forecast(dataset):
    result = forecast.forecast(dataset, APRIL, as_of=T, simulations=20000, seed=5)
    assert result.measured and result.already_won_amount == 0
    # Expected: 10,000 from open deals + 1 new deal x 3,000 = 13,000.
    assert result.won_amount.mean() == pytest.approx(13000, rel=0.02)
    assert result.won_count.mean() == pytest.approx(0.4 + 1 / 3 + 0.5 + 1, rel=0.02)
    quantiles = result.quantiles()
    assert quantiles["p10"] <= quantiles["p50"] <= quantiles["p90"]
    # Naive: open deals due in April x the playbook: 10,000 x .5 + 6,000 x .5 + 8,000 x .75
    assert result.naive_amount == pytest.approx(14000)
    again = forecast.forecast(dataset, APRIL, as_of=T, simulations=20000, seed=5)
    assert again.quantiles() == quantiles  # same seed, same numbers
    summary = result.summary()
    assert list(summary) == ["forecast_p10", "forecast_p50", "forecast_p90", "forecast_already_won",
                             "forecast_from_open_deals", "forecast_from_new_deals", "naive_forecast",
                             "forecast_won_deals_p50"]
    assert (summary["forecast_p50"], summary["forecast_already_won"]) == (quantiles["p50"], 0)
    assert (summary["forecast_from_open_deals"], summary["forecast_from_new_deals"]) == pytest.approx((10000, 3000))
    assert summary["naive_forecast"] == pytest.approx(14000)


def test_already_won_counts_in_the_forecast(dataset):
    march = Period(D(2025, 3, 1), D(2025, 3, 31))
    result = forecast.forecast(dataset, march, as_of=T, simulations=200, seed=1)
    # Won in March by 03-31: F3 (1,000) and F8 (4,000); nothing of March is left to simulate.
    assert (result.already_won_amount, result.already_won_count) == (5000, 2)
    assert result.quantiles() == {"p10": 5000, "p50": 5000, "p90": 5000}


def test_no_history_no_forecast():
    frames = fixture_frames()
    del frames["opportunity_history"]
    result = forecast.forecast(dataset_from_frames(frames), APRIL)
    assert not result.measured and "opportunity_history" in result.reason
    assert result.quantiles() == {"p10": None, "p50": None, "p90": None}
    assert result.summary()["forecast_from_open_deals"] is None and forecast.largest_contributions(result).empty


def test_the_forecast_of_one_source(dataset):
    web = forecast.forecast(dataset, APRIL, where=select(source="Web"), as_of=T, simulations=20000, seed=5)
    # The model learns from Web's history only; F6, F7 and F8 (Event) were on no training
    # month-end anyway, so the cells are the same: F4 gets its stage's 2 / 5.
    assert web.open_deals["opportunity_id"].tolist() == ["F4"]
    assert web.open_deals["in_period_probability"].tolist() == pytest.approx([0.4])
    # New deals: March created no Web deal that was won in March (F8 is Event's), February F9
    # (2,000): 0.5 a period. Expected: 0.4 x 10,000 + 0.5 x 2,000 = 5,000.
    assert web.run_rate["counts"] == [0, 1] and web.run_rate["deals_per_period"] == 0.5
    assert (web.expected_from_open, web.expected_from_new) == pytest.approx((4000, 1000))
    assert web.won_amount.mean() == pytest.approx(5000, rel=0.03)
    # Naive: F4 due 04-15, 10,000 x the playbook's 0.5.
    assert web.naive_amount == pytest.approx(5000)


def test_the_period_defaults_to_the_fiscal_quarter_open_at_the_data_date(dataset):
    # The data's date is 03-25 (F8's close, the latest event): Q1 2025 is still open.
    result = forecast.forecast(dataset, simulations=10, seed=1)
    assert (result.period.start, result.period.end, result.as_of) == (D(2025, 1, 1), D(2025, 3, 31), D(2025, 3, 25))


def test_without_any_amount_only_the_won_count_is_forecast():
    frames = fixture_frames()
    for name in frames:
        frames[name] = frames[name].drop(columns=["amount"])
    result = forecast.forecast(dataset_from_frames(frames, playbook(min_deals_for_ranking=3)), APRIL, as_of=T,
                               simulations=4000, seed=5)
    assert result.measured and not result.amounts_measured
    assert result.quantiles() == {"p10": None, "p50": None, "p90": None}
    assert result.already_won_amount is None and result.naive_amount is None and result.expected_from_open is None
    # The count still has its expectation: 0.4 + 1/3 + 0.5 from open deals + 1 new deal.
    assert result.won_count.mean() == pytest.approx(2.2333, rel=0.03)
