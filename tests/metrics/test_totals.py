"""Exact sums: the same total whatever order the engine adds the rows in."""

import math
from decimal import Decimal

import pandas as pd
import pytest

from salesnb.data import backends
from salesnb.metrics.totals import EXACT_BOUND, exact_mean, exact_std, exact_sum


@pytest.fixture(scope="module")
def connection():
    return backends.connect_duckdb()


def _by_hand(values) -> float:
    """Each value as written (its shortest decimal), added as decimals, then the nearest float."""
    return float(sum(Decimal(repr(value)) for value in values))


def test_the_total_does_not_depend_on_the_order_of_the_rows(connection):
    # Money-like values whose float sum changes with the order it adds them in.
    values = [1e8 + 0.7, 0.1, 0.2, 0.3, -1e8, 12345.678, 0.0001, 3.3]
    orders = [values, values[::-1], sorted(values), [values[index] for index in (3, 7, 0, 5, 1, 6, 2, 4)]]
    plain, exact = set(), set()
    for position, ordered in enumerate(orders):
        table = connection.create_table(f"ordered_{position}", pd.DataFrame({"amount": ordered}))
        plain.add(connection.execute(table.amount.sum()))
        exact.add(connection.execute(exact_sum(table.amount)))
    assert len(plain) > 1  # the float sums do differ by order here: the check below can fail
    assert len(exact) == 1  # one total in every order
    # The engine converts each value to EXACT_SCALE places its own way (DuckDB through a
    # float product, off by up to a few 1e-9 at 1e8): the total is within that of the values'.
    assert exact.pop() == pytest.approx(_by_hand(values), abs=1e-7)


def test_empty_nan_infinite_and_huge_values(connection):
    def total(sql: str):
        return connection.execute(exact_sum(connection.sql(sql).v))

    assert math.isnan(total("SELECT 1.5::DOUBLE AS v UNION ALL SELECT 'nan'::DOUBLE"))  # NaN stays NaN
    assert total("SELECT 1.5::DOUBLE AS v UNION ALL SELECT 'inf'::DOUBLE") == math.inf
    assert total("SELECT 2.25::DOUBLE AS v UNION ALL SELECT NULL") == 2.25  # an empty value is left out
    assert pd.isna(total("SELECT NULL::DOUBLE AS v"))  # nothing to add: empty, not 0
    assert pd.isna(total("SELECT 1.0::DOUBLE AS v WHERE false"))
    # Beyond EXACT_BOUND the float sum, as before: 1e16 + 1 - 1e16 in row order.
    huge = f"SELECT * FROM (VALUES ({EXACT_BOUND * 10}), (1.0), ({-EXACT_BOUND * 10})) AS t(v)"
    assert total(huge) == (EXACT_BOUND * 10 + 1.0) - EXACT_BOUND * 10
    assert total("SELECT 3::BIGINT AS v UNION ALL SELECT 4") == 7.0  # whole numbers too


def test_a_metrics_money_sums_do_not_depend_on_the_order_of_the_rows():
    # Real exports carry cents: 0.1 + 0.2 + 0.3 is 0.6000000000000001 added in that order as
    # floats and 0.6 in the reverse one. Won value, lost value and the open pipeline's amount
    # must be the same whatever order the engine reads the deals in.
    import datetime as dt

    from salesnb import dataset_from_frames
    from salesnb.data.periods import Period
    from salesnb.metrics import conversion, pipeline

    def dataset(order):
        rows = [("W1", "Closed Won", 0.1), ("W2", "Closed Won", 0.2), ("W3", "Closed Won", 0.3),
                ("L1", "Closed Lost", 0.1), ("L2", "Closed Lost", 0.2), ("L3", "Closed Lost", 0.3),
                ("P1", "Proposal", 0.1), ("P2", "Proposal", 0.2), ("P3", "Proposal", 0.3)]
        rows = [rows[index] for index in order]
        return dataset_from_frames({"opportunities": pd.DataFrame({
            "opportunity_id": [row[0] for row in rows], "stage": [row[1] for row in rows],
            "amount": [row[2] for row in rows], "created_at": ["2025-01-02"] * len(rows),
            "close_date": ["2025-02-01" if row[1] != "Proposal" else "2025-06-30" for row in rows]})})

    period = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    results = []
    for order in (range(9), reversed(range(9)), (2, 0, 1, 5, 3, 4, 8, 6, 7)):
        data = dataset(list(order))
        rates = conversion.win_rates(data, period).iloc[0]
        results.append((rates["won_amount"], rates["lost_amount"], pipeline.open_pipeline(data)["amount"].iloc[0]))
    assert len(set(results)) == 1
    assert results[0] == (0.6, 0.6, 0.6)  # by hand: the nearest float to 0.1 + 0.2 + 0.3


