"""New and repeat customers, repeat purchase rates and time between orders on hand-made orders."""

import math

import pandas as pd
import pytest

from salesnb import select
from salesnb.data.selection import SelectionError
from salesnb.metrics import repeat
from tests.order_fixtures import (SELECTION_ACCOUNTS, SELECTION_DEALS, SELECTION_ORDERS, SELECTION_REPS, orders_dataset,
                                  period, selection_dataset)

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
    summary = repeat.summary(orders_dataset(SAME_DAY), YEAR).iloc[0]
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
    assert gaps.loc["all", "intervals"] == 1
    assert gaps.loc["all", "median_days_between_orders"] == 245
    assert gaps.loc["2nd order day", "median_days_between_orders"] == 245
    assert gaps.loc["3rd order day", "intervals"] == 0
    assert math.isnan(gaps.loc["3rd order day", "median_days_between_orders"])


def test_new_and_repeat_by_month():
    monthly = repeat.new_and_repeat_by_month(orders_dataset(SAME_DAY), YEAR).set_index("month")
    assert len(monthly) == 12  # every month of the period, empty ones as 0
    january, february, march = (monthly.loc[pd.Timestamp(day)] for day in ("2025-01-01", "2025-02-01", "2025-03-01"))
    assert (january["orders"], january["customers"], january["revenue"]) == (0, 0, 0.0)
    # February: C, a repeat customer (first ordered in 2024), 80; all of it from a repeat order.
    assert (february["new_customers"], february["repeat_customers"]) == (0, 1)
    assert february["repeat_customer_revenue"] == 80.0 and february["revenue_from_repeat_share"] == 1.0
    # March: A is new (its first order), its second order that day is a repeat order: 100 of 200.
    assert (march["new_customers"], march["repeat_customers"], march["orders"]) == (1, 0, 2)
    assert march["new_customer_revenue"] == 200.0 and march["revenue_from_repeat_share"] == pytest.approx(0.5)


def test_an_order_without_amount_counts_as_an_order_but_not_as_revenue():
    # (orders.amount is required by the validator today; the metric must not depend on it)
    dataset = orders_dataset(SAME_DAY + [("F", "2025-07-01", None)], strict=False)
    summary = repeat.summary(dataset, YEAR).iloc[0]
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
    cohorts = repeat.repeat_rates_by_cohort(orders_dataset(COHORTS), HALF).set_index("first_order_cohort")
    assert list(cohorts.index) == [pd.Timestamp("2024-07-01"), pd.Timestamp("2025-05-01")]
    july, may = cohorts.loc[pd.Timestamp("2024-07-01")], cohorts.loc[pd.Timestamp("2025-05-01")]
    # July 2024: P within 90 (67 d), Q not (194 d) -> 1/2 at 90 and 180 days; both within 365,
    # but 31 Jul 2024 + 365 d = 31 Jul 2025 is after 30 Jun 2025: not mature at 365, empty.
    assert (july["customers"], july["repeat_90d"], july["repeat_180d"], july["repeat_365d"]) == (2, 1, 1, 2)
    assert july["repeat_rate_90d"] == pytest.approx(0.5) and july["repeat_rate_180d"] == pytest.approx(0.5)
    assert math.isnan(july["repeat_rate_365d"])
    assert july["repeat_rate_to_date"] == pytest.approx(1.0)
    # May 2025 (young): R repeated within 15 days, yet 31 May + 90 d is after 30 Jun: every
    # horizon is empty; only "to date" (1 of 2) is shown.
    assert may["repeat_90d"] == 1
    assert all(math.isnan(may[f"repeat_rate_{h}d"]) for h in repeat.HORIZONS)
    assert may["repeat_rate_to_date"] == pytest.approx(0.5)


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
    assert [str(day.date()) for day in cohorts["first_order_cohort"]] == ["2024-05-01", "2025-05-01"]
    assert list(cohorts["customers"]) == [2, 2]


def test_unknown_grain_is_a_clear_error():
    from salesnb.errors import SalesnbError

    with pytest.raises(SalesnbError, match="month' or 'quarter"):
        repeat.repeat_rates_by_cohort(orders_dataset(COHORTS), HALF, grain="week")


# ----------------------------------------------------------------------------- selections
# tests/order_fixtures.py, SELECTION_ORDERS: A (SMB) O01 100 Widget/D1, O02 50 Gadget, O03 70 Widget;
# B (SMB) O04 200 Widget/D2 and O05 30 Gadget/D2 the same day; C (Enterprise) O06 500 Gadget/D3 in 2024,
# O07 400 Gadget in 2025; D (Enterprise) O08 80 Widget/D4. Deals: D1 Web/R1 (Alpha), D2 Referral/R2
# (Beta), D3 Referral/R1, D4 Web/R2. Orders without a deal are in no source's, rep's or team's orders.


def test_summary_of_a_segment():
    row = repeat.summary(selection_dataset(), YEAR, where=select(segment="SMB")).iloc[0]
    # A and B, both new in 2025: 5 orders, 100 + 50 + 70 + 200 + 30 = 450.
    assert (row["customers"], row["orders"], row["new_customers"], row["revenue"]) == (2, 5, 2, 450.0)
    # Both have two orders or more: 2 / 2. Not first orders: A's O02, O03, B's O05 (by id on the day): 150 / 450.
    assert row["repeat_purchase_rate"] == 1.0
    assert row["revenue_from_repeat_share"] == pytest.approx(150 / 450)
    assert (row["same_day_orders"], row["same_day_accounts"]) == (1, 1)


