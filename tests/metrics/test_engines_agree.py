"""The same metric code on other engines gives the same numbers as on the embedded DuckDB.

The small sample is loaded where a warehouse or Spark would hold it (a DuckDB database file;
a Spark session's tables), opened with ``open_dataset(backend=...)`` (typed and validated
there), and every number of the lead, conversion and pipeline metric layers is compared with the
folder dataset's: counts exactly, rates and amounts within 1e-9 (``engine_fixtures``).

The Spark test starts a local Spark (Java 17, ``pip install -e '.[spark]'``) and runs only
with ``pytest --spark`` (``make test-spark``).
"""

from __future__ import annotations

import duckdb
import pytest

from salesnb import open_dataset
from salesnb.data import backends
from salesnb.data.model import TABLE_NAMES
from salesnb.data.validate import errors
from salesnb.errors import DatasetNotFoundError
from tests.engine_fixtures import METRIC_SETS, PERIOD, currency_metrics, differences, flatten


@pytest.fixture(scope="module")
def duckdb_numbers(sample_dir) -> dict:
    """Every metric set on the folder dataset (the embedded DuckDB): the reference."""
    dataset = open_dataset(sample_dir)
    return {name: flatten(compute(dataset, PERIOD)) for name, compute in METRIC_SETS.items()}


def in_a_database_file(folder, path):
    """The folder's tables as tables of a DuckDB database file, typed by DuckDB's own CSV reader
    (as a warehouse load would type them: dates, timestamps and numbers, not text)."""
    with duckdb.connect(str(path)) as connection:
        for name in TABLE_NAMES:
            if (folder / f"{name}.csv").exists():
                connection.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv(?, header = true)",
                                   [str(folder / f"{name}.csv")])
    return path


@pytest.fixture(scope="module")
def warehouse_file(sample_dir, tmp_path_factory):
    """The sample in a DuckDB database file."""
    return in_a_database_file(sample_dir, tmp_path_factory.mktemp("warehouse") / "crm.duckdb")


# The metric sets compared on the multi-currency sample: the conversion itself, and the
# pipeline review, whose views look back (each as-of date at its own rates).
CURRENCY_SETS = {"currencies": currency_metrics, "pipeline": METRIC_SETS["pipeline"]}


@pytest.fixture(scope="module")
def duckdb_numbers_in_currencies(currency_sample_dir) -> dict:
    dataset = open_dataset(currency_sample_dir)
    return {name: flatten(compute(dataset, PERIOD)) for name, compute in CURRENCY_SETS.items()}


@pytest.mark.parametrize("metric_set", sorted(CURRENCY_SETS))
def test_a_database_file_converts_currencies_as_the_folder_does(currency_sample_dir, duckdb_numbers_in_currencies,
                                                                 tmp_path, metric_set):
    path = in_a_database_file(currency_sample_dir, tmp_path / "crm.duckdb")
    dataset = open_dataset(backend=f"duckdb://{path}")
    assert errors(dataset.findings) == []
    numbers = flatten(CURRENCY_SETS[metric_set](dataset, PERIOD))
    assert len(numbers) > 50
    assert differences(duckdb_numbers_in_currencies[metric_set], numbers) == []


@pytest.mark.parametrize("metric_set", sorted(METRIC_SETS))
def test_a_duckdb_database_file_gives_the_same_numbers(warehouse_file, duckdb_numbers, metric_set):
    dataset = open_dataset(backend=f"duckdb://{warehouse_file}")
    assert errors(dataset.findings) == []
    assert dataset.source == f"duckdb://{warehouse_file}"
    # Opened read-only: the runner and its notebooks hold the same file at once.
    assert open_dataset(backend=f"duckdb://{warehouse_file}").has("opportunities")
    numbers = flatten(METRIC_SETS[metric_set](dataset, PERIOD))
    assert len(numbers) > 50  # the comparison covers whole tables, not one figure
    assert differences(duckdb_numbers[metric_set], numbers) == []


def test_validate_command_checks_the_tables_where_they_live(warehouse_file, capsys):
    from salesnb import cli

    assert cli.main(["validate", "--backend", f"duckdb://{warehouse_file}"]) == 0
    assert "Checked opportunities, opportunity_history, reps" in capsys.readouterr().out
    assert cli.main(["validate"]) == 2  # neither --data nor --backend: a usage error
    assert "Missing option '--data'" in capsys.readouterr().err


def test_differences_catch_a_changed_count_and_a_drifted_rate():
    # The comparison itself must be able to fail: one more won deal, a rate off by 1e-6.
    reference = {"won": 320.0, "win_rate": 0.2684563758389262, "source": "Webinar"}
    assert differences(reference, dict(reference)) == []
    assert differences(reference, {**reference, "won": 321.0}) == ["won: 320.0 != 321.0"]
    assert len(differences(reference, {**reference, "win_rate": 0.2684573758389262})) == 1
    assert differences(reference, {**reference, "win_rate": 0.2684563758389262 + 1e-12}) == []


