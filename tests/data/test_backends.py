"""Backend setup: DuckDB's memory limit and spill folder from the kit's settings, URLs."""

from __future__ import annotations

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
    assert _setting(connection, "temp_directory") == str(tmp_path / "spill")
    assert _setting(connection, "threads") == 1


def test_defaults_are_a_quarter_of_memory_and_a_spill_folder_in_the_cache(monkeypatch, isolated_cache):
    for name in ("SALESNB_MEMORY_LIMIT", "SALESNB_TEMP_DIR", "SALESNB_THREADS"):
        monkeypatch.delenv(name, raising=False)
    import os

    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert backends.duckdb_memory_limit() == f"{total_mb // 4}MB"
    connection = backends.connect_duckdb()
    # Never the notebooks folder or the user's working directory (DuckDB's default is ./.tmp).
    assert _setting(connection, "temp_directory") == str(isolated_cache / "duckdb-spill")


def test_a_setting_duckdb_refuses_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SALESNB_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="SALESNB_MEMORY_LIMIT"):
        backends.connect_duckdb()


def test_counts_from_any_engine():
    # An empty group's SUM: None on DuckDB, NaN on Spark; both mean no rows.
    assert [backends.as_count(value) for value in (None, float("nan"), 3, 3.0)] == [0, 0, 3, 3]
