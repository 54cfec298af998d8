"""Bad values: a number or date that would silently make a report wrong is an error (or a
warning, for a few typos), naming the table, the column and example rows."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.robustness_fixtures import (
    LEADS,
    OPPORTUNITIES,
    QUOTAS,
    assert_refused,
    replace_cell,
    validate,
    write_dataset,
)


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "inf", "-inf", "1e309"])
def test_non_finite_deal_amounts_are_errors(tmp_path, value):
    # Before: accepted; win rate by value dropped to 0.0% or the report showed "$inf".
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O3", "amount", value))
    assert_refused(validate(data), 1, "opportunities.amount: 1 row(s) have a value that is not a finite number",
                   "opportunity_id='O3'", "leave the cell empty")


@pytest.mark.parametrize(("table", "text", "row", "column"), [
    pytest.param("quotas", QUOTAS, "R2", "amount", id="quota-amount"),
    pytest.param("opportunities", OPPORTUNITIES.replace("lost_reason", "probability"), "O4", "probability",
                 id="deal-probability"),
])
def test_non_finite_numbers_in_other_tables_are_errors(tmp_path, table, text, row, column):
    data = write_dataset(tmp_path, **{table: replace_cell(text, row, column, "inf")})
    assert_refused(validate(data), 1, f"{table}.{column}", "not a finite number")


def test_non_finite_numbers_in_parquet_are_errors(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = write_dataset(tmp_path, opportunities=None)
    frame = pd.read_csv(io.StringIO(OPPORTUNITIES), dtype=str)
    table = pa.Table.from_pandas(frame.drop(columns="amount"), preserve_index=False)
    # A NaN stored as a float (from_pandas=False keeps it NaN; pandas would write NULL).
    amounts = pa.array([float("nan"), 800.0, 2500.0, 4000.0, 600.0], type=pa.float64(), from_pandas=False)
    pq.write_table(table.append_column("amount", amounts), data / "opportunities.parquet")
    assert_refused(validate(data), 1, "opportunities.amount: 1 row(s) have a value that is not a finite number",
                   "amount='nan'")


@pytest.mark.parametrize(("table", "text", "row", "column"), [
    pytest.param("opportunities", OPPORTUNITIES, "O2", "close_date", id="deal-close"),
    pytest.param("leads", LEADS, "L3", "first_response_at", id="lead-response"),
    pytest.param("quotas", QUOTAS, "R1", "period_end", id="quota-end"),
])
def test_a_date_in_year_10000_is_unreadable_not_a_traceback(tmp_path, table, text, row, column):
    # Before: "ValueError: year 10000 is out of range" from inside pandas.
    data = write_dataset(tmp_path, **{table: replace_cell(text, row, column, "10000-01-02")})
    assert_refused(validate(data), 1, f"{table}.{column}", "have a date that cannot be read", "10000-01-02",
                   "years up to 9999")


def test_responses_before_the_lead_was_created_are_an_error_when_many(tmp_path):
    # Before: accepted, and counted as instant answers (the median response moved 2.13 h -> 0.14 h).
    # L1 answered 2025-01-01, created 2025-01-02: 1 of 4 leads = 25% > 1%: an error.
    data = write_dataset(tmp_path, leads=replace_cell(LEADS, "L1", "first_response_at", "2025-01-01 09:00:00"))
    assert_refused(validate(data), 1, "ERROR", "leads.first_response_at: 1 row(s) were answered before the lead was "
                   "created (25.0% of leads)", "lead_id='L1'", "date columns are swapped")


def test_lead_stages_out_of_order_are_reported(tmp_path):
    # L2: SQL 2025-01-30 but converted 2025-01-25: 1 of 4 leads.
    data = write_dataset(tmp_path, leads=replace_cell(LEADS, "L2", "converted_at", "2025-01-25 09:00:00"))
    assert_refused(validate(data), 1, "leads.converted_at: 1 row(s) were converted before an earlier step",
                   "lead_id='L2'", "sql_at='2025-01-30")


def test_quota_ending_before_it_starts(tmp_path):
    data = write_dataset(tmp_path, quotas=replace_cell(QUOTAS, "R2", "period_end", "2024-12-01"))
    assert_refused(validate(data), 1, "quotas.period_end: 1 row(s) end before they start", "rep_id='R2'")


def test_overlapping_quotas_for_one_rep_are_a_warning(tmp_path):
    overlapping = QUOTAS.replace("R1,2025-04-01,2025-06-30", "R1,2025-03-01,2025-06-30")
    outcome = validate(write_dataset(tmp_path, quotas=overlapping))
    assert_refused(outcome, 0, "WARNING quotas.period_start: 1 row(s) start before the rep's previous quota period "
                   "ended (overlapping quotas)", "rep_id='R1', period_start='2025-03-01'", "count towards both")


def test_a_gap_between_quotas_is_a_warning(tmp_path):
    gap = QUOTAS.replace("R2,2025-04-01,2025-06-30", "R2,2025-05-01,2025-06-30")
    outcome = validate(write_dataset(tmp_path, quotas=gap))
    assert_refused(outcome, 0, "WARNING quotas.period_start: 1 row(s) start more than a day after", "rep_id='R2'",
                   "count towards no quota")


def test_deal_closed_before_creation(tmp_path):
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O2", "close_date", "2024-12-01"))
    assert_refused(validate(data), 1, "opportunities.close_date: 1 row(s) close before they were created")


def test_negative_amount(tmp_path):
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O1", "amount", "-1200"))
    assert_refused(validate(data), 1, "opportunities.amount: 1 row(s) have a negative amount", "correct the sign")


def test_amount_with_currency_symbol(tmp_path):
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O1", "amount", "$1200"))
    assert_refused(validate(data), 1, "opportunities.amount: 1 row(s) have a value that is not a number",
                   "salesnb import")


def test_duplicate_deal_id(tmp_path):
    data = write_dataset(tmp_path, opportunities=OPPORTUNITIES.replace("O5,", "O4,"))
    assert_refused(validate(data), 1, "opportunities.opportunity_id: 2 row(s) share an ID", "distinct IDs")


def test_unknown_stage_lists_the_playbook_stages(tmp_path):
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O4", "stage", "Verbal"))
    assert_refused(validate(data), 1, "opportunities.stage", "'Verbal' (1)", "The playbook's stages are")


def test_placeholder_date_is_a_warning(tmp_path):
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O4", "close_date", "2204-06-30"))
    assert_refused(validate(data), 0, "WARNING opportunities.close_date", "have a date before 1990-01-01 or after")


@pytest.mark.parametrize(("table", "text", "row", "column"), [
    pytest.param("opportunities", OPPORTUNITIES, "O3", "amount", id="deal-amount"),
    pytest.param("quotas", QUOTAS, "R2", "amount", id="quota-amount"),
])
def test_amounts_whose_sums_overflow_are_errors_naming_the_rows(tmp_path, table, text, row, column):
    # Before (issue 24): 1e308 passed with 0 errors; the run showed "Average won deal $inf" and
    # "Quota attainment inf%", and the pipeline review failed on a non-finite range.
    data = write_dataset(tmp_path, **{table: replace_cell(text, row, column, "1e308")})
    assert_refused(validate(data), 1, f"ERROR   {table}.{column}: 1 row(s) have an amount above 1,000,000,000,000,000",
                   "1e+308", "Correct the amount or leave the cell empty")


def test_an_amount_just_below_the_bound_is_accepted(tmp_path):
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O3", "amount", "999999999999999"))
    outcome = validate(data)
    assert outcome.code == 0 and "amount above" not in outcome.text, outcome.text


def test_a_nan_probability_is_not_reported_as_a_0_to_100_scale(tmp_path):
    # Before: also "have a probability above 1, as if on a 0..100 scale" (DuckDB sorts NaN above 1).
    deals = replace_cell(OPPORTUNITIES.replace("lost_reason", "probability"), "O4", "probability", "NaN")
    outcome = validate(write_dataset(tmp_path, opportunities=deals))
    assert_refused(outcome, 1, "opportunities.probability: 1 row(s) have a value that is not a finite number")
    assert "0..100 scale" not in outcome.text