def test_backend_url_errors_say_what_to_write(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="is not a backend URL"):
        open_dataset(backend="crm.duckdb")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(DatasetNotFoundError, match="has none of the kit's tables"):
        open_dataset(backend=f"duckdb://{empty}")
    with pytest.raises(DatasetNotFoundError, match="Give a data folder"):
        open_dataset()


def test_the_backend_is_described_without_credentials():
    assert backends.describe("postgres://analyst:s3cret@db.example:5432/crm") == "postgres://db.example:5432/crm"
    assert backends.describe("duckdb:///srv/crm.duckdb") == "duckdb:///srv/crm.duckdb"


# ----------------------------------------------------------------------------- Spark


@pytest.fixture(scope="module")
def spark_session():
    """The sample's CSV files as tables of a local Spark session (every column text, as a raw
    landing zone holds them), opened through the ``pyspark`` backend URL."""
    pyspark_sql = pytest.importorskip("pyspark.sql", reason="make test-spark installs pyspark (the 'spark' extra)")
    session = (pyspark_sql.SparkSession.builder.master("local[2]").appName("salesnb-tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield lambda folder: spark_tables(session, folder)
    finally:
        session.stop()


def spark_tables(session, folder):
    """The folder's CSV files as the session's tables (every column text, as a raw landing zone
    holds them), opened through the ``pyspark`` backend URL (it picks up the active session, as
    `salesnb run --backend pyspark` does)."""
    for name in TABLE_NAMES:
        session.catalog.dropTempView(name)
        if (folder / f"{name}.csv").exists():
            # The canonical CSV doubles a quote inside a quoted value ("" as in RFC 4180).
            session.read.csv(str(folder / f"{name}.csv"), header=True, escape='"').createOrReplaceTempView(name)
    return open_dataset(backend="pyspark")


@pytest.fixture(scope="module")
def spark_dataset(spark_session, sample_dir):
    return spark_session(sample_dir)


@pytest.mark.spark
@pytest.mark.parametrize("metric_set", sorted(METRIC_SETS))
def test_spark_gives_the_same_numbers(spark_dataset, duckdb_numbers, metric_set):
    assert spark_dataset.connection.name == "pyspark"
    assert errors(spark_dataset.findings) == []
    numbers = flatten(METRIC_SETS[metric_set](spark_dataset, PERIOD))
    assert differences(duckdb_numbers[metric_set], numbers) == []


@pytest.mark.spark
def test_spark_converts_currencies_as_duckdb_does(spark_session, currency_sample_dir, duckdb_numbers_in_currencies):
    """The multi-currency sample on Spark: the conversion at load (close-date, data-date and
    order-date rates), the pipeline on past dates at their own rates and the waterfall's
    currency effect give DuckDB's numbers."""
    dataset = spark_session(currency_sample_dir)
    assert errors(dataset.findings) == []
    for metric_set, compute in CURRENCY_SETS.items():
        numbers = flatten(compute(dataset, PERIOD))
        assert differences(duckdb_numbers_in_currencies[metric_set], numbers) == [], metric_set


@pytest.mark.spark
def test_spark_reads_the_scoring_examples_in_two_passes_as_duckdb_does(spark_dataset, sample_dir, monkeypatch):
    """Beyond the caps the scoring reads each example's keys, then every column of some of them
    (a semi-join to an in-memory table of IDs): on Spark as on DuckDB."""
    import numpy as np
    import pandas as pd

    from salesnb.metrics import scoring, scoring_models
    monkeypatch.setattr(scoring, "GUARD_EXAMPLES", 400)
    monkeypatch.setattr(scoring_models, "MAX_TRAINING_EXAMPLES", 300)
    on_duckdb, on_spark = scoring.deal_examples(open_dataset(sample_dir)), scoring.deal_examples(spark_dataset)
    assert not on_spark.complete and not on_duckdb.complete
    pd.testing.assert_frame_equal(on_spark.frame, on_duckdb.frame, check_dtype=False)
    positions = np.arange(0, len(on_duckdb.frame), 7)
    spark_rows, duckdb_rows = (scoring._rows(examples, positions, scoring._record_numbers(examples.frame["record_id"]))
                               for examples in (on_spark, on_duckdb))
    assert list(spark_rows.index) == list(duckdb_rows.index) and len(spark_rows) < len(on_duckdb.frame)
    for column in ("record_id", "stage", "outcome", "rep_id", "activities", "amount", "stage_probability"):
        pd.testing.assert_series_equal(spark_rows[column], duckdb_rows[column], check_dtype=False, rtol=1e-9,
                                       obj=column)
