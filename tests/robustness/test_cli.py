"""Command-line usage: every mistake a user can type is a usage message and exit 2, never a traceback.

docs/reports.md promises exit 2 for usage errors. Typer raises its own bundled click
exceptions; before issue 13 ``salesnb.cli.main`` caught only the installed click's, so each
of these printed a traceback and exited 1.
"""

from __future__ import annotations

import pytest

from tests.robustness_fixtures import assert_refused, salesnb, untouched, validate, write_dataset


@pytest.mark.parametrize(("args", "words"), [
    pytest.param([], ["Usage: salesnb", "Commands:", "validate"], id="no-arguments"),
    pytest.param(["--bogus"], ["No such option: --bogus", "salesnb --help"], id="unknown-option"),
    pytest.param(["validate"], ["Missing option '--data'", "salesnb validate --help"], id="validate-without-data"),
    pytest.param(["run", "--jobs", "abc"], ["Usage: salesnb run", "--jobs must be 1 or more (a whole number: the "
                                            "notebooks to run at once), not 'abc'"], id="jobs-not-a-number"),
    pytest.param(["frobnicate"], ["No such command 'frobnicate'"], id="unknown-command"),
    pytest.param(["import"], ["Missing argument 'SOURCE'"], id="import-without-source"),
])
def test_usage_errors_print_usage_and_exit_2(args, words):
    assert_refused(salesnb(*args), 2, *words)


def test_jobs_zero_names_the_option(tmp_path):
    data = write_dataset(tmp_path / "data")
    with untouched(data):
        outcome = salesnb("run", "--data", data, "--jobs", "0", "--out", tmp_path / "run")
    assert_refused(outcome, 2, "--jobs must be 1 or more")


def test_help_names_values_not_python_types():
    outcome = salesnb("run", "--help")
    assert outcome.code == 0
    for python_type in ("<bool>", "<list[str]>", "<str>", "<int>", "<path>"):
        assert python_type not in outcome.text
    assert "--only NAME" in outcome.text and "--data FOLDER" in outcome.text and "--jobs N" in outcome.text


def test_data_pointing_at_a_file_says_it_is_a_file(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n")
    with untouched(tmp_path):
        outcome = salesnb("validate", "--data", readme)
    assert_refused(outcome, 2, "is a file, not a folder", f"--data {tmp_path}")
    assert "does not exist" not in outcome.text


def test_data_folder_that_does_not_exist(tmp_path):
    assert_refused(salesnb("validate", "--data", tmp_path / "nowhere"), 2, "does not exist", "salesnb sample")


def test_folder_without_any_table(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    assert_refused(validate(tmp_path), 2, "none of the kit's tables", "opportunities.csv")


@pytest.mark.parametrize(("option", "value", "words"), [
    pytest.param("--period-end", "9999-12-31", ["--period-end 9999-12-31", "outside the dates"], id="year-9999"),
    pytest.param("--period-start", "1066-10-14", ["--period-start 1066-10-14", "outside the dates"], id="year-1066"),
    pytest.param("--period-start", "03/04/2025", ["--period-start must be a date written as YYYY-MM-DD"], id="us-date"),
])
def test_periods_out_of_range_or_unreadable_stop_before_any_notebook(tmp_path, option, value, words):
    data = write_dataset(tmp_path / "data")
    with untouched(data):
        outcome = salesnb("run", "--data", data, option, value, "--out", tmp_path / "run")
    assert_refused(outcome, 2, *words)
    assert not (tmp_path / "run").exists()  # refused before a run folder was made


def test_unknown_notebook_name_lists_the_names(tmp_path):
    data = write_dataset(tmp_path / "data")
    with untouched(data):
        outcome = salesnb("run", "--data", data, "--only", "99_nothing", "--out", tmp_path / "run")
    assert_refused(outcome, 2, "99_nothing", "02_conversion")


def test_unknown_preset_lists_the_presets(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("a,b\n1,2\n")
    with untouched(tmp_path):
        outcome = salesnb("import", export, "--preset", "zoho", "--out", tmp_path / "out")
    assert_refused(outcome, 2, "zoho", "salesforce")


def test_validate_without_a_source_asks_for_one_and_not_for_fewer():
    outcome = salesnb("validate")
    assert_refused(outcome, 2, "Missing option '--data' (a data folder) or '--backend' (where the tables live): "
                               "give one of them.")
    assert "not both" not in outcome.text


def test_an_unknown_period_rule_is_answered_with_the_closest_rules_and_the_list(tmp_path):
    data = write_dataset(tmp_path / "data")
    with untouched(data):
        outcome = salesnb("run", "--data", data, "--period", "last_month", "--out", tmp_path / "run")
    assert_refused(outcome, 2, "--period 'last_month' is not a period rule (did you mean 'last_12_months' or "
                               "'last_full_month'?)", "  last_full_month: the last complete calendar month",
                   "  fiscal_quarter: the fiscal quarter still open", "or --period-start and --period-end")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("args", "words"), [
    pytest.param(["--jobs", "2.5"], ["--jobs must be 1 or more (a whole number: the notebooks to run at once), not '2.5'"],
                 id="jobs-not-whole"),
    pytest.param(["--keep", "many"], ["--keep must be 1 or more (a whole number: the finished runs to keep), "
                                      "not 'many'"], id="keep-text"),
    pytest.param(["--timeout", "0"], ["--timeout must be above 0 (a number of seconds: the per-notebook time limit), "
                                      "not 0"], id="timeout-zero"),
    pytest.param(["--lock-wait", "-5"], ["--lock-wait must be 0 or more (a number of seconds"], id="lock-wait-negative"),
    pytest.param(["--timeout", "nan"], ["--timeout: nan is not a finite number (the per-notebook time limit)"],
                 id="timeout-nan"),
    pytest.param(["--lock-wait", "inf"], ["--lock-wait: inf is not a finite number"], id="lock-wait-inf"),
    pytest.param(["--period", "2025Q3", "--period-end", "2025-12-31"],
                 ["--period 2025Q3 already sets both ends of the period; leave out --period-start and --period-end"],
                 id="period-and-dates"),
    pytest.param(["--period-start", "2025-06-01", "--period-end", "2025-01-31"],
                 ["--period-start 2025-06-01 is after --period-end 2025-01-31; swap them"], id="start-after-end"),
    pytest.param(["--each", "teams"], ["--each: unknown filter 'teams' (did you mean 'team'?)",
                                       "team, rep, segment, source, product, region"], id="each-typo"),
])
def test_run_options_are_named_as_typed_and_every_problem_is_a_usage_error(tmp_path, args, words):
    data = write_dataset(tmp_path / "data")
    with untouched(data):
        outcome = salesnb("run", "--data", data, *args, "--out", tmp_path / "run")
    assert_refused(outcome, 2, "Usage: salesnb run", *words)
    assert "period_start" not in outcome.text and "timeout_seconds" not in outcome.text
    assert not (tmp_path / "run").exists()
