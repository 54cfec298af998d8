"""Data health computations on a tiny hand-made dataset (values worked out by hand)."""

import datetime as dt

import pandas as pd
import pytest

from salesnb import select
from salesnb.data.dataset import dataset_from_frames
from salesnb.data.validate import Finding
from salesnb.metrics import health

OPPORTUNITIES = pd.DataFrame({
    "opportunity_id": ["1", "2", "3", "4"],
    "rep_id": ["R1", "R1", None, "R2"],
    "source": ["Web", None, None, None],
    "created_at": ["2024-01-10", "2024-02-01", "2024-03-05", "2024-03-20"],
    "close_date": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-06-30"],
    "stage": ["Closed Won", "Closed Lost", "Closed Lost", "Proposal"],
    "amount": ["100", "", "50", "300"],
    "lost_reason": [None, "Price", None, None],
})
REPS = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["Ann", "Bob"], "hire_date": ["2020-05-01", None]})


def dataset():
    return dataset_from_frames({"opportunities": OPPORTUNITIES, "reps": REPS})


def test_tables_loaded():
    loaded = health.tables_loaded(dataset())
    assert loaded.to_dict("records") == [
        {"table": "opportunities", "rows": 4, "date_column": "created_at",
         "first_date": dt.date(2024, 1, 10), "last_date": dt.date(2024, 3, 20)},
        {"table": "reps", "rows": 2, "date_column": "hire_date",
         "first_date": dt.date(2020, 5, 1), "last_date": dt.date(2020, 5, 1)},
    ]
    assert health.rows_by_table(dataset()) == {"opportunities": 4, "reps": 2}


def test_column_coverage():
    coverage = health.column_coverage(dataset()).set_index(["table", "column"])["share_filled"]
    assert coverage[("opportunities", "rep_id")] == 0.75  # 3 of 4 deals have an owner
    assert coverage[("opportunities", "source")] == 0.25  # 1 of 4
    assert coverage[("opportunities", "product")] == 0.0  # column absent from the data
    assert coverage[("reps", "hire_date")] == 0.5  # 1 of 2


def test_lost_reason_coverage_is_over_lost_deals_only():
    # 2 lost deals, 1 with a reason -> 1/2 (not 1/4 over all deals)
    assert health.lost_reason_coverage(dataset()) == 0.5


def test_supported_analyses():
    supported = health.supported_analyses(dataset(), minimum_coverage=0.5).set_index("needs")
    assert bool(supported.loc["reps table", "available"]) is True
    assert bool(supported.loc["leads table", "available"]) is False
    # created_at is optional since data without dates loads (a lead list may have none).
    assert supported.loc["leads table", "to_add"] == "leads.csv with lead_id (docs/data-model.md)"
    assert bool(supported.loc["opportunities.rep_id", "available"]) is True  # 75% >= 50%
    assert bool(supported.loc["opportunities.lost_reason", "available"]) is True  # 50% of lost deals >= 50%
    assert bool(supported.loc["opportunities.source", "available"]) is False  # 25% < 50%
    assert supported.loc["opportunities.source", "to_add"] == "fill opportunities.source (filled on 25% of deals)"


def test_findings_table_puts_errors_first():
    findings = [Finding("warning", "reps", None, "x", 1, "w"), Finding("error", "opportunities", "amount", "y", 2, "e")]
    table = health.findings_table(findings)
    assert table.to_dict("records") == [
        {"severity": "error", "table": "opportunities", "column": "amount", "rows_affected": 2, "message": "e"},
        {"severity": "warning", "table": "reps", "column": "", "rows_affected": 1, "message": "w"},
    ]


def test_coverage_of_a_selection():
    # Rep R1 owns deals 1 and 2: source filled on 1 of 2, amount on 1 of 2 ("" is empty); the
    # reps table keeps R1's row, whose hire_date is filled; lost deal 2 has a reason (1 of 1).
    coverage = health.column_coverage(dataset(), where=select(rep="R1")).set_index(["table", "column"])
    assert coverage.loc[("opportunities", "source"), "share_filled"] == 0.5
    assert coverage.loc[("opportunities", "amount"), "filled"] == 1
    assert coverage.loc[("reps", "hire_date"), "share_filled"] == 1.0
    assert health.lost_reason_coverage(dataset(), where=select(rep="R1")) == 1.0
    supported = health.supported_analyses(dataset(), where=select(rep="R1")).set_index("needs")
    assert bool(supported.loc["opportunities.source", "available"]) is True  # 50% of R1's deals


def test_coverage_of_a_table_the_selection_cannot_reach_is_not_measured():
    # Reps carry no source: their coverage for a source selection is not measured, and says why.
    coverage = health.column_coverage(dataset(), where=select(source="Web")).set_index(["table", "column"])
    assert coverage.loc[("opportunities", "rep_id"), "share_filled"] == 1.0  # deal 1 only
    assert pd.isna(coverage.loc[("reps", "hire_date"), "share_filled"])
    assert "Reps rows cannot be selected by source" in coverage.loc[("reps", "hire_date"), "description"]


def test_a_selection_value_the_data_lacks_is_refused():
    from salesnb.data.selection import SelectionError

    with pytest.raises(SelectionError, match="rep = 'R9' matches no data"):
        health.column_coverage(dataset(), where=select(rep="R9"))
