"""Revenue concentration: top-10 share and the Pareto curve."""

import pytest

from salesnb import select
from salesnb.metrics import concentration
from tests.order_fixtures import orders_dataset, period, selection_dataset

YEAR = period("2025-01-01", "2025-12-31")
# Twelve accounts with revenue 100 .. 1,200 (total 7,800), one split over two orders.
ROWS = [(f"A{index:02d}", "2025-05-01", 100.0 * index) for index in range(1, 13)]
ROWS[11] = ("A12", "2025-05-01", 700.0)
ROWS.append(("A12", "2025-06-01", 500.0))


def test_top_ten_share_and_accounts_for_80_percent():
    result = concentration.concentration(orders_dataset(ROWS), YEAR).iloc[0]
    # Top 10 = all but 100 and 200: (7,800 - 300) / 7,800.
    assert result["top10_revenue_share"] == pytest.approx(7500 / 7800)
    assert result["largest_account_share"] == pytest.approx(1200 / 7800)
    # From the top: 1,200 + 1,100 + ... + 600 = 6,300 = 80.8% after 7 accounts (5,700 = 73% after 6).
    assert result["accounts_for_80_percent"] == 7
    assert result["customers"] == 12


def test_pareto_curve_and_ties():
    rows = [("A", "2025-01-01", 300.0), ("B", "2025-01-01", 100.0), ("C", "2025-01-01", 100.0),
            ("D", "2025-01-01", None), ("E", "2024-01-01", 999.0)]
    ranked = concentration.revenue_by_account(orders_dataset(rows, strict=False), YEAR)
    # D has no known amount, E no order in the period: both left out; B and C tie, by id.
    assert list(ranked["account_id"]) == ["A", "B", "C"]
    assert list(ranked["revenue_rank"]) == [1, 2, 3]
    assert list(ranked["cumulative_share_of_revenue"]) == pytest.approx([0.6, 0.8, 1.0])
    assert list(ranked["cumulative_share_of_customers"]) == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_no_revenue_is_not_measured():
    result = concentration.concentration(orders_dataset([("A", "2024-01-01", 5.0)]), YEAR).iloc[0]
    assert result["top10_revenue_share"] is None and result["customers"] == 0


def test_concentration_of_selections():
    dataset = selection_dataset()
    # tests/order_fixtures.py, 2025, SMB: A 220, B 230 -> two accounts bring all; B the largest.
    smb = concentration.concentration(dataset, YEAR, where=select(segment="SMB")).iloc[0]
    assert (smb["customers"], smb["revenue"], smb["top10_revenue_share"]) == (2, 450.0, 1.0)
    assert smb["largest_account_share"] == pytest.approx(230 / 450)
    # Team Beta (R2: deals D2 of B and D4 of D): B 230, D 80 -> B then D, shares of 310.
    ranked = concentration.revenue_by_account(dataset, YEAR, where=select(team="Beta"))
    assert ranked["account_id"].tolist() == ["B", "D"]
    assert ranked["share_of_revenue"].tolist() == pytest.approx([230 / 310, 80 / 310])
    # By region: ranks within each region (East: C 400 then A 220; West: B 230 then D 80).
    by_region = concentration.revenue_by_account(dataset, YEAR, by="region")
    assert by_region[["region", "account_id", "revenue_rank"]].values.tolist() == [
        ["East", "C", 1], ["East", "A", 2], ["West", "B", 1], ["West", "D", 2]]
