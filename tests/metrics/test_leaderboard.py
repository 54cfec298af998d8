"""Fair leaderboards and the manager roll-up against hand-worked numbers
(tests/people_fixtures.py, Q1 2025).

Closed in Q1 by owner: Ann 2 won of 3, Cy 2 of 3, Di 1 of 4, Bo 0 of 1 (O15 has no owner).
"""

import datetime as dt

import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.data.periods import Period
from salesnb.data.playbook import playbook_from_dict
from salesnb.metrics import activity, leaderboard, ramp
from salesnb.metrics.statistics import wilson_interval
from tests.lead_fixtures import by_key
from tests.people_fixtures import DEAL_COLUMNS, Q1, WEEKS_Q1, people_frames


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(people_frames())


def test_a_rep_below_the_minimum_n_is_listed_but_not_ranked(dataset):
    board = leaderboard.rep_leaderboard(dataset, Q1, min_n=3)
    reps = by_key(board, "rep_id")
    # Bo closed 1 deal (< 3): listed, not ranked, after every ranked rep
    assert reps["R2"]["win_rate_ranking"] == leaderboard.NOT_RANKED
    assert reps["R2"]["win_rate_rank"] != reps["R2"]["win_rate_rank"]  # NaN: no rank
    assert board["rep_id"].tolist()[-1] == "R2"
    # Ann and Cy tie at 2/3: both rank 1; Di (1/4) is rank 3, not 2
    assert (reps["R1"]["win_rate_rank"], reps["R3"]["win_rate_rank"], reps["R4"]["win_rate_rank"]) == (1, 1, 3)
    # A rep selection ranks the rep among their team: Di is 2nd in Alpha (Ann 2/3, Bo not ranked).
    only_di = leaderboard.rep_leaderboard(dataset, Q1, where=select(rep="Di"), min_n=3)
    assert only_di["rep_id"].tolist() == ["R4"] and only_di["win_rate_rank"].iloc[0] == 2


def test_the_playbook_minimum_is_the_default(dataset):
    # The default playbook ranks from 10 closed deals: nobody here has that many.
    board = leaderboard.rep_leaderboard(dataset, Q1)
    assert (board["win_rate_ranking"] == leaderboard.NOT_RANKED).all()


def test_every_rate_has_its_n_and_a_95_percent_interval(dataset):
    reps = by_key(leaderboard.rep_leaderboard(dataset, Q1, min_n=3), "rep_id")
    ann = reps["R1"]
    assert (ann["won"], ann["closed"]) == (2, 3)
    assert (ann["win_rate_low"], ann["win_rate_high"]) == pytest.approx(wilson_interval(2, 3))
    assert ann["win_rate_low"] == pytest.approx(0.2077, abs=1e-4)
    # Team Alpha: (2 + 1 + 0) / (3 + 4 + 1) = 0.375, inside Ann's 0.21..0.94: within noise
    assert ann["team_win_rate"] == pytest.approx(0.375)
    assert ann["versus_team"] == leaderboard.WITHIN
    assert ann["attainment"] == pytest.approx(1.5)
    assert ann["activities_per_rep_week"] == pytest.approx(3.5)
    assert ann["activities_low"] < 3.5 < ann["activities_high"]


def test_versus_team_says_above_only_when_the_whole_interval_is_above():
    frames = people_frames()
    deal = DEAL_COLUMNS
    won = pd.DataFrame([(f"X{i}", "R1", "2025-01-02", "2025-02-02", "Closed Won", 100.0) for i in range(20)], columns=deal)
    lost = pd.DataFrame([(f"Y{i}", "R4", "2025-01-02", "2025-02-02", "Closed Lost", 100.0) for i in range(20)], columns=deal)
    frames["opportunities"] = pd.concat([frames["opportunities"], won, lost], ignore_index=True)
    reps = by_key(leaderboard.rep_leaderboard(dataset_from_frames(frames), Q1, min_n=3), "rep_id")
    # Ann 22 of 23 (Wilson 0.79..0.99), Di 1 of 24 (0.007..0.20), Bo 0 of 1 (0..0.79);
    # team Alpha = (22 + 1 + 0) / (23 + 24 + 1) = 23/48 = 0.479
    assert reps["R1"]["team_win_rate"] == pytest.approx(23 / 48)
    assert reps["R1"]["versus_team"] == leaderboard.ABOVE
    assert reps["R4"]["versus_team"] == leaderboard.BELOW
    assert reps["R2"]["versus_team"] == leaderboard.WITHIN


