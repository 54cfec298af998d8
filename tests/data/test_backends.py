"""Backend setup: DuckDB's memory limit and spill folder from the kit's settings, URLs."""

from __future__ import annotations

import os

import pytest

from salesnb.data import backends
from salesnb.errors import ConfigError


def _setting(connection, name: str) -> str:
    return connection.con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def test_duckdb_memory_limit_and_spill_folder_come_from_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESNB_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("SALESNB_TEMP_DIR", str(tmp_path / "spill"))
    monkeypatch.setenv("SALESNB_THREADS", "1")
    connection = backends.connect_duckdb()
    # DuckDB reports the limit in MiB: 512 MB = 512,000,000 bytes = 488.2 MiB.
    assert _setting(connection, "memory_limit") == "488.2 MiB"
    assert _setting(connection, "temp_directory") == str(tmp_path / "spill" / f"process-{os.getpid()}")
    assert _setting(connection, "threads") == 1


def test_defaults_are_a_quarter_of_memory_and_a_spill_folder_in_the_cache(monkeypatch, isolated_cache):
    for name in ("SALESNB_MEMORY_LIMIT", "SALESNB_TEMP_DIR", "SALESNB_THREADS"):
        monkeypatch.delenv(name, raising=False)
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert backends.duckdb_memory_limit() == f"{total_mb // 4}MB"
    connection = backends.connect_duckdb()
    # Never the notebooks folder or the user's working directory (DuckDB's default is ./.tmp).
    assert _setting(connection, "temp_directory") == str(isolated_cache / "duckdb-spill" / f"process-{os.getpid()}")


def test_each_process_spills_into_its_own_folder_and_dead_ones_are_cleared(monkeypatch, tmp_path):
    # DuckDB names spill files alike in every process: a shared folder let two kernels
    # overwrite each other's blocks (internal errors and crashes at xlarge).
    import subprocess
    import sys

    monkeypatch.setenv("SALESNB_TEMP_DIR", str(tmp_path / "not" / "yet"))
    backends.connect_duckdb()
    assert (tmp_path / "not" / "yet").is_dir()  # DuckDB itself creates only the last folder
    monkeypatch.setenv("SALESNB_TEMP_DIR", str(tmp_path))
    code = "from salesnb.data import backends; print(backends.duckdb_spill_dir())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "SALESNB_TEMP_DIR": str(tmp_path)}).stdout.strip()
    assert other != str(backends.duckdb_spill_dir())
    assert backends.duckdb_spill_dir().parent == tmp_path

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    stale = tmp_path / f"process-{ended.pid}"
    (stale / "duckdb_temp_block-1.block").parent.mkdir(parents=True)
    (stale / "duckdb_temp_block-1.block").write_bytes(b"x")
    mine = backends.duckdb_spill_dir()
    mine.mkdir()
    unrelated = tmp_path / "keep-me"
    unrelated.mkdir()
    backends.connect_duckdb()
    assert not stale.exists()
    assert mine.exists() and unrelated.exists()


def test_a_setting_duckdb_refuses_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SALESNB_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="SALESNB_MEMORY_LIMIT"):
        backends.connect_duckdb()


def test_counts_from_any_engine():
    # An empty group's SUM: None on DuckDB, NaN on Spark; both mean no rows.
    assert [backends.as_count(value) for value in (None, float("nan"), 3, 3.0)] == [0, 0, 3, 3]
