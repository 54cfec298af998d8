"""The pipeline review's findings, composed from the views the notebook computed, on
tests/pipeline_fixtures.py (Q1 2025, 02-01 -> 02-15, min_deals_for_ranking 3); every
sentence worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt

import pytest

import salesnb
from salesnb import dataset_from_frames
from salesnb.data.periods import Period
from salesnb.metrics import coverage, inspection, waterfall
from salesnb.report.findings.pipeline import pipeline_review_findings
from tests.pipeline_fixtures import COMPARE_FROM, Q1, frames, playbook


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(frames(), playbook(min_deals_for_ranking=3))


def views(dataset, where=None):
    return (waterfall.waterfall(dataset, Q1, where=where, start_date=COMPARE_FROM),
            inspection.inspect_open_deals(dataset, where=where), coverage.coverage(dataset, Q1, "team", where=where))


def test_the_waterfall_the_deal_pushed_out_the_big_stale_deal_and_the_team_below_its_rule(dataset):
    found = pipeline_review_findings(*views(dataset), currency="USD")
    assert [movement.topic for movement in found] == ["waterfall", "pushed", "stale", "coverage"]
    assert found[0].sentence == (
        "Pipeline due in 01 Jan 2025 – 31 Mar 2025 went from $50,000 (6 deals) on 01 Feb 2025 to $21,000 (3 deals) on "
        "15 Feb 2025: +$3,000 new (1), +$5,000 pulled in (1), −$8,000 pushed out (1), −$7,000 won (2), "
        "−$19,000 lost (2), −$3,000 in amount changes (2 deals).")
    assert found[1].sentence == ("1 deal worth $8,000 was pushed out of the period since 01 Feb 2025: "
                                 "D3 ($8,000, Bo <b>).")
    # Open amounts 3,000 6,000 8,000 9,000 12,000 50,000 (D12 has none): 75th percentile
    # 9,000 + 0.75 x 3,000 = 11,250. Of the stale D3, D6 and D9 only D6 is that big.
    assert found[2].sentence == ("1 big deal (at least $11,250, the top quarter of the 7 open deals) worth $50,000 "
                                 "has had no activity and no stage change for 30 days or more: D6, $50,000, Cy: 76 days.")
    assert found[2].n == 1
    # Alpha: 18,000 / 43,000 = 0.42x against 1 / (2 / 5) = 2.5x; Beta has no closed deal.
    assert found[3].sentence == ("Team Alpha: coverage 0.4x ($18,000 due in the period for $43,000 left to quota) is "
                                 "below its rule of thumb of 2.5x (1 ÷ win rate 40.0% over 5 closed deals).")


def test_the_findings_of_one_team(dataset):
    """Team Alpha (R1 Ann, R2 Bo): D1, D2, D3, D4, D7, D8, D9, D11."""
    found = pipeline_review_findings(*views(dataset, salesnb.select(team="Alpha")), currency="USD")
    # Due in Q1 on 02-01: D1 10,000, D3 8,000, D4 20,000, D7 4,000, D9 6,000, D11 2,000 (all
    # Alpha's). Nothing new (D5 is Beta's); D2 pulled in and won; end: D1 12,000 + D9 6,000.
    # 50,000 + 0 + 5,000 - 8,000 - 7,000 - 19,000 - 3,000 = 18,000.
    assert found[0].sentence == (
        "Pipeline due in 01 Jan 2025 – 31 Mar 2025 went from $50,000 (6 deals) on 01 Feb 2025 to $18,000 (2 deals) on "
        "15 Feb 2025: $0 new (0), +$5,000 pulled in (1), −$8,000 pushed out (1), −$7,000 won (2), "
        "−$19,000 lost (2), −$3,000 in amount changes (2 deals).")
    # Alpha's open deals: D1 12,000, D3 8,000, D9 6,000: the top quarter starts at
    # 8,000 + 0.5 x 4,000 = 10,000; the stale D3 and D9 are below it: no big stale deal.
    assert [movement.topic for movement in found] == ["waterfall", "pushed", "coverage"]
    assert found[2].subject == "Team Alpha"


def test_what_is_not_measured_is_skipped():
    dataset = dataset_from_frames(frames(history=False, activities=False, quotas=False))
    # No history: no waterfall; no activities: stale not measured; no quotas: no coverage.
    assert pipeline_review_findings(None, inspection.inspect_open_deals(dataset), None) == []


def test_a_finding_that_counts_deals_lists_them_or_says_how_many_more():
    """"6 big deals" names the 3 largest and says "and 3 more"."""
    import pandas as pd

    from salesnb.report.findings.pipeline import _largest

    deals = pd.DataFrame({"opportunity_id": [f"D{index}" for index in range(1, 7)],
                          "amount": [600.0, 500.0, 400.0, 300.0, 200.0, 100.0]})
    assert _largest(deals, "amount", lambda row: row.opportunity_id) == "D1; D2; D3; and 3 more"
    assert _largest(deals.head(3), "amount", lambda row: row.opportunity_id) == "D1; D2; D3"


def test_won_and_lost_before_the_period_began_are_said_to_be_outside_its_won_so_far(dataset):
    # Compared from 01 Feb with a period that starts 10 Feb: the deals won or lost in between
    # are bars of the waterfall, but not in the period's "won so far" beside it.
    later = Period(dt.date(2025, 2, 10), Q1.end)
    movement = waterfall.waterfall(dataset, later, start_date=COMPARE_FROM)
    sentence = pipeline_review_findings(movement, inspection.inspect_open_deals(dataset),
                                        coverage.coverage(dataset, later, "team"), currency="USD")[0].sentence
    assert movement.counts["won"] + movement.counts["lost"] > 0
    assert sentence.endswith("(won and lost count from 01 Feb 2025, before the period began, so they are not in its "
                             "won so far).")
