"""Backend setup: DuckDB's memory limit and spill folder from the kit's settings, URLs."""

from __future__ import annotations

import os

import pandas as pd
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
    # Freed memory goes back early (16 MB = 15.2 MiB), so a kernel's resident memory follows DuckDB's.
    assert _setting(connection, "allocator_flush_threshold") == "15.2 MiB"
    assert _setting(connection, "allocator_bulk_deallocation_flush_threshold") == "15.2 MiB"


def test_defaults_are_derived_from_memory_and_a_spill_folder_in_the_cache(monkeypatch, isolated_cache):
    for name in ("SALESNB_MEMORY_LIMIT", "SALESNB_TEMP_DIR", "SALESNB_THREADS", "SALESNB_PARALLEL_KERNELS"):
        monkeypatch.delenv(name, raising=False)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    # Alone (validate, a notebook opened by hand): half the memory, within 256..700 MB.
    assert backends.duckdb_memory_limit() == f"{min(max(total // 2 // 10**6, 256), 700)}MB"
    connection = backends.connect_duckdb()
    # Never the notebooks folder or the user's working directory (DuckDB's default is ./.tmp).
    assert _setting(connection, "temp_directory") == str(isolated_cache / "duckdb-spill" / f"process-{os.getpid()}")


GB = 2**30


@pytest.mark.parametrize("total_bytes, kernels, expected_mb", [
    # 24 GB, 2 kernels: 25,769,803,776 / 2 / (2 + 1) = 4,294,967,296 bytes = 4,294 MB, above the 700 MB cap.
    (24 * GB, 2, 700),
    # 4 GB, 4 kernels: 4,294,967,296 / 2 / 5 = 429,496,729 bytes: 429 MB.
    (4 * GB, 4, 429),
    # 3 GB, 2 kernels: 3,221,225,472 / 2 / 3 = 536,870,912 bytes: 536 MB.
    (3 * GB, 2, 536),
    # 2 GB, 8 kernels: 2,147,483,648 / 2 / 9 = 119,304,647 bytes: 119 MB, raised to the 256 MB floor.
    (2 * GB, 8, 256),
    # 1 GB alone (validate): 1,073,741,824 / 2 / 1 = 536,870,912 bytes: 536 MB.
    (1 * GB, 0, 536),
    # 1 GB, 1 kernel: 1,073,741,824 / 2 / 2 = 268,435,456 bytes: 268 MB.
    (1 * GB, 1, 268),
])
def test_the_default_limit_shares_half_the_memory_among_the_kernels_and_the_runner(total_bytes, kernels, expected_mb):
    assert backends.default_memory_limit_mb(total_bytes, kernels) == expected_mb


