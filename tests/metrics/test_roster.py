"""Who the people report is about: selling reps, filters and roll-ups."""

import pytest

from salesnb import dataset_from_frames
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
    assert sorted(roster.selling_reps(dataset, "Alpha").execute()["rep_id"]) == ["R1", "R2", "R4"]


def test_a_rep_without_a_reps_row_still_counts_by_id():
    frames = people_frames()
    frames["opportunities"].loc[frames["opportunities"]["opportunity_id"] == "O15", "rep_id"] = "R9"
    reps = roster.selling_reps(dataset_from_frames(frames, strict=False)).execute().set_index("rep_id")
    assert reps.loc["R9", "rep_name"] == "R9"


def test_scope_from_filters(dataset):
    assert roster.scope(dataset) == roster.Scope(None)
    assert roster.scope(dataset, rep="Bo") == roster.Scope("Alpha", "R2")  # the rep's team is the comparison
    assert roster.scope(dataset, team="Alpha", rep="R1") == roster.Scope("Alpha", "R1")
    with pytest.raises(SalesnbError, match="matches no rep.*Ann \\(R1\\)"):
        roster.scope(dataset, rep="Zed")
    with pytest.raises(SalesnbError, match="is in team 'Beta', not 'Alpha'"):
        roster.scope(dataset, team="Alpha", rep="R3")
    with pytest.raises(SalesnbError, match="team = 'Gamma' matches no data"):
        roster.scope(dataset, team="Gamma")


def test_observed_window_is_cut_to_the_data(dataset):
    # Activities start 1 Jan 2025; the data date is 15 Apr 2025.
    window = roster.observed(dataset, Q1.previous(), "activities", "occurred_at")
    assert window.start > window.end  # Q4 2024 has no activity data at all: no weeks to count
    assert roster.observed_end(dataset, Q1) == Q1.end


def test_missing_hire_dates(dataset):
    assert roster.missing_hire_dates(dataset) == (0, 4)


def test_a_manager_who_sells_nothing_has_an_empty_report_not_an_error(dataset):
    # salesnb run --each rep runs the report for every row of reps, managers too.
    scope = roster.scope(dataset, rep="M1")
    assert scope == roster.Scope("Leadership", "M1")
    assert "owns no deal" in roster.nothing_to_show(dataset, scope)
    assert "No rep of team 'Leadership'" in roster.nothing_to_show(dataset, roster.scope(dataset, team="Leadership"))
    assert roster.nothing_to_show(dataset, roster.scope(dataset, rep="R1")) is None
    assert roster.nothing_to_show(dataset, roster.scope(dataset)) is None
