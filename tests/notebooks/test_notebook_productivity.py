"""04_productivity executed with papermill; every KPI it records is checked against an
independent computation in plain pandas on the CSV files, written here from the
definitions in docs/metrics.md (section People and productivity), not from salesnb's code."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from tests.notebook_runner import assert_kpis_match, execute_notebook
from tests.people_fixtures import people_frames

pytestmark = pytest.mark.notebook

NAME = "04_productivity"
START, END = "2025-01-01", "2025-12-31"
WON, LOST = "Closed Won", "Closed Lost"  # the default playbook
MEETING_TYPES = {"meeting", "demo"}
MONTH_DAYS = 365.25 / 12


def _read(folder, name):
    path = folder / f"{name}.csv"
    if not path.exists():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False).replace("", np.nan)


def _month_index(dates: pd.Series) -> pd.Series:
    return dates.dt.year * 12 + dates.dt.month


def _kaplan_meier_median(durations, events):
    """Product-limit estimate, written out over the sorted distinct event times."""
    durations, events = np.asarray(durations, float), np.asarray(events, bool)
    survival = 1.0
    for time in np.unique(durations[events]):
        survival *= 1 - np.sum(events & (durations == time)) / np.sum(durations >= time)
        if survival <= 0.5:
            return float(time)
    return None


def expected_kpis(folder, start=START, end=END, team=None, ramp_share=0.5) -> dict:
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    reps, deals, activities, quotas = (_read(folder, name) for name in ("reps", "opportunities", "activities", "quotas"))
    history, leads = _read(folder, "opportunity_history"), _read(folder, "leads")
    for column in ("created_at", "close_date"):
        deals[column] = pd.to_datetime(deals[column])
    deals["amount"] = deals["amount"].astype(float)
    reps["hire_date"] = pd.to_datetime(reps["hire_date"])
    closed_deals = deals[deals["stage"].isin([WON, LOST])]
    # The data date: the latest deal creation, close of a closed deal, history change or lead.
    dated = [deals["created_at"].max(), closed_deals["close_date"].max()]
    dated += [pd.to_datetime(frame[column]).max().normalize() for frame, column in
              ((history, "changed_at"), (leads, "created_at")) if frame is not None]
    as_of = max(dated)
    last = min(end, as_of)

    # Selling reps: own a deal, carry a quota or logged an activity.
    selling = set(deals["rep_id"].dropna())
    selling |= set(quotas["rep_id"]) if quotas is not None else set()
    selling |= set(activities["rep_id"].dropna()) if activities is not None else set()
    people = pd.DataFrame({"rep_id": sorted(selling)}).merge(reps, on="rep_id", how="left")
    people["team"] = people["team"].fillna("(none)")
    company = people
    if team:
        people = people[people["team"] == team]
        deals = deals[deals["rep_id"].isin(people["rep_id"])]

    created = deals[deals["created_at"].between(start, end) & deals["rep_id"].notna()]
    closed = deals[deals["stage"].isin([WON, LOST]) & deals["close_date"].between(start, end)]
    won = closed[closed["stage"] == WON]
    team_of = reps.set_index("rep_id")["team"]
    owned = closed[closed["rep_id"].notna()]  # deals count for their owner: a deal without one is in no team
    result = {"win_rate_by_team": (owned["stage"] == WON).groupby(owned["rep_id"].map(team_of).fillna("(none)")).mean()
              .to_dict()}

    # Activities per rep-week employed (from the later of the period start, the first activity
    # and the hire date, to the earlier of the period end and the data date).
    if activities is not None:
        activities["day"] = pd.to_datetime(activities["occurred_at"]).dt.normalize()
        first = max(start, activities["day"].min())
        from_day = people["hire_date"].fillna(first).clip(lower=first)
        days = ((last - from_day).dt.days + 1).clip(lower=0)
        employed = people[days > 0].assign(days=days[days > 0])
        counted = activities.merge(employed[["rep_id", "hire_date"]], on="rep_id")
        counted = counted[counted["day"].between(first, last)
                          & (counted["hire_date"].isna() | (counted["day"] >= counted["hire_date"]))]
        weeks = employed["days"].sum() / 7
        result.update(
            activities_per_rep_week=len(counted) / weeks,
            activities_per_rep_week_by_type=(counted.groupby("type").size() / weeks).to_dict(),
            meetings_per_opportunity_created=counted["type"].str.lower().isin(MEETING_TYPES).sum() / len(created),
            activities_per_won_deal=len(counted) / won["rep_id"].notna().sum(),
        )
    else:
        result.update(activities_per_rep_week=None, activities_per_rep_week_by_type={},
                      meetings_per_opportunity_created=None, activities_per_won_deal=None)
    # Per-rep maps: every rep employed in the period (hired by its end, or no hire date) and
    # every rep with a deal created or closed in it.
    hired = people["hire_date"].isna() | (people["hire_date"] <= last)
    shown = sorted(set(people.loc[hired, "rep_id"]) | set(created["rep_id"]) | set(closed["rep_id"].dropna()))
    result["won_amount_by_rep"] = won.groupby("rep_id")["amount"].sum().reindex(shown).fillna(0.0).to_dict()
    result["pipeline_created_by_rep"] = created.groupby("rep_id")["amount"].sum().reindex(shown).fillna(0.0).to_dict()

    # Quota attainment: quota rows wholly inside the period and ended by the data date.
    if quotas is not None:
        for column in ("period_start", "period_end"):
            quotas[column] = pd.to_datetime(quotas[column])
        quotas["amount"] = quotas["amount"].astype(float)
        rows = quotas[(quotas["period_start"] >= start) & (quotas["period_end"] <= last) & (quotas["amount"] > 0)
                      & quotas["rep_id"].isin(people["rep_id"])].copy()
        owned = deals[(deals["stage"] == WON) & deals["amount"].notna()]
        rows["won"] = [owned.loc[(owned["rep_id"] == row.rep_id) & owned["close_date"].between(row.period_start, row.period_end),
                                 "amount"].sum() for row in rows.itertuples()]
        per_rep = rows.groupby("rep_id")[["won", "amount"]].sum()
        per_team = rows.assign(team=rows["rep_id"].map(people.set_index("rep_id")["team"])).groupby("team")[["won", "amount"]].sum()
        result.update(
            quota_attainment_by_rep=(per_rep["won"] / per_rep["amount"]).to_dict(),
            team_quota_attainment=(per_team["won"] / per_team["amount"]).to_dict(),
            company_quota_attainment=rows["won"].sum() / rows["amount"].sum(),
            share_reps_at_quota=(per_rep["won"] >= per_rep["amount"]).mean(),
        )
    else:
        result.update(quota_attainment_by_rep={}, team_quota_attainment={}, company_quota_attainment=None,
                      share_reps_at_quota=None)

    # Ramp: months from the hire month to the first month won >= share x the team's median
    # tenured month; reps not there yet are censored at the months observed.
    if reps["hire_date"].notna().any():
        all_deals = _read(folder, "opportunities").assign(
            created_at=lambda frame: pd.to_datetime(frame["created_at"]),
            close_date=lambda frame: pd.to_datetime(frame["close_date"]), amount=lambda frame: frame["amount"].astype(float))
        all_won = all_deals[(all_deals["stage"] == WON) & all_deals["amount"].notna() & all_deals["rep_id"].notna()]
        # The bar: the median tenured month over the 12 months up to the period's end.
        window = max(last + pd.Timedelta(days=1) - pd.DateOffset(months=12), all_deals["created_at"].min())
        tenured = company[company["hire_date"] <= window - pd.DateOffset(months=12)].copy()
        months = ((last - window).days + 1) / MONTH_DAYS
        in_period = all_won[all_won["close_date"].between(window, last)]
        tenured["monthly"] = tenured["rep_id"].map(in_period.groupby("rep_id")["amount"].sum()).fillna(0) / months
        by_team = tenured.groupby("team")["monthly"].median()
        data_start = all_deals["created_at"].min().replace(day=1)
        hires = company[company["hire_date"].between(data_start, last)].copy()
        hires["bar"] = ramp_share * hires["team"].map(by_team).fillna(tenured["monthly"].median())
        won_by_month = all_won[all_won["close_date"] <= last].assign(month=lambda frame: _month_index(frame["close_date"]))
        won_by_month = won_by_month.groupby(["rep_id", "month"])["amount"].sum().reset_index()
        won_by_month = won_by_month.merge(hires[["rep_id", "hire_date", "bar"]], on="rep_id")
        won_by_month["since"] = won_by_month["month"] - _month_index(won_by_month["hire_date"])
        reached = won_by_month[(won_by_month["since"] >= 0) & (won_by_month["amount"] >= won_by_month["bar"])]
        hires["ramp"] = hires["rep_id"].map(reached.groupby("rep_id")["since"].min())
        hires["observed"] = (last.year * 12 + last.month) - _month_index(hires["hire_date"])
        if team:
            hires = hires[hires["team"] == team]
        result["median_ramp_months"] = _kaplan_meier_median(hires["ramp"].fillna(hires["observed"]), hires["ramp"].notna())
    else:
        result["median_ramp_months"] = None
    return result


def shown_html(notebook) -> str:
    return "".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                   for output in cell.get("outputs", []))


def assert_clean(notebook):
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert [output for output in outputs if output.get("output_type") == "error"] == []
    # A note that had nothing to say must show nothing (not the text "None").
    assert not [output for output in outputs if output.get("data", {}).get("text/plain") == "None"]


def test_notebook_kpis_on_sample(sample_dir, tmp_path):
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(sample_dir), "period_start": START,
                                                 "period_end": END}, tmp_path)
    expected = expected_kpis(sample_dir)
    assert len(expected["won_amount_by_rep"]) > 10 and expected["median_ramp_months"] is not None  # exercised
    assert_kpis_match(recorded, expected)
    assert_clean(notebook)
    # The sample is shaped for this report: most reps miss quota, some beat it.
    assert 0.7 < recorded["company_quota_attainment"] < 1.0
    assert 0 < recorded["share_reps_at_quota"] < 0.5


def test_notebook_team_filter(sample_dir, tmp_path):
    _, recorded = execute_notebook(NAME, {"data_dir": str(sample_dir), "period_start": START, "period_end": END,
                                          "team": "SMB East"}, tmp_path)
    expected = expected_kpis(sample_dir, team="SMB East")
    assert set(expected["team_quota_attainment"]) == {"SMB East"}
    assert_kpis_match(recorded, expected)


def test_notebook_without_activities_quotas_or_hire_dates(sample_dir, tmp_path):
    """Each section that needs what is missing says what to add; the rest still works."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("opportunities", "opportunity_history", "accounts", "leads"):
        shutil.copy(sample_dir / f"{name}.csv", folder / f"{name}.csv")
    reps = pd.read_csv(sample_dir / "reps.csv", dtype=str, keep_default_na=False)
    reps.assign(hire_date="").to_csv(folder / "reps.csv", index=False)
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(folder), "period_start": START,
                                                 "period_end": END}, tmp_path)
    expected = expected_kpis(folder)
    assert expected["activities_per_rep_week"] is None and expected["median_ramp_months"] is None
    assert_kpis_match(recorded, expected)
    assert_clean(notebook)
    page = shown_html(notebook).replace("&#x27;", "'")
    assert "Activity needs the 'activities' table" in page
    assert "Quota attainment needs the 'quotas' table" in page
    assert "Ramp needs the reps' hire dates" in page and "reps.hire_date" in page
    assert "Win rate leaderboard" in page and "Open deals and new deals per month" in page  # the rest works


