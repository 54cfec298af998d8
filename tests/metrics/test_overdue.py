"""Overdue accounts: regular customers well past their own usual interval."""

import datetime as dt

from salesnb import select
from salesnb.metrics import overdue
from tests.order_fixtures import orders_dataset, selection_dataset

AT = dt.date(2025, 12, 31)
ROWS = [
    # O1: order days 1 Jan, 1 Feb, 1 Mar (twice that day): gaps 31 and 28 d, median 29.5;
    # 305 days since 1 Mar > 2 x 29.5 -> overdue. Revenue in its last year: 100 + 100 + 100 + 50.
    ("O1", "2025-01-01", 100.0), ("O1", "2025-02-01", 100.0), ("O1", "2025-03-01", 100.0), ("O1", "2025-03-01", 50.0),
    # O2: monthly, last order 30 days ago (median gap 30.5): on time.
    ("O2", "2025-10-01", 10.0), ("O2", "2025-11-01", 10.0), ("O2", "2025-12-01", 10.0),
    # O3: two order days only: no rhythm, never on the list.
    ("O3", "2023-01-01", 999.0), ("O3", "2023-02-01", 999.0),
    # O4: gaps 365 and 60 d (median 212.5); 670 days since 1 Mar 2024 > 425 -> overdue. Its
    # last year (after 2023-03-02): 100 + 100; the 2023 order is older.
    ("O4", "2023-01-01", 1000.0), ("O4", "2024-01-01", 100.0), ("O4", "2024-03-01", 100.0),
    # O5: gaps 30 and 31 d (median 30.5): exactly 61 days since 31 Oct = 2 x 30.5: not beyond it.
    ("O5", "2025-08-31", 1.0), ("O5", "2025-09-30", 1.0), ("O5", "2025-10-31", 1.0),
]


def test_overdue_accounts_ranked_by_revenue_at_risk():
    accounts = overdue.overdue_accounts(orders_dataset(ROWS), AT)
    assert set(accounts["account_id"]) == {"O1", "O2", "O4", "O5"}  # O3 has two order days
    late = accounts[accounts["overdue_account"]].set_index("account_id")
    assert list(late.index) == ["O1", "O4"]  # 350 before 200
    assert late.loc["O1", "median_gap_days"] == 29.5 and late.loc["O1", "days_since_last_order"] == 305
    assert late.loc["O1", "revenue_at_risk"] == 350 and late.loc["O4", "revenue_at_risk"] == 200
    assert late.loc["O1", "times_usual_interval"] == 305 / 29.5
    on_time = accounts[~accounts["overdue_account"]].set_index("account_id")
    assert on_time.loc["O5", "days_since_last_order"] == 61  # the boundary is not overdue
    assert overdue.summary(accounts) == {"regular_customers": 4, "overdue_accounts": 2, "revenue_at_risk": 550.0}


def test_overdue_accounts_of_selections():
    dataset = selection_dataset()
    # tests/order_fixtures.py: A ordered on 1 Feb, 1 Mar and 1 Jun 2025 (intervals 28 and 92 d, median 60);
    # at 31 Dec, 213 days > 2 x 60: overdue, with its 220 at risk. B, C and D have fewer than three order days.
    smb = overdue.overdue_accounts(dataset, AT, where=select(segment="SMB"))
    assert smb["account_id"].tolist() == ["A"] and bool(smb.iloc[0]["overdue_account"])
    assert (smb.iloc[0]["median_gap_days"], smb.iloc[0]["revenue_at_risk"]) == (60, 220.0)
    # Within Widget orders A ordered on two days only (1 Feb, 1 Jun): no rhythm, nobody to check.
    assert overdue.overdue_accounts(dataset, AT, where=select(product="Widget")).empty
    assert overdue.summary(overdue.overdue_accounts(dataset, AT, where=select(region="West"))) == {
        "regular_customers": 0, "overdue_accounts": 0, "revenue_at_risk": 0.0}