def test_exact_mean_does_not_depend_on_the_order_of_the_rows(connection):
    values = [1e8 + 0.7, 0.1, 0.2, 0.3, -1e8, 12345.678, 0.0001, 3.3]
    means = set()
    for position, ordered in enumerate([values, values[::-1], sorted(values)]):
        table = connection.create_table(f"mean_ordered_{position}", pd.DataFrame({"amount": ordered + [None]}))
        means.add(connection.execute(exact_mean(table.amount)))
        # Only the rows where the condition holds: the first three values in this order.
        assert connection.execute(exact_mean(table.amount, where=table.amount.isin(ordered[:3]))) == \
            pytest.approx(_by_hand(ordered[:3]) / 3)
    assert len(means) == 1
    assert means.pop() == pytest.approx(_by_hand(values) / len(values), abs=1e-8)  # the empty value left out


def test_exact_mean_of_nothing_is_empty_and_of_nan_is_nan(connection):
    def mean(sql: str):
        return connection.execute(exact_mean(connection.sql(sql).v))

    assert pd.isna(mean("SELECT NULL::DOUBLE AS v"))  # nothing filled: not measured, not 0
    assert pd.isna(mean("SELECT 1.0::DOUBLE AS v WHERE false"))
    assert math.isnan(mean("SELECT 1.5::DOUBLE AS v UNION ALL SELECT 'nan'::DOUBLE"))
    assert mean("SELECT 1::BIGINT AS v UNION ALL SELECT 2") == 1.5


def test_exact_std_does_not_depend_on_the_order_of_the_rows(connection):
    import statistics

    days = [10, 31, 10, 20, 21, 19, 90, 5, 1_000, 3]
    spreads = set()
    for position, ordered in enumerate([days, days[::-1], sorted(days)]):
        table = connection.create_table(f"days_{position}", pd.DataFrame({"days": ordered + [None]}))
        spreads.add(connection.execute(exact_std(table.days)))
    assert len(spreads) == 1
    assert spreads.pop() == pytest.approx(statistics.stdev(days), rel=1e-12)  # the empty value left out
    one = connection.create_table("one_day", pd.DataFrame({"days": [4, None]}))
    assert pd.isna(connection.execute(exact_std(one.days)))  # one value has no sample spread: empty, not 0


def test_squares_of_large_amounts_are_added_exactly_too(connection):
    # The interval of a retention rate adds squares of each account's revenue: an account of
    # $50M has a square of 2.5e15, whose float sum with cents depends on the order.
    values = [2.5e15, 0.3, 0.3, 0.3, -2.5e15, 12345.67]
    plain, exact = set(), set()
    for position, ordered in enumerate([values, values[::-1], sorted(values)]):
        table = connection.create_table(f"squares_{position}", pd.DataFrame({"square": ordered}))
        plain.add(connection.execute(table.square.sum()))
        exact.add(connection.execute(exact_sum(table.square)))
    assert len(plain) > 1  # the float sums do differ by order here: the check below can fail
    assert len(exact) == 1 and exact.pop() == pytest.approx(12346.57, abs=1e-6)
