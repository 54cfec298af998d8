"""The same data in any row order gives the same numbers.

The engine returns the rows of a query without ``order_by`` (and a grouped table's groups)
in an order that changes from run to run and with the order of the rows in the files, which
the cache writes in any order (``backends.write_parquet``). Floats added in pandas after a
query, and a window over rows with the same timestamp, must not depend on it.
:func:`engine_row_order` plays such an engine: every unsorted table a query returns comes back
in the order the test asks for. Each test here fails without the fix it checks: amounts of
0.1, 0.2 and 0.3 add up to 0.6000000000000001 in that order and to 0.6 in the reverse one.
"""

import contextlib
import datetime as dt
import types
from unittest import mock

import ibis.expr.operations as ops
import numpy as np
import pandas as pd
import pytest

from salesnb import dataset_from_frames
from salesnb.data.querycache import QueryCache
from salesnb.data.periods import Period
from salesnb.data.selection import EVERYTHING
from salesnb.metrics import conversion, funnel, hiring, marketing

PERIOD = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
CENTS = (0.1, 0.2, 0.3)


ENGINE_ORDERS = ["ascending", "descending", "rotated"]


@contextlib.contextmanager
def engine_row_order(order: str):
    """Within the block, datasets opened in it get every table a query returns without a sort
    at its top in ``order`` of its rows sorted by every column: ascending, descending, or
    ascending rotated by one row (so the orders do not depend on the engine's own). Yields the
    tables the queries returned, sorted or not (a test checks the patch was in use)."""
    original = QueryCache.execute
    calls = []

    def sorted_query(operation) -> bool:
        while isinstance(operation, ops.Limit):
            operation = operation.parent
        return isinstance(operation, ops.Sort)

    def execute(self, engine_execute, expr, /, **kwargs):
        result = original(self, engine_execute, expr, **kwargs)
        if isinstance(result, pd.DataFrame):
            calls.append(expr)
            if len(result) > 1 and not sorted_query(expr.op()):
                result = result.sort_values(list(result.columns), ignore_index=True)
                positions = {"ascending": np.arange(len(result)), "descending": np.arange(len(result))[::-1],
                             "rotated": np.roll(np.arange(len(result)), 1)}[order]
                result = result.iloc[positions].reset_index(drop=True)
        return result

    with mock.patch.object(QueryCache, "execute", execute):
        yield calls


def _same_in_every_order(results: list[pd.DataFrame]) -> pd.DataFrame:
    for result in results[1:]:
        pd.testing.assert_frame_equal(result, results[0], check_exact=True)
    return results[0]


def _in_engine_orders(metric, frames: dict) -> list:
    """``metric(dataset)`` on ``frames`` with the engine returning its tables in each order."""
    results = []
    for order in ENGINE_ORDERS:
        with engine_row_order(order) as reordered:
            results.append(metric(dataset_from_frames(frames)))
        assert reordered  # the patch was in use: the metric's queries went through it
    return results


def test_shares_of_pipeline_by_source_do_not_depend_on_the_row_order():
    frames = {"opportunities": pd.DataFrame({
        "opportunity_id": ["D0", "D1", "D2"], "source": list("ABC"), "amount": CENTS, "stage": ["Prospecting"] * 3,
        "created_at": ["2025-01-02"] * 3, "close_date": ["2025-06-30"] * 3})}

    frame = _same_in_every_order(_in_engine_orders(lambda dataset: marketing.pipeline_by_source(dataset, PERIOD),
                                                   frames))
    by_source = frame.set_index("source")["share_of_pipeline_created"]
    assert by_source["C"] == pytest.approx(0.5) and by_source["A"] == pytest.approx(1 / 6)


def test_shares_of_lost_amount_by_reason_do_not_depend_on_the_row_order():
    frames = {"opportunities": pd.DataFrame({
        "opportunity_id": ["L0", "L1", "L2"], "lost_reason": ["Price", "Timing", "Competitor"], "amount": CENTS,
        "stage": ["Closed Lost"] * 3, "created_at": ["2025-01-02"] * 3, "close_date": ["2025-02-01"] * 3})}

    frame = _same_in_every_order(_in_engine_orders(
        lambda dataset: conversion.loss_reasons(dataset, PERIOD, by_stage=False), frames))
    by_reason = frame.set_index("reason")["share_of_lost_amount"]
    assert by_reason["Competitor"] == pytest.approx(0.5) and by_reason["Price"] == pytest.approx(1 / 6)


def test_the_plans_split_by_team_quotas_does_not_depend_on_the_row_order():
    # Team A's four quotas add up to 1089.87 in rep order and 1089.8700000000001 in the reverse
    # one, even in pandas' compensated group sums; team B's one rep has 100,000.
    quotas = [39.59, 528.59, 459.34, 62.35, 100_000.0]
    reps = [("R1", "A"), ("R2", "A"), ("R3", "A"), ("R4", "A"), ("R5", "B")]
    frames = {
        "reps": pd.DataFrame(reps, columns=["rep_id", "team"]).assign(rep_name=lambda frame: frame["rep_id"]),
        "quotas": pd.DataFrame({"rep_id": [rep for rep, _ in reps], "amount": quotas,
                                "period_start": "2025-01-01", "period_end": "2025-03-31"}),
        "opportunities": pd.DataFrame({"opportunity_id": ["O1"], "rep_id": ["R1"], "amount": [1.0],
                                       "stage": ["Prospecting"], "created_at": ["2025-01-02"],
                                       "close_date": ["2025-03-01"]}),
    }
    plan = types.SimpleNamespace(period=PERIOD, target=types.SimpleNamespace(basis="quotas"))
    splits = _in_engine_orders(lambda dataset: hiring._team_split(dataset, plan, ["A", "B"], EVERYTHING), frames)
    for split in splits[1:]:
        pd.testing.assert_series_equal(split, splits[0], check_exact=True)
    assert splits[0]["A"] == pytest.approx(1089.87 / 101_089.87)


def test_time_in_stage_with_rows_at_the_same_time_does_not_depend_on_the_row_order():
    # O1 entered Prospecting and Qualification at the same minute (an import), then Proposal
    # ten days later: in process order, Prospecting lasted 0 days and Qualification 10. In the
    # other order, Prospecting would have lasted 10 days and Qualification ended at once.
    history = [("O1", "2025-01-05 09:00:00", "Prospecting"), ("O1", "2025-01-05 09:00:00", "Qualification"),
               ("O1", "2025-01-15 09:00:00", "Proposal")]

    def dataset(order):
        rows = [history[index] for index in order] + history[2:]  # the two tied rows in the order given
        return dataset_from_frames({
            "opportunities": pd.DataFrame({"opportunity_id": ["O1"], "stage": ["Proposal"], "amount": [100.0],
                                           "created_at": ["2025-01-05"], "close_date": ["2025-04-30"]}),
            "opportunity_history": pd.DataFrame(rows, columns=["opportunity_id", "changed_at", "stage"]),
        })

    frame = _same_in_every_order([funnel.time_in_stage(dataset(order), PERIOD) for order in [(0, 1), (1, 0)]])
    days = frame.set_index("stage")["median_days_in_stage"]
    assert days["Prospecting"] == pytest.approx(0) and days["Qualification"] == pytest.approx(10)
