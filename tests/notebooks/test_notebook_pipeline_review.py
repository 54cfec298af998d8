"""03_pipeline_review executed with papermill on the sample; every KPI it records is checked
against an independent computation in plain pandas on the CSV files, written from the
definitions in docs/metrics.md (the simulated forecast, which has no closed form, against
its structure: ordered quantiles that include what is already won)."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from salesnb.data.playbook import load_playbook
from tests.notebook_runner import execute_notebook

pytestmark = pytest.mark.notebook

NAME = "03_pipeline_review"
PLAYBOOK = load_playbook()
OPEN_STAGES = PLAYBOOK.open_stages
WON, LOST = PLAYBOOK.won_stages[0], PLAYBOOK.lost_stages[0]
PROBABILITY = {stage: PLAYBOOK.probability(stage) for stage in OPEN_STAGES}


def read(folder):
    deals = pd.read_csv(folder / "opportunities.csv", dtype={"opportunity_id": str, "rep_id": str},
                        parse_dates=["created_at", "close_date"])
    history = pd.read_csv(folder / "opportunity_history.csv", dtype={"opportunity_id": str},
                          parse_dates=["changed_at", "close_date"])
    history = history.sort_values(["opportunity_id", "changed_at"], kind="stable")
    history["day"] = history["changed_at"].dt.normalize()
    return deals, history


def quarter_of(day: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = day.to_period("Q").start_time
    return start, (start + pd.offsets.QuarterEnd(0)).normalize()


def state_on(history: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Each deal's last history row dated on or before ``day``."""
    return history[history["day"] <= day].groupby("opportunity_id").tail(1).set_index("opportunity_id")


def due_in(frame: pd.DataFrame, start, end) -> pd.Series:
    return frame["stage"].isin(OPEN_STAGES) & frame["close_date"].between(start, end)


def expected_waterfall(deals, history, start_day, end_day, period_start, period_end) -> dict:
    before = state_on(history, start_day)
    after = deals.set_index("opportunity_id")  # the data's date: the current snapshot
    joined = after[["stage", "amount", "close_date"]].merge(before[["stage", "amount", "close_date"]], how="left",
                                                           left_index=True, right_index=True, suffixes=("", "_before"))
    existed = joined["stage_before"].notna()
    then = joined[["stage_before", "close_date_before"]].set_axis(["stage", "close_date"], axis=1)
    due_before = existed & due_in(then, period_start, period_end)
    due_after = due_in(joined, period_start, period_end)
    closed_since = joined["stage"].isin([WON, LOST]) & (~existed | joined["stage_before"].isin(OPEN_STAGES))
    won_in_period = closed_since & (joined["stage"] == WON) & joined["close_date"].between(period_start, period_end)
    rows = joined[due_before | due_after | won_in_period].copy()
    rows["due_before"], rows["due_after"] = due_before, due_after
    new = ~rows["due_before"] & (rows["stage_before"].isna() | ~rows["stage_before"].isin(OPEN_STAGES))
    amount_in = rows["amount"].where(new, rows["amount_before"])
    closed = rows["stage"].isin([WON, LOST])
    amount_out = rows["amount"].where(~closed, rows["amount"].fillna(amount_in.fillna(0))).fillna(0)
    amount_in = amount_in.fillna(0)
    way_out = np.select([rows["stage"] == WON, rows["stage"] == LOST, rows["due_after"]], ["won", "lost", "end"],
                        "pushed_out")
    return {
        "start": amount_in[rows["due_before"]].sum(), "new": amount_in[new].sum(),
        "pulled_in": amount_in[~rows["due_before"] & ~new].sum(),
        **{name: amount_out[way_out == name].sum() for name in ("won", "lost", "pushed_out", "end")},
        "amount_change": (amount_out - amount_in).sum(),
    }