def test_manager_roll_up_is_a_ratio_of_sums(dataset):
    managers = by_key(leaderboard.manager_rollup(dataset, Q1), "manager_name")
    mia = managers["Mia"]  # Ann, Bo and Di
    assert mia["reps"] == 3
    # win rate (2 + 0 + 1) / (3 + 1 + 4) = 3/8; attainment (1500 + 1500) / (1000 + 3000) (Bo has no quota)
    assert mia["win_rate"] == pytest.approx(3 / 8)
    assert (mia["win_rate_low"], mia["win_rate_high"]) == pytest.approx(wilson_interval(3, 8))
    assert mia["attainment"] == pytest.approx(0.75)
    # activities (45 + 8 + 0) / rep-weeks (90/7 + 4 + 90/7)
    assert mia["activities_per_rep_week"] == pytest.approx(53 / (2 * WEEKS_Q1 + 4))
    assert set(managers) == {"Mia", "Max"}
    only_bo = leaderboard.manager_rollup(dataset, Q1, where=select(rep="R2"))
    assert only_bo["manager_name"].tolist() == ["Mia"]


def test_summary_of_the_scope(dataset):
    summary = leaderboard.summary(dataset, Q1)
    assert summary["reps"] == 4
    assert summary["activities_per_rep_week"] == pytest.approx(66 * 7 / 298)
    assert summary["activities_per_rep_week_by_type"] == pytest.approx(
        {"call": 36 * 7 / 298, "email": 23 * 7 / 298, "meeting": 7 * 7 / 298})
    # 7 meetings / 14 deals created with an owner; 66 activities / 5 won deals
    assert summary["meetings_per_opportunity_created"] == pytest.approx(0.5)
    assert summary["activities_per_won_deal"] == pytest.approx(13.2)
    assert summary["company_quota_attainment"] == pytest.approx(5000 / 6000)
    assert summary["share_reps_at_quota"] == pytest.approx(2 / 3)
    frames = people_frames()
    del frames["quotas"], frames["activities"]
    bare = leaderboard.summary(dataset_from_frames(frames), Q1)
    assert bare["company_quota_attainment"] is None and bare["share_reps_at_quota"] is None
    assert bare["activities_per_rep_week"] is None and bare["activities_per_rep_week_by_type"] == {}
    assert bare["win_rate"] == pytest.approx(5 / 11)


def test_a_source_selection_answers_what_it_can(dataset):
    """Referral deals closed in Q1: Ann won O2, Di lost O5, Cy won O8. Attainment is not
    measured (quotas are per rep), the win rates and activity still answer."""
    referral = select(source="Referral")
    reps = by_key(leaderboard.rep_leaderboard(dataset, Q1, where=referral, min_n=1), "rep_id")
    assert (reps["R1"]["won"], reps["R1"]["closed"], reps["R4"]["closed"]) == (1, 1, 1)
    assert reps["R1"]["team_win_rate"] == pytest.approx(0.5)  # Alpha: 1 of 2
    assert all(row["attainment"] != row["attainment"] for row in reps.values())  # NaN, never 0%
    summary = leaderboard.summary(dataset, Q1, where=referral)
    assert summary["win_rate"] == pytest.approx(2 / 3) and summary["closed"] == 3
    assert summary["company_quota_attainment"] is None and summary["share_reps_at_quota"] is None
    assert summary["activities_per_rep_week"] == pytest.approx(8 * 7 / 298)  # Ann's 5 + Cy's 3 over 298/7 weeks
    mia = by_key(leaderboard.manager_rollup(dataset, Q1, where=referral), "manager_name")["Mia"]
    assert (mia["won"], mia["closed"]) == (1, 2) and mia["attainment"] != mia["attainment"]


def test_a_period_before_the_data_gives_empty_tables_not_errors(dataset):
    before = Period(dt.date(2023, 1, 1), dt.date(2023, 3, 31))
    assert leaderboard.rep_leaderboard(dataset, before).empty
    assert activity.activity_trend(dataset, before).empty
    assert ramp.ramp(dataset, before).reps.empty and ramp.ramp(dataset, before).median_months is None
    summary = leaderboard.summary(dataset, before)
    assert summary["reps"] == 0 and summary["win_rate"] is None and summary["company_quota_attainment"] is None


def test_without_lost_stages_the_win_rate_is_not_measured_and_nobody_is_ranked():
    """A funnel export that records only won deals: won / (won + lost) would always be 100%."""
    frames = people_frames()
    opportunities = frames["opportunities"]
    frames["opportunities"] = opportunities[opportunities["stage"] != "Closed Lost"]
    stages = [{"name": name, "probability": 0.5} for name in ("Prospecting", "Qualification", "Discovery", "Proposal")]
    playbook = playbook_from_dict({"stages": stages + [{"name": "Closed Won", "probability": 1.0, "outcome": "won"}]})
    dataset = dataset_from_frames(frames, playbook)
    board = leaderboard.rep_leaderboard(dataset, Q1, min_n=1)
    assert board["win_rate"].isna().all() and board["win_rate_low"].isna().all()
    assert (board["win_rate_ranking"] == leaderboard.NOT_MEASURED).all()
    assert leaderboard.summary(dataset, Q1)["win_rate"] is None
    assert leaderboard.manager_rollup(dataset, Q1)["win_rate"].isna().all()
