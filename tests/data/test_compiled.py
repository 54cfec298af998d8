"""Compiled SQL kept between processes (salesnb.data.compiled): the fingerprint tells every
different expression apart and is the same in every process; the kept SQL is what runs; a
kept file that is damaged, or a cache that cannot be written, only costs a compilation."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

import ibis
import pandas as pd
import pytest

from salesnb import open_dataset
from salesnb.data import cache, tablefiles
from salesnb.data.compiled import CompiledQueries, fingerprint
from salesnb.data.periods import Period
from salesnb.metrics import conversion, forecast, funnel, leads, pipeline, retention

DEALS = ibis.table({"deal_id": "string", "stage": "string", "amount": "float64", "created_at": "timestamp",
                    "close_date": "date"}, name="opportunities")


def _won_amount(table=DEALS, stage="Closed Won", low=0.3, since=dt.date(2025, 1, 1),
                at=dt.datetime(2025, 1, 1, 9, 0, 0, 1), total="sum", order="asc"):
    rows = table.filter((table.stage == stage) & (table.amount > low) & (table.close_date >= since)
                        & (table.created_at >= at))
    aggregate = rows.aggregate(by="stage", won=getattr(rows.amount, total)())
    return aggregate.order_by(ibis.desc("won") if order == "desc" else "won")


def test_equal_expressions_share_a_fingerprint_and_any_difference_gives_another():
    assert fingerprint(_won_amount()) == fingerprint(_won_amount())  # built twice: two objects, one value
    renamed = ibis.table({**DEALS.schema()}, name="deals")
    retyped = ibis.table({**DEALS.schema(), "amount": "decimal(38, 10)"}, name="opportunities")
    variants = {
        "stage": _won_amount(stage="Closed Lost"),
        "float's last digit": _won_amount(low=0.30000000000000004),
        "date": _won_amount(since=dt.date(2025, 1, 2)),
        "microsecond": _won_amount(at=dt.datetime(2025, 1, 1, 9, 0, 0, 2)),
        "operation": _won_amount(total="mean"),
        "order": _won_amount(order="desc"),
        "table name": _won_amount(renamed),
        "column type": _won_amount(retyped),
    }
    prints = {name: fingerprint(expression) for name, expression in variants.items()}
    assert None not in prints.values()
    assert len(set(prints.values()) | {fingerprint(_won_amount())}) == len(variants) + 1


BUILD_IN_A_NEW_PROCESS = textwrap.dedent("""
    import ibis
    from salesnb.data.compiled import fingerprint
    table = ibis.table({"a": "int64", "b": "string", "c": "float64", "d": "date", "e": "string"}, name="t")
    kept = table.drop("a", "c", "e")
    expression = kept.group_by("b").aggregate(first=kept.d.min(), rows=kept.count())
    print(fingerprint(expression))