def test_summary_of_a_product_numbers_orders_within_it():
    row = repeat.summary(selection_dataset(), YEAR, where=select(product="Gadget")).iloc[0]
    # Gadget orders in 2025: O02 (A, 50), O05 (B, 30), O07 (C, 400): 3 customers, 480.
    assert (row["customers"], row["orders"], row["revenue"]) == (3, 3, 480.0)
    # New to Gadget in 2025: A (its Gadget order is its second order overall) and B; C bought Gadget in 2024.
    assert row["new_customers"] == 2
    # Two Gadget orders by the end: C only -> 1 / 3; the one repeat Gadget order is O07: 400 / 480.
    assert row["repeat_purchase_rate"] == pytest.approx(1 / 3)
    assert row["revenue_from_repeat_share"] == pytest.approx(400 / 480)


def test_summary_of_a_source_and_of_a_team_through_the_deals():
    dataset = selection_dataset()
    referral = repeat.summary(dataset, YEAR, where=select(source="Referral")).iloc[0]
    # Referral deals D2 (B) and D3 (C, 2024): in 2025 only B's O04 + O05 = 230, the second is a repeat: 30.
    # C's 2025 order has no deal: not in the Referral orders.
    assert (referral["customers"], referral["orders"], referral["revenue"]) == (1, 2, 230.0)
    assert referral["revenue_from_repeat_share"] == pytest.approx(30 / 230)
    alpha = repeat.summary(dataset, YEAR, where=select(team="Alpha")).iloc[0]
    # Alpha (R1) owns D1 (A: O01) and D3 (C: O06, 2024): in 2025, A's O01 only; one order: no repeat.
    assert (alpha["customers"], alpha["orders"], alpha["repeat_purchase_rate"]) == (1, 1, 0.0)


def test_horizons_cohorts_and_intervals_of_a_selection():
    dataset = selection_dataset()
    west = select(region="West")  # B and D
    # 90 days: first orders between 2024-10-03 and 2025-10-02: B (1 Apr, second order the same day) and
    # D (1 Sep, none): 1 / 2.
    rates = repeat.repeat_rates_at_horizons(dataset, YEAR, where=west).set_index("horizon_days")
    assert (rates.loc[90, "customers"], rates.loc[90, "repeat_customers"]) == (2, 1)
    cohorts = repeat.repeat_rates_by_cohort(dataset, YEAR, where=west).set_index("first_order_cohort")
    assert list(cohorts["customers"]) == [1, 1]  # April (B) and September (D) 2025
    # SMB order days: A 1 Feb -> 1 Mar (28 d) -> 1 Jun (92 d); B one day: median of 28 and 92 = 60.
    gaps = repeat.time_between_orders(dataset, YEAR, where=select(segment="SMB")).set_index("order_day")
    assert (gaps.loc["all", "intervals"], gaps.loc["all", "median_days_between_orders"]) == (2, 60)
    # By segment: one block per segment, as each alone.
    by_segment = repeat.repeat_rates_at_horizons(dataset, YEAR, "segment")
    assert list(by_segment["segment"].unique()) == ["Enterprise", "SMB"]
    assert by_segment.loc[by_segment["segment"] == "SMB", "customers"].tolist() == [2, 2, 0]


def test_new_and_repeat_by_month_of_a_product():
    gadget = select(product="Gadget")
    monthly = repeat.new_and_repeat_by_month(selection_dataset(), YEAR, where=gadget).set_index("month")
    # March: A's first Gadget order (new, 50); April: B (new, 30); May: C's second Gadget order (repeat, 400).
    march, april, may = (monthly.loc[pd.Timestamp(day)] for day in ("2025-03-01", "2025-04-01", "2025-05-01"))
    assert (march["new_customers"], march["new_customer_revenue"]) == (1, 50.0)
    assert (april["new_customers"], april["new_customer_revenue"]) == (1, 30.0)
    assert (may["repeat_customers"], may["repeat_customer_revenue"]) == (1, 400.0)
    assert may["revenue_from_repeat_share"] == 1.0


def test_a_selection_without_orders_gives_empty_numbers_not_errors():
    # Product Gizmo is on a deal (D1) but on no order: a selection the data knows, with nothing to count.
    deals = SELECTION_DEALS.assign(product=["Gizmo", None, None, None])
    dataset = orders_dataset(SELECTION_ORDERS, SELECTION_ACCOUNTS, opportunities=deals, reps=SELECTION_REPS)
    gizmo = select(product="Gizmo")
    row = repeat.summary(dataset, YEAR, where=gizmo).iloc[0]
    assert row["customers"] == 0 and pd.isna(row["repeat_purchase_rate"]) and pd.isna(row["revenue"])
    assert repeat.repeat_rates_by_cohort(dataset, YEAR, where=gizmo).empty
    assert repeat.repeat_rates_at_horizons(dataset, YEAR, where=gizmo)["customers"].tolist() == [0, 0, 0]
    with pytest.raises(SelectionError, match="product = 'Gizmos' matches no data"):
        repeat.summary(dataset, YEAR, where=select(product="Gizmos"))