def expected_kpis(folder) -> dict:
    deals, history = read(folder)
    leads = pd.read_csv(folder / "leads.csv", parse_dates=["created_at"])
    closed = deals[deals["stage"].isin([WON, LOST])]
    as_of = max(deals["created_at"].max(), history["day"].max(), closed["close_date"].max(),
                leads["created_at"].max().normalize())
    # The data's date is a quarter's last day: the quarter still open is the next one.
    period_start, period_end = quarter_of(as_of + pd.Timedelta(days=1))
    open_deals = deals[deals["stage"].isin(OPEN_STAGES)]
    probability = open_deals["stage"].map(PROBABILITY)

    in_window = closed[closed["close_date"].between(as_of - pd.Timedelta(days=364), as_of)]
    visited = history[(history["day"] <= as_of) & history["stage"].isin(OPEN_STAGES)][["opportunity_id", "stage"]]
    visited = visited.drop_duplicates().merge(in_window[["opportunity_id", "stage"]].rename(columns={"stage": "outcome"}))
    observed = (visited["outcome"] == WON).groupby(visited["stage"]).mean()
    calibrated = {stage: observed.get(stage, PROBABILITY[stage]) for stage in OPEN_STAGES}

    quotas = pd.read_csv(folder / "quotas.csv", parse_dates=["period_start", "period_end"])
    quota = quotas.loc[(quotas["period_start"] >= period_start) & (quotas["period_end"] <= period_end), "amount"].sum()
    won_so_far = deals.loc[(deals["stage"] == WON) & deals["close_date"].between(period_start, as_of), "amount"].sum()
    pipeline_due = open_deals.loc[open_deals["close_date"].between(period_start, period_end), "amount"].sum()

    activities = pd.read_csv(folder / "activities.csv", dtype={"opportunity_id": str}, parse_dates=["occurred_at"])
    activities = activities[activities["occurred_at"].dt.normalize() <= as_of]
    last_activity = activities.groupby("opportunity_id")["occurred_at"].max().dt.normalize()
    entered = history[history["stage"] != history.groupby("opportunity_id")["stage"].shift()]
    last_stage_change = entered.groupby("opportunity_id")["day"].max()
    touch = pd.concat([open_deals.set_index("opportunity_id")["created_at"],
                       last_activity.reindex(open_deals["opportunity_id"]),
                       last_stage_change.reindex(open_deals["opportunity_id"])], axis=1).max(axis=1)
    previous_close = history.groupby("opportunity_id")["close_date"].shift()
    pushes = history[history["stage"].isin(OPEN_STAGES) & (history["close_date"] > previous_close)]

    naive_accuracy = []
    data_start = min(deals["created_at"].min(), history["day"].min())
    start = period_start
    for _ in range(6):  # the default backtest_periods
        start = start - pd.offsets.QuarterBegin(1, startingMonth=1)
        if start - pd.offsets.QuarterBegin(1, startingMonth=1) < data_start:
            break
        end = quarter_of(start)[1]
        frozen = state_on(history, start - pd.Timedelta(days=1))
        due = frozen[due_in(frozen, start, end)]
        naive = (due["amount"].fillna(0) * due["stage"].map(PROBABILITY)).sum()
        actual = deals.loc[(deals["stage"] == WON) & deals["close_date"].between(start, end), "amount"].sum()
        naive_accuracy.append(1 - abs(actual - naive) / actual)
    return {
        "open_pipeline_count": len(open_deals),
        "open_pipeline_amount": open_deals["amount"].sum(),
        "weighted_pipeline_amount": (open_deals["amount"] * probability).sum(),
        "weighted_pipeline_crm": (open_deals["amount"] * open_deals["probability"].fillna(probability)).sum(),
        "weighted_pipeline_calibrated": (open_deals["amount"] * open_deals["stage"].map(calibrated)).sum(),
        "stage_win_probability": {stage: observed.get(stage) for stage in OPEN_STAGES},
        "coverage_ratio": pipeline_due / (quota - won_so_far),
        "stale_deals": int(((as_of - touch).dt.days >= PLAYBOOK.stale_deal_days).sum()),
        "past_due_deals": int((open_deals["close_date"] < as_of).sum()),
        "slipped_deals": int(open_deals["opportunity_id"].isin(pushes["opportunity_id"]).sum()),
        "waterfall": expected_waterfall(deals, history, as_of - pd.Timedelta(days=7), as_of, period_start, period_end),
        "forecast_already_won": won_so_far,
        "naive_backtest_accuracy": float(np.median(naive_accuracy)),
        "backtest_periods": len(naive_accuracy),
    }


def assert_matches(recorded, expected, names):
    for name in names:
        value = expected[name]
        if isinstance(value, dict):
            assert set(recorded[name]) == set(value), name
            for key, item in value.items():
                assert recorded[name][key] == pytest.approx(item, rel=1e-9, abs=1e-6), f"{name}[{key}]"
        else:
            assert recorded[name] == pytest.approx(value, rel=1e-9, abs=1e-6), name


