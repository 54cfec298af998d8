"""The order base every account metric starts from: numbering, purchase days, per-customer history."""

import datetime as dt
import math

import pytest

from salesnb import select
from salesnb.data.selection import SelectionError
from salesnb.metrics import orders
from tests.order_fixtures import YEAR, orders_dataset, selection_dataset

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
    assert counts == {"orders": 9, "without_account_or_date": 2, "usable": 7, "without_amount": 1,
                      "orders_before_deal_filter": 7, "without_deal": 0}
    assert orders.orders_left_out(dataset, "2025-12-31") == counts  # a date as people write it


def test_segment_selection():
    dataset = orders_dataset(ROWS, ACCOUNTS)
    assert set(orders.order_facts(dataset, select(segment="Enterprise")).execute()["account_id"]) == {"B"}
    with pytest.raises(SelectionError, match="segment = 'Mid' matches no data"):
        orders.order_facts(dataset, select(segment="Mid"))
    with pytest.raises(SelectionError, match="records no segment at all"):
        orders.order_facts(orders_dataset(ROWS), select(segment="SMB"))


def test_a_selection_is_the_universe_orders_are_numbered_in():
    # tests/order_fixtures.py: A ordered Widget (O01, deal D1), Gadget (O02, no deal), Widget (O03, no deal).
    # Within product Gadget, A's O02 is its first order, of the 1 March.
    dataset = selection_dataset()
    gadget = orders.order_facts(dataset, select(product="Gadget")).execute().set_index("order_id")
    assert list(gadget.index.sort_values()) == ["O02", "O05", "O06", "O07"]
    assert gadget.loc["O02", "order_number"] == 1 and str(gadget.loc["O02", "first_ordered_at"])[:10] == "2025-03-01"
    # C: O06 (2024) then O07: numbers 1 and 2.
    assert (gadget.loc["O06", "order_number"], gadget.loc["O07", "order_number"]) == (1, 2)
    # Region from the account: West = B and D.
    west = orders.order_facts(dataset, select(region="West")).execute()
    assert sorted(west["order_id"]) == ["O04", "O05", "O08"] and set(west["region"]) == {"West"}


def test_orders_without_a_deal_are_counted_when_a_selection_reads_the_deal():
    dataset = selection_dataset()
    # Source Referral: deals D2 (B: O04, O05) and D3 (C: O06). O02, O03 and O07 have no deal: the
    # selection cannot place them; O01 and O08 have a deal of another source (not left out, not selected).
    counts = orders.orders_left_out(dataset, "2025-12-31", where=select(source="Referral"))
    assert counts["usable"] == 3
    assert (counts["without_deal"], counts["orders_before_deal_filter"]) == (3, 8)
    # With a segment too, of the SMB orders (O01..O05): O02 and O03 have no deal.
    counts = orders.orders_left_out(dataset, "2025-12-31", where=select(team="Alpha", segment="SMB"))
    assert (counts["usable"], counts["without_deal"], counts["orders_before_deal_filter"]) == (1, 2, 5)
    # No rep, team or source in the selection: no order is left out for want of a deal.
    assert orders.orders_left_out(dataset, where=select(product="Gadget"))["without_deal"] == 0


def test_by_gives_the_rows_each_value_selected_alone_would_give():
    from salesnb.metrics import repeat

    dataset = selection_dataset()
    by_source = repeat.summary(dataset, YEAR, by="source").set_index("source")
    # Values the orders carry through their deals: Referral (D2, D3) and Web (D1, D4).
    assert list(by_source.index) == ["Referral", "Web"]
    for source in by_source.index:
        alone = repeat.summary(dataset, YEAR, where=select(source=source)).iloc[0]
        assert by_source.loc[source].to_dict() == alone.to_dict()
    # Web in 2025: O01 (A, 100) and O08 (D, 80).
    assert (by_source.loc["Web", "customers"], by_source.loc["Web", "revenue"]) == (2, 180.0)
    # By rep: the rep_id column; by team through the deal's owner.
    assert list(repeat.summary(dataset, YEAR, by="rep")["rep_id"]) == ["R1", "R2"]
    assert list(repeat.summary(dataset, YEAR, by="team")["team"]) == ["Alpha", "Beta"]
    with pytest.raises(SelectionError, match="no 'opportunities' table"):
        repeat.summary(orders_dataset(ROWS, ACCOUNTS), YEAR, by="source")
    with pytest.raises(SelectionError, match="by='quarter'"):
        repeat.summary(dataset, YEAR, by="quarter")


def test_state_date_is_the_period_end_unless_the_data_ends_sooner():
    from tests.order_fixtures import period

    dataset = orders_dataset(ROWS)  # data date: the last order, 2025-06-01
    assert orders.state_date(dataset, period("2025-01-01", "2025-03-31")) == dt.date(2025, 3, 31)
    assert orders.state_date(dataset, period("2025-01-01", "2025-12-31")) == dt.date(2025, 6, 1)
