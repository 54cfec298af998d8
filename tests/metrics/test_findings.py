"""Findings: the generic blocks on small frames, and the report lists still composed here.

Every expected sentence and threshold decision is worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

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


# ----------------------------------------------------------------------------- periods
# (the lead generation list is tested in tests/report/test_findings_leads.py)

# Current period 2025-04-01..2025-06-30 (three whole months); Period.previous() goes back
# three calendar months: 2025-01-01..2025-03-31 (not 91 days, which would start 2024-12-31).
CURRENT = Period(dt.date(2025, 4, 1), dt.date(2025, 6, 30))


def test_previous_period_is_whole_months_back():
    assert CURRENT.previous() == Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))




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
