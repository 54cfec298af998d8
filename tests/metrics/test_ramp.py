"""Ramp against hand-worked numbers (tests/people_fixtures.py, ``ramp_frames``: 2025).

Benchmark of team Alpha = median of 12,000 and 6,000 won by the tenured reps over
365 / 30.4375 = 11.99179 months = (1000.69 + 500.34) / 2 = 750.51 a month; ramp bar 50% = 375.26.
"""

import math

import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.metrics import ramp
from tests.lead_fixtures import by_key
from tests.people_fixtures import Q1, YEAR_2025, people_frames, ramp_frames

BENCHMARK = (12000 + 6000) / 2 / (365 / 30.4375)


@pytest.fixture(scope="module")
def ramped():
    return ramp.ramp(dataset_from_frames(ramp_frames()), YEAR_2025)


def test_benchmark_is_the_median_tenured_month(ramped):
    alpha = ramped.benchmark.set_index("team").loc["Alpha"]
    assert alpha["benchmark"] == pytest.approx(BENCHMARK)
    assert alpha["tenured_reps"] == 2


def test_ramp_months_to_the_first_month_at_the_bar(ramped):
    reps = by_key(ramped.reps, "rep_id")
    # Nia: 300 in month 1 is below 375.26, 600 in month 2 reaches it
    assert reps["N1"]["ramp_months"] == 2 and reps["N1"]["ramp_status"] == ramp.RAMPED
    assert reps["N1"]["threshold"] == pytest.approx(BENCHMARK / 2)
    assert reps["N2"]["ramp_months"] == 4  # Feb = month 0 ... Jun = month 4


def test_a_ramping_rep_is_censored_not_a_failure(ramped):
    reps = by_key(ramped.reps, "rep_id")
    # Noa (hired 20 Nov) and Nox (5 Aug) have not reached the bar by 31 Dec: still ramping,
    # observed for 1 and 4 months, with no ramp time.
    for rep_id, months in (("N3", 1), ("N4", 4)):
        assert reps[rep_id]["ramp_status"] == ramp.STILL_RAMPING
        assert reps[rep_id]["months_observed"] == months
        assert math.isnan(reps[rep_id]["ramp_months"])
    # Kaplan-Meier: t=2: 3 at risk (2, 4, 4), 1 ramps -> S = 2/3; t=4: 2 at risk, 1 ramps -> 1/3: median 4.
    # Dropping the ramping reps would say 3 months; counting them as failures, no median at all.
    assert ramped.median_months == 4.0


def test_cohorts_by_fiscal_quarter_of_hire(ramped):
    cohorts = by_key(ramped.cohorts, "hire_cohort")
    assert set(cohorts) == {"FY2025 Q1", "FY2025 Q3", "FY2025 Q4"}
    assert (cohorts["FY2025 Q1"]["ramped"], cohorts["FY2025 Q1"]["median_ramp_months"]) == (2, 2.0)
    assert cohorts["FY2025 Q4"]["still_ramping"] == 1
    assert pd.isna(cohorts["FY2025 Q4"]["median_ramp_months"])  # nobody has ramped: no median yet


def test_a_ramping_rep_behind_their_peers(ramped):
    reps = by_key(ramped.reps, "rep_id")
    # Nox, month 4: no other hire in FY2025 Q3, so all hires are the peers; Nia (2) and Ned (4)
    # had ramped by month 4, Noa is only observed for 1 month (unknown): 2 of 2 -> behind.
    assert (reps["N4"]["peers_reached"], reps["N4"]["peers_known"]) == (2, 2)
    assert reps["N4"]["peer_group"] == "hired during the data"
    assert bool(reps["N4"]["behind_peers"])
    # Reps who are not ramping have no peers counted.
    assert reps["N1"]["peer_group"] is None and pd.isna(reps["N1"]["peers_known"])
    # Noa, month 1: none of the 3 others had ramped by month 1: not behind.
    assert (reps["N3"]["peers_reached"], reps["N3"]["peers_known"]) == (0, 3)
    assert not reps["N3"]["behind_peers"]


