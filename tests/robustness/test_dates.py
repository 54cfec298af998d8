"""Dates far in the future: a placeholder 9999-12-31 or a year typed wrong (2052 for 2025)
never crashes a run and never moves the data date, so the default period stays on the data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from salesnb.data.dataset import open_dataset
from salesnb.data.periods import Period, check_data_date, resolve_period
from salesnb.errors import SalesnbError
from tests.robustness_fixtures import OPPORTUNITIES, assert_refused, replace_cell, salesnb, untouched, validate, \
    write_dataset

FAULT_NOTEBOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "fault_notebooks"
# The fixture's latest event: deal O5 lost on 2025-05-20 (O4 is open: its close date is a plan).
DATA_DATE = dt.date(2025, 5, 20)


@pytest.mark.parametrize("typo", ["9999-12-31", "2052-06-24"])
def test_a_far_future_close_date_does_not_move_the_data_date(tmp_path, typo):
    # Before (issue 24): the data date became 9999-12-31 (then every period failed with "year 10000
    # is out of range") or 2052-06-24 (the default period, June 2051 to May 2052, held no deal).
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O1", "close_date", typo))
    assert_refused(validate(data), 0, f"WARNING opportunities.close_date: 1 row(s) are dated far after every other "
                   f"deal or lead event, so they do not set the data date (which is {DATA_DATE})",
                   f"close_date='{typo}'", "A year typed wrong")
    dataset = open_dataset(data)
    assert dataset.as_of == DATA_DATE
    assert resolve_period(None, None, dataset.as_of, span=dataset.span) == Period(dt.date(2024, 5, 1),
                                                                                 dt.date(2025, 4, 30))


@pytest.mark.notebook
def test_a_run_on_data_with_a_9999_close_date_runs(tmp_path, monkeypatch):
    from salesnb.report import runner

    monkeypatch.setattr(runner, "DEFAULT_NOTEBOOKS_DIR", FAULT_NOTEBOOKS)
    monkeypatch.setenv("SALESNB_TEST_SLEEP", "0")
    data = write_dataset(tmp_path / "data", opportunities=replace_cell(OPPORTUNITIES, "O1", "close_date", "9999-12-31"))
    with untouched(data):
        outcome = salesnb("run", "--data", data, "--only", "00_quick", "--out", tmp_path / "run")
    assert outcome.code == 0 and "Traceback" not in outcome.text, outcome.text


def test_a_data_date_past_the_reportable_years_is_a_message():
    # A data date given directly (a notebook, a script): a message, never "year 10000 is out of range".
    with pytest.raises(SalesnbError, match="The data date 9999-12-31 is outside the dates the kit reports on"):
        resolve_period(None, None, dt.date(9999, 12, 31))
    assert check_data_date(DATA_DATE) == DATA_DATE


def test_the_data_layer_says_when_a_period_holds_no_data(tmp_path):
    # For the runner (issue 24): a run whose period holds no deal, lead or order is not "all ok".
    dataset = open_dataset(write_dataset(tmp_path))
    empty = Period(dt.date(2051, 6, 1), dt.date(2052, 5, 31))
    assert dataset.rows_in_period(empty) == {"deals": 0, "leads": 0}
    assert dataset.empty_period_message(empty).startswith(
        "The period 01 Jun 2051 – 31 May 2052 holds no deal or lead of the data, whose events run from 02 Jan 2025 "
        "to the data date 20 May 2025: every report would be empty.")
    # 2025-Q1: deals O1, O2, O3 (created), O4, O5 (created in March); leads L1..L4.
    first_quarter = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    assert dataset.rows_in_period(first_quarter) == {"deals": 5, "leads": 4}
    assert dataset.empty_period_message(first_quarter) is None
    # An open deal expected to close in a later quarter places that quarter in the data.
    assert dataset.rows_in_period(Period(dt.date(2025, 6, 1), dt.date(2025, 6, 30))) == {"deals": 1, "leads": 0}
