"""Quota attainment against hand-worked numbers (tests/people_fixtures.py, Q1 2025).

Won in Q1 by owner: Ann (R1) O1 1000 + O2 500 = 1500 on quota 1000; Di (R4) O4 1500 on
quota 3000; Cy (R3) O8 1000 + O9 1000 = 2000 on quota 2000. O15 (600) has no owner.
"""

import math

import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.metrics import quota
from tests.lead_fixtures import by_key
from tests.people_fixtures import DEAL_COLUMNS, Q1, people_frames


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(people_frames())


def test_team_attainment_is_a_ratio_of_sums_not_a_mean_of_rep_ratios(dataset):
    reps = by_key(quota.quota_attainment(dataset, Q1, by="rep"), "rep_id")
    assert reps["R1"]["attainment"] == pytest.approx(1.5)  # 1500 / 1000
    assert reps["R4"]["attainment"] == pytest.approx(0.5)  # 1500 / 3000
    teams = by_key(quota.quota_attainment(dataset, Q1, by="team"), "team")
    # Alpha = (1500 + 1500) / (1000 + 3000) = 75%, while the mean of 150% and 50% is 100%
    assert teams["Alpha"]["attainment"] == pytest.approx(0.75)
    assert teams["Alpha"]["attainment"] != pytest.approx((1.5 + 0.5) / 2)
    assert teams["Beta"]["attainment"] == pytest.approx(1.0)


def test_attainment_standard_error_and_interval(dataset):
    ann = by_key(quota.quota_attainment(dataset, Q1, by="rep"), "rep_id")["R1"]
    # won 1000 + 500 on quota 1000: error sqrt(1000² + 500²) / 1000 = 1.118; 150% - 1.96 * 1.118 < 0
    assert ann["attainment_error"] == pytest.approx(math.sqrt(1000**2 + 500**2) / 1000)
    assert ann["attainment_low"] == 0.0
    assert ann["attainment_high"] == pytest.approx(1.5 + 1.959964 * ann["attainment_error"], rel=1e-6)


def test_company_attainment_and_share_of_reps_at_quota(dataset):
    overall = quota.quota_attainment(dataset, Q1, by=None).iloc[0]
    # (1500 + 1500 + 2000) / (1000 + 3000 + 2000) = 5000 / 6000
    assert overall["attainment"] == pytest.approx(5000 / 6000)
    # Ann 150% and Cy exactly 100% are at quota, Di is not; Bo has no quota and does not count
    assert (overall["reps_at_quota"], overall["reps"]) == (2, 3)
    assert overall["share_reps_at_quota"] == pytest.approx(2 / 3)
    # n of the interval: 5 won deals
    assert overall["won_deals_against_quota"] == 5
    managers = by_key(quota.quota_attainment(dataset, Q1, by="manager"), "manager_name")
    assert managers["Mia"]["attainment"] == pytest.approx(0.75)  # Mia manages Ann, Bo and Di


def test_quota_rows_that_reach_outside_the_period_are_left_out_and_counted(dataset):
    rows = quota.quota_attainment(dataset, Q1, by="quota_period")
    # Cy's 500 for 15 Feb - 14 May reaches past 31 March: not counted (Cy's attainment stays 2000 / 2000)
    assert len(rows) == 3 and 500.0 not in rows["quota_amount"].tolist()
    outside, still_running, no_amount, uncovered = quota.quota_exclusions(dataset, Q1)
    assert (outside.count, outside.total) == (1, 4)  # 4 rows touch Q1 (Ann's Q4 2024 row does not)
    assert still_running.count == 0 and no_amount.count == 0
    # Won in Q1 with an owner and an amount: O1, O2, O4, O8, O9, each inside its owner's quota
    assert (uncovered.count, uncovered.total) == (0, 5)


def test_overlapping_quota_rows_are_each_measured_on_their_own_dates():
    frames = people_frames()
    # A second quota for Ann over 1 Feb - 31 Mar, overlapping her Q1 quota: O1 (10 Feb, 1000) is in
    # both rows, O2 (15 Mar, 500) too. Row 1: 1500 / 1000 = 150%; row 2: 1500 / 1000 = 150%.
    extra = pd.DataFrame([("R1", "2025-02-01", "2025-03-31", 1000.0)], columns=frames["quotas"].columns)
    frames["quotas"] = pd.concat([frames["quotas"], extra], ignore_index=True)
    # And a won deal in January, inside only the first row: row 1 = 1800 / 1000, row 2 = 1500 / 1000
    deal = pd.DataFrame([("O18", "R1", "2025-01-02", "2025-01-20", "Closed Won", 300.0)], columns=DEAL_COLUMNS)
    frames["opportunities"] = pd.concat([frames["opportunities"], deal], ignore_index=True)
    dataset = dataset_from_frames(frames)
    rows = quota.quota_attainment(dataset, Q1, by="quota_period", where=select(rep="R1"))
    assert sorted(rows["attainment"]) == pytest.approx([1.5, 1.8])
    # Ann: (1800 + 1500) / (1000 + 1000) = 165%, the quota-weighted mean of her rows: not doubled
    # to 330% (both quotas against each deal once would halve it: 1800 / 2000 = 90%)
    ann = quota.quota_attainment(dataset, Q1, by="rep", where=select(rep="R1")).iloc[0]
    assert ann["attainment"] == pytest.approx(1.65)


