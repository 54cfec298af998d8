"""New and repeat customers, repeat purchase rates and time between orders on hand-made orders."""

import math

import pandas as pd
import pytest

from salesnb.metrics import repeat
from tests.order_fixtures import orders_dataset, period

YEAR = period("2025-01-01", "2025-12-31")

# A: two identical orders on one day (two real purchases); B: one order; C: first ordered in
# 2024, once more in the period; D: ordered only in 2024; E: a second order after the period.
SAME_DAY = [
    ("A", "2025-03-01", 100.0),
    ("A", "2025-03-01", 100.0),
    ("B", "2025-05-10", 200.0),
    ("C", "2024-06-01", 50.0),
    ("C", "2025-02-01", 80.0),
    ("D", "2024-01-15", 70.0),
    ("E", "2025-12-20", 40.0),
    ("E", "2026-01-05", 60.0),
]


def test_repeat_rate_counts_same_day_orders_as_separate_orders():
    summary = repeat.summary(orders_dataset(SAME_DAY), YEAR)
    # Customers who ordered in 2025: A, B, C, E (D did not) = 4.
    assert summary["customers"] == 4
    # Orders in 2025: A 2 + B 1 + C 1 + E 1 = 5.
    assert summary["orders"] == 5
    # Two or more orders by 31 Dec 2025: A (two the same day) and C (2024 + 2025); E's second
    # order is after the period, B has one. 2 / 4.
    assert summary["repeat_customers"] == 2
    assert summary["repeat_purchase_rate"] == pytest.approx(0.5)
    # New in 2025 (first order in the period): A, B, E.
    assert summary["new_customers"] == 3
    # Revenue 100 + 100 + 200 + 80 + 40 = 520; repeat orders: A's second (100) + C's (80) = 180.
    assert summary["revenue"] == pytest.approx(520.0)
    assert summary["revenue_from_repeat_share"] == pytest.approx(180 / 520)
    # One order placed on a day its account had already ordered (A), by one account.
    assert (summary["same_day_orders"], summary["same_day_accounts"]) == (1, 1)


def test_time_between_orders_is_measured_between_order_days():
    gaps = repeat.time_between_orders(orders_dataset(SAME_DAY), YEAR).set_index("order_day")
    # A's same-day orders are one order day: no 0-day gap. C: 2024-06-01 -> 2025-02-01 =
    # 29 + 31 + 31 + 30 + 31 + 30 + 31 + 31 = 244 + 1 = 245 days. E's gap ends in 2026: not counted.
    assert gaps.loc["all", "gaps"] == 1
    assert gaps.loc["all", "median_days"] == 245
    assert gaps.loc["2nd order day", "median_days"] == 245
    assert gaps.loc["3rd order day", "gaps"] == 0 and math.isnan(gaps.loc["3rd order day", "median_days"])


def test_new_and_repeat_by_month():
    monthly = repeat.new_and_repeat_by_month(orders_dataset(SAME_DAY), YEAR).set_index("month")
    assert len(monthly) == 12  # every month of the period, empty ones as 0
    january, february, march = (monthly.loc[pd.Timestamp(day)] for day in ("2025-01-01", "2025-02-01", "2025-03-01"))
    assert (january["orders"], january["customers"], january["revenue"]) == (0, 0, 0.0)
    # February: C, a repeat customer (first ordered in 2024), 80; all of it from a repeat order.
    assert (february["new_customers"], february["repeat_customers"]) == (0, 1)
    assert february["repeat_customer_revenue"] == 80.0 and february["repeat_order_share"] == 1.0
    # March: A is new (its first order), its second order that day is a repeat order: 100 of 200.
    assert (march["new_customers"], march["repeat_customers"], march["orders"]) == (1, 0, 2)
    assert march["new_customer_revenue"] == 200.0 and march["repeat_order_share"] == pytest.approx(0.5)


def test_an_order_without_amount_counts_as_an_order_but_not_as_revenue():
    # (orders.amount is required by the validator today; the metric must not depend on it)
    dataset = orders_dataset(SAME_DAY + [("F", "2025-07-01", None)], strict=False)
    summary = repeat.summary(dataset, YEAR)
    assert summary["customers"] == 5 and summary["orders"] == 6  # F counts
    assert summary["revenue"] == pytest.approx(520.0)  # and adds nothing to revenue
    assert summary["orders_without_amount"] == 1
    july = repeat.new_and_repeat_by_month(dataset, YEAR).set_index("month").loc[pd.Timestamp("2025-07-01")]
    assert july["orders"] == 1 and math.isnan(july["revenue"])  # not measured, not 0