def test_pipeline_review_kpis_on_the_sample(sample_dir, tmp_path):
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(sample_dir)}, tmp_path)
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == []
    expected = expected_kpis(sample_dir)
    assert expected["open_pipeline_count"] > 100 and expected["backtest_periods"] >= 4  # the sample exercises it
    assert_matches(recorded, expected, [
        "open_pipeline_count", "open_pipeline_amount", "weighted_pipeline_amount", "weighted_pipeline_crm",
        "weighted_pipeline_calibrated", "stage_win_probability", "coverage_ratio", "stale_deals", "past_due_deals",
        "slipped_deals", "waterfall", "forecast_already_won", "naive_backtest_accuracy",
    ])
    # The sample is built so that history disagrees with the playbook somewhere.
    assert any(abs(recorded["stage_win_probability"][stage] - PROBABILITY[stage]) > 0.05 for stage in OPEN_STAGES)
    # The simulation: ordered quantiles, none below what is already won, a plausible backtest.
    assert recorded["forecast_already_won"] <= recorded["forecast_p10"] <= recorded["forecast_p50"] <= recorded["forecast_p90"]
    assert recorded["backtest_p10_p90_hit_rate"] * expected["backtest_periods"] == pytest.approx(
        round(recorded["backtest_p10_p90_hit_rate"] * expected["backtest_periods"]))
    assert -1 < recorded["backtest_bias"] < 1 and recorded["backtest_accuracy"] <= 1
    shown = "".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                    for output in cell.get("outputs", []))
    assert "reconciles exactly" in shown and "the simulation" in shown and "<pre>None</pre>" not in shown


def test_pipeline_review_without_history_activities_or_a_team_filter(sample_dir, tmp_path):
    """Only today's snapshot (opportunities, reps, quotas) and one team: every view that
    needs the past says so; KPIs it cannot know are recorded as none, never 0."""
    data = tmp_path / "data"
    data.mkdir()
    for table in ("opportunities", "reps", "quotas"):
        (data / f"{table}.csv").write_bytes((sample_dir / f"{table}.csv").read_bytes())
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(data), "team": "Enterprise"}, tmp_path)
    deals = pd.read_csv(data / "opportunities.csv", dtype={"rep_id": str})
    reps = pd.read_csv(data / "reps.csv", dtype={"rep_id": str})
    team_deals = deals[deals["rep_id"].isin(reps.loc[reps["team"] == "Enterprise", "rep_id"])]
    open_deals = team_deals[team_deals["stage"].isin(OPEN_STAGES)]
    assert recorded["open_pipeline_count"] == len(open_deals)
    assert recorded["open_pipeline_amount"] == pytest.approx(open_deals["amount"].sum())
    assert recorded["past_due_deals"] == int((open_deals["close_date"] < "2025-12-31").sum())
    for name in ("weighted_pipeline_calibrated", "stale_deals", "slipped_deals", "waterfall", "forecast_p50",
                 "backtest_accuracy", "naive_backtest_accuracy"):
        assert recorded[name] is None, name
    assert set(recorded["stage_win_probability"].values()) == {None}
    assert recorded["coverage_ratio"] is not None
    shown = "".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                    for output in cell.get("outputs", []))
    assert "opportunity_history" in shown and "not measured" in shown and "team <strong>Enterprise</strong>" in shown


def test_pipeline_review_of_a_selection_without_deals(sample_dir, tmp_path):
    """The managers' team (a pack of `--each team`) owns no deal: the report says so and
    records nothing, instead of failing or showing a pipeline of $0."""
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(sample_dir), "team": "Sales Leadership"}, tmp_path)
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == [] and recorded == {}
    shown = "".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                    for output in cell.get("outputs", []))
    assert "No deal belongs to this selection (team Sales Leadership)" in shown


def test_pipeline_review_with_history_but_no_amounts(sample_dir, tmp_path):
    """A funnel export with stage history and no amounts: every count is measured, every
    amount is not (the waterfall's check and chart, the simulated won amount), never 0."""
    data = tmp_path / "data"
    data.mkdir()
    for table in ("opportunities", "opportunity_history", "reps", "activities"):
        frame = pd.read_csv(sample_dir / f"{table}.csv", dtype=str)
        frame.drop(columns=["amount"], errors="ignore").to_csv(data / f"{table}.csv", index=False)
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(data)}, tmp_path)
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == []
    deals, history = read(sample_dir)
    open_deals = deals[deals["stage"].isin(OPEN_STAGES)]
    previous_close = history.groupby("opportunity_id")["close_date"].shift()
    pushes = history[history["stage"].isin(OPEN_STAGES) & (history["close_date"] > previous_close)]
    assert recorded["open_pipeline_count"] == len(open_deals)
    assert recorded["slipped_deals"] == int(open_deals["opportunity_id"].isin(pushes["opportunity_id"]).sum())
    for name in ("open_pipeline_amount", "weighted_pipeline_amount", "forecast_p50", "forecast_already_won"):
        assert recorded[name] is None, name
    assert set(recorded["waterfall"].values()) == {None}
    shown = "".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                    for output in cell.get("outputs", []))
    assert "reconciles exactly" in shown and "No deal has an amount" in shown
