"""Activity per rep-week and activity to outcome against hand-worked numbers
(tests/people_fixtures.py: Q1 2025 = 90 days = 90/7 weeks)."""

import pytest

from salesnb import dataset_from_frames, select
from salesnb.errors import SalesnbError
from salesnb.metrics import activity
from tests.lead_fixtures import by_key
from tests.people_fixtures import Q1, WEEKS_Q1, people_frames


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(people_frames())


def test_a_rep_hired_mid_period_is_measured_on_the_weeks_employed(dataset):
    reps = by_key(activity.activity_rates(dataset, Q1, by="rep"), "rep_id")
    # Bo, hired 4 March: 4..31 March = 28 days = 4 weeks; 8 activities -> 2.0 a week
    # (not 8 / 12.86 weeks = 0.62), and his activity of 1 March, before he joined, is not his.
    assert reps["R2"]["rep_weeks"] == pytest.approx(4.0)
    assert reps["R2"]["activities"] == 8
    assert reps["R2"]["activities_per_rep_week"] == pytest.approx(2.0)
    # Ann, employed throughout: 45 / (90/7) = 3.5 a week; calls 30 / (90/7) = 2.333
    assert reps["R1"]["activities_per_rep_week"] == pytest.approx(3.5)
    assert reps["R1"][activity.per_week_column("call")] == pytest.approx(30 / WEEKS_Q1)
    # Di logged nothing: 0 a week, not left out (she was employed).
    assert reps["R4"]["activities_per_rep_week"] == 0
    assert set(reps) == {"R1", "R2", "R3", "R4"}  # managers M1, M2 sell nothing: not reps


def test_team_rate_is_activities_over_rep_weeks(dataset):
    teams = by_key(activity.activity_rates(dataset, Q1, by="team"), "team")
    # Alpha: (45 + 8 + 0) / (90/7 + 4 + 90/7) = 53 / (208/7) = 1.7837,
    # not the mean of the rep rates (3.5 + 2.0 + 0) / 3 = 1.8333
    assert teams["Alpha"]["activities_per_rep_week"] == pytest.approx(53 * 7 / 208)
    assert teams["Alpha"]["reps"] == 3
    overall = activity.activity_rates(dataset, Q1, by=None).iloc[0]
    # 66 activities / (3 * 90/7 + 4) = 66 * 7 / 298; meetings 5 + 2 = 7 -> 49 / 298
    assert overall["activities_per_rep_week"] == pytest.approx(66 * 7 / 298)
    assert overall[activity.per_week_column("meeting")] == pytest.approx(7 * 7 / 298)
    assert overall["per_week_low"] < overall["activities_per_rep_week"] < overall["per_week_high"]


def test_rep_selection_shows_the_rep_and_its_team_for_comparison(dataset):
    only_bo = activity.activity_rates(dataset, Q1, where=select(rep="R2")).iloc[0]
    assert only_bo["activities_per_rep_week"] == pytest.approx(2.0)
    teams = activity.activity_rates(dataset, Q1, by="team", where=select(rep="Bo"))  # by name
    assert teams["team"].tolist() == ["Alpha"]
    assert teams["activities_per_rep_week"].iloc[0] == pytest.approx(53 * 7 / 208)  # the whole team, as above