""")


def test_the_fingerprint_is_the_same_in_every_process():
    """Python hashes text differently in each process (a set of dropped columns comes out in
    another order): the fingerprint does not depend on it."""
    table = ibis.table({"a": "int64", "b": "string", "c": "float64", "d": "date", "e": "string"}, name="t")
    kept = table.drop("a", "c", "e")
    here = fingerprint(kept.group_by("b").aggregate(first=kept.d.min(), rows=kept.count()))
    elsewhere = set()
    for seed in ("0", "1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", BUILD_IN_A_NEW_PROCESS], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        elsewhere.add(done.stdout.strip())
    assert elsewhere == {here}


def test_what_cannot_be_written_out_exactly_is_not_fingerprinted():
    in_memory = ibis.memtable(pd.DataFrame({"deal_id": ["D1"]}))
    assert fingerprint(DEALS.join(in_memory, "deal_id")) is None  # its rows are not in the expression
    wall_clock = DEALS.select(local=tablefiles._wall_clock_in("Europe/Paris", DEALS.created_at.cast("timestamp('UTC')")))
    assert fingerprint(wall_clock) is None  # a user-defined function
    assert fingerprint(DEALS.count()) is not None


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(folder))
    return folder


def _closed(dataset, stage: str):
    deals = dataset.table("opportunities")
    closed = deals.filter(deals.stage == stage)
    return closed.aggregate(deals_closed=closed.count())


def test_a_dataset_opened_again_on_the_same_data_runs_the_kept_sql(sample_dir, cache_dir):
    first = open_dataset(sample_dir)
    win_rates, funnel_rows = conversion.win_rates(first, by="rep"), funnel.stage_funnel(first)
    kept = sorted((first.cache_entry / cache.QUERIES_FOLDER).glob("*.sql"))
    assert kept and first.query_cache.compiled.misses >= len(kept)

    again = open_dataset(sample_dir)  # another connection, another dataset, as in the next kernel
    assert again.cache_entry == first.cache_entry
    pd.testing.assert_frame_equal(conversion.win_rates(again, by="rep"), win_rates)
    pd.testing.assert_frame_equal(funnel.stage_funnel(again), funnel_rows)
    assert again.query_cache.compiled.hits > 0 and again.query_cache.compiled.misses == 0


def test_the_kept_sql_is_what_runs_and_a_damaged_file_is_compiled_again(sample_dir, cache_dir):
    dataset = open_dataset(sample_dir)
    won = int(_closed(dataset, "Closed Won").execute()["deals_closed"].iloc[0])
    lost = int(_closed(dataset, "Closed Lost").execute()["deals_closed"].iloc[0])
    assert won != lost
    store = dataset.query_cache.compiled
    won_file = store.file_for(dataset.connection, _closed(dataset, "Closed Won"))
    lost_file = store.file_for(dataset.connection, _closed(dataset, "Closed Lost"))
    key, _, won_sql = won_file.read_text().partition("\n")
    # The lost deals' SQL kept under the won deals' name: a new dataset runs what the file says.
    won_file.write_text(f"{key}\n{lost_file.read_text().partition(chr(10))[2]}")
    assert int(_closed(open_dataset(sample_dir), "Closed Won").execute()["deals_closed"].iloc[0]) == lost

    for damaged in ("", f"{key}\n", f"another key\n{won_sql}", "\udcff".encode("utf-8", "surrogatepass")):
        if isinstance(damaged, bytes):
            won_file.write_bytes(damaged)
        else:
            won_file.write_text(damaged)
        fresh = open_dataset(sample_dir)
        assert int(_closed(fresh, "Closed Won").execute()["deals_closed"].iloc[0]) == won
        assert fresh.query_cache.compiled.misses == 1
        assert won_file.read_text() == f"{key}\n{won_sql}"  # written again, whole


def test_a_cache_that_cannot_keep_sql_still_runs_every_query(sample_dir, cache_dir, tmp_path):
    dataset = open_dataset(sample_dir)
    expected = int(_closed(dataset, "Closed Won").execute()["deals_closed"].iloc[0])
    in_the_way = tmp_path / "a file"
    in_the_way.write_text("not a folder")
    other = open_dataset(sample_dir)
    other.query_cache.compiled.folder = in_the_way / cache.QUERIES_FOLDER  # cannot be created
    assert int(_closed(other, "Closed Won").execute()["deals_closed"].iloc[0]) == expected
    assert other.query_cache.compiled.misses == 1


def test_an_expression_is_kept_under_the_sql_it_compiles_to(sample_dir, cache_dir, monkeypatch):
    """Over a report's worth of metrics, every fingerprint stands for one SQL text: no two
    different queries are ever kept under one name."""
    seen: dict[str, set[str]] = {}
    kept = CompiledQueries.sql

    def recording(self, connection, table_expr):
        key = self.key(connection, table_expr)
        if key is not None:
            # Ibis lists the columns a query drops from a set: the same query in any order.
            seen.setdefault(key, set()).add(cache.canonical_sql(connection.compile(table_expr)))
        return kept(self, connection, table_expr)

    monkeypatch.setattr(CompiledQueries, "sql", recording)
    dataset = open_dataset(sample_dir)
    period = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    for by in (None, "rep", "source"):
        conversion.win_rates(dataset, period, by=by)
        conversion.sales_cycle(dataset, period, by=by)
        funnel.stage_funnel(dataset, period, by=by)
        leads.lead_conversion(dataset, period, by=by)
    pipeline.open_pipeline(dataset, by="stage")
    retention.revenue_retention(dataset, period)
    forecast.forecast(dataset, period, simulations=200)
    assert len(seen) > 40
    assert {key: texts for key, texts in seen.items() if len(texts) > 1} == {}
