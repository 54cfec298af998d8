"""Cohort retention and net / gross revenue retention on hand-made orders."""

import math

import pandas as pd
import pytest

from salesnb import select
from salesnb.metrics import retention
from tests.order_fixtures import YEAR, orders_dataset, period, selection_dataset

HALF = period("2025-01-01", "2025-06-30")  # previous period: 2024-07-01 .. 2024-12-31
ACCOUNTS = [("X", "Expanding", "SMB"), ("Y", "Shrinking", "Enterprise"), ("Z", "Churned", "SMB"),
            ("W", "New", "SMB"), ("V", "No amount before", "SMB")]
ROWS = [
    ("X", "2024-08-01", 100.0), ("X", "2025-02-01", 150.0),  # expands: 100 -> 150
    ("Y", "2024-09-01", 200.0), ("Y", "2025-03-01", 50.0),  # shrinks: 200 -> 50
    ("Z", "2024-10-01", 300.0),  # churns: 300 -> nothing
    ("W", "2025-04-01", 500.0),  # new this period: not in the base
    ("V", "2024-11-01", None), ("V", "2025-05-01", 80.0),  # no known revenue before: not in the base
]


def test_nrr_and_grr_with_an_expanding_a_shrinking_and_a_churned_customer():
    result = retention.revenue_retention(orders_dataset(ROWS, ACCOUNTS, strict=False), HALF).iloc[0]
    # Base X, Y, Z: start 100 + 200 + 300 = 600; now 150 + 50 + 0 = 200.
    assert (result["customers"], result["retained_customers"], result["churned_customers"]) == (3, 2, 1)
    assert result["start_revenue"] == 600 and result["end_revenue"] == 200
    # Bridge: expansion 50 (X), contraction 150 (Y), churned 300 (Z): 600 + 50 - 150 - 300 = 200.
    assert (result["expansion"], result["contraction"], result["churned_revenue"]) == (50, 150, 300)
    assert result["nrr"] == pytest.approx(200 / 600)
    # GRR caps each at its start: min(150, 100) + min(50, 200) + 0 = 150 -> 150 / 600.
    assert result["grr"] == pytest.approx(0.25)
    # Standard error: R = 1/3, residuals y - R x = 116.67, -16.67, -100; squares sum 23,888.9;
    # sqrt(3/2 x 23,888.9) / 600 = 189.30 / 600.
    assert result["nrr_error"] == pytest.approx(math.sqrt(1.5 * (116.6667**2 + 16.6667**2 + 100**2)) / 600, rel=1e-4)


def test_revenue_retention_by_segment_is_a_ratio_of_sums():
    by_segment = retention.revenue_retention(orders_dataset(ROWS, ACCOUNTS, strict=False), HALF,
                                             by="segment").set_index("segment")
    # SMB: X and Z, start 400, now 150 -> NRR 0.375, GRR 100 / 400. Enterprise: Y, 50 / 200.
    assert by_segment.loc["SMB", "nrr"] == pytest.approx(0.375)
    assert by_segment.loc["SMB", "grr"] == pytest.approx(0.25)
    assert by_segment.loc["Enterprise", "nrr"] == pytest.approx(0.25)
    # Not the mean of the customers' ratios (1.5 and 0 -> 0.75): a ratio of sums.
    assert by_segment.loc["SMB", "nrr"] != pytest.approx(0.75)


def test_without_a_base_retention_is_not_measured():
    result = retention.revenue_retention(orders_dataset([("W", "2025-04-01", 500.0)]), HALF).iloc[0]
    assert result["customers"] == 0 and math.isnan(result["nrr"]) and math.isnan(result["grr"])


def test_churned_accounts_lists_who_bought_before_and_not_now():
    churned = retention.churned_accounts(orders_dataset(ROWS, ACCOUNTS, strict=False), HALF)
    assert list(churned["account_id"]) == ["Z"]
    assert churned.iloc[0]["revenue_before"] == 300 and str(churned.iloc[0]["last_order"].date()) == "2024-10-01"


