"""The order base every account metric starts from: numbering, purchase days, per-customer history."""

import datetime as dt
import math

import pytest

from salesnb.errors import SalesnbError
from salesnb.metrics import orders
from tests.order_fixtures import orders_dataset

ACCOUNTS = [("A", "Acme <b>", "SMB"), ("B", "Bolt", "Enterprise")]
ROWS = [
    ("A", "2025-01-10", 100.0),
    ("A", "2025-01-10", 100.0),  # same day: a second order, the same purchase day
    ("A", "2025-03-01", 50.0),
    ("A", "2025-06-01", 20.0),
    ("B", "2025-02-01", 500.0),
    ("X", "2025-02-02", 10.0),  # an account not in the accounts table
]


def test_orders_are_numbered_by_date_then_id_and_keep_their_first_order_date():
    facts = orders.order_facts(orders_dataset(ROWS, ACCOUNTS)).execute().sort_values("order_id")
    assert list(facts["order_number"]) == [1, 2, 3, 4, 1, 1]
    assert set(facts.loc[facts["account_id"] == "A", "first_ordered_at"].astype(str)) == {"2025-01-10"}
    # Without an accounts row: the id as name, "(no segment)".
    unknown = facts[facts["account_id"] == "X"].iloc[0]
    assert (unknown["account_name"], unknown["segment"]) == ("X", orders.NO_SEGMENT)


def test_customer_history_per_customer():
    history = orders.customer_history(orders_dataset(ROWS, ACCOUNTS), dt.date(2025, 12, 31)).set_index("account_id")
    acme = history.loc["A"]
    assert (acme["orders"], acme["order_days"], acme["revenue"]) == (4, 3, 270.0)
    # Gaps between order days: 10 Jan -> 1 Mar = 50 d, 1 Mar -> 1 Jun = 92 d; median 71.
    assert acme["median_gap_days"] == 71
    # Repeat purchase days (after the first): 50 + 20 over 2 days with an amount.
    assert (acme["repeat_day_revenue"], acme["repeat_days_with_amount"]) == (70.0, 2)
    assert math.isnan(history.loc["B", "median_gap_days"])  # one order day: no interval
    # Up to a date: only the orders on or before it.
    early = orders.customer_history(orders_dataset(ROWS, ACCOUNTS), dt.date(2025, 1, 31)).set_index("account_id")
    assert list(early.index) == ["A"] and early.loc["A", "orders"] == 2


def test_revenue_last_year_is_the_year_up_to_the_last_order():
    rows = [("A", "2023-01-01", 1000.0), ("A", "2024-01-01", 100.0), ("A", "2024-03-01", 100.0)]
    history = orders.customer_history(orders_dataset(rows), dt.date(2025, 12, 31)).iloc[0]
    # Orders after 2024-03-01 - 365 d = 2023-03-02: 100 + 100 (the 2023-01-01 order is older).
    assert history["revenue_last_year"] == 200.0


def test_orders_without_account_or_date_are_left_out_and_counted():
    rows = ROWS + [(None, "2025-02-03", 5.0), ("B", None, 6.0), ("B", "2025-04-01", None)]
    dataset = orders_dataset(rows, ACCOUNTS, strict=False)
    counts = orders.orders_left_out(dataset, dt.date(2025, 12, 31))
    assert counts == {"orders": 9, "without_account_or_date": 2, "usable": 7, "without_amount": 1}


def test_segment_filter():
    dataset = orders_dataset(ROWS, ACCOUNTS)
    assert set(orders.order_facts(dataset, "Enterprise").execute()["account_id"]) == {"B"}
    with pytest.raises(SalesnbError, match="segment = 'Mid' matches no data"):
        orders.order_facts(dataset, "Mid")
    with pytest.raises(SalesnbError, match="needs the 'accounts' table"):
        orders.order_facts(orders_dataset(ROWS), "SMB")


def test_state_date_is_the_period_end_unless_the_data_ends_sooner():
    from tests.order_fixtures import period

    dataset = orders_dataset(ROWS)  # data date: the last order, 2025-06-01
    assert orders.state_date(dataset, period("2025-01-01", "2025-03-31")) == dt.date(2025, 3, 31)
    assert orders.state_date(dataset, period("2025-01-01", "2025-12-31")) == dt.date(2025, 6, 1)
