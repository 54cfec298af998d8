"""Inspection lists against tests/pipeline_fixtures.py, worked out by hand at as_of 2025-02-15
(stale_deal_days 30)."""

import pytest

from salesnb import dataset_from_frames, select
from salesnb.metrics import inspection
from tests.pipeline_fixtures import frames


@pytest.fixture(scope="module")
def checks():
    return inspection.inspect_open_deals(dataset_from_frames(frames()))


def listed(checks, name):
    return set(checks.deals_in(name)["opportunity_id"])


def test_every_open_deal_is_checked_once(checks):
    assert sorted(checks.deals["opportunity_id"]) == ["D1", "D10", "D12", "D3", "D5", "D6", "D9"]


def test_stale_means_no_activity_and_no_stage_change(checks):
    touch = checks.deals.set_index("opportunity_id")["days_since_touch"].to_dict()
    # D3: last activity 01-10, stage entered 12-10; its close-date pushes (02-08, 02-12) are
    # not touches -> 36 days. D6: activity 2024-12-01 -> 76. D9: no history, created 01-05;
    # its meeting on 03-01 lies after the data's date and is not a touch yet -> 41.
    # D1: entered Proposal 02-05 -> 10; D5 entered Discovery 02-15 -> 0; D12: call 02-14 -> 1.
    assert touch == {"D1": 10, "D3": 36, "D5": 0, "D6": 76, "D9": 41, "D10": 10, "D12": 1}
    assert listed(checks, "stale") == {"D3", "D6", "D9"}
    assert checks.count("stale") == 3


def test_past_due_pushed_missing_and_old(checks):
    assert listed(checks, "past_due") == {"D6"}  # expected 2024-12-31
    assert listed(checks, "pushed_twice") == {"D3"}
    assert checks.slipped == 1
    assert listed(checks, "missing_amount_or_close_date") == {"D12"}
    # Won in the last year: D2 in 101 days, D11 in 39 -> p90 = 39 + 0.9 x 62 = 94.8 days;
    # D6 is 137 days old, the next oldest (D1) 76.
    assert checks.won_cycle_p90_days == pytest.approx(94.8) and checks.won_cycle_deals == 2
    assert listed(checks, "older_than_won") == {"D6"}


def test_per_rep_summary(checks):
    summary = inspection.by_rep(checks).set_index("rep_id")
    # R3 (Cy): D5, D6, D10, D12; D6 stale + past due + old, D12 without amount -> 2 flagged.
    assert summary.loc["R3", ["open_deals", "flagged_deals", "stale_deals", "past_due_deals",
                              "missing_amount_or_close_date_deals"]].tolist() == [4, 2, 1, 1, 1]
    # R1 (Ann): D1, D9 (stale); R2: D3 (stale, pushed twice).
    assert summary.loc["R1", ["open_deals", "flagged_deals", "stale_deals"]].tolist() == [2, 1, 1]
    assert summary.loc["R2", ["open_deals", "flagged_deals", "pushed_twice_deals"]].tolist() == [1, 1, 1]
    assert summary.index[0] == "R3"  # most flagged first


def test_checks_the_data_cannot_support_are_not_measured():
    checks = inspection.inspect_open_deals(dataset_from_frames(frames(history=False, activities=False)))
    assert checks.count("stale") is None and checks.count("pushed_twice") is None and checks.slipped is None
    assert checks.count("past_due") == 1
    assert inspection.by_rep(checks)["stale_deals"].isna().all()  # "–", not 0
    assert checks.note("stale") == ("Stale: no activity and no stage change for 30 days or more: not measured, it "
                                    "needs the 'activities' table.")


def test_past_due_is_not_measured_without_any_expected_close_date():
    from tests.pipeline_fixtures import OPPORTUNITIES

    tables = frames(history=False, activities=False)
    opened = OPPORTUNITIES["stage"].isin(["Proposal", "Discovery", "Negotiation"])
    tables["opportunities"] = OPPORTUNITIES.assign(close_date=OPPORTUNITIES["close_date"].where(~opened))
    checks = inspection.inspect_open_deals(dataset_from_frames(tables))
    # No open deal has an expected close date: past due is unknown (None, not 0); all seven
    # are on the list of deals without amount or close date.
    assert checks.without_close_date == 7 and checks.count("past_due") is None
    assert checks.count("missing_amount_or_close_date") == 7


def test_a_deal_without_creation_date_has_no_age_and_is_counted():
    from tests.pipeline_fixtures import OPPORTUNITIES

    tables = frames()
    tables["opportunities"] = OPPORTUNITIES.assign(
        created_at=OPPORTUNITIES["created_at"].where(OPPORTUNITIES["opportunity_id"] != "D6"))
    checks = inspection.inspect_open_deals(dataset_from_frames(tables))
    # D6 (the oldest, 137 days) has no creation date now: no age, so not "older than won";
    # its last touch is still its 2024-12-01 activity, so it stays stale.
    assert checks.without_created_at == 1 and checks.count("older_than_won") == 0
    assert "D6" in set(checks.deals_in("stale")["opportunity_id"])


def test_what_the_page_says_instead_of_a_list(checks):
    assert checks.note("stale") is None  # three deals to show
    assert checks.note("pushed_twice") is None
    # No open Web deal (D1, D3, D5, D10) is past due: "none".
    web = inspection.inspect_open_deals(dataset_from_frames(frames()), where=select(source="Web"))
    assert web.note("past_due") == "Past due: expected close date already passed: none."


def test_the_deals_of_one_source():
    checks = inspection.inspect_open_deals(dataset_from_frames(frames()), where=select(source="Referral"))
    # Open Referral deals: D6 (76 days untouched, past due), D9 (41, stale), D12 (1 day, no amount).
    assert sorted(checks.deals["opportunity_id"]) == ["D12", "D6", "D9"]
    assert (checks.count("stale"), checks.count("past_due"), checks.count("missing_amount_or_close_date")) == (2, 1, 1)
    # Won Referral deals in the year: D2 only (101 days): the 90th percentile of one cycle is 101;
    # D6 (137 days) is older, D9 (41) and D12 (31) are not.
    assert checks.won_cycle_p90_days == 101 and set(checks.deals_in("older_than_won")["opportunity_id"]) == {"D6"}