COHORT_ROWS = [
    ("C1", "2025-01-05", 100.0), ("C1", "2025-03-10", 50.0),
    ("C2", "2025-01-20", 100.0), ("C2", "2025-02-14", 300.0),
    ("C4", "2025-02-03", 10.0),
    ("C3", "2025-03-15", 40.0),
]


def test_cohort_retention_shares_and_cells_not_observed_yet():
    cells = retention.cohort_retention(orders_dataset(COHORT_ROWS), period("2025-01-01", "2025-03-31"))
    grid = cells.set_index(["first_order_cohort", "periods_since_first_order"])
    january = grid.loc[pd.Timestamp("2025-01-01")]
    # January cohort (C1, C2): month 0 both ordered (200); month 1 C2 (300); month 2 C1 (50).
    assert list(january["customer_share"]) == [1.0, 0.5, 0.5]
    assert list(january["revenue_share"]) == pytest.approx([1.0, 1.5, 0.25])
    february = grid.loc[pd.Timestamp("2025-02-01")]
    # February cohort (C4): month 1 (March) observed, no order: 0, not empty; month 2 (April) not observed.
    assert february.loc[1, "customer_share"] == 0.0 and february.loc[1, "revenue_share"] == 0.0
    assert math.isnan(february.loc[2, "customer_share"])
    march = grid.loc[pd.Timestamp("2025-03-01")]
    assert march.loc[0, "customer_share"] == 1.0 and math.isnan(march.loc[1, "customer_share"])


def test_revenue_retention_of_selections():
    # tests/order_fixtures.py: C (Enterprise) bought Gadget for 500 in 2024 (deal D3, Referral) and 400 in
    # 2025 (no deal); no other account bought in 2024.
    dataset = selection_dataset()
    # Everything, or Enterprise: base C, 500 -> 400: NRR = GRR = 0.8, 100 of contraction.
    for where in (None, select(segment="Enterprise")):
        row = retention.revenue_retention(dataset, YEAR, where=where).iloc[0]
        assert (row["customers"], row["nrr"], row["grr"], row["contraction"]) == (1, 0.8, 0.8, 100.0)
    # Source Referral: C's 2025 order has no deal, so it is not a Referral order: within the selection C
    # bought nothing in 2025: churned, NRR 0 (the page says how many orders the selection left out).
    referral = retention.revenue_retention(dataset, YEAR, where=select(source="Referral")).iloc[0]
    assert (referral["churned_customers"], referral["churned_revenue"], referral["nrr"]) == (1, 500.0, 0.0)
    churned = retention.churned_accounts(dataset, YEAR, where=select(source="Referral"))
    assert list(churned["account_id"]) == ["C"]
    # SMB: nobody bought in 2024: no base, not measured.
    assert math.isnan(retention.revenue_retention(dataset, YEAR, where=select(segment="SMB")).iloc[0]["nrr"])
    # By segment: the Enterprise block as above; SMB without a base.
    by_segment = retention.revenue_retention(dataset, YEAR, by="segment").set_index("segment")
    assert by_segment.loc["Enterprise", "nrr"] == 0.8 and by_segment.loc["SMB", "customers"] == 0


def test_cohort_retention_of_a_product():
    cells = retention.cohort_retention(selection_dataset(), YEAR, where=select(product="Widget"))
    grid = cells.set_index(["first_order_cohort", "periods_since_first_order"])
    # Widget first orders: A in Feb 2025 (again in June: offset 4), B in April, D in September.
    february = grid.loc[pd.Timestamp("2025-02-01")]
    assert february.loc[0, "cohort_customers"] == 1 and february.loc[4, "customer_share"] == 1.0
    assert february.loc[4, "revenue_share"] == pytest.approx(70 / 100)
    assert february.loc[1, "customer_share"] == 0.0
    assert sorted(cells["first_order_cohort"].dt.month.unique()) == [2, 4, 9]