def test_a_source_selection_counts_the_activities_on_its_deals(dataset):
    """Referral deals O2, O5, O8, O13; activities on them: Ann's 5 meetings (O2), Cy's first 3
    emails (O8). The rep-weeks stay every rep's weeks employed."""
    referral = select(source="Referral")
    reps = by_key(activity.activity_rates(dataset, Q1, by="rep", where=referral), "rep_id")
    assert reps["R1"]["activities_per_rep_week"] == pytest.approx(5 / WEEKS_Q1)  # 0.389, not 3.5
    assert reps["R3"]["activities_per_rep_week"] == pytest.approx(3 / WEEKS_Q1)
    assert reps["R2"]["activities"] == 0 and reps["R2"]["rep_weeks"] == pytest.approx(4.0)
    alpha = by_key(activity.activity_rates(dataset, Q1, by="team", where=referral), "team")["Alpha"]
    assert alpha["activities_per_rep_week"] == pytest.approx(5 * 7 / 208)  # 5 / (90/7 + 4 + 90/7)
    outcome = by_key(activity.activity_to_outcome(dataset, Q1, by="rep", where=referral), "rep_id")
    # Ann: created O2 (500) and O13 (700); won O2 of 1 closed; 5 meetings / 2 created; 5 activities / 1 won
    ann = outcome["R1"]
    assert (ann["opportunities_created"], ann["pipeline_created"], ann["won"], ann["closed"]) == (2, 1200.0, 1, 1)
    assert ann["meetings_per_opportunity_created"] == pytest.approx(2.5)
    assert ann["activities_per_won_deal"] == pytest.approx(5.0)
    assert (outcome["R4"]["won"], outcome["R4"]["closed"]) == (0, 1)  # Di lost O5
    teams = by_key(activity.activity_to_outcome(dataset, Q1, by="team", where=referral), "team")
    # Alpha: won O2 of O2, O5 -> 50%; meetings 5 / created O2, O5, O13 -> 5/3
    assert teams["Alpha"]["win_rate"] == pytest.approx(0.5)
    assert teams["Alpha"]["meetings_per_opportunity_created"] == pytest.approx(5 / 3)


def test_a_segment_selection_counts_the_deals_of_its_accounts(dataset):
    """Enterprise = account A2: Cy's O8, O9, O10 (closed in Q1) and O14. No activity has an account."""
    teams = by_key(activity.activity_to_outcome(dataset, Q1, by="team", where=select(segment="Enterprise")), "team")
    beta = teams["Beta"]
    assert (beta["won"], beta["closed"], beta["opportunities_created"], beta["pipeline_created"]) == (2, 3, 4, 3100.0)
    assert beta["win_rate"] == pytest.approx(2 / 3)
    assert beta["activities"] == 0  # activities without an account are in no segment
    assert teams["Alpha"]["closed"] == 0 and teams["Alpha"]["win_rate"] != teams["Alpha"]["win_rate"]  # NaN


def test_a_region_selection_and_by_region(dataset):
    """West: Cy (Beta, 13 emails) and Di (Alpha, nothing), 90/7 weeks each."""
    teams = by_key(activity.activity_rates(dataset, Q1, by="team", where=select(region="West")), "team")
    assert (teams["Alpha"]["reps"], teams["Alpha"]["activities_per_rep_week"]) == (1, 0.0)
    assert teams["Beta"]["activities_per_rep_week"] == pytest.approx(13 / WEEKS_Q1)
    regions = by_key(activity.activity_rates(dataset, Q1, by="region"), "region")
    assert regions["East"]["activities_per_rep_week"] == pytest.approx(53 / (WEEKS_Q1 + 4))  # Ann 45 + Bo 8
    assert regions["West"]["activities_per_rep_week"] == pytest.approx(13 / (2 * WEEKS_Q1))
    with pytest.raises(SalesnbError, match="The rows are reps"):
        activity.activity_rates(dataset, Q1, by="source")


def test_activities_left_out_are_counted(dataset):
    no_rep, before_hire = activity.activity_exclusions(dataset, Q1)
    # 45 + 9 + 13 + 2 = 69 activities in Q1: 2 have no rep, 1 (Bo, 1 March) is before his hire date
    assert (no_rep.count, no_rep.total) == (2, 69)
    assert (before_hire.count, before_hire.total) == (1, 69)


def test_trend_by_month_uses_the_rep_weeks_of_each_month(dataset):
    trend = activity.activity_trend(dataset, Q1)
    march = trend[trend["month"].dt.month == 3].set_index("activity_type")
    # March rep-weeks: Ann, Cy, Di 31 days each + Bo 28 days = 121 days = 17.29 weeks
    assert march["rep_weeks"].iloc[0] == pytest.approx(121 / 7)
    assert set(trend["activity_type"]) == {"call", "email", "meeting"}
    assert len(trend) == 9  # 3 months x 3 types, empty combinations as 0