def test_ramp_curve_is_a_ratio_of_sums_per_cohort_and_month(ramped):
    curve = ramped.curve[ramped.curve["hire_cohort"] == "FY2025 Q1"].set_index("month_since_hire")
    # Month 2: Nia 600 + Ned 0 over 2 benchmarks; trailing months 0..2: (0 + 300 + 600) / (2 * 3 benchmarks)
    assert curve.loc[2, "reps"] == 2
    assert curve.loc[2, "share_of_benchmark"] == pytest.approx(600 / (2 * BENCHMARK))
    assert curve.loc[2, "trailing_share"] == pytest.approx(900 / (6 * BENCHMARK))
    assert curve.index.max() == 11  # Nia, hired in January, is observed to month 11 (December)
    wide = ramped.trailing_curve()  # what the chart draws: one column per cohort, in cohort order
    assert list(wide.columns) == ["month_since_hire", "FY2025 Q1", "FY2025 Q3", "FY2025 Q4"]
    assert wide.set_index("month_since_hire").loc[2, "FY2025 Q1"] == pytest.approx(900 / (6 * BENCHMARK))


def test_reps_hired_before_the_data_are_counted_as_left_out(ramped):
    hired_before = ramped.excluded[1]
    assert (hired_before.count, hired_before.total) == (2, 6)  # the tenured Tia and Tom, hired 2020


def test_without_hire_dates_ramp_is_not_measured():
    frames = people_frames()
    frames["reps"] = frames["reps"].assign(hire_date="")
    assert not ramp.ramp_measured(dataset_from_frames(frames))
    assert ramp.ramp_measured(dataset_from_frames(people_frames()))
    bare = ramp.ramp(dataset_from_frames(frames), Q1)
    assert bare.reps.empty and bare.median_months is None and "reps.hire_date" in bare.notes[0]
    # With hire dates: Bo (hired 4 March) is the only hire during the data, still ramping at 31 March.
    bo = ramp.ramp(dataset_from_frames(people_frames()), Q1).reps.iloc[0]
    assert (bo["rep_id"], bo["ramp_status"], bo["months_observed"]) == ("R2", ramp.STILL_RAMPING, 0)


def test_without_amounts_or_close_dates_ramp_says_what_to_add():
    frames = ramp_frames()
    frames["opportunities"] = frames["opportunities"].drop(columns=["amount"])
    assert "opportunities.amount" in ramp.unmeasured(dataset_from_frames(frames))[0]
    frames = ramp_frames()
    frames["opportunities"] = frames["opportunities"].drop(columns=["close_date"])
    assert "opportunities.close_date" in ramp.unmeasured(dataset_from_frames(frames, strict=False))[0]
    assert ramp.unmeasured(dataset_from_frames(ramp_frames())) == []


def test_a_source_selection_compares_bookings_of_that_source():
    """Referral only: Tia booked none, Tom 6,000 -> benchmark = median(0, 500.34) = 250.17 a
    month, bar 125.09. Nia's 300 Referral in February (month 1) reaches it: 1 month, not 2;
    Ned's 700 in June (month 4): 4. Kaplan-Meier over 1 (ramped), 1 (Noa, censored), 4, 4
    (Nox, censored): S(1) = 3/4, S(4) = 3/4 x 1/2 = 3/8 -> median 4."""
    ramped = ramp.ramp(dataset_from_frames(ramp_frames()), YEAR_2025, where=select(source="Referral"))
    alpha = ramped.benchmark.set_index("team").loc["Alpha"]
    assert alpha["benchmark"] == pytest.approx(6000 / 2 / (365 / 30.4375))
    assert alpha["threshold"] == pytest.approx(alpha["benchmark"] / 2)
    reps = by_key(ramped.reps, "rep_id")
    assert (reps["N1"]["ramp_months"], reps["N2"]["ramp_months"]) == (1, 4)
    assert ramped.median_months == 4.0


def test_a_rep_or_team_selection_shows_its_hires_against_every_hire():
    ramped = ramp.ramp(dataset_from_frames(ramp_frames()), YEAR_2025, where=select(rep="Nox"))
    nox = ramped.reps.iloc[0]
    assert len(ramped.reps) == 1 and (nox["peers_reached"], nox["peers_known"]) == (2, 2)  # peers: every hire
    assert ramped.median_months is None  # Nox alone, still ramping
    beta = ramp.ramp(dataset_from_frames(people_frames()), Q1, where=select(team="Beta"))
    assert beta.reps.empty and beta.notes == ["No rep in this view was hired since the data begins, so there is no "
                                              "ramp to show."]
