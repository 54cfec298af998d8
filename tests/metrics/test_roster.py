"""Who the people report is about: selling reps, the selection read as reps and rows, roll-ups."""

import pytest

from salesnb import dataset_from_frames, select
from salesnb.data.selection import SelectionError
from salesnb.errors import SalesnbError
from salesnb.metrics import roster
from tests.people_fixtures import Q1, people_frames


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(people_frames())


def test_selling_reps_leave_out_managers_who_sell_nothing(dataset):
    reps = roster.selling_reps(dataset).execute().set_index("rep_id")
    assert sorted(reps.index) == ["R1", "R2", "R3", "R4"]
    assert reps.loc["R1", "manager_name"] == "Mia"
    assert sorted(roster.selling_reps(dataset, select(team="Alpha")).execute()["rep_id"]) == ["R1", "R2", "R4"]
    # Region is the rep's own (reps.region): Cy and Di are West; a source chooses deals, not reps.
    assert sorted(roster.selling_reps(dataset, select(region="West")).execute()["rep_id"]) == ["R3", "R4"]
    assert sorted(roster.selling_reps(dataset, select(source="Referral")).execute()["rep_id"]) == ["R1", "R2", "R3", "R4"]


def test_a_rep_without_a_reps_row_still_counts_by_id():
    frames = people_frames()
    frames["opportunities"].loc[frames["opportunities"]["opportunity_id"] == "O15", "rep_id"] = "R9"
    reps = roster.selling_reps(dataset_from_frames(frames, strict=False)).execute().set_index("rep_id")
    assert reps.loc["R9", "rep_name"] == "R9"


def test_scope_from_a_selection(dataset):
    assert roster.scope(dataset) == roster.Scope()
    # A rep is shown against their team: the comparison group is the rep's team.
    assert roster.scope(dataset, select(rep="Bo")) == roster.Scope(select(team="Alpha"), ("R2",))
    assert roster.scope(dataset, select(team="Alpha", rep="R1")) == roster.Scope(select(team="Alpha"), ("R1",))
    # Two reps of two teams: both teams are the comparison group.
    assert roster.scope(dataset, select(rep=["Ann", "Cy"])).group == select(team=["Alpha", "Beta"])
    # Segment, source and product choose the rows counted, not the reps.
    chosen = roster.scope(dataset, select(team="Beta", source="Referral", segment="Enterprise"))
    assert (chosen.group, chosen.rows) == (select(team="Beta"), select(source="Referral", segment="Enterprise"))
    assert chosen.compared == select(team="Beta", source="Referral", segment="Enterprise")
    with pytest.raises(SelectionError, match="rep = 'Zed' matches no data.*Ann"):
        roster.scope(dataset, select(rep="Zed"))
    with pytest.raises(SelectionError, match="rep Cy \\(R3\\) is in team 'Beta', not 'Alpha'"):
        roster.scope(dataset, select(team="Alpha", rep="R3"))
    with pytest.raises(SelectionError, match="rep Ann \\(R1\\) is in region 'East', not 'West'"):
        roster.scope(dataset, select(region="West", rep="Ann"))
    with pytest.raises(SelectionError, match="team = 'Gamma' matches no data"):
        roster.scope(dataset, select(team="Gamma"))


def test_the_deals_of_the_group(dataset):
    # Region West: Cy's and Di's deals (the owner's region, not the account's).
    west = roster.group_deals(dataset, roster.scope(dataset, select(region="West"))).execute()
    assert sorted(west["opportunity_id"]) == ["O10", "O14", "O16", "O4", "O5", "O6", "O7", "O8", "O9"]
    # Team Alpha's Referral deals: O2, O5, O13 (O8 is Beta's).
    referral = roster.group_deals(dataset, roster.scope(dataset, select(team="Alpha", source="Referral"))).execute()
    assert sorted(referral["opportunity_id"]) == ["O13", "O2", "O5"]


def test_by_is_a_level_of_reps(dataset):
    roster.check_by("region")
    with pytest.raises(SalesnbError, match="select it \\(where=salesnb.select\\(segment=...\\)\\)"):
        roster.check_by("segment")


def test_observed_window_is_cut_to_the_data(dataset):
    # Activities start 1 Jan 2025; the data date is 15 Apr 2025.
    window = roster.observed(dataset, Q1.previous(), "activities", "occurred_at")
    assert window.start > window.end  # Q4 2024 has no activity data at all: no weeks to count
    assert roster.observed_end(dataset, Q1) == Q1.end


def test_missing_hire_dates(dataset):
    assert roster.missing_hire_dates(dataset) == (0, 4)
    frames = people_frames()
    frames["reps"].loc[frames["reps"]["rep_id"] == "R3", "hire_date"] = ""
    bare = dataset_from_frames(frames)
    assert roster.missing_hire_dates(bare, select(team="Beta")) == (1, 1)
    assert roster.notes(bare, select(team="Alpha")) == []
    assert roster.notes(bare)[0].startswith("1 of 4 reps have no hire date")


def test_a_manager_who_sells_nothing_has_an_empty_report_not_an_error(dataset):
    # salesnb run --each rep runs the report for every row of reps, managers too.
    assert roster.scope(dataset, select(rep="M1")) == roster.Scope(select(team="Leadership"), ("M1",))
    assert "owns no deal" in roster.nothing_to_show(dataset, select(rep="M1"))
    assert "No rep of team Leadership owns" in roster.nothing_to_show(dataset, select(team="Leadership"))
    assert roster.notes(dataset, select(team="Leadership")) == [roster.nothing_to_show(dataset, select(team="Leadership"))]
    assert roster.nothing_to_show(dataset, select(rep="R1")) is None
    assert roster.nothing_to_show(dataset) is None


def test_rollups_sum_in_the_order_of_the_rep_ids_whatever_order_the_engine_returned():
    # The engine hands the per-rep rows back in an order of its own; float sums depend on
    # their order (here 1e16 + 1 - 1e16 is 0 or 1 by order), so the roll-up must not.
    import pandas as pd

    per_rep = pd.DataFrame({
        "rep_id": ["R1", "R2", "R3", "R4"], "rep_name": ["Al", "Bo", "Cy", "Di"], "team": ["A", "A", "A", None],
        "manager_id": ["M", "M", "M", None], "manager_name": ["Mia", "Mia", "Mia", None],
        "rep_weeks": [1e16, 1.0, -1e16, 2.0]})
    # By hand, in rep order R1, R2, R3: (1e16 + 1.0) rounds to 1e16, minus 1e16 is 0.0; then + 2.0 (R4).
    expected_all, expected_team = 2.0, 0.0
    for order in ([0, 1, 2, 3], [2, 0, 1, 3], [1, 2, 0, 3], [3, 2, 1, 0]):
        shuffled = per_rep.iloc[order]
        overall = roster.rollup(shuffled, None, ["rep_weeks"], roster.Scope())
        teams = roster.rollup(shuffled, "team", ["rep_weeks"], roster.Scope()).set_index("team")
        assert overall["rep_weeks"].iloc[0] == expected_all
        assert teams.loc["A", "rep_weeks"] == expected_team and teams.loc["A", "reps"] == 3