# P repeats after 67 days, Q after 194; R (young cohort) repeats after 15 days, S never.
COHORTS = [
    ("P", "2024-07-10", 10.0), ("P", "2024-09-15", 10.0),
    ("Q", "2024-07-20", 10.0), ("Q", "2025-01-30", 10.0),
    ("R", "2025-05-05", 10.0), ("R", "2025-05-20", 10.0),
    ("S", "2025-05-25", 10.0),
]
HALF = period("2025-01-01", "2025-06-30")  # previous period: 2024-07-01 .. 2024-12-31


def test_fixed_horizon_cohort_rates_leave_young_cohorts_empty():
    cohorts = repeat.repeat_rates_by_cohort(orders_dataset(COHORTS), HALF).set_index("cohort")
    assert list(cohorts.index) == [pd.Timestamp("2024-07-01"), pd.Timestamp("2025-05-01")]
    july, may = cohorts.loc[pd.Timestamp("2024-07-01")], cohorts.loc[pd.Timestamp("2025-05-01")]
    # July 2024: P within 90 (67 d), Q not (194 d) -> 1/2 at 90 and 180 days; both within 365,
    # but 31 Jul 2024 + 365 d = 31 Jul 2025 is after 30 Jun 2025: not mature at 365, empty.
    assert (july["customers"], july["repeat_90d"], july["repeat_180d"], july["repeat_365d"]) == (2, 1, 1, 2)
    assert july["rate_90d"] == pytest.approx(0.5) and july["rate_180d"] == pytest.approx(0.5)
    assert math.isnan(july["rate_365d"])
    assert july["rate_to_date"] == pytest.approx(1.0)
    # May 2025 (young): R repeated within 15 days, yet 31 May + 90 d is after 30 Jun: every
    # horizon is empty; only "to date" (1 of 2) is shown.
    assert may["repeat_90d"] == 1
    assert all(math.isnan(may[f"rate_{h}d"]) for h in repeat.HORIZONS)
    assert may["rate_to_date"] == pytest.approx(0.5)


def test_horizon_rates_count_customers_whose_window_closed_in_the_period():
    rates = repeat.repeat_rates_at_horizons(orders_dataset(COHORTS), HALF).set_index("horizon_days")
    # 180 d: first order between 2025-01-01 - 180 d = 2024-07-05 and 2025-06-30 - 180 d =
    # 2025-01-01: P and Q; P repeated within 180 days -> 1/2.
    assert (rates.loc[180, "customers"], rates.loc[180, "repeat_customers"]) == (2, 1)
    assert rates.loc[180, "repeat_rate"] == pytest.approx(0.5)
    # 90 d: first order between 2024-10-03 and 2025-04-01: nobody -> n = 0, rate empty (not 0).
    assert rates.loc[90, "customers"] == 0 and math.isnan(rates.loc[90, "repeat_rate"])
    # 365 d: between 2024-01-01 and 2024-06-30: nobody.
    assert rates.loc[365, "customers"] == 0


def test_quarter_cohorts_follow_the_fiscal_year(tmp_path):
    from salesnb.data.playbook import load_playbook
    import dataclasses

    playbook = dataclasses.replace(load_playbook(), fiscal_year_start_month=2)  # quarters Feb-Apr, May-Jul, ...
    cohorts = repeat.repeat_rates_by_cohort(orders_dataset(COHORTS, config=playbook), HALF, grain="quarter")
    # P, Q (July 2024) fall in the May-Jul 2024 quarter; R, S (May 2025) in May-Jul 2025.
    assert [str(day.date()) for day in cohorts["cohort"]] == ["2024-05-01", "2025-05-01"]
    assert list(cohorts["customers"]) == [2, 2]


def test_unknown_grain_is_a_clear_error():
    from salesnb.errors import SalesnbError

    with pytest.raises(SalesnbError, match="month' or 'quarter"):
        repeat.repeat_rates_by_cohort(orders_dataset(COHORTS), HALF, grain="week")
