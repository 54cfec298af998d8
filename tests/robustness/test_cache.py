"""The Parquet cache: keyed on the files' content, a broken entry is a miss, and a cache that
cannot be written is a clear message (exit 2), never a traceback or a stale number."""

from __future__ import annotations

import errno
import os

import ibis.expr.types as ir

from salesnb.data.dataset import open_dataset
from tests.cache_fixtures import cache_entries
from tests.robustness_fixtures import OPPORTUNITIES, assert_refused, replace_cell, validate, write_dataset


def test_a_file_changed_with_the_same_size_and_time_is_not_served_stale_findings(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path / "cache"))
    data = write_dataset(tmp_path / "data")
    assert validate(data).code == 0
    path = data / "opportunities.csv"
    stat = path.stat()
    # 1200 -> -120: the same number of bytes; then the old modification time put back.
    path.write_text(replace_cell(OPPORTUNITIES, "O1", "amount", "-120"))
    assert path.stat().st_size == stat.st_size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert_refused(validate(data), 1, "opportunities.amount: 1 row(s) have a negative amount")


def test_a_truncated_cache_entry_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path / "cache"))
    data = write_dataset(tmp_path / "data")
    assert validate(data).code == 0
    [entry] = cache_entries(tmp_path / "cache")
    parquet = entry / "opportunities.parquet"
    parquet.write_bytes(parquet.read_bytes()[:100])  # a full disk or a killed copy
    outcome = validate(data)
    assert outcome.code == 0 and "Traceback" not in outcome.text, outcome.text
    assert open_dataset(data).table("opportunities").count().execute() == 5  # rebuilt


def test_an_unreadable_findings_file_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path / "cache"))
    data = write_dataset(tmp_path / "data")
    assert validate(data).code == 0
    [entry] = cache_entries(tmp_path / "cache")
    (entry / "findings.json").write_text('[{"severity": "err')
    outcome = validate(data)
    assert outcome.code == 0 and "Traceback" not in outcome.text, outcome.text


def test_cache_dir_pointing_at_a_file(tmp_path, monkeypatch):
    cache_file = tmp_path / "cache-is-a-file"
    cache_file.write_text("")
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(cache_file))
    data = write_dataset(tmp_path / "data")
    assert_refused(validate(data), 2, "SALESNB_CACHE_DIR", "is a file, not a folder", "Point it at a folder")


def test_a_full_cache_disk_is_a_clear_message_and_leaves_no_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path / "cache"))

    def disk_full(self, path, **options):
        path.write_bytes(b"PAR1")  # half-written, as a full disk leaves it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ir.Table, "to_parquet", disk_full)
    data = write_dataset(tmp_path / "data")
    assert_refused(validate(data), 2, "cache folder", "No space left on device", "Free some disk space",
                   "SALESNB_CACHE_DIR")
    assert cache_entries(tmp_path / "cache") == []  # nothing left that could be read as an entry


def test_running_out_of_memory_says_so_and_how_to_raise_the_limit(tmp_path, monkeypatch):
    """Past its memory limit DuckDB stops a query it cannot spill: the message names the limit
    and the setting, never a traceback, and never blames the file (it said "cannot be read as a
    CSV table" before)."""
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SALESNB_MEMORY_LIMIT", "1MB")
    data = write_dataset(tmp_path / "data")
    outcome = validate(data)
    assert_refused(outcome, 2, "DuckDB ran out of memory at this process's limit of 1MB", "SALESNB_MEMORY_LIMIT=2GB",
                   "--jobs", "docs/scaling.md")
    assert "cannot be read" not in outcome.text
