"""Lead metrics on a tiny hand-worked dataset (tests/lead_fixtures.py: every expected value
worked out in a comment there and here)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

import salesnb
from salesnb.data.periods import Period
from salesnb.metrics import leads
from salesnb import select
from salesnb.data.selection import SelectionError
from salesnb.errors import SalesnbError
from tests.lead_fixtures import Q1, by_key, frames_with_shared_deal, frames_without_responses, lead_frames


@pytest.fixture(scope="module")
def dataset():
    return salesnb.dataset_from_frames(lead_frames())


def test_as_of_is_latest_lead(dataset):
    assert dataset.as_of == dt.date(2025, 3, 15)


def test_previous_period_of_q1_is_q4():
    # Whole months: Q1 2025 -> the three calendar months before it, Oct-Dec 2024 (92 days,
    # not the 90 days of Q1, which would start on 2024-10-03).
    assert Q1.previous() == Period(dt.date(2024, 10, 1), dt.date(2024, 12, 31))


def test_lead_facts_skipped_steps_and_fallback_link(dataset):
    facts = leads.lead_facts(dataset).execute().set_index("lead_id")
    # L3 skipped MQL and SQL but converted: it passed both.
    assert facts.loc["L3", ["reached_mql", "reached_sql", "reached_opportunity"]].tolist() == [True, True, True]
    assert not facts.loc["L3", "reached_won"]  # O2 is lost
    # L6 names no deal, but O3 names L6 as its lead: that links them, and O3 is won.
    assert facts.loc["L6", "linked_opportunity_id"] == "O3"
    assert facts.loc["L6", "reached_won"] and facts.loc["L6", "reached_mql"]
    # L3's MQL lag is the time to the step it jumped to: conversion 5 days = 120 h later.
    assert facts.loc["L3", "hours_to_mql"] == pytest.approx(120.0)
    assert math.isnan(facts.loc["L4", "response_hours"])


def test_leads_by_month_keeps_empty_month(dataset):
    frame = leads.leads_by_month(dataset, Q1)
    # Jan: L1, L2, L3 = 3; Feb: none = 0; Mar: L4, L5 = 2.
    assert frame["month"].tolist() == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01"), pd.Timestamp("2025-03-01")]
    assert frame["leads"].tolist() == [3, 0, 2]


def test_leads_by_month_and_source_fills_every_month(dataset):
    frame = leads.leads_by_month(dataset, Q1, by="source")
    counts = {(row.month, row.source): row.leads for row in frame.itertuples()}
    # 3 months x 2 sources = 6 rows; Events: Jan 1 (L3), Feb 0, Mar 1 (L4); Web: Jan 2, Feb 0, Mar 1.
    assert len(frame) == 6
    assert counts[(pd.Timestamp("2025-02-01"), "Events")] == 0
    assert counts[(pd.Timestamp("2025-01-01"), "Web")] == 2
    assert counts[(pd.Timestamp("2025-03-01"), "Events")] == 1


def test_volume_against_previous_and_year_earlier(dataset):
    frame = by_key(leads.lead_volume_comparison(dataset, Q1, by="source"), "source")
    # Web: 3 now (L1, L2, L5), previous period 2 (L6, L7), a year earlier 0 -> +50%, no change defined.
    assert frame["Web"]["leads"] == 3 and frame["Web"]["leads_previous_period"] == 2
    assert frame["Web"]["change_vs_previous"] == pytest.approx(0.5)
    assert math.isnan(frame["Web"]["change_vs_year_earlier"])
    # Events: 2 now (L3, L4), 0 before, 1 a year earlier (L8) -> +100% vs a year earlier.
    assert frame["Events"]["leads_year_earlier"] == 1
    assert frame["Events"]["change_vs_year_earlier"] == pytest.approx(1.0)
    assert math.isnan(frame["Events"]["change_vs_previous"])


def test_months_against_the_same_months_a_year_earlier(dataset):
    # Q1 2025: Jan 3, Feb 0, Mar 2; Q1 2024: only L8 (10 Feb 2024) -> 0, 1, 0.
    frame = leads.leads_against_year_earlier(dataset, Q1)
    assert frame["leads"].tolist() == [3, 0, 2] and frame["leads_year_earlier"].tolist() == [0, 1, 0]


def test_lead_to_won_lag_over_every_won_lead(dataset):
    # Won leads in the data: L1 (5 Jan -> O1 closed 9 Feb = 35 days), L6 (10 Nov -> O3 closed 20 Dec = 40 days).
    row = leads.lead_to_won_lag(dataset).iloc[0]
    assert (row["won_leads"], row["median_days_to_won"]) == (2, 37.5)
    # Both belong to R1 (team East); West has none.
    assert by_key(leads.lead_to_won_lag(dataset, by="team"), "team")["East"]["won_leads"] == 2
    assert leads.lead_to_won_lag(dataset, where=select(team="West"))["won_leads"].tolist() == [0]


def test_volume_total(dataset):
    frame = leads.lead_volume_comparison(dataset, Q1, by=None)
    # 5 leads now, 2 in the previous period, 1 a year earlier.
    assert frame[["leads", "leads_previous_period", "leads_year_earlier"]].iloc[0].tolist() == [5, 2, 1]


def test_cohort_conversion_whole_period(dataset):
    row = leads.lead_conversion(dataset, Q1).iloc[0]
    # 5 leads; MQL: L1, L2, L3 (skipped) = 3; SQL: L1, L3 = 2; opportunity: L1, L3 = 2; won: L1 = 1.
    assert row["leads"] == 5
    assert (row["reached_mql"], row["reached_sql"], row["reached_opportunity"], row["won_leads"]) == (3, 2, 2, 1)
    assert row["mql_rate"] == pytest.approx(3 / 5)
    assert row["opportunity_rate"] == pytest.approx(2 / 5)
    assert row["won_rate"] == pytest.approx(1 / 5)
    # Hours to MQL: L1 24, L2 24, L3 120 -> median 24. Hours to SQL: L1 72, L3 120 -> 96.
    assert row["median_hours_to_mql"] == pytest.approx(24.0)
    assert row["median_hours_to_sql"] == pytest.approx(96.0)
    # Days to opportunity: L1 01-05 -> 01-10 = 5, L3 01-25 -> 01-30 = 5. Days to won: L1 01-05 -> 02-09 = 35.
    assert row["median_days_to_opportunity"] == pytest.approx(5.0)
    assert row["median_days_to_won"] == pytest.approx(35.0)
    assert row["won_amount_from_leads"] == pytest.approx(1000.0)


def test_immature_cohorts_marked_and_excluded(dataset):
    # as_of 2025-03-15, maturity 30 days -> cutoff 2025-02-13: January (ends 01-31) is mature,
    # February and March are not.
    assert leads.mature_through(dataset, 30) == dt.date(2025, 1, 1)
    by_month = by_key(leads.lead_conversion(dataset, Q1, by="month", maturity_days=30), "cohort_month")
    assert bool(by_month[pd.Timestamp("2025-01-01")]["mature"]) is True
    assert bool(by_month[pd.Timestamp("2025-03-01")]["mature"]) is False
    whole = leads.lead_conversion(dataset, Q1, maturity_days=30).iloc[0]
    assert whole["mature_leads"] == 3 and not whole["mature"]
    # Mature only: L1, L2, L3 -> opportunity 2 of 3.
    mature = leads.lead_conversion(dataset, Q1, maturity_days=30, mature_only=True).iloc[0]
    assert mature["leads"] == 3
    assert mature["opportunity_rate"] == pytest.approx(2 / 3)
    # With the default 90 days every Q1 month is immature: nothing is left to rank.
    assert leads.lead_conversion(dataset, Q1, mature_only=True)["leads"].tolist() == [0]


def test_conversion_by_source(dataset):
    frame = by_key(leads.lead_conversion(dataset, Q1, by="source"), "source")
    # Web: L1, L2, L5 -> MQL 2, opportunity 1, won 1 of 3. Events: L3, L4 -> MQL 1, opportunity 1, won 0 of 2.
    assert frame["Web"]["mql_rate"] == pytest.approx(2 / 3)
    assert frame["Web"]["won_rate"] == pytest.approx(1 / 3)
    assert frame["Events"]["opportunity_rate"] == pytest.approx(1 / 2)
    assert frame["Events"]["won_rate"] == 0


def test_response_speed_keeps_never_answered_in_denominator(dataset):
    row = leads.response_speed(dataset, Q1).iloc[0]
    # Answered: L1 0.5 h, L2 6 h, L3 48 h, L5 36 h; L4 never answered.
    assert (row["leads"], row["answered"], row["never_answered"]) == (5, 4, 1)
    # Median of 0.5, 6, 36, 48 = (6 + 36) / 2 = 21; p75 = 36 + 0.25 * (48 - 36) = 39.
    assert row["median_first_response_hours"] == pytest.approx(21.0)
    assert row["p75_first_response_hours"] == pytest.approx(39.0)
    # Within 24 h: L1, L2 = 2 of ALL 5 leads = 40% (not 2 of 4 answered = 50%).
    assert row["within_sla"] == 2
    assert row["share_within_sla"] == pytest.approx(0.4)
    assert row["share_never_answered"] == pytest.approx(0.2)


def test_response_speed_by_source_and_rep(dataset):
    by_source = by_key(leads.response_speed(dataset, Q1, by="source"), "source")
    # Events: L3 48 h (late), L4 never -> 0 of 2 within SLA.
    assert by_source["Events"]["share_within_sla"] == 0
    assert by_source["Web"]["share_within_sla"] == pytest.approx(2 / 3)
    by_rep = by_key(leads.response_speed(dataset, Q1, by="rep"), "rep_id")
    # R1: L1, L2 both within; unassigned: L5 36 h; names come from the reps table.
    assert by_rep["R1"]["rep_name"] == "Ann" and by_rep["R1"]["share_within_sla"] == 1.0
    assert by_rep[leads.UNASSIGNED]["share_within_sla"] == 0
    assert by_rep[leads.UNASSIGNED]["rep_name"] == leads.UNASSIGNED


def test_conversion_by_response_time(dataset):
    frame = by_key(leads.conversion_by_response_time(dataset, Q1), "response_bucket")
    # < 1 h: L1 (won); 4–24 h: L2; 1–3 d: L3 (48 h, opportunity) and L5 (36 h); never: L4; others empty.
    assert list(frame) == ["< 1 h", "1–4 h", "4–24 h", "1–3 d", "> 3 d", "never answered"]
    assert frame["< 1 h"]["won_rate"] == 1.0
    assert frame["1–4 h"]["leads"] == 0 and math.isnan(frame["1–4 h"]["opportunity_rate"])
    assert frame["1–3 d"]["leads"] == 2 and frame["1–3 d"]["opportunity_rate"] == pytest.approx(0.5)
    assert frame["never answered"]["leads"] == 1


def test_backlog_by_age_and_owner(dataset):
    by_age = by_key(leads.open_lead_backlog(dataset, by="age"), "age_bucket")
    # Open (New/Working): L4 age 5 d (never answered), L5 age 0 d, L7 created 2024-12-01 -> 104 d.
    assert by_age["0–7 d"]["open_leads"] == 2 and by_age["0–7 d"]["never_answered"] == 1
    assert by_age["8–30 d"]["open_leads"] == 0
    assert by_age["> 90 d"]["open_leads"] == 1
    by_rep = by_key(leads.open_lead_backlog(dataset, by="rep"), "rep_id")
    assert set(by_rep) == {"R1", "R2", leads.UNASSIGNED}
    assert by_rep["R1"]["> 90 d"] == 1 and by_rep["R1"]["median_lead_age_days"] == 104
    assert by_rep["R2"]["never_answered"] == 1


def test_leads_without_deal_link_leave_won_unknown():
    frames = lead_frames()
    frames["leads"] = frames["leads"].assign(opportunity_id="", mql_at="")
    frames["opportunities"] = frames["opportunities"].assign(lead_id="")
    dataset = salesnb.dataset_from_frames(frames)
    steps = leads.measured_steps(dataset)
    assert steps == {"mql": False, "sql": True, "opportunity": True, "won": False}
    row = leads.lead_conversion(dataset, Q1).iloc[0]
    # Won cannot be known without a link: NaN, never 0. Opportunity still from converted_at: L1, L3.
    assert math.isnan(row["won_rate"]) and math.isnan(row["mql_rate"])
    assert row["opportunity_rate"] == pytest.approx(2 / 5)
    assert len(leads.unmeasured_steps(dataset)) == 2


# ----------------------------------------------------------------------------- one deal, several leads


def test_deal_linked_from_two_leads_counts_once():
    dataset = salesnb.dataset_from_frames(frames_with_shared_deal())
    facts = leads.lead_facts(dataset).execute().set_index("lead_id")
    # Both leads reached won (a lead-level fact), but only L1 carries the deal's count and amount.
    assert facts.loc["L1", "reached_won"] and facts.loc["L3", "reached_won"]
    assert facts.loc["L1", "deal_credited"] and not facts.loc["L3", "deal_credited"]
    assert facts.loc["L1", "won_amount"] == 1000 and math.isnan(facts.loc["L3", "won_amount"])
    row = leads.lead_conversion(dataset, Q1).iloc[0]
    # Leads that reached won: L1, L3 = 2 of 5 = 40% (per lead). Distinct won deals: O1 = 1,
    # won amount 1000 (per lead it would be 1000 + 1000 = 2000).
    assert row["won_leads"] == 2 and row["won_rate"] == pytest.approx(2 / 5)
    assert row["won_deals_from_leads"] == 1
    assert row["won_amount_from_leads"] == pytest.approx(1000.0)
    by_source = by_key(leads.lead_conversion(dataset, Q1, by="source"), "source")
    # O1 goes to L1's source, Web; Events has a won lead (L3) but no won deal of its own.
    assert (by_source["Web"]["won_deals_from_leads"], by_source["Web"]["won_amount_from_leads"]) == (1, 1000)
    events = by_source["Events"]
    assert (events["won_leads"], events["won_deals_from_leads"], events["won_amount_from_leads"]) == (1, 0, 0)
    # A selection never moves the deal: Events' leads alone still have a won lead and no won deal.
    alone = leads.lead_conversion(dataset, Q1, where=select(source="Events")).iloc[0]
    assert (alone["won_leads"], alone["won_deals_from_leads"], alone["won_amount_from_leads"]) == (1, 0, 0)


def test_a_deal_linked_from_two_leads_created_at_the_same_moment_goes_to_the_lower_lead_id():
    """The credit's tie-break (created_at, then lead_id), and one row per lead: the credit is
    ranked among the linked leads only and joined back, so no lead may appear twice."""
    frames = frames_with_shared_deal()
    leads_frame = frames["leads"]
    leads_frame.loc[leads_frame["lead_id"] == "L3", "created_at"] = \
        leads_frame.loc[leads_frame["lead_id"] == "L1", "created_at"].iloc[0]
    facts = leads.lead_facts(salesnb.dataset_from_frames(frames)).execute()
    assert sorted(facts["lead_id"]) == sorted(leads_frame["lead_id"])  # 5 leads, 5 rows
    credited = facts.set_index("lead_id")["deal_credited"]
    assert credited["L1"] and not credited["L3"]  # same moment: "L1" < "L3"
    assert facts.loc[facts["linked_opportunity_id"] == "O1", "deal_credited"].sum() == 1


# ----------------------------------------------------------------------------- no first-response data


def test_response_speed_not_measured_without_first_response_data():
    dataset = salesnb.dataset_from_frames(frames_without_responses())
    assert not leads.response_time_measured(dataset)
    notice = leads.unmeasured_response_time(dataset)
    assert len(notice) == 1 and "first_response_at" in notice[0]
    row = leads.response_speed(dataset, Q1).iloc[0]
    # 5 leads, but nobody recorded any response: not "0 of 5 within SLA" and not "5 never answered".
    assert row["leads"] == 5
    for column in ("answered", "never_answered", "within_sla", "share_within_sla", "share_never_answered",
                   "median_first_response_hours", "p75_first_response_hours"):
        assert math.isnan(row[column]), column
    by_source = leads.response_speed(dataset, Q1, by="source")
    assert by_source["share_within_sla"].isna().all() and by_source["never_answered"].isna().all()
    # The backlog still counts open leads (L4, L5 in 0–7 d; L7 > 90 d) but not "never answered".
    by_age = by_key(leads.open_lead_backlog(dataset, by="age"), "age_bucket")
    assert by_age["0–7 d"]["open_leads"] == 2 and math.isnan(by_age["0–7 d"]["never_answered"])
    assert leads.open_lead_backlog(dataset, by="rep")["never_answered"].isna().all()
    # No lead can be put in a response bucket: every count is empty, not 5 in "never answered".
    buckets = leads.conversion_by_response_time(dataset, Q1)
    assert buckets["leads"].isna().all()


def test_response_speed_measured_when_some_values_exist(dataset):
    # The fixture has responses: measured, and L4 is a real "never answered".
    assert leads.response_time_measured(dataset) and leads.unmeasured_response_time(dataset) == []
    assert leads.open_lead_backlog(dataset, by="age")["never_answered"].sum() == 1


# ----------------------------------------------------------------------------- source ranking


def test_source_ranking_ranked_first_by_won_rate_then_small_sources():
    frames = lead_frames()
    # Two more January leads from Partner, each with its own won deal.
    partner = pd.DataFrame([
        ("L9", "2025-01-12 10:00:00", "Partner", "P", "R1", "Converted", "", "", "", "", "O5", ""),
        ("L10", "2025-01-13 10:00:00", "Partner", "P", "R1", "Converted", "", "", "", "", "O6", ""),
    ], columns=frames["leads"].columns)
    frames["leads"] = pd.concat([frames["leads"], partner], ignore_index=True)
    frames["opportunities"] = pd.concat([frames["opportunities"], pd.DataFrame([
        ("O5", "", "Partner", "2025-01-20", "2025-02-01", "Closed Won", "100", "R1", "Core", "A1"),
        ("O6", "", "Partner", "2025-01-21", "2025-02-02", "Closed Won", "100", "R1", "Core", "A1"),
    ], columns=frames["opportunities"].columns)], ignore_index=True)
    dataset = salesnb.dataset_from_frames(frames)
    # Maturity 30 days at as_of 2025-03-15: only January is mature. January leads:
    # Partner L9, L10 both won -> 2 of 2 = 100%; Web L1 won, L2 not -> 1 of 2 = 50%;
    # Events L3 only -> 1 lead < min_n 2 -> not ranked, listed last.
    # Alphabetical by source would give Events, Partner, Web; alphabetical by the ranking
    # label would put "not ranked (n < 2)" before "ranked".
    ranking = leads.source_quality_ranking(dataset, Q1, maturity_days=30, min_n=2)
    assert ranking["source"].tolist() == ["Partner", "Web", "Events"]
    assert ranking["ranking"].tolist() == ["ranked", "ranked", "not ranked (n < 2)"]
    assert ranking["rank"].tolist()[:2] == [1, 2] and pd.isna(ranking["rank"].iloc[2])
    assert ranking["won_rate"].tolist()[:2] == pytest.approx([1.0, 0.5])
    assert ranking["leads"].tolist() == [2, 2, 1]
    # Rank, source and ranking first; every lead here is mature, so no maturity columns.
    assert list(ranking.columns[:3]) == ["rank", "source", "ranking"] and "mature" not in ranking


# ----------------------------------------------------------------------------- selections


def test_a_team_is_the_lead_owners_team(dataset):
    # East = R1's leads. Q1: L1 (MQL, SQL, opportunity O1, won 1000) and L2 (MQL only).
    # Leads 2; MQL 2 of 2; SQL 1 of 2; opportunity 1 of 2; won 1 of 2; one won deal of 1000.
    row = leads.lead_conversion(dataset, Q1, where=select(team="East")).iloc[0]
    assert (row["leads"], row["reached_mql"], row["reached_sql"], row["reached_opportunity"], row["won_leads"]) == \
        (2, 2, 1, 1, 1)
    assert (row["mql_rate"], row["sql_rate"], row["won_rate"]) == pytest.approx((1.0, 0.5, 0.5))
    assert (row["won_deals_from_leads"], row["won_amount_from_leads"]) == (1, 1000)
    # Speed: L1 0.5 h, L2 6 h, both within 24 h: 2 of 2, median (0.5 + 6) / 2 = 3.25 h.
    speed = leads.response_speed(dataset, Q1, where=select(team="East")).iloc[0]
    assert (speed["leads"], speed["within_sla"], speed["never_answered"]) == (2, 2, 0)
    assert speed["median_first_response_hours"] == pytest.approx(3.25)
    # Volume: 2 now; previous period (Q4 2024) L6, L7 = 2; a year earlier L8 is R2's (West) = 0.
    volume = leads.lead_volume_comparison(dataset, Q1, where=select(team="East")).iloc[0]
    assert (volume["leads"], volume["leads_previous_period"], volume["leads_year_earlier"]) == (2, 2, 0)
    assert volume["change_vs_previous"] == 0
    # The unassigned L5 belongs to no team: East (2) + West (L3, L4 = 2) = 4 of the 5 leads.
    by_team = by_key(leads.lead_conversion(dataset, Q1, by="team"), "team")
    assert (by_team["East"]["leads"], by_team["West"]["leads"], by_team[leads.NO_TEAM]["leads"]) == (2, 2, 1)


def test_a_rep_by_name_and_the_backlog_of_a_selection(dataset):
    # "Ann" is R1: L1, L2 in Q1. Her open leads at 2025-03-15: L7 (Working, 104 days) only.
    assert leads.lead_conversion(dataset, Q1, where=select(rep="Ann"))["leads"].tolist() == [2]
    backlog = by_key(leads.open_lead_backlog(dataset, where=select(rep="Ann")), "age_bucket")
    assert [backlog[label]["open_leads"] for label in ("0–7 d", "8–30 d", "31–90 d", "> 90 d")] == [0, 0, 0, 1]
    by_team = by_key(leads.open_lead_backlog(dataset, by="team"), "team")
    # West: L4 (New, 5 days, never answered); East: L7; no team: L5 (Working, 0 days).
    assert (by_team["West"]["open_leads"], by_team["West"]["never_answered"], by_team["East"]["> 90 d"]) == (1, 1, 1)


def test_segment_and_region_come_from_the_leads_account(dataset):
    # SMB = account A1: L1 (won 1000) and L3 (opportunity, lost) -> 2 leads, opportunity 2 of 2, won 1 of 2.
    smb = leads.lead_conversion(dataset, Q1, where=select(segment="SMB")).iloc[0]
    assert (smb["leads"], smb["opportunity_rate"], smb["won_rate"]) == (2, 1.0, 0.5)
    # Enterprise = A2: L2 (MQL) and L5 -> MQL 1 of 2, no opportunity. L4 has no account: in no segment.
    enterprise = leads.lead_conversion(dataset, Q1, where=select(segment="Enterprise")).iloc[0]
    assert (enterprise["leads"], enterprise["mql_rate"], enterprise["opportunity_rate"]) == (2, 0.5, 0.0)
    # Region: the account's, else the owner's. North: L1, L3 (A1 North) and L4 (no account, owner R2 North).
    # South: L2 only (A2 records no region, owner R1 South); L1 is R1's too, but its account says North.
    # L5: A2 without region and no owner -> no region.
    north = leads.lead_conversion(dataset, Q1, where=select(region="North")).iloc[0]
    south = leads.lead_conversion(dataset, Q1, where=select(region="South")).iloc[0]
    assert (north["leads"], south["leads"]) == (3, 1)
    assert by_key(leads.lead_conversion(dataset, Q1, by="region"), "region")[leads.NO_REGION]["leads"] == 1


def test_product_is_the_product_of_the_deal_the_lead_converted_to(dataset):
    # Core: L1 (O1) in Q1; L6 (O3, linked by opportunities.lead_id) is Core too, in Q4 2024.
    # Addon: L3 (O2, lost). Leads without a deal have no product.
    assert leads.lead_conversion(dataset, Q1, where=select(product="Core"))["leads"].tolist() == [1]
    assert leads.lead_volume_comparison(dataset, Q1, where=select(product="Core"))["leads_previous_period"].tolist() == [1]
    addon = leads.lead_conversion(dataset, Q1, where=select(product="Addon")).iloc[0]
    assert (addon["leads"], addon["reached_opportunity"], addon["won_leads"]) == (1, 1, 0)
    by_product = by_key(leads.lead_conversion(dataset, Q1, by="product"), "product")
    assert by_product[leads.NO_PRODUCT]["leads"] == 3  # L2, L4, L5


def test_a_source_and_a_team_together(dataset):
    # West and Events: L3, L4; both leads and the month view agree (Jan 1, Feb 0, Mar 1).
    where = select(team="West", source="Events")
    assert leads.leads_by_month(dataset, Q1, where=where)["leads"].tolist() == [1, 0, 1]
    buckets = by_key(leads.conversion_by_response_time(dataset, Q1, where=where), "response_bucket")
    assert (buckets["1–3 d"]["leads"], buckets["never answered"]["leads"], buckets["< 1 h"]["leads"]) == (1, 1, 0)
    # West and Web: no lead at all, every period: an empty cohort, not an error.
    assert leads.lead_conversion(dataset, Q1, where=select(team="West", source="Web"))["leads"].tolist() == [0]
    assert not leads.any_leads(dataset, select(team="West", source="Web")) and leads.any_leads(dataset, where)
    assert "No lead belongs to team West · source Web" in leads.unmeasured(dataset, select(team="West", source="Web"))[0]


def test_selection_values_and_groupings_are_checked(dataset):
    with pytest.raises(SelectionError, match="team = 'Eats' matches no data. Did you mean 'East'"):
        leads.lead_conversion(dataset, Q1, where=select(team="Eats"))
    with pytest.raises(SalesnbError, match="by must be one or more of"):
        leads.lead_conversion(dataset, Q1, by="colour")


def test_the_keywords_of_the_last_release_become_a_selection(dataset):
    with pytest.warns(DeprecationWarning, match="where=salesnb.select"):
        row = leads.lead_conversion(dataset, Q1, team="East").iloc[0]
    assert row["leads"] == 2
    # Any period form: "2025Q1" is Q1.
    assert leads.lead_conversion(dataset, "2025Q1", where={"team": "East"})["leads"].tolist() == [2]
