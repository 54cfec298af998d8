"""Backend URLs: nothing is ever created at a path given to read from, and a URL's path is
read as written, with the message saying what it was read as."""

from __future__ import annotations

import duckdb

from tests.robustness_fixtures import assert_refused, salesnb, untouched


def test_a_sqlite_url_to_a_missing_file_creates_nothing(tmp_path):
    # Before (issue 24): an empty crm.db appeared on the user's disk, then "has none of the kit's tables".
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with untouched(tmp_path):
        outcome = salesnb("validate", "--backend", url)
    assert_refused(outcome, 2, f"was read as the file {tmp_path / 'crm.db'}", "which does not exist",
                   "three slashes, then the path from /")
    assert list(tmp_path.iterdir()) == []


def test_a_duckdb_url_with_two_slashes_reads_the_file_it_names(tmp_path, monkeypatch):
    # Before: duckdb://crm.duckdb opened an empty in-memory database and reported "no tables".
    monkeypatch.chdir(tmp_path)
    with untouched(tmp_path):
        outcome = salesnb("validate", "--backend", "duckdb://crm.duckdb")
    assert_refused(outcome, 2, f"duckdb://crm.duckdb was read as the file crm.duckdb in the working folder {tmp_path}",
                   "as the URL has two slashes", "which does not exist")
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as connection:
        connection.execute("CREATE TABLE opportunities AS SELECT 'O1' AS opportunity_id, 'Closed Won' AS stage, "
                           "DATE '2025-03-01' AS close_date, 1200.0 AS amount")
    with untouched(tmp_path):
        outcome = salesnb("validate", "--backend", "duckdb://crm.duckdb")
    assert outcome.code == 0 and "Checked opportunities: 0 errors" in outcome.text, outcome.text


def test_a_duckdb_url_without_a_file_is_refused(tmp_path):
    assert_refused(salesnb("validate", "--backend", "duckdb://"), 2, "names no database file",
                   "in-memory database, with no tables")


def test_an_import_from_a_missing_database_creates_nothing(tmp_path):
    with untouched(tmp_path):
        outcome = salesnb("import", f"sqlite://{tmp_path / 'crm.db'}", "--preset", "hubspot", "--out", tmp_path / "out")
    assert_refused(outcome, 2, "was read as the file", "which does not exist")
    assert list(tmp_path.iterdir()) == []


def test_an_import_from_a_database_url_on_the_command_line_reads_it(tmp_path):
    # The command line hands SOURCE over as a path, which collapses "duckdb:///srv/crm.duckdb"
    # to "duckdb:/srv/crm.duckdb": before, "Export duckdb:/... does not exist".
    database = tmp_path / "crm.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE TABLE deals AS SELECT * FROM (VALUES ('1', 'closedwon', '2024-03-01', 500.0), "
                           "('2', 'closedlost', '2024-03-02', 0.0)) AS t(\"Record ID\", \"Deal Stage\", \"Close Date\", "
                           "\"Amount\")")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("stages:\n  - {name: Won, probability: 1, outcome: won, from: [closedwon]}\n"
                       "  - {name: Lost, probability: 0, outcome: lost, from: [closedlost]}\n"
                       "tables:\n  opportunities:\n    source: deals\n"
                       "    columns: {opportunity_id: Record ID, stage: Deal Stage, close_date: Close Date, "
                       "amount: Amount}\n")
    with untouched(database):
        outcome = salesnb("import", f"duckdb://{database}", "--mapping", mapping, "--out", tmp_path / "out")
    assert outcome.code == 0, outcome.text
    assert (tmp_path / "out" / "opportunities.csv").read_text().splitlines() == [
        "opportunity_id,close_date,stage,amount", "1,2024-03-01,Won,500.0", "2,2024-03-02,Lost,0.0"]
