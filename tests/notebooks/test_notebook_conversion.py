"""02_conversion executed with papermill on the sample data; every KPI it records is
checked against an independent computation in plain pandas on the CSV files."""

import pandas as pd
import pytest

from salesnb.data.playbook import load_playbook
from tests.notebook_runner import execute_notebook

pytestmark = pytest.mark.notebook

START, END = "2025-01-01", "2025-12-31"


def expected_kpis(folder, team=None):
    """The conversion KPIs recomputed from the files, without salesnb's metric code."""
    playbook = load_playbook()
    opportunities = pd.read_csv(folder / "opportunities.csv", dtype={"opportunity_id": str, "rep_id": str})
    if team is not None:
        reps = pd.read_csv(folder / "reps.csv", dtype={"rep_id": str})
        opportunities = opportunities[opportunities["rep_id"].isin(reps.loc[reps["team"] == team, "rep_id"])]
    for column in ("created_at", "close_date"):
        opportunities[column] = pd.to_datetime(opportunities[column])
    start, end = pd.Timestamp(START), pd.Timestamp(END)
    won_stage, lost_stage = playbook.won_stages[0], playbook.lost_stages[0]
    created = opportunities[opportunities["created_at"].between(start, end)]
    closed = opportunities[opportunities["stage"].isin([won_stage, lost_stage]) & opportunities["close_date"].between(start, end)]
    won, lost = closed[closed["stage"] == won_stage], closed[closed["stage"] == lost_stage]
    cycle = (won["close_date"] - won["created_at"]).dt.days
    win_rate = len(won) / len(closed)
    open_qualified = opportunities["stage"].isin(playbook.qualified_stages).sum()
    by_rep = closed.assign(is_won=closed["stage"] == won_stage).groupby("rep_id")["is_won"].mean()
    return {
        "opportunities_created": len(created),
        "won": len(won),
        "lost": len(lost),
        "win_rate": win_rate,
        "win_rate_by_value": won["amount"].sum() / (won["amount"].sum() + lost["amount"].fillna(0).sum()),
        "median_sales_cycle_days": cycle.median(),
        "avg_won_amount": won["amount"].mean(),
        "sales_velocity_per_day": open_qualified * win_rate * won["amount"].mean() / cycle.mean(),
        "win_rate_by_rep": by_rep.to_dict(),
    }


def expected_stage_conversion(folder):
    """Cohort next-step rates from the stage history: furthest stage ever reached per deal."""
    playbook = load_playbook()
    position = {name: index for index, name in enumerate(playbook.open_stages)}
    position[playbook.won_stages[0]] = len(playbook.open_stages)
    opportunities = pd.read_csv(folder / "opportunities.csv", dtype={"opportunity_id": str})
    history = pd.read_csv(folder / "opportunity_history.csv", dtype={"opportunity_id": str})
    created = pd.to_datetime(opportunities["created_at"])
    cohort = opportunities[created.between(pd.Timestamp(START), pd.Timestamp(END))]
    stages = pd.concat([history[["opportunity_id", "stage"]], cohort[["opportunity_id", "stage"]]])
    stages = stages[stages["opportunity_id"].isin(cohort["opportunity_id"])]
    furthest = stages["stage"].map(position).groupby(stages["opportunity_id"]).max()
    furthest = furthest.reindex(cohort["opportunity_id"]).fillna(0)
    reached = [(furthest >= k).sum() for k in range(len(position))]
    return {stage: reached[k + 1] / reached[k] for k, stage in enumerate(playbook.open_stages)}


def test_conversion_notebook_kpis(sample_dir, tmp_path):
    _, kpis = execute_notebook("02_conversion", {
        "data_dir": str(sample_dir), "period_start": START, "period_end": END}, tmp_path)
    expected = expected_kpis(sample_dir)
    for name in ["opportunities_created", "won", "lost"]:
        assert kpis[name] == expected[name], name
    for name in ["win_rate", "win_rate_by_value", "median_sales_cycle_days", "avg_won_amount", "sales_velocity_per_day"]:
        assert kpis[name] == pytest.approx(expected[name], rel=1e-9), name
    assert kpis["win_rate_by_rep"] == pytest.approx(expected["win_rate_by_rep"])
    assert kpis["stage_conversion"] == pytest.approx(expected_stage_conversion(sample_dir))
    # The sample is shaped like a B2B company: sanity bounds, not exact values.
    assert 0.1 < kpis["win_rate"] < 0.45


def test_conversion_notebook_team_filter(sample_dir, tmp_path):
    reps = pd.read_csv(sample_dir / "reps.csv")
    team = sorted(reps["team"].dropna().unique())[0]
    _, kpis = execute_notebook("02_conversion", {
        "data_dir": str(sample_dir), "period_start": START, "period_end": END, "team": team}, tmp_path)
    expected = expected_kpis(sample_dir, team=team)
    assert kpis["opportunities_created"] == expected["opportunities_created"]
    assert kpis["win_rate"] == pytest.approx(expected["win_rate"])
    assert set(kpis["win_rate_by_rep"]) == set(expected["win_rate_by_rep"])


def test_conversion_notebook_records_its_findings_first(sample_dir, tmp_path):
    """The findings list comes before the headline, and its counts match plain pandas."""
    import re

    from salesnb.report.kpis import read_findings

    notebook, _ = execute_notebook("02_conversion", {
        "data_dir": str(sample_dir), "period_start": "2025-07-01", "period_end": "2025-12-31"}, tmp_path)
    [recorded] = read_findings(notebook)
    assert recorded["title"].endswith("this period against the previous one")
    headings = [cell.source.splitlines()[0] for cell in notebook.cells if cell.cell_type == "markdown"]
    assert headings.index("## What moved most") < headings.index("## Headline")
    # Deals created in 2025 H2 and H1, by created_at, without salesnb.
    deals = pd.read_csv(sample_dir / "opportunities.csv", parse_dates=["created_at"])
    counts = [deals["created_at"].between(pd.Timestamp(start), pd.Timestamp(end)).sum()
              for start, end in (("2025-01-01", "2025-06-30"), ("2025-07-01", "2025-12-31"))]
    for sentence in recorded["sentences"]:
        found = re.match(r"All deals: deals created (?:rose|fell) \d+% from ([\d,]+) to ([\d,]+)", sentence)
        if found:
            assert [int(value.replace(",", "")) for value in found.groups()] == counts
    assert recorded["sentences"] or recorded["nothing_found"].startswith("Nothing moved")
