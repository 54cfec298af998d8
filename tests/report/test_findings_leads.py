"""The lead generation findings ("what moved most"), composed from the views the notebook
computes: on datasets built so that every number is known by hand, and on small frames.

Every expected sentence and threshold decision is worked out in the comments.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

import salesnb
from salesnb import select
from salesnb.data.periods import Period
from salesnb.metrics import leads, marketing
from salesnb.report.findings.leads import lead_generation_findings

# Current period 2025-04-01..2025-06-30; the previous one is 2025-01-01..2025-03-31.
CURRENT = Period(dt.date(2025, 4, 1), dt.date(2025, 6, 30))


def _views(dataset, period, *, maturity_days: int = leads.DEFAULT_MATURITY_DAYS, where=None, min_n: int = 30):
    """The findings of ``period`` from the views, computed as 01_lead_generation computes them."""
    both = (period, period.previous())
    options = dict(where=where, maturity_days=maturity_days)
    speed, by_source, by_rep = ([leads.response_speed(dataset, window, by=by, where=where) for window in both]
                                for by in (None, "source", "rep"))
    costs = marketing.marketing_costs(dataset, period, by="campaign", where=where) \
        if dataset.has("marketing_spend") else None
    return lead_generation_findings(
        mature=[leads.lead_conversion(dataset, window, mature_only=True, **options) for window in both],
        mature_by_source=[leads.source_quality_ranking(dataset, window, **options) for window in both],
        speed=speed, speed_by_source=by_source, speed_by_rep=by_rep,
        volume_by_source=leads.lead_volume_comparison(dataset, period, by="source", where=where),
        campaign_costs=costs, sla_hours=dataset.playbook.lead_response_sla_hours, where=where, min_n=min_n)


def _leads(prefix: str, day: str, source: str, count: int, converted: int) -> pd.DataFrame:
    created = pd.Timestamp(day) + pd.to_timedelta(range(count), unit="min")
    return pd.DataFrame({
        "lead_id": [f"{prefix}{i}" for i in range(count)],
        "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
        "source": source,
        "first_response_at": (created + pd.Timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        "converted_at": [(pd.Timestamp(day) + pd.Timedelta(days=3)).strftime("%Y-%m-%d") if i < converted else ""
                         for i in range(count)],
    })


def _dataset(webinar_converted_now: int):
    leads = pd.concat([
        _leads("WB", "2025-02-10", "Webinar", 100, 40), _leads("AB", "2025-02-10", "Ads", 100, 20),
        _leads("WN", "2025-05-10", "Webinar", 100, webinar_converted_now), _leads("AN", "2025-05-10", "Ads", 100, 20),
    ], ignore_index=True)
    # A lead on the period's last day fixes as_of = 2025-06-30 (so maturity 0 days matures June).
    last = _leads("Z", "2025-06-30", "Ads", 1, 0)
    opportunities = pd.DataFrame({"opportunity_id": ["O1"], "created_at": ["2025-01-05"], "close_date": ["2025-09-30"],
                                  "stage": ["Proposal"], "amount": ["100"]})
    return salesnb.dataset_from_frames({"leads": pd.concat([leads, last]), "opportunities": opportunities})


def test_lead_generation_finds_conversion_drop():
    dataset = _dataset(webinar_converted_now=10)
    moved = _views(dataset, CURRENT, maturity_days=0)
    # Webinar: 40 of 100 -> 10 of 100, pooled .25, se = sqrt(.25*.75*.02) = .0612, z = -4.90.
    # All leads: 60 of 200 -> 30 of 201 (+ the last-day lead): change -15.1 points, z = -3.6.
    # Speed: every lead answered in 1 h in both periods -> no change. Volume 200 -> 201 -> no change.
    assert [m.subject for m in moved] == ["Source Webinar", "All leads"]
    assert moved[0].sentence == ("Source Webinar: lead-to-opportunity conversion (mature cohorts) fell from 40.0% "
                                 "(40 of 100) in the previous period to 10.0% (10 of 100), -30.0 points.")
    assert "(30 of 201)" in moved[1].sentence


def test_lead_generation_empty_when_nothing_moved():
    assert _views(_dataset(webinar_converted_now=40), CURRENT, maturity_days=0) == []


def test_lead_generation_ignores_immature_cohorts():
    # With the default 90 days, no month of the current period is mature at 2025-06-30: no conversion finding.
    moved = _views(_dataset(webinar_converted_now=10), CURRENT)
    assert [m for m in moved if m.topic == "conversion"] == []


def _rep_speed_dataset(teams: bool = False):
    """Reps R1 and R2 are both called "Ann", R3 is "Cy"; every lead is Web, answered 1 h
    (within the 24 h SLA) or 48 h (late) after creation, 100 leads per rep and period.
    Previous period (Feb 2025): R1 all within, R2 and R3 all late. Current period (May 2025):
    R1 and R2 all late, R3 all within. With ``teams``: R1 and R2 in team North, R3 in South."""
    def block(prefix, day, rep, hours):
        frame = _leads(prefix, day, "Web", 100, 0).assign(rep_id=rep)
        created = pd.to_datetime(frame["created_at"])
        return frame.assign(first_response_at=(created + pd.Timedelta(hours=hours)).dt.strftime("%Y-%m-%d %H:%M:%S"))
    leads = pd.concat([block("A", "2025-02-10", "R1", 1), block("B", "2025-02-10", "R2", 48),
                       block("C", "2025-02-10", "R3", 48), block("D", "2025-05-10", "R1", 48),
                       block("E", "2025-05-10", "R2", 48), block("F", "2025-05-10", "R3", 1)], ignore_index=True)
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "rep_name": ["Ann", "Ann", "Cy"]})
    if teams:
        reps["team"] = ["North", "North", "South"]
    return salesnb.dataset_from_frames({"leads": leads, "reps": reps})


def test_lead_generation_matches_reps_by_id_not_name():
    moved = _views(_rep_speed_dataset(), CURRENT, maturity_days=0)
    # Overall and Web: 100 of 300 within SLA in both periods -> no change. Volume 300 -> 300 -> none.
    # R1: 100% -> 0%, R3: 0% -> 100%; pooled .5, se = sqrt(.5*.5*.02) = .0707, |z| = 14.1 each; R2: 0% -> 0%.
    # Keyed on rep_name, "Ann" now (R1, R2) would be paired with "Ann" before (R1, R2): R2 now
    # (0%) against R1 before (100%) is a false third finding. Keyed on rep_id each rep is
    # compared with itself, shown with its id because the name "Ann" is shared.
    assert sorted(m.sentence for m in moved) == [
        "Rep Ann (R1): share of leads answered within the 24 h SLA fell from 100.0% (100 of 100) in the "
        "previous period to 0.0% (0 of 100), -100.0 points.",
        "Rep Cy: share of leads answered within the 24 h SLA rose from 0.0% (0 of 100) in the "
        "previous period to 100.0% (100 of 100), +100.0 points.",
    ]


def test_a_selection_names_its_own_overall_row():
    """Team North = R1 and R2 (both "Ann"), team South = R3. Previous period: R1 100 of 100
    within the SLA, R2 0 of 100; current: both 0 of 100. Every lead is Web."""
    dataset = _rep_speed_dataset(teams=True)
    moved = _views(dataset, CURRENT, maturity_days=0, where=select(team="North"))
    # Overall (the team) and Web: 100 of 200 -> 0 of 200, pooled .25, se = sqrt(.25*.75*.01) = .0433,
    # z = -11.5 each; R1 100% -> 0%, pooled .5, se = .0707, z = -14.1, shown with its id (two Anns);
    # R2 0% -> 0%: no change. R3 (team South) is not in the selection. Equal strengths: by subject.
    assert [m.subject for m in moved] == ["Rep Ann (R1)", "Leads of team North", "Source Web"]
    assert moved[1].sentence == ("Leads of team North: share of leads answered within the 24 h SLA fell from 50.0% "
                                 "(100 of 200) in the previous period to 0.0% (0 of 200), -50.0 points.")


def _frames(columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    empty = pd.DataFrame({column: pd.Series(dtype="object" if column in ("source", "rep_id", "rep_name") else "int64")
                          for column in columns})
    return empty, empty


def _cost_findings(costs: pd.DataFrame):
    """Only the cost topic: every other view is empty."""
    return lead_generation_findings(
        mature=_frames(["leads", "reached_opportunity"]),
        mature_by_source=_frames(["source", "leads", "reached_opportunity"]),
        speed=_frames(["leads", "within_sla"]), speed_by_source=_frames(["source", "leads", "within_sla"]),
        speed_by_rep=_frames(["rep_id", "rep_name", "leads", "within_sla"]),
        volume_by_source=pd.DataFrame({"source": pd.Series(dtype="object"), "leads": pd.Series(dtype="int64"),
                                       "leads_previous_period": pd.Series(dtype="int64")}),
        campaign_costs=costs, sla_hours=24)


COSTS = pd.DataFrame([
    # source, campaign, spend, leads, cost per lead
    ("Search", "Brand", 3000.0, 100, 30.0), ("Search", "Generic", 4000.0, 100, 40.0),
    ("Webinar", "Webinar", 2500.0, 50, 50.0), ("Events", "Expo", 10000.0, 50, 200.0),
    ("Social", "Ghost", 500.0, 0, float("nan")), ("Search", "Tiny", 1000.0, 5, 200.0),
], columns=["source", "campaign", "spend", "leads", "cost_per_lead"])


def test_campaigns_that_spent_without_leads_or_cost_far_more_per_lead():
    moved = _cost_findings(COSTS)
    # Ghost spent 500 and brought no lead: always listed, first. Compared (>= 30 leads): Brand 30,
    # Generic 40, Webinar 50, Expo 200 -> median 45; Expo 200 / 45 = 4.4x; Brand 30 / 45 is within 2x;
    # Tiny (200 on 5 leads) is too small to compare.
    assert [m.sentence for m in moved] == [
        "Campaign Ghost (Social): $500 spent in the period and no lead created.",
        "Campaign Expo (Events): cost per lead $200 on 50 leads is 4.4x the median of the 4 compared ($45).",
    ]


def test_no_cost_finding_where_the_selection_cannot_split_spend():
    # A team's campaign costs: spend and cost per lead not measured (NaN): nothing to compare, no "no lead".
    assert _cost_findings(COSTS.assign(spend=float("nan"), cost_per_lead=float("nan"))) == []
