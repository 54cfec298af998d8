"""Intervals and the censored median against known values."""

import math

import numpy as np
import pandas as pd
import pytest

from salesnb.metrics.statistics import (
    kaplan_meier_median,
    poisson_rate_interval,
    total_to_target_interval,
    wilson_interval,
)


@pytest.mark.parametrize("successes, trials, low, high", [
    # Published Wilson score intervals (95%, z = 1.959964), e.g. Newcombe (1998), table I:
    (8, 10, 0.4902, 0.9433),
    (0, 10, 0.0, 0.2775),   # the normal interval would be 0..0
    (10, 10, 0.7225, 1.0),
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
])
def test_wilson_interval_known_values(successes, trials, low, high):
    found = wilson_interval(successes, trials)
    assert found == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_by_hand():
    # 2 of 3, z = 1.959964: p = 0.6667, z²/n = 1.2805, centre = (0.6667 + 0.6402) / 2.2805 = 0.5731,
    # half = 1.959964 / 2.2805 * sqrt(0.2222/3 + 3.8415/36) = 0.8594 * 0.4246 = 0.3649 -> 0.2077 .. 0.9385
    assert wilson_interval(2, 3) == pytest.approx((0.2077, 0.9385), abs=1e-4)


def test_wilson_interval_vectorised_and_empty_group():
    low, high = wilson_interval(pd.Series([0, 8], index=["a", "b"]), pd.Series([0, 10], index=["a", "b"]))
    assert math.isnan(low["a"]) and math.isnan(high["a"])  # n = 0: not measured, not 0..1
    assert (low["b"], high["b"]) == pytest.approx((0.4902, 0.9433), abs=5e-5)


def test_poisson_rate_interval_close_to_the_exact_interval():
    # Exact (Garwood) 95% interval of a count of 10: 4.7954 .. 18.3904; per 2 weeks: half of it.
    low, high = poisson_rate_interval(10, 2)
    assert low == pytest.approx(4.7954 / 2, rel=0.01)
    assert high == pytest.approx(18.3904 / 2, rel=0.01)
    # A count of 0: the low end is 0, the high end near the exact 3.689.
    assert poisson_rate_interval(0, 1) == pytest.approx((0.0, 3.689), rel=0.01)
    assert all(math.isnan(value) for value in poisson_rate_interval(5, 0))  # no exposure: not measured


def test_total_to_target_interval_by_hand():
    # won 1000 + 500 = 1500 on quota 1000: 150% ± 1.96 * sqrt(1000² + 500²) / 1000 = ± 2.1913
    low, high = total_to_target_interval(1500, 1000**2 + 500**2, 2, 1000)
    assert low == 0.0  # 150% - 219% is cut at 0
    assert high == pytest.approx(1.5 + 1.959964 * math.sqrt(1_250_000) / 1000, rel=1e-6)
    # No won deal: the spread is unknown, not 0..0.
    assert all(math.isnan(value) for value in total_to_target_interval(0, 0, 0, 1000))


def test_kaplan_meier_median_counts_censored_subjects_while_observed():
    # Ramped at 2 and 4 months; still ramping after 1 and after 4 months.
    # t=2: at risk 3 (durations >= 2), 1 event -> S = 2/3; t=4: at risk 2, 1 event -> S = 1/3 <= 0.5
    assert kaplan_meier_median([2, 4, 1, 4], [True, True, False, False]) == 4.0
    # Dropping the censored reps would give median(2, 4) = 3; counting them as never ramping, no median.
    assert kaplan_meier_median([2, 4, 1], [True, True, False]) == 2.0  # censored at 1: never at risk at 2
    assert kaplan_meier_median([1, 2, 3], [True, True, True]) == 2.0
    assert kaplan_meier_median([5, 6], [False, False]) is None  # nobody has ramped yet
    assert kaplan_meier_median(np.array([]), np.array([], dtype=bool)) is None
