"""Derived tables (``Dataset.derived``): the large tables every report starts from are written
once into the cache entry and read back by the next dataset opened on the same data, with the
same rows as when they are built in memory; a changed definition never reads an old file; a
cache that cannot keep them, a damaged file or a query on an in-memory table falls back to
building them in memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import ibis.expr.types as ir
import pandas as pd
import pytest

from salesnb import open_dataset
from salesnb.data import cache
from salesnb.metrics import deals, leads, orders, snapshots
from tests.cache_fixtures import cache_entries

BUILDERS = {
    "lead_facts": leads.lead_facts,
    "deals": deals.deals,
    "deal_states": snapshots.deal_states,
    "deal_timeline": snapshots.deal_timeline,
    "order_facts": orders.order_facts,
}


def _rows(table: ir.Table) -> pd.DataFrame:
    """The rows in one order (a table's row order is the engine's business)."""
    frame = table.execute()
    return frame.sort_values(list(frame.columns), na_position="first", kind="stable").reset_index(drop=True)


def _kept_from_file(table: ir.Table) -> bool:
    return getattr(table.op(), "name", "").startswith("derived_")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def in_memory(sample_dir):
    """Each table built in memory, as every report did before (no cache entry)."""
    dataset = open_dataset(sample_dir, use_cache=False)
    assert dataset.cache_entry is None
    tables = {name: build(dataset) for name, build in BUILDERS.items()}
    assert not any(_kept_from_file(table) for table in tables.values())
    return {name: _rows(table) for name, table in tables.items()}


def _derived_files(cache_dir) -> list[str]:
    [entry] = cache_entries(cache_dir)
    return sorted(path.name for path in (entry / cache.DERIVED_FOLDER).glob("*.parquet"))


def test_derived_tables_are_written_once_and_read_back_with_the_rows_built_in_memory(sample_dir, cache_dir,
                                                                                      in_memory, monkeypatch):
    first = open_dataset(sample_dir)
    for name, build in BUILDERS.items():
        table = build(first)
        assert _kept_from_file(table), name
        pd.testing.assert_frame_equal(_rows(table), in_memory[name], check_dtype=True)
    files = _derived_files(cache_dir)
    assert [name.rsplit("-", 1)[0] for name in files] == sorted(BUILDERS)

    # The next opening on the same data reads the files: nothing is written again.
    def no_writing(self, path, **options):
        raise AssertionError(f"{path} written again")

    monkeypatch.setattr(ir.Table, "to_parquet", no_writing)
    second = open_dataset(sample_dir)
    for name, build in BUILDERS.items():
        table = build(second)
        assert _kept_from_file(table), name
        pd.testing.assert_frame_equal(_rows(table), in_memory[name])
    assert _derived_files(cache_dir) == files


def test_a_metric_reads_the_same_numbers_from_the_kept_tables(sample_dir, cache_dir):
    expected = leads.lead_conversion(open_dataset(sample_dir, use_cache=False), by="source")
    leads.lead_facts(open_dataset(sample_dir))  # writes the file
    reopened = open_dataset(sample_dir)
    result = leads.lead_conversion(reopened, by="source")
    assert _kept_from_file(leads.lead_facts(reopened))
    pd.testing.assert_frame_equal(result, expected)


def test_a_changed_definition_builds_its_own_file_and_never_reads_the_old_one(sample_dir, cache_dir, monkeypatch):
    every_lead = _rows(leads.lead_facts(open_dataset(sample_dir)))
    original = leads._lead_facts
    # A new version of the kit that leaves out the website's leads.
    monkeypatch.setattr(leads, "_lead_facts", lambda dataset, table: original(dataset, table.filter(table.source != "Website")))
    changed = _rows(leads.lead_facts(open_dataset(sample_dir)))
    assert len(changed) == every_lead["source"].ne("Website").sum() < len(every_lead)
    assert len([name for name in _derived_files(cache_dir) if name.startswith("lead_facts-")]) == 2


def test_a_cache_that_cannot_keep_them_keeps_them_in_memory(sample_dir, cache_dir, in_memory):
    dataset = open_dataset(sample_dir)
    (dataset.cache_entry / cache.DERIVED_FOLDER).write_text("a file where the folder would go")  # mkdir fails
    for name, build in BUILDERS.items():
        table = build(dataset)
        assert not _kept_from_file(table), name
        pd.testing.assert_frame_equal(_rows(table), in_memory[name])


def test_a_damaged_file_is_built_again(sample_dir, cache_dir, in_memory):
    leads.lead_facts(open_dataset(sample_dir))
    [path] = (cache_entries(cache_dir)[0] / cache.DERIVED_FOLDER).glob("lead_facts-*.parquet")
    path.write_bytes(path.read_bytes()[:100])  # cut short after it was published
    damaged = leads.lead_facts(open_dataset(sample_dir))
    assert not _kept_from_file(damaged)
    pd.testing.assert_frame_equal(_rows(damaged), in_memory["lead_facts"])
    rebuilt = leads.lead_facts(open_dataset(sample_dir))  # the next opening writes it again
    assert _kept_from_file(rebuilt) and path.is_file()
    pd.testing.assert_frame_equal(_rows(rebuilt), in_memory["lead_facts"])


def test_two_kernels_building_at_once_publish_the_first_file_and_leave_nothing_else(tmp_path):
    path = tmp_path / "entry" / cache.DERIVED_FOLDER / "lead_facts-0123456789abcdef.parquet"
    path.parent.parent.mkdir()

    def writer(text):
        return lambda staging: staging.write_text(text)

    assert cache.write_derived(path, writer("first"))
    assert cache.write_derived(path, writer("second"))  # finished later: reads the published one
    assert path.read_text() == "first"
    assert [item.name for item in path.parent.iterdir()] == [path.name]  # no staging file left
    assert cache.keep_derived(path, writer("third"))  # there already: not written again
    assert path.read_text() == "first"


def test_a_kernel_asking_while_another_writes_waits_and_reads_its_file(tmp_path):
    path = tmp_path / "entry" / cache.DERIVED_FOLDER / "lead_facts-0123456789abcdef.parquet"
    path.parent.parent.mkdir()
    writing, finish, second_wrote = threading.Event(), threading.Event(), []

    def slow_writer(staging):
        writing.set()
        finish.wait(10)
        staging.write_text("first")

    first = threading.Thread(target=cache.keep_derived, args=(path, slow_writer))
    first.start()
    assert writing.wait(10)
    second = threading.Thread(target=lambda: second_wrote.append(cache.keep_derived(path, lambda staging: (
        second_wrote.append("wrote"), staging.write_text("second")))))
    second.start()
    time.sleep(0.3)  # the second has asked by now; without the lock it would be writing its own
    finish.set()
    first.join(10)
    second.join(10)
    assert second_wrote == [True] and path.read_text() == "first"


def test_a_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "entry" / cache.DERIVED_FOLDER / "deals-0123456789abcdef.parquet"
    path.parent.parent.mkdir()

    def full_disk(staging):
        staging.write_text("PAR1")
        raise OSError(28, "No space left on device")

    assert not cache.write_derived(path, full_disk)
    assert list(path.parent.iterdir()) == []


def test_the_file_names_are_the_same_in_every_process(sample_dir, cache_dir):
    """Ibis lists dropped columns in a set's order, which changes with the process's string
    hashing: without sorting them every kernel wrote its own copy of the deals."""
    script = ("import json, sys\nfrom salesnb import open_dataset\nfrom salesnb.metrics import deals, leads, orders, snapshots\n"
              "dataset = open_dataset(sys.argv[1])\n"
              "print(json.dumps([build(dataset).op().name for build in (leads.lead_facts, deals.deals, "
              "snapshots.deal_states, snapshots.deal_timeline)]))\n")
    names = []
    for seed in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", script, str(sample_dir)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        names.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert names[0] == names[1] == names[2]
    assert len(_derived_files(cache_dir)) == 4  # one file per table


def test_a_query_on_an_in_memory_table_is_not_kept(sample_dir, cache_dir, tmp_path):
    """Leads without deals: the facts join an empty in-memory table of deals, whose name
    changes with every process; such a table is built in memory, never kept under a name
    another process could not find again."""
    folder = tmp_path / "leads-only"
    folder.mkdir()
    shutil.copy(sample_dir / "leads.csv", folder / "leads.csv")
    dataset = open_dataset(folder, strict=False)
    facts = leads.lead_facts(dataset)
    assert not _kept_from_file(facts)
    assert int(facts.count().execute()) == len(pd.read_csv(folder / "leads.csv"))
    assert not (dataset.cache_entry / cache.DERIVED_FOLDER).exists()