def test_notebook_rep_filter_on_the_hand_worked_fixture(tmp_path):
    """tests/people_fixtures.py, Q1 2025, rep = "Bo" (hired 4 March): his numbers, his team's
    for comparison. Bo: 8 activities in 4 weeks = 2.0 a week; 0 won of 1 closed; no quota.
    Team Alpha: won 3 of 8 closed = 0.375."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name, frame in people_frames().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    notebook, recorded = execute_notebook(NAME, {"data_dir": str(folder), "period_start": "2025-01-01",
                                                 "period_end": "2025-03-31", "rep": "Bo", "min_n": 3}, tmp_path)
    assert_clean(notebook)
    assert recorded["activities_per_rep_week"] == pytest.approx(2.0)
    # The types logged in his team; Bo logged no email: 0 a week, not left out.
    assert recorded["activities_per_rep_week_by_type"] == pytest.approx({"call": 1.5, "email": 0.0, "meeting": 0.5})
    assert recorded["won_amount_by_rep"] == {"R2": 0}
    assert recorded["pipeline_created_by_rep"] == {"R2": 100}
    assert recorded["win_rate_by_team"] == pytest.approx({"Alpha": 0.375})
    assert recorded["quota_attainment_by_rep"] == {} and recorded["company_quota_attainment"] is None
    assert recorded["team_quota_attainment"] == pytest.approx({"Alpha": 0.75})  # his team, for comparison
    assert recorded["median_ramp_months"] is None  # Bo is still ramping after 0 months: no median yet
    page = shown_html(notebook)
    assert "not ranked (small n)" in page  # Bo closed 1 deal, fewer than min_n = 3