def test_activity_to_outcome_by_hand(dataset):
    reps = by_key(activity.activity_to_outcome(dataset, Q1, by="rep"), "rep_id")
    # Ann: created O1, O2, O3, O12, O13 = 5 deals worth 4,500; 5 meetings -> 1.0 per opportunity;
    # won O1, O2 (1,500) of 3 closed; 45 activities / 2 won = 22.5
    ann = reps["R1"]
    assert (ann["opportunities_created"], ann["pipeline_created"]) == (5, 4500.0)
    assert ann["meetings_per_opportunity_created"] == pytest.approx(1.0)
    assert ann["activities_per_won_deal"] == pytest.approx(22.5)
    assert (ann["won"], ann["closed"], ann["won_amount"]) == (2, 3, 1500.0)
    assert ann["win_rate"] == pytest.approx(2 / 3)
    # Di: O6 and O16 have no amount: pipeline 800 + 400 = 1,200 from 4 deals
    assert (reps["R4"]["opportunities_created"], reps["R4"]["pipeline_created"]) == (4, 1200.0)
    # Bo won nothing: activities per won deal is not measured (not 0, not infinite)
    assert reps["R2"]["activities_per_won_deal"] != reps["R2"]["activities_per_won_deal"]
    teams = by_key(activity.activity_to_outcome(dataset, Q1, by="team"), "team")
    # Alpha: won 2 + 1 + 0 = 3 of 3 + 4 + 1 = 8 closed -> 0.375 (mean of rep rates would be 0.3056)
    assert teams["Alpha"]["win_rate"] == pytest.approx(3 / 8)
    assert teams["Alpha"]["meetings_per_opportunity_created"] == pytest.approx(7 / 10)  # (5 + 2 + 0) / (5 + 1 + 4)


def test_deals_left_out_of_per_rep_numbers_are_counted(dataset):
    created_no_owner, closed_no_owner, created_no_amount, won_no_amount = activity.deal_exclusions(dataset, Q1)[2:]
    # Created in Q1: 15 deals (all but O4 and O17); O15 has no owner; O6 and O16 no amount
    assert (created_no_owner.count, created_no_owner.total) == (1, 15)
    assert (created_no_amount.count, created_no_amount.total) == (2, 15)
    # Closed in Q1: O1-O11 and O15 = 12; O15 has no owner; every won deal has an amount
    assert (closed_no_owner.count, closed_no_owner.total) == (1, 12)
    assert won_no_amount.count == 0


def test_without_hire_dates_every_rep_counts_the_whole_period():
    frames = people_frames()
    frames["reps"] = frames["reps"].assign(hire_date="")
    dataset = dataset_from_frames(frames)
    reps = by_key(activity.activity_rates(dataset, Q1, by="rep"), "rep_id")
    # Bo: all 9 activities (nothing is "before hire" now) over 90/7 weeks = 0.7
    assert reps["R2"]["activities_per_rep_week"] == pytest.approx(9 * 7 / 90)


def test_without_activities_the_activity_numbers_are_not_measured():
    frames = people_frames()
    del frames["activities"]
    dataset = dataset_from_frames(frames)
    overall = activity.activity_rates(dataset, Q1, by=None).iloc[0]
    assert overall["activities_per_rep_week"] != overall["activities_per_rep_week"]  # NaN, never 0
    outcome = activity.activity_to_outcome(dataset, Q1, by=None).iloc[0]
    assert outcome["activities_per_won_deal"] != outcome["activities_per_won_deal"]
    assert outcome["won_amount"] == 5000.0  # the deal numbers still work
    assert activity.activity_exclusions(dataset, Q1) == []


def test_deals_without_a_creation_or_close_date_are_counted():
    frames = people_frames()
    opportunities = frames["opportunities"].copy()
    opportunities.loc[opportunities["opportunity_id"] == "O12", "created_at"] = None
    opportunities.loc[opportunities["opportunity_id"] == "O3", "close_date"] = None
    frames["opportunities"] = opportunities
    dataset = dataset_from_frames(frames, strict=False)
    no_created, no_close = activity.deal_exclusions(dataset, Q1)[:2]
    assert (no_created.count, no_created.total) == (1, 17)
    assert (no_close.count, no_close.total) == (1, 14)  # 14 closed deals: O12, O14, O16 are open
    ann = by_key(activity.activity_to_outcome(dataset, Q1, by="rep"), "rep_id")["R1"]
    # O12 is in no period's pipeline (4 deals, 2,500); O3 is in no period's win rate (2 of 2)
    assert (ann["opportunities_created"], ann["pipeline_created"]) == (4, 2500.0)
    assert (ann["won"], ann["closed"]) == (2, 2)
