"""Marketing cost and source attribution on the hand-worked fixture of ``test_leads``.

Q1 2025 spend: Web 300 (Jan) + 300 (Feb) = 600; Events 0 (Jan, a zero-spend row);
Social 150 (Mar) with no lead; Web 999 in Dec 2024 lies outside the period. Total 750.
Q1 leads: Web L1 (opportunity O1, won 1000), L2, L5; Events L3 (opportunity O2, lost), L4.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import salesnb
from salesnb import select
from salesnb.data.selection import SelectionError
from salesnb.errors import SalesnbError
from salesnb.metrics import marketing
from tests.lead_fixtures import Q1, by_key, frames_with_shared_deal, lead_frames


@pytest.fixture(scope="module")
def dataset():
    return salesnb.dataset_from_frames(lead_frames())


def test_cost_by_source(dataset):
    frame = by_key(marketing.marketing_costs(dataset, Q1, by="source"), "source")
    web = frame["Web"]
    # 600 / 3 leads = 200; 600 / 1 opportunity = 600; 600 / 1 won = 600; 1000 won / 600 spend = 1.667.
    assert web["spend"] == 600 and web["leads"] == 3
    assert web["cost_per_lead"] == pytest.approx(200.0)
    assert web["cost_per_opportunity"] == pytest.approx(600.0)
    assert web["cost_per_won_deal"] == pytest.approx(600.0)
    assert web["won_amount_per_spend"] == pytest.approx(1000 / 600)
    assert web["spend_note"] == ""


def test_zero_spend_source_gives_nan_not_infinity(dataset):
    events = by_key(marketing.marketing_costs(dataset, Q1, by="source"), "source")["Events"]
    # Spend 0 over 2 leads: no cost per lead (not 0), no won value per spend (not inf).
    assert events["spend"] == 0 and events["leads"] == 2
    for column in ("cost_per_lead", "cost_per_opportunity", "cost_per_won_deal", "won_amount_per_spend"):
        assert math.isnan(events[column]), column
    assert events["spend_note"] == marketing.NO_SPEND


def test_spend_without_leads_is_listed(dataset):
    social = by_key(marketing.marketing_costs(dataset, Q1, by="source"), "source")["Social"]
    # 150 spent, 0 leads: no cost per lead can be given; the note says why.
    assert social["spend"] == 150 and social["leads"] == 0
    assert math.isnan(social["cost_per_lead"])
    assert social["spend_note"] == marketing.SPEND_NO_LEADS


def test_cost_by_month(dataset):
    frame = by_key(marketing.marketing_costs(dataset, Q1, by="month"), "month")
    # Jan: 300 + 0 = 300 over 3 leads = 100; Feb: 300, no leads -> NaN; Mar: 150 over 2 leads = 75.
    assert frame[pd.Timestamp("2025-01-01")]["cost_per_lead"] == pytest.approx(100.0)
    assert math.isnan(frame[pd.Timestamp("2025-02-01")]["cost_per_lead"])
    assert frame[pd.Timestamp("2025-03-01")]["cost_per_lead"] == pytest.approx(75.0)
    assert len(frame) == 3


def test_total_costs_are_blended(dataset):
    totals = marketing.total_costs(dataset, Q1)
    # 750 spend over all 5 leads = 150; over the 1 won deal (L1) = 750.
    assert totals["spend"] == pytest.approx(750.0)
    assert totals["cost_per_lead"] == pytest.approx(150.0)
    assert totals["cost_per_won_deal"] == pytest.approx(750.0)


def test_pipeline_by_lead_source(dataset):
    frame = by_key(marketing.pipeline_by_source(dataset, Q1), "source")
    # Created in Q1: O1 1000 (lead L1, Web), O2 400 (lead L3, Events: the lead's source, not the deal's own
    # Outbound), O4 500 (no lead, its own source Outbound). Total 1900. Won in Q1 (close date): O1 1000 only (O3 closed in Dec 2024).
    assert frame["Web"]["share_of_pipeline_created"] == pytest.approx(1000 / 1900)
    assert frame["Outbound"]["pipeline_created"] == 500
    assert frame["Events"]["share_of_opportunities_created"] == pytest.approx(1 / 3)
    assert frame["Web"]["share_of_won_amount"] == pytest.approx(1.0)
    assert frame["Events"]["won_amount"] == 0


def test_pipeline_by_source_month_fills_months(dataset):
    frame = marketing.pipeline_by_source_month(dataset, Q1)
    cells = {(row.month, row.source): row.pipeline_created for row in frame.itertuples()}
    # 3 months x 3 sources; Web only in January (1000), Outbound only in February (500).
    assert len(frame) == 9
    assert cells[(pd.Timestamp("2025-01-01"), "Web")] == 1000
    assert cells[(pd.Timestamp("2025-03-01"), "Web")] == 0
    assert cells[(pd.Timestamp("2025-02-01"), "Outbound")] == 500


def test_costs_need_spend_table():
    frames = lead_frames()
    del frames["marketing_spend"]
    dataset = salesnb.dataset_from_frames(frames)
    with pytest.raises(salesnb.errors.MissingTableError, match="marketing_spend"):
        marketing.marketing_costs(dataset, Q1)
    # Pipeline by source still works without spend.
    assert marketing.pipeline_by_source(dataset, Q1)["pipeline_created"].sum() == 1900


def test_won_deal_linked_from_two_leads_counts_once_in_costs():
    # L3 (Events, 2025-01-25) and L1 (Web, 2025-01-05) both link O1 (won, 1000); the deal is
    # credited to the earlier lead, L1, exactly as deals_with_lead_source gives O1 Web's source.
    dataset = salesnb.dataset_from_frames(frames_with_shared_deal())
    totals = marketing.total_costs(dataset, Q1)
    # One won deal, not two: 750 / 1 = 750 (per lead it was 750 / 2 = 375).
    assert totals["won_deals_from_leads"] == 1
    assert totals["cost_per_won_deal"] == pytest.approx(750.0)
    frame = by_key(marketing.marketing_costs(dataset, Q1, by="source"), "source")
    # Web: O1 once, 1000; Events: L3's only deal is O1, credited to Web -> 0 opportunities, 0 won.
    columns = ["opportunities_from_leads", "won_deals_from_leads", "won_amount_from_leads"]
    assert frame["Web"][columns].tolist() == [1, 1, 1000]
    assert frame["Events"][columns].tolist() == [0, 0, 0]
    assert frame["Web"]["cost_per_won_deal"] == pytest.approx(600.0)
    # The same lead gives the deal its source in the pipeline view: O1's 1000 is Web's.
    deals = marketing.deals_with_lead_source(dataset).execute().set_index("opportunity_id")
    assert deals.loc["O1", "source"] == "Web"
    assert by_key(marketing.pipeline_by_source(dataset, Q1), "source")["Web"]["won_amount"] == 1000


# ----------------------------------------------------------------------------- selections


def test_a_source_selects_the_leads_and_the_spend(dataset):
    # Web: spend 300 (Jan) + 300 (Feb) = 600 (the Dec 2024 999 is outside Q1); leads L1, L2, L5 = 3;
    # one opportunity and one won deal (O1, 1000): 200 per lead, 600 per won deal.
    web = marketing.marketing_costs(dataset, Q1, where=select(source="Web"))
    assert web["source"].tolist() == ["Web"]
    assert (web.iloc[0]["spend"], web.iloc[0]["cost_per_lead"], web.iloc[0]["cost_per_won_deal"]) == (600, 200, 600)
    totals = marketing.total_costs(dataset, Q1, where=select(source="Web"))
    assert (totals["spend"], totals["leads"], totals["cost_per_won_deal"]) == (600, 3, 600)
    # By month: Jan 300 over L1, L2 = 150; Feb 300 and no Web lead; Mar L5 and no Web spend.
    months = marketing.marketing_costs(dataset, Q1, by="month", where=select(source="Web"))
    assert months["cost_per_lead"].tolist()[0] == 150
    assert months["spend_note"].tolist() == ["", marketing.SPEND_NO_LEADS, marketing.NO_SPEND]
    # Social spent 150 in March and brought no lead: a selection of it still shows the spend.
    social = marketing.marketing_costs(dataset, Q1, where=select(source="Social")).iloc[0]
    assert (social["spend"], social["leads"], social["spend_note"]) == (150, 0, marketing.SPEND_NO_LEADS)


def test_a_team_cannot_split_spend_so_costs_are_not_measured(dataset):
    # Team East = R1's leads: L1, L2 (Web). Spend rows have no owner: spend and every cost NaN
    # (not 0, not Web's 600), while the leads, opportunity (O1) and won deal are the team's.
    east = marketing.marketing_costs(dataset, Q1, where=select(team="East"))
    assert east["source"].tolist() == ["Web"]  # Social's spend-only row cannot be the team's either
    row = east.iloc[0]
    assert (row["leads"], row["opportunities_from_leads"], row["won_deals_from_leads"]) == (2, 1, 1)
    for column in ("spend", "cost_per_lead", "cost_per_opportunity", "cost_per_won_deal", "won_amount_per_spend"):
        assert math.isnan(row[column]), column
    assert row["spend_note"] == "spend not split by team"
    totals = marketing.total_costs(dataset, Q1, where=select(team="East"))
    assert math.isnan(totals["spend"]) and math.isnan(totals["cost_per_lead"]) and totals["leads"] == 2
    # The reason, for the page; none for a source, and none where there is nothing to cost.
    assert "cannot be split by team" in marketing.unmeasured_costs(dataset, select(team="East"))[0]
    assert marketing.unmeasured_costs(dataset, select(source="Web")) == []
    assert marketing.unmeasured_costs(dataset, select(team="West", source="Web")) == []  # no lead at all
    # The building block refuses it outright, naming what spend lacks.
    with pytest.raises(SelectionError, match="Marketing spend cannot be selected by team"):
        marketing.spend_in(dataset, Q1, select(team="East")).execute()
    with pytest.raises(SalesnbError, match="recorded by month, source and campaign"):
        marketing.marketing_costs(dataset, Q1, by="team")


def test_one_row_for_everything(dataset):
    # by=None: all Q1 spend 750 over all 5 leads = 150, the blended figure of total_costs.
    row = marketing.marketing_costs(dataset, Q1, by=None).iloc[0]
    assert (row["spend"], row["leads"], row["cost_per_lead"]) == (750, 5, 150)


def test_pipeline_of_a_selection(dataset):
    # Team West = R2's deals: O2 (lead L3 Events, 400, lost) and O4 (no lead, Outbound, 500, open).
    west = by_key(marketing.pipeline_by_source(dataset, Q1, where=select(team="West")), "source")
    assert set(west) == {"Events", "Outbound"}
    assert west["Events"]["share_of_pipeline_created"] == pytest.approx(400 / 900)
    assert west["Outbound"]["won_deals"] == 0
    # A source means the view's source, the lead's: Events holds O2 although the deal itself says Outbound.
    events = marketing.pipeline_by_source(dataset, Q1, where=select(source="Events"))
    assert (events["source"].tolist(), events["pipeline_created"].tolist()) == (["Events"], [400])
    outbound = marketing.pipeline_by_source(dataset, Q1, where=select(source="Outbound"))
    assert outbound["pipeline_created"].tolist() == [500]  # O4 only
    # Product Core: O1 (Web, won 1000 in Q1) and O4 (Outbound); O3 was created and won in 2024.
    core = by_key(marketing.pipeline_by_source(dataset, Q1, where=select(product="Core")), "source")
    assert (core["Web"]["won_amount"], core["Outbound"]["pipeline_created"]) == (1000, 500)
    # Segment SMB: the deals of account A1 created in Q1, O1 (Web, January, 1000) and O2 (Events, January,
    # 400); O4 is A2's (Enterprise). Every month appears for both sources: 3 x 2 rows.
    months = marketing.pipeline_by_source_month(dataset, Q1, where=select(segment="SMB"))
    cells = {(row.month.month, row.source): row.pipeline_created for row in months.itertuples()}
    assert len(months) == 6 and cells[(1, "Web")] == 1000 and cells[(1, "Events")] == 400
    assert cells[(2, "Web")] == 0
