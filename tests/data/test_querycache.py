"""The per-dataset query cache (salesnb.data.querycache): equal expressions run once, every
caller gets its own equal frame, and no dataset ever reads another's entries."""

import ibis
import pandas as pd
import pytest

from salesnb import dataset_from_frames, open_dataset
from salesnb.data import querycache
from salesnb.metrics import conversion
from tests.deal_fixtures import OPPORTUNITIES, PERIOD, REPS


def _won_by_rep(dataset):
    """Built anew on each call: an equal expression, never the same object."""
    deals = dataset.table("opportunities")
    won = deals.filter(deals.stage == "Closed Won")
    return won.group_by("rep_id").agg(won=won.count()).order_by("rep_id")


def test_an_equal_expression_is_run_once_and_every_caller_gets_its_own_equal_frame():
    dataset = dataset_from_frames({"opportunities": OPPORTUNITIES, "reps": REPS})
    cache = dataset.query_cache
    before = (cache.hits, cache.misses)
    first = _won_by_rep(dataset).execute()
    second = _won_by_rep(dataset).execute()
    assert (cache.hits - before[0], cache.misses - before[1]) == (1, 1)
    # By hand: won deals O1, O6 (R1), O3 (R2), O7 (R3).
    assert first.to_dict("list") == {"rep_id": ["R1", "R2", "R3"], "won": [2, 1, 1]}
    pd.testing.assert_frame_equal(first, second)
    first.loc[0, "won"] = 99  # a caller changing its frame changes nobody else's
    first["extra"] = 1
    third = _won_by_rep(dataset).execute()
    assert third.to_dict("list") == {"rep_id": ["R1", "R2", "R3"], "won": [2, 1, 1]}
    assert third is not second


def test_a_metric_gives_the_same_frame_from_the_cache_as_from_the_engine():
    dataset = dataset_from_frames({"opportunities": OPPORTUNITIES, "reps": REPS})
    first = conversion.win_rates(dataset, PERIOD, by="rep")
    hits = dataset.query_cache.hits
    second = conversion.win_rates(dataset, PERIOD, by="rep")
    assert dataset.query_cache.hits > hits
    pd.testing.assert_frame_equal(first, second)
    uncached = dataset_from_frames({"opportunities": OPPORTUNITIES, "reps": REPS})
    uncached.query_cache.clear()
    uncached.query_cache.max_bytes = 0  # keeps nothing: every query goes to the engine
    pd.testing.assert_frame_equal(first, conversion.win_rates(uncached, PERIOD, by="rep"))
    assert len(uncached.query_cache) == 0


def test_two_datasets_never_share_an_entry():
    fewer = OPPORTUNITIES[OPPORTUNITIES["opportunity_id"] != "O1"]
    one = dataset_from_frames({"opportunities": OPPORTUNITIES, "reps": REPS})
    other = dataset_from_frames({"opportunities": fewer, "reps": REPS})
    assert _won_by_rep(one).execute()["won"].tolist() == [2, 1, 1]
    assert _won_by_rep(other).execute()["won"].tolist() == [1, 1, 1]  # O1 (R1, won) left out
    assert _won_by_rep(one).execute()["won"].tolist() == [2, 1, 1]
    assert one.query_cache is not other.query_cache


def test_a_dataset_opened_again_on_a_callers_connection_reads_the_tables_as_they_are_now():
    connection = ibis.duckdb.connect()
    connection.create_table("opportunities", OPPORTUNITIES)
    connection.create_table("reps", REPS)
    before = open_dataset(backend=connection, strict=False)
    assert _won_by_rep(before).execute()["won"].tolist() == [2, 1, 1]
    # The caller rewrites a table and opens the dataset again on the same connection: the
    # expressions are equal (same names, same connection), the entries made before are gone.
    connection.create_table("opportunities", OPPORTUNITIES[OPPORTUNITIES["rep_id"] != "R3"], overwrite=True)
    after = open_dataset(backend=connection, strict=False)
    assert _won_by_rep(after).execute()["won"].tolist() == [2, 1]
    assert after.query_cache.misses >= 1


def test_large_results_and_options_go_straight_to_the_engine():
    dataset = dataset_from_frames({"opportunities": OPPORTUNITIES, "reps": REPS})
    cache = dataset.query_cache
    cache.clear()
    cache.max_rows = 2  # the won-by-rep frame has 3 rows
    _won_by_rep(dataset).execute()
    assert len(cache) == 0
    cache.max_rows = querycache.MAX_ROWS
    _won_by_rep(dataset).execute(limit=2)
    assert len(cache) == 0
    _won_by_rep(dataset).execute()
    assert len(cache) == 1


def test_the_least_recently_used_entries_go_past_the_byte_limit():
    dataset = dataset_from_frames({"opportunities": OPPORTUNITIES, "reps": REPS})
    cache = dataset.query_cache
    cache.clear()
    deals = dataset.table("opportunities")
    by_rep = _won_by_rep(dataset)
    by_source = deals.group_by("source").agg(deals=deals.count()).order_by("source")
    by_rep.execute()
    cache.max_bytes = cache.bytes  # room for exactly what is kept now
    by_source.execute()
    assert len(cache) == 1 and (type(by_source), by_source.op()) in cache.entries


@pytest.mark.parametrize("value", [3, None])
def test_scalars_are_kept_and_given_back_as_they_came(value):
    cache = querycache.QueryCache()
    calls = []

    def engine(expr, **options):
        calls.append(options)
        return value

    expr = ibis.literal(1) + 2
    assert cache.execute(engine, expr) == value
    assert cache.execute(engine, ibis.literal(1) + 2) == value
    assert len(calls) == 1