def test_distribution_of_quota_row_attainment(dataset):
    distribution = quota.attainment_distribution(dataset, Q1).set_index("attainment_bucket")
    # 50% (Di) -> 50-80%, 100% (Cy) -> 100-120% (lower bound included), 150% (Ann) -> 120% or more
    assert distribution["quota_periods"].to_dict() == {"under 50%": 0, "50–80%": 1, "80–100%": 0,
                                                       "100–120%": 1, "120% or more": 1}
    assert distribution["share_of_quota_periods"].sum() == pytest.approx(1.0)


def test_without_quotas_nothing_is_measured():
    frames = people_frames()
    del frames["quotas"]
    dataset = dataset_from_frames(frames)
    assert quota.quota_attainment(dataset, Q1, by="rep").empty
    assert quota.quota_exclusions(dataset, Q1) == []


def test_a_rep_with_a_quota_and_no_won_deal_is_at_zero_with_no_interval():
    frames = people_frames()
    extra = pd.DataFrame([("R2", "2025-03-01", "2025-03-31", 400.0)], columns=frames["quotas"].columns)
    frames["quotas"] = pd.concat([frames["quotas"], extra], ignore_index=True)
    bo = quota.quota_attainment(dataset_from_frames(frames), Q1, by="rep", where=select(rep="R2")).iloc[0]
    assert bo["attainment"] == 0.0  # measured: a quota and nothing won
    assert math.isnan(bo["attainment_low"]) and math.isnan(bo["attainment_high"])


def test_without_any_amount_attainment_is_not_measured():
    frames = people_frames()
    frames["opportunities"] = frames["opportunities"].drop(columns=["amount"])
    dataset = dataset_from_frames(frames)
    overall = quota.quota_attainment(dataset, Q1, by=None).iloc[0]
    # Not 0% and not "nobody at quota": the won amounts are unknown.
    assert math.isnan(overall["attainment"]) and math.isnan(overall["share_reps_at_quota"])
    assert quota.quota_attainment(dataset, Q1, by="quota_period")["attainment"].isna().all()
    assert overall["quota_amount"] == 6000.0  # the quotas themselves are known
    assert "no deal has an amount" in quota.unmeasured(dataset)[0]


def test_a_region_selection_keeps_its_reps_quotas(dataset):
    """West: Cy 2000 won of 2000, Di 1500 of 3000."""
    overall = quota.quota_attainment(dataset, Q1, where=select(region="West")).iloc[0]
    assert overall["attainment"] == pytest.approx(3500 / 5000)
    assert (overall["reps_at_quota"], overall["reps"]) == (1, 2)
    teams = by_key(quota.quota_attainment(dataset, Q1, by="team", where=select(region="West")), "team")
    assert (teams["Alpha"]["attainment"], teams["Beta"]["attainment"]) == pytest.approx((0.5, 1.0))


def test_a_source_or_segment_selection_has_no_quota_to_compare_with(dataset):
    """Quotas are per rep, for all their deals: attainment of Referral deals is not measured
    (neither Ann's 500 of Referral against her whole 1000, nor 0%); the quotas still show."""
    referral = select(source="Referral")
    assert quota.unmeasured(dataset) == []
    assert "not measured for a selection by source" in quota.unmeasured(dataset, referral)[0]
    overall = quota.quota_attainment(dataset, Q1, where=referral).iloc[0]
    assert overall["quota_amount"] == 6000.0 and math.isnan(overall["attainment"]) and math.isnan(overall["share_reps_at_quota"])
    reps = quota.quota_attainment(dataset, Q1, by="rep", where=select(team="Alpha", segment="SMB"))
    assert reps["quota_amount"].tolist() == [1000.0, 3000.0] and reps["attainment"].isna().all()
    assert quota.attainment_distribution(dataset, Q1, where=referral)["quota_periods"].sum() == 0