def test_a_run_tells_its_kernels_how_many_run_at_once(monkeypatch):
    monkeypatch.delenv("SALESNB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("SALESNB_PARALLEL_KERNELS", raising=False)
    monkeypatch.setattr(os, "sysconf", lambda name: {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 4 * GB // 4096}[name])
    assert backends.parallel_kernels() == 0
    assert backends.duckdb_memory_limit() == "700MB"  # 4 GB alone: 2,147 MB, capped
    with backends.kernels_at_once(4):
        assert os.environ["SALESNB_PARALLEL_KERNELS"] == "4"
        # A kernel started here inherits the variable: 4 GB / 2 / 5 = 429 MB.
        code = "from salesnb.data import backends; print(backends.parallel_kernels())"
        import subprocess
        import sys
        assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.strip() == "4"
        assert backends.duckdb_memory_limit() == "429MB"
        monkeypatch.setenv("SALESNB_MEMORY_LIMIT", "3GB")  # the setting still wins
        assert backends.duckdb_memory_limit() == "3GB"
    assert "SALESNB_PARALLEL_KERNELS" not in os.environ


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


@pytest.mark.parametrize("configured, default, during, after", [
    pytest.param(None, "700MB", "429.1 MiB", "667.5 MiB", id="lowered-to-450MB-while-built"),
    pytest.param("2GB", "700MB", "1.8 GiB", "1.8 GiB", id="the-users-limit-stays"),
    pytest.param(None, "300MB", "286.1 MiB", "286.1 MiB", id="a-lower-default-stays"),
])
def test_a_cache_entry_is_built_under_a_lower_memory_limit(tmp_path, monkeypatch, configured, default, during, after):
    """DuckDB's Parquet writer holds memory outside DuckDB's limit: the entry is typed, checked
    and written at 450 MB (validate at xlarge: 1,197 MB peak with 700, 872 MB with 450), then
    the limit is put back for the queries that follow."""
    from salesnb.data import dataset as dataset_module

    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SALESNB_MEMORY_LIMIT", raising=False)
    if configured:
        monkeypatch.setenv("SALESNB_MEMORY_LIMIT", configured)
    else:
        monkeypatch.setattr(backends, "duckdb_memory_limit", lambda: default)
    seen = []
    check_and_type = dataset_module._check_and_type

    def recording(connection, *arguments, **options):
        seen.append(_setting(connection, "memory_limit"))
        return check_and_type(connection, *arguments, **options)

    monkeypatch.setattr(dataset_module, "_check_and_type", recording)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "opportunities.csv").write_text(
        "opportunity_id,created_at,close_date,stage,amount\n1,2025-01-05,2025-02-04,Closed Won,100\n")
    opened = dataset_module.open_dataset(tmp_path / "data")
    assert seen == [during]
    assert _setting(opened.connection, "memory_limit") == after
    dataset_module.open_dataset(tmp_path / "data")  # read from the entry: nothing built, nothing lowered
    assert seen == [during]


def test_memory_lowered_puts_back_the_limit_that_was_in_effect(monkeypatch):
    # Scoring and the cache build lower DuckDB's limit while the process holds data of its own.
    monkeypatch.delenv("SALESNB_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(backends, "duckdb_memory_limit", lambda: "700MB")
    connection = backends.connect_duckdb()
    with backends.memory_lowered(connection):  # 450 MB
        assert _setting(connection, "memory_limit") == "429.1 MiB"
        with backends.memory_lowered(connection, 300):
            assert _setting(connection, "memory_limit") == "286.1 MiB"
        assert _setting(connection, "memory_limit") == "429.1 MiB"  # the enclosing block's, not the default
        with backends.memory_lowered(connection, 600):  # never raised
            assert _setting(connection, "memory_limit") == "429.1 MiB"
    assert _setting(connection, "memory_limit") == "667.5 MiB"
    with pytest.raises(ZeroDivisionError), backends.memory_lowered(connection):
        1 / 0
    assert _setting(connection, "memory_limit") == "667.5 MiB"  # put back after an error too
    # A connection the caller made, and a limit the user set, are left as they are.
    import ibis

    theirs = ibis.duckdb.connect()
    theirs.con.execute("SET memory_limit = '2GB'")
    monkeypatch.setenv("SALESNB_MEMORY_LIMIT", "3GB")
    monkeypatch.setattr(backends, "duckdb_memory_limit", lambda: "3GB")  # what the variable gives
    configured = backends.connect_duckdb()
    for connection, limit in ((theirs, "1.8 GiB"), (configured, "2.7 GiB")):
        with backends.memory_lowered(connection):
            assert _setting(connection, "memory_limit") == limit


def test_running_out_of_memory_inside_a_lowered_block_names_the_lowered_limit(monkeypatch):
    # The limit is put back before the error is reported: the message must still name the
    # one the query hit, not the default it no longer ran under.
    import duckdb

    monkeypatch.delenv("SALESNB_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(backends, "duckdb_memory_limit", lambda: "700MB")
    connection = backends.connect_duckdb()
    with pytest.raises(duckdb.OutOfMemoryException) as caught, backends.memory_lowered(connection, 2):
        connection.con.execute("SELECT list(range) FROM range(20000000)").fetchall()  # one list: cannot spill
    message = backends.out_of_memory_message(caught.value)
    assert message.startswith("DuckDB ran out of memory at this process's limit of 2MB (the kit lowers its default "
                              "of 700MB to that while it builds the cache or learns the scores) (Out of Memory Error")
    assert "SALESNB_MEMORY_LIMIT=2GB" in message
    assert _setting(connection, "memory_limit") == "667.5 MiB"
    with pytest.raises(duckdb.OutOfMemoryException) as caught:  # outside the block: the default, as before
        connection.con.execute("SET memory_limit = '2MB'")
        connection.con.execute("SELECT list(range) FROM range(20000000)").fetchall()
    assert "at this process's limit of 700MB (Out of Memory Error" in backends.out_of_memory_message(caught.value)


# Every type a CRM table or a metric's result has, each with an empty value, one row with
# values only, and the edge values (negative zero, the epoch, empty text).
EVERY_TYPE = """
    SELECT * FROM (VALUES
     (1, 1.5::DOUBLE, 'a', TRUE, DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05',
      TIMESTAMPTZ '2024-01-02 03:04:05+00', 1.25::DECIMAL(10, 2), 3::TINYINT, 2::INT, INTERVAL 3 DAY, [1, 2],
      {'x': 1}, TIME '01:02:03', 'b'::BLOB, 5::HUGEINT, 7::UBIGINT, 2.5::FLOAT),
     (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
     (3, -0.0::DOUBLE, '', FALSE, DATE '1970-01-01', TIMESTAMP '1900-01-01 00:00:00',
      TIMESTAMPTZ '2030-01-01 00:00:00+00', -3.5::DECIMAL(10, 2), -3::TINYINT, -2::INT, INTERVAL 1 HOUR, [],
      {'x': NULL}, TIME '23:59:59', ''::BLOB, -5::HUGEINT, 0::UBIGINT, NULL)
    ) AS v(i, f, s, b, d, ts, tstz, dec, ti, i32, iv, arr, st, tm, bl, hi, ub, fl)"""


def test_duckdb_results_read_through_arrow_are_those_of_ibis_for_every_type():
    import ibis

    connection = backends.connect_duckdb()
    connection.raw_sql(f"CREATE TABLE every_type AS {EVERY_TYPE}")
    table = connection.table("every_type")
    ibis_execute = type(connection).execute.__get__(connection)
    read = backends.engine_execute(connection)
    assert read is not ibis_execute
    expressions = {
        "empty values": table, "no empty value": table.filter(table.i.notnull()),
        "only empty values": table.filter(table.i.isnull()), "no rows": table.filter(table.i > 100),
        "a NULL literal": table.select(nothing=ibis.null(), i=table.i), "a column": table.f,
        "a scalar": table.f.sum(), "an empty scalar": table.filter(table.i > 100).f.sum(),
    }
    for name, expression in expressions.items():
        expected, got = ibis_execute(expression), read(expression)
        if isinstance(expected, pd.DataFrame):
            pd.testing.assert_frame_equal(got, expected, obj=name)
            # Intervals and the like are objects: compared by their text as well as by equality.
            assert [repr(value) for value in got.astype(object).to_numpy().ravel()] == \
                [repr(value) for value in expected.astype(object).to_numpy().ravel()], name
        elif isinstance(expected, pd.Series):
            pd.testing.assert_series_equal(got, expected, obj=name)
        else:
            assert repr(got) == repr(expected), name


def test_which_result_columns_go_through_python_objects():
    import pyarrow as pa

    # Numbers, texts, dates with an empty value: Arrow's own conversion (the point: no Python floats).
    assert not backends.read_as_python(pa.chunked_array([[1.5, None]]))
    assert not backends.read_as_python(pa.chunked_array([["a", None]]))
    assert not backends.read_as_python(pa.chunked_array([[1, None]], type=pa.int64()))
    assert not backends.read_as_python(pa.chunked_array([[1.5, 2.0]]))
    # As Ibis: nothing but empty values, nested values, other types with an empty value.
    assert backends.read_as_python(pa.chunked_array([[None, None]], type=pa.float64()))
    assert backends.read_as_python(pa.chunked_array([[[1], None]]))
    assert backends.read_as_python(pa.chunked_array([[b"x", None]]))


def test_a_dataset_reads_its_results_through_arrow(sample_dir, monkeypatch, isolated_cache):
    from salesnb.data.dataset import open_dataset

    seen = []
    decide = backends.read_as_python
    monkeypatch.setattr(backends, "read_as_python", lambda column: seen.append(column.type) or decide(column))
    dataset = open_dataset(sample_dir)
    deals = dataset.table("opportunities")
    frame = deals.select(deals.opportunity_id, deals.amount).execute()
    assert frame["amount"].isna().any() and len(seen) >= 2  # the sample has deals without an amount


def test_parquet_is_written_without_keeping_the_row_order_then_the_setting_is_put_back(tmp_path):
    connection = backends.connect_duckdb()

    def insertion_order():
        return connection.con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]

    table = connection.create_table("rows", pd.DataFrame({"id": range(1000), "amount": [0.25] * 1000}))
    backends.write_parquet(connection, table, tmp_path / "rows.parquet")
    written = pd.read_parquet(tmp_path / "rows.parquet")
    assert sorted(written["id"]) == list(range(1000)) and written["amount"].eq(0.25).all()  # every row, once
    assert insertion_order() is True  # DuckDB's default, put back

    class Failing:  # records the setting during the write, then fails as a full disk would
        def to_parquet(self, path):
            seen.append(insertion_order())
            raise OSError("disk full")

    seen = []
    with pytest.raises(OSError):
        backends.write_parquet(connection, Failing(), tmp_path / "failed.parquet")
    assert seen == [False] and insertion_order() is True  # off for the write only, back after a failure too
    connection.con.execute("SET preserve_insertion_order = false")  # the user's own setting is kept
    backends.write_parquet(connection, table, tmp_path / "again.parquet")
    assert insertion_order() is False


def test_parquet_from_another_engine_is_written_as_it_is(tmp_path):
    class Written:
        def to_parquet(self, path):
            self.path = path

    expression, path = Written(), tmp_path / "spark.parquet"
    backends.write_parquet(object(), expression, path)  # no DuckDB connection: no setting to change
    assert expression.path == path
