"""Findings: the generic blocks on small frames, and the lead generation list on a built dataset.

Every expected sentence and threshold decision is worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import salesnb
from salesnb.data.periods import Period
from salesnb import dataset_from_frames
from salesnb.metrics import findings


def test_rate_changes_keeps_large_significant_moves_only():
    before = pd.DataFrame({"source": ["A", "B", "C", "D", "E"], "won": [40, 10, 50, 100, 12],
                           "leads": [200, 20, 200, 1000, 40]})
    now = pd.DataFrame({"source": ["A", "B", "C", "D", "E"], "won": [20, 2, 45, 160, 8],
                        "leads": [200, 20, 200, 1000, 40]})
    moved = findings.rate_changes(now, before, key="source", successes="won", trials="leads", what="win rate",
                                  topic="conversion", subject_prefix="Source ")
    # A: 20% -> 10%, pooled 0.15, se = sqrt(.15*.85*(1/200+1/200)) = 0.0357, z = -2.80 -> kept.
    # B: 50% -> 10% but n = 20 < 30 -> left out. C: -2.5 points < 5 -> left out.
    # D: 10% -> 16%, pooled 0.13, se = sqrt(.13*.87*.002) = 0.01504, z = 3.99 -> kept, strongest.
    # E: 30% -> 20%, pooled 0.25, se = sqrt(.25*.75*.05) = 0.0968, z = -1.03 -> noise, left out.
    assert [m.subject for m in moved] == ["Source D", "Source A"]
    assert moved[0].strength == pytest.approx(0.06 / (0.13 * 0.87 * 0.002) ** 0.5)
    assert moved[1].sentence == ("Source A: win rate fell from 20.0% (40 of 200) in the previous period to "
                                 "10.0% (20 of 200), -10.0 points.")
    assert moved[1].n == 200


def test_rate_changes_empty_when_nothing_moved():
    frame = pd.DataFrame({"source": ["A"], "won": [40], "leads": [200]})
    assert findings.rate_changes(frame, frame, key="source", successes="won", trials="leads", what="x",
                                 topic="t") == []


def test_count_changes_need_min_n_in_both_periods():
    before = pd.DataFrame({"source": ["A", "C", "D", "E"], "leads": [200, 10, 100, 20]})
    now = pd.DataFrame({"source": ["A", "B", "C", "D", "E"], "leads": [130, 40, 25, 115, 60]})
    moved = findings.count_changes(now, before, key="source", count="leads", what="leads created", topic="volume")
    # A: 200 -> 130 = -35%, z = -70 / sqrt(330) = -3.85, both periods >= 30 -> kept.
    # B: new, 0 -> 40: the previous period has 0 < 30 -> left out (docs: at least 30 in BOTH periods).
    # C: 10 -> 25, both < 30 -> left out. D: +15% < 25% -> left out.
    # E: 20 -> 60 = +200%, z = 40 / sqrt(80) = 4.47, but 20 < 30 before -> left out (the old
    # "larger of the two counts" rule kept it, as 60 >= 30).
    assert [m.subject for m in moved] == ["A"]
    assert moved[0].sentence == "A: leads created fell 35% from 200 to 130 against the previous period of the same length."
    # With min_n = 0 a new group is reported: B z = 40 / sqrt(40) = 6.32 > E 4.47 > A 3.85 (C: +150%,
    # z = 15 / sqrt(35) = 2.54 also kept; only 3 per topic, so C is cut).
    everything = findings.count_changes(now, before, key="source", count="leads", what="leads created",
                                        topic="volume", min_n=0)
    assert [m.subject for m in everything] == ["B", "E", "A"]
    assert everything[0].sentence.startswith("B: leads created rose from none to 40")


def test_count_changes_per_unit_of_exposure():
    # Activities per rep-week. A: 100 in 10 weeks (10.0) -> 240 in 12 weeks (20.0): +100%;
    # N = 340, p = 12 / 22 = 0.5455, z = (240 - 185.45) / sqrt(340 * .5455 * .4545) = 54.55 / 9.182 = 5.94.
    # B: 300 in 10 weeks -> 150 in 5 weeks: the same 30.0 a week, although the count halved: not a move.
    # C: 40 in 4 weeks -> 60 in 4 weeks: +50%, equal weeks so z = 20 / sqrt(100) = 2.0 -> kept (>= 2).
    before = pd.DataFrame({"rep": ["A", "B", "C"], "activities": [100, 300, 40], "weeks": [10.0, 10.0, 4.0]})
    now = pd.DataFrame({"rep": ["A", "B", "C"], "activities": [240, 150, 60], "weeks": [12.0, 5.0, 4.0]})
    moved = findings.count_changes(now, before, key="rep", count="activities", exposure="weeks", unit="rep-week",
                                   what="activities per rep-week", topic="activity")
    assert [m.subject for m in moved] == ["A", "C"]
    assert moved[0].strength == pytest.approx((240 - 340 * 12 / 22) / (340 * 12 / 22 * 10 / 22) ** 0.5)
    assert moved[1].strength == pytest.approx(2.0)
    assert moved[0].sentence == ("A: activities per rep-week rose 100% from 10.0 to 20.0 against the previous period "
                                 "of the same length (240 in 12 rep-weeks; before, 100 in 10).")


def test_rate_changes_match_groups_by_key_and_show_label():
    # Two reps share the name "Ann". R1: 90 of 100 -> 50 of 100; R2: 50 of 100 in both periods.
    # Matched by id: only R1 moved, -40 points, pooled .7, se = sqrt(.7*.3*.02) = .0648, z = -6.17.
    # Matched by name, "Ann" pairs with "Ann" 4 times and R2 now (50%) against R1 before (90%)
    # would be a second, false "fell 40 points".
    before = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["Ann", "Ann"], "within_sla": [90, 50],
                           "leads": [100, 100]})
    now = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["Ann", "Ann"], "within_sla": [50, 50],
                        "leads": [100, 100]})
    moved = findings.rate_changes(now, before, key="rep_id", label="rep_name", successes="within_sla",
                                  trials="leads", what="SLA share", topic="speed", subject_prefix="Rep ")
    assert [m.sentence for m in moved] == [
        "Rep Ann: SLA share fell from 90.0% (90 of 100) in the previous period to 50.0% (50 of 100), -40.0 points."]
    assert moved[0].strength == pytest.approx(0.4 / (0.7 * 0.3 * 0.02) ** 0.5)


def test_value_outliers_high_and_low():
    frame = pd.DataFrame({"campaign": ["X", "Y", "Z", "W", "V", "U"],
                          "cost_per_lead": [100.0, 120.0, 90.0, 300.0, 1000.0, 40.0],
                          "leads": [50, 40, 60, 35, 5, 45]})
    moved = findings.value_outliers(frame, key="campaign", value="cost_per_lead", n="leads", what="cost per lead",
                                    topic="cost", n_label="leads", subject_prefix="Campaign ",
                                    format_value=lambda value: f"${value:,.0f}")
    # V has 5 leads -> not compared. Compared: 40, 90, 100, 120, 300 -> median 100.
    # W = 3.0x the median; U = 100 / 40 = 2.5x lower; X, Y, Z within 2x.
    assert [m.subject for m in moved] == ["Campaign W", "Campaign U"]
    assert moved[0].sentence == "Campaign W: cost per lead $300 on 35 leads is 3.0x the median of the 5 compared ($100)."
    assert "2.5x lower than the median" in moved[1].sentence


def test_value_outliers_need_enough_peers():
    frame = pd.DataFrame({"campaign": ["X", "W"], "cost_per_lead": [100.0, 900.0], "leads": [50, 50]})
    assert findings.value_outliers(frame, key="campaign", value="cost_per_lead", n="leads", what="cost per lead",
                                   topic="cost", format_value=str) == []


# ----------------------------------------------------------------------------- lead generation list

# Current period 2025-04-01..2025-06-30 (three whole months); Period.previous() goes back
# three calendar months: 2025-01-01..2025-03-31 (not 91 days, which would start 2024-12-31).
CURRENT = Period(dt.date(2025, 4, 1), dt.date(2025, 6, 30))


def test_previous_period_is_whole_months_back():
    assert CURRENT.previous() == Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))


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
    moved = findings.lead_generation_findings(dataset, CURRENT, maturity_days=0)
    # Webinar: 40 of 100 -> 10 of 100, pooled .25, se = sqrt(.25*.75*.02) = .0612, z = -4.90.
    # All leads: 60 of 200 -> 30 of 201 (+ the last-day lead): change -15.1 points, z = -3.6.
    # Speed: every lead answered in 1 h in both periods -> no change. Volume 200 -> 201 -> no change.
    assert [m.subject for m in moved] == ["Source Webinar", "All leads"]
    assert moved[0].sentence == ("Source Webinar: lead-to-opportunity conversion (mature cohorts) fell from 40.0% "
                                 "(40 of 100) in the previous period to 10.0% (10 of 100), -30.0 points.")
    assert "(30 of 201)" in moved[1].sentence


def test_lead_generation_empty_when_nothing_moved():
    assert findings.lead_generation_findings(_dataset(webinar_converted_now=40), CURRENT, maturity_days=0) == []


def test_lead_generation_ignores_immature_cohorts():
    # With the default 90 days, no month of the current period is mature at 2025-06-30: no conversion finding.
    moved = findings.lead_generation_findings(_dataset(webinar_converted_now=10), CURRENT)
    assert [m for m in moved if m.topic == "conversion"] == []


def _rep_speed_dataset():
    """Reps R1 and R2 are both called "Ann", R3 is "Cy"; every lead is Web, answered 1 h
    (within the 24 h SLA) or 48 h (late) after creation, 100 leads per rep and period.
    Previous period (Feb 2025): R1 all within, R2 and R3 all late. Current period (May 2025):
    R1 and R2 all late, R3 all within."""
    def block(prefix, day, rep, hours):
        frame = _leads(prefix, day, "Web", 100, 0).assign(rep_id=rep)
        created = pd.to_datetime(frame["created_at"])
        return frame.assign(first_response_at=(created + pd.Timedelta(hours=hours)).dt.strftime("%Y-%m-%d %H:%M:%S"))
    leads = pd.concat([block("A", "2025-02-10", "R1", 1), block("B", "2025-02-10", "R2", 48),
                       block("C", "2025-02-10", "R3", 48), block("D", "2025-05-10", "R1", 48),
                       block("E", "2025-05-10", "R2", 48), block("F", "2025-05-10", "R3", 1)], ignore_index=True)
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "rep_name": ["Ann", "Ann", "Cy"]})
    return salesnb.dataset_from_frames({"leads": leads, "reps": reps})


def test_lead_generation_matches_reps_by_id_not_name():
    moved = findings.lead_generation_findings(_rep_speed_dataset(), CURRENT, maturity_days=0)
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


# ----------------------------------------------------------------------------- conversion list


def _conversion_deals() -> pd.DataFrame:
    """Deals for Q1 2025 (previous) and Q2 2025 (current), built so each number is known by hand.

    Closed deals close on Mar 15 (Q1) or Jun 15 (Q2). Won deals took 20 or 40 days in Q1
    (alternating: mean 30 d) and 50 or 70 days in Q2 (mean 60 d); lost deals took 10 days.
    So every deal is created in the quarter it closes in. 45 open deals of source A are
    created on May 1 with an expected close date of Jun 20, inside the current period.

    | source | Q1 closed | Q1 won | Q2 closed | Q2 won | Q2 open |
    |--------|-----------|--------|-----------|--------|---------|
    | A      | 40        | 10     | 40        | 24     | 45      |
    | B      | 40        | 20     | 40        | 18     | 0       |
    """
    rows = []

    def add(source: str, close: str, won: int, lost: int, cycles: tuple[int, int]):
        for index in range(won + lost):
            is_won = index < won
            days = cycles[index % 2] if is_won else 10
            closed = pd.Timestamp(close)
            rows.append({"opportunity_id": f"{source}{close}{index}", "stage": "Closed Won" if is_won else "Closed Lost",
                         "created_at": (closed - pd.Timedelta(days=days)).date().isoformat(),
                         "close_date": closed.date().isoformat(), "amount": 1000, "source": source})

    add("A", "2025-03-15", 10, 30, (20, 40))
    add("B", "2025-03-15", 20, 20, (20, 40))
    add("A", "2025-06-15", 24, 16, (50, 70))
    add("B", "2025-06-15", 18, 22, (50, 70))
    rows += [{"opportunity_id": f"OPEN{index}", "stage": "Proposal", "created_at": "2025-05-01",
              "close_date": "2025-06-20", "amount": 1000, "source": "A"} for index in range(45)]
    return pd.DataFrame(rows)


def test_conversion_findings_by_hand():
    from salesnb.data.dataset import dataset_from_frames

    dataset = dataset_from_frames({"opportunities": _conversion_deals()})
    moved = findings.conversion_findings(dataset, CURRENT)
    # Win rate (closed deals only; the 45 open deals are not losses):
    # - all deals: 30 of 80 (37.5%) -> 42 of 80 (52.5%), pooled 72/160 = .45,
    #   se = sqrt(.45 * .55 * (1/80 + 1/80)) = .07866, z = .15 / .07866 = 1.91 < 2 -> noise, not listed;
    # - source A: 10 of 40 (25%) -> 24 of 40 (60%), pooled 34/80 = .425,
    #   se = sqrt(.425 * .575 * (2/40)) = .11054, z = .35 / .11054 = 3.17 -> listed;
    # - source B: 20 of 40 (50%) -> 18 of 40 (45%): -5 points, z = -.45 -> not listed.
    #   (Had the open deals counted as losses, A would read 24 of 85 = 28.2%.)
    # No reps table: no team grouping.
    # Deals created: all 80 -> 80 + 45 = 125, +56%, z = 45 / sqrt(205) = 3.14 -> listed;
    # A 40 -> 85, +112% (1.125 written as "112%"), z = 45 / sqrt(125) = 4.02 -> listed first;
    # B 40 -> 40 -> not listed.
    # Cycle of won deals: Q1 30 won, mean 30 d, sd = sqrt(30 * 10^2 / 29) = 10.17;
    # Q2 42 won, mean 60 d, sd = sqrt(42 * 10^2 / 41) = 10.12; +100%, Welch z = 30 / 2.43 = 12.3 -> listed.
    assert [movement.sentence for movement in moved] == [
        "Source A: win rate rose from 25.0% (10 of 40) in the previous period to 60.0% (24 of 40), +35.0 points.",
        "Source A: deals created rose 112% from 40 to 85 against the previous period of the same length.",
        "All deals: deals created rose 56% from 80 to 125 against the previous period of the same length.",
        "All deals: mean sales cycle of won deals rose 100% from 30 d to 60 d (30 won deals in the previous "
        "period, 42 now).",
    ]
    assert moved[0].strength == pytest.approx(0.35 / (0.425 * 0.575 * 0.05) ** 0.5)
    assert moved[0].n == 40
    # variance / n: (30 * 100 / 29) / 30 = 100/29 and (42 * 100 / 41) / 42 = 100/41.
    assert moved[3].strength == pytest.approx(30 / (100 / 29 + 100 / 41) ** 0.5)


def test_conversion_findings_small_n_and_nothing_moved():
    from salesnb.data.dataset import dataset_from_frames

    deals = _conversion_deals()
    dataset = dataset_from_frames({"opportunities": deals})
    # With min_n = 100 no group has 100 closed deals (or won deals, or created deals) in both periods.
    assert findings.conversion_findings(dataset, CURRENT, min_n=100) == []
    # The same quarter against itself one year on (no deals in 2024): nothing is compared.
    assert findings.conversion_findings(dataset, Period(dt.date(2024, 4, 1), dt.date(2024, 6, 30))) == []


# ----------------------------------------------------------------------------- accounts


def test_estimate_changes_uses_both_standard_errors():
    before = pd.DataFrame({"segment": ["A", "B", "C"], "nrr": [1.0, 1.0, 1.0], "nrr_error": [0.04, 0.04, 0.20],
                           "customers": [60, 20, 60]})
    now = pd.DataFrame({"segment": ["A", "B", "C"], "nrr": [0.8, 0.5, 0.7], "nrr_error": [0.03, 0.03, 0.20],
                        "customers": [50, 50, 50]})
    moved = findings.estimate_changes(now, before, key="segment", value="nrr", error="nrr_error", n="customers",
                                      what="net revenue retention", topic="retention", n_label="customers",
                                      subject_prefix="Segment ")
    # A: -0.20 / sqrt(0.03^2 + 0.04^2) = -0.20 / 0.05 = z -4 -> kept. B: only 20 customers before -> left out.
    # C: -0.30 / sqrt(0.2^2 + 0.2^2) = -1.06 -> noise.
    assert [m.subject for m in moved] == ["Segment A"]
    assert moved[0].strength == pytest.approx(4.0)
    assert moved[0].sentence == ("Segment A: net revenue retention fell from 100.0% (60 customers) in the previous "
                                 "period to 80.0% (50 customers), -20.0 points.")


def _account_orders():
    """Previous period H1 2025, this period H2 2025 (see the test for the arithmetic)."""
    rows = []
    for index in range(40):  # first order 15 Nov 2024: 90-day window closes in H1 2025
        rows.append((f"P{index:02d}", "2024-11-15", 10.0))
        if index < 4:
            rows.append((f"P{index:02d}", "2024-12-15", 10.0))
    for index in range(40):  # first order 15 May 2025: 90-day window closes in H2 2025
        amount = 1000.0 if index == 0 else 10.0
        rows.append((f"N{index:02d}", "2025-05-15", amount))
        if index < 24:
            rows.append((f"N{index:02d}", "2025-06-14", amount))
    for index in range(30):  # new in November 2025, equal spend
        rows.append((f"H{index:02d}", "2025-11-01", 100.0))
    return rows


def test_account_findings():
    from tests.order_fixtures import orders_dataset

    dataset = orders_dataset(_account_orders())
    moved = findings.account_findings(dataset, Period(dt.date(2025, 7, 1), dt.date(2025, 12, 31)))
    # Repeat: 90-day windows closing in H1 2025 (first orders 3 Oct 2024 - 1 Apr 2025): the P
    # customers, 4 of 40 = 10%; in H2 2025 (first orders 2 Apr - 2 Oct 2025): N, 24 of 40 = 60%.
    # Pooled 0.35, se = sqrt(0.35 x 0.65 x (1/40 + 1/40)) = 0.1067, z = 4.69 -> kept. The same
    # at 180 days (windows closing in H1 2025: first orders 5 Jul 2024 - 1 Jan 2025, P; in H2:
    # 2 Jan - 4 Jul 2025, N; every repeat came within 30 days). 365 days: nobody's window closed in H1.
    # Retention: the H1 base (N) spends nothing in H2 and the H2 2024 base (P) nothing in H1:
    # NRR 0% in both periods, nothing moved. Segments: no accounts table, one segment: no repeat.
    # Churn: N00 (2 orders, 2,000) first, then the 20-each repeaters by id.
    # Concentration: H1 top 10 = (2,000 + 9 x 20) / 2,620 = 83.2% of 40 customers; H2: 10 of
    # 30 equal customers = 33.3%: -49.9 points.
    assert [m.topic for m in moved] == ["repeat", "repeat", "churn", "churn", "churn", "concentration"]
    assert moved[0].sentence == ("All customers: 90-day repeat purchase rate rose from 10.0% (4 of 40) in the previous "
                                 "period to 60.0% (24 of 40), +50.0 points.")
    assert moved[1].sentence.startswith("All customers: 180-day repeat purchase rate rose from 10.0% (4 of 40)")
    assert moved[2].sentence == ("N00 stopped ordering: $2,000 over 2 order(s) in the previous "
                                 "period, none in this one (last order 14 Jun 2025).")
    assert [m.subject for m in moved[3:5]] == ["N01", "N02"]
    assert moved[5].sentence == ("The 10 largest accounts brought 33.3% of revenue (30 customers) against 83.2% "
                                 "(40 customers) in the previous period, -49.9 points: revenue is less concentrated.")


def test_pipeline_review_findings_from_the_computed_views():
    """tests/pipeline_fixtures.py (Q1 2025, 02-01 -> 02-15, min_deals_for_ranking 3): the
    waterfall's headline, the deal pushed out, the big stale deal, the team below its rule."""
    from salesnb.metrics import coverage, inspection, waterfall
    from tests.pipeline_fixtures import COMPARE_FROM, Q1, frames, playbook

    dataset = dataset_from_frames(frames(), playbook(min_deals_for_ranking=3))
    moved = waterfall.waterfall(dataset, Q1, COMPARE_FROM)
    checks = inspection.inspect_open_deals(dataset)
    teams = coverage.coverage(dataset, Q1, by="team")
    found = findings.pipeline_review_findings(moved, checks, teams, currency="USD")
    assert [movement.topic for movement in found] == ["waterfall", "pushed", "stale", "coverage"]
    assert found[0].sentence == (
        "Pipeline due in 01 Jan 2025 – 31 Mar 2025 went from $50,000 (6 deals) on 01 Feb 2025 to $21,000 (3 deals) on "
        "15 Feb 2025: +$3,000 new (1), +$5,000 pulled in (1), −$8,000 pushed out (1), −$7,000 won (2), "
        "−$19,000 lost (2), −$3,000 in amount changes (2 deals).")
    assert found[1].sentence == ("1 deal(s) worth $8,000 were pushed out of the period since 01 Feb 2025; the largest: "
                                 "D3 ($8,000, Bo <b>).")
    # Open amounts 3,000 6,000 8,000 9,000 12,000 50,000 (D12 has none): 75th percentile
    # 9,000 + 0.75 x 3,000 = 11,250. Of the stale D3, D6 and D9 only D6 is that big.
    assert found[2].sentence == ("1 big deal(s) (at least $11,250, the top quarter of the 7 open deals) worth $50,000 "
                                 "have had no activity and no stage change for 30 days or more: D6, $50,000, Cy: 76 days.")
    assert found[2].n == 1
    # Alpha: 18,000 / 43,000 = 0.42x against 1 / (2 / 5) = 2.5x; Beta has no closed deal.
    assert found[3].sentence == ("Team Alpha: coverage 0.4x ($18,000 due in the period for $43,000 left to quota) is "
                                 "below its rule of thumb of 2.5x (1 ÷ win rate 40.0% over 5 closed deals).")


def test_pipeline_review_findings_skip_what_is_not_measured():
    from salesnb.metrics import inspection
    from tests.pipeline_fixtures import frames

    dataset = dataset_from_frames(frames(history=False, activities=False, quotas=False))
    # No history: no waterfall; no activities: stale not measured; no quotas: no coverage.
    assert findings.pipeline_review_findings(None, inspection.inspect_open_deals(dataset), None) == []
