"""Capacity against hand-worked numbers (tests/people_fixtures.py, Q1 2025).

Open on 31 March (created by then, open now or closed later): Ann O12 (open, 2000) and O13
(won on 15 April, 700) = 2; Cy O14 = 1; Di O16 (no amount) = 1; Bo none.
"""

import math

import pytest

from salesnb import dataset_from_frames, select
from salesnb.metrics import capacity
from tests.lead_fixtures import by_key
from tests.people_fixtures import Q1, people_frames


@pytest.fixture(scope="module")
def load():
    return by_key(capacity.rep_capacity(dataset_from_frames(people_frames()), Q1), "rep_id")


def test_open_deals_at_the_end_of_the_period(load):
    assert {rep: row["open_at_end"] for rep, row in load.items()} == {"R1": 2, "R2": 0, "R3": 1, "R4": 1}
    assert load["R1"]["open_amount_at_end"] == 2700.0  # O12 2000 + O13 700
    assert math.isnan(load["R4"]["open_amount_at_end"])  # O16 has no amount: not measured, not 0
    assert load["R2"]["open_amount_at_end"] == 0.0  # nothing open


def test_against_the_team_median(load):
    # Alpha: Ann 2, Bo 0, Di 1 -> median 1: Ann 2.0x (overloaded, >= 1.5x), Bo 0x (light), Di 1.0x
    assert load["R1"]["team_median_open_deals"] == 1
    assert (load["R1"]["open_deals_vs_team"], load["R1"]["load"]) == (2.0, "overloaded")
    assert load["R2"]["load"] == "light"
    assert load["R4"]["load"] == "typical"


def test_new_deals_per_month_employed(load):
    # Bo: 1 deal (O11) in 28 days employed = 28 / 30.4375 months -> 1.087 a month
    assert load["R2"]["new_deals_per_month"] == pytest.approx(1 / (28 / 30.4375))
    # Ann: O1, O2, O3, O12, O13 = 5 deals in 90 days
    assert load["R1"]["new_deals_per_month"] == pytest.approx(5 / (90 / 30.4375))
    # Alpha median of Ann 1.691, Bo 1.087, Di 4 / 2.957 = 1.353 -> 1.353
    assert load["R1"]["team_median_new_deals_per_month"] == pytest.approx(4 / (90 / 30.4375))


def test_rep_selection_keeps_the_team_median():
    only_bo = capacity.rep_capacity(dataset_from_frames(people_frames()), Q1, where=select(rep="R2"))
    assert only_bo["rep_id"].tolist() == ["R2"]
    assert only_bo["team_median_open_deals"].iloc[0] == 1  # still Alpha's median


def test_a_source_selection_counts_its_deals():
    """Referral: only O13 (Ann) is open on 31 March; created in Q1: Ann O2, O13; Di O5; Cy O8.
    Alpha's median of open Referral deals (1, 0, 0) is 0: no ratio to it, so no load."""
    load = by_key(capacity.rep_capacity(dataset_from_frames(people_frames()), Q1, where=select(source="Referral")),
                  "rep_id")
    assert {rep: row["open_at_end"] for rep, row in load.items()} == {"R1": 1, "R2": 0, "R3": 0, "R4": 0}
    assert load["R1"]["new_deals_per_month"] == pytest.approx(2 / (90 / 30.4375))
    assert math.isnan(load["R1"]["open_deals_vs_team"]) and load["R1"]["load"] == "–"


def test_a_region_selection_compares_within_its_reps():
    # West: Cy (Beta) and Di (Alpha), one open deal each; each is their team's only rep here.
    load = by_key(capacity.rep_capacity(dataset_from_frames(people_frames()), Q1, where=select(region="West")), "rep_id")
    assert set(load) == {"R3", "R4"}
    assert (load["R4"]["team_median_open_deals"], load["R4"]["load"]) == (1, "typical")


def test_deals_without_dates_are_counted_and_a_process_without_open_stages_is_not_measured():
    from salesnb.data.playbook import playbook_from_dict

    frames = people_frames()
    opportunities = frames["opportunities"].copy()
    opportunities.loc[opportunities["opportunity_id"] == "O12", "created_at"] = None  # open, no creation date
    opportunities.loc[opportunities["opportunity_id"] == "O3", "close_date"] = None  # lost, no close date
    frames["opportunities"] = opportunities
    dataset = dataset_from_frames(frames, strict=False)
    no_created, no_close = capacity.capacity_exclusions(dataset, Q1)
    assert (no_created.count, no_close.count) == (1, 1)
    assert by_key(capacity.rep_capacity(dataset, Q1), "rep_id")["R1"]["open_at_end"] == 1  # only O13 is placed
    # Only closed deals recorded: open deals are not measured (not 0, not "light").
    closed_only = people_frames()
    deals = closed_only["opportunities"]
    closed_only["opportunities"] = deals[deals["stage"].isin(["Closed Won", "Closed Lost"])]
    playbook = playbook_from_dict({"stages": [{"name": "Closed Won", "probability": 1.0, "outcome": "won"},
                                              {"name": "Closed Lost", "probability": 0.0, "outcome": "lost"}]})
    load = capacity.rep_capacity(dataset_from_frames(closed_only, playbook), Q1)
    assert load["open_at_end"].isna().all() and (load["load"] == "–").all()
