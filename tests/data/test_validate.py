"""Validation findings on tiny hand-made datasets: severity, count and the exact message."""

import datetime as dt

import pandas as pd
import pytest

from salesnb.data import validate
from salesnb.data.dataset import dataset_from_frames
from salesnb.errors import DataValidationError

# Default playbook stages: Prospecting .. Negotiation, Closed Won, Closed Lost.
CLEAN = {
    "opportunity_id": ["1", "2", "3"],
    "account_id": ["A1", "A1", "A2"],
    "rep_id": ["R1", "R2", "R1"],
    "created_at": ["2024-01-10", "2024-02-01", "2024-03-01"],
    "close_date": ["2024-02-01", "2024-03-01", "2024-06-30"],
    "stage": ["Closed Won", "Closed Lost", "Proposal"],
    "amount": ["100", "200", "300"],
}
REPS = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["Ann", "Bob"]})
ACCOUNTS = pd.DataFrame({"account_id": ["A1", "A2"], "account_name": ["Acme", "Globex"]})


def findings(opportunities=None, **tables):
    frames = {"opportunities": pd.DataFrame({**CLEAN, **(opportunities or {})}), **tables}
    return dataset_from_frames(frames, strict=False).findings


def only(found, check):
    return [finding for finding in found if finding.check == check]


def test_clean_dataset_has_no_findings():
    assert findings(reps=REPS, accounts=ACCOUNTS) == []


def test_negative_amount_is_an_error():
    [finding] = only(findings({"amount": ["100", "-50", "300"]}), "negative_amount")
    assert (finding.severity, finding.table, finding.column, finding.count) == ("error", "opportunities", "amount", 1)
    assert finding.message == (
        "opportunities.amount: 1 row(s) have a negative amount, e.g. (opportunity_id='2', amount='-50.0'). Amounts "
        "must be zero or more: remove credit notes and refunds from the export, or correct the sign.")
    with pytest.raises(DataValidationError, match="opportunities.amount: 1 row"):
        dataset_from_frames({"opportunities": pd.DataFrame({**CLEAN, "amount": ["100", "-50", "300"]})})


def test_close_before_creation_many_is_an_error():
    # deal 2: created 2024-02-01, closed 2024-01-15 -> 1 of 3 deals = 33.3% > 1%: an error
    [finding] = only(findings({"close_date": ["2024-02-01", "2024-01-15", "2024-06-30"]}), "close_before_creation")
    assert (finding.severity, finding.count) == ("error", 1)
    assert finding.message == (
        "opportunities.close_date: 1 row(s) close before they were created (33.3% of deals), e.g. "
        "(opportunity_id='2', created_at='2024-02-01', close_date='2024-01-15', stage='Closed Lost'). That many "
        "usually means the date columns are swapped or read with the wrong day/month order: check the export or "
        "the mapping's date_order.")


def test_close_before_creation_a_few_is_a_warning():
    # 1 of 200 deals = 0.5% <= 1%: a warning, the run goes on
    n = 200
    frame = pd.DataFrame({
        "opportunity_id": [str(i) for i in range(n)], "created_at": ["2024-01-10"] * n,
        "close_date": ["2024-01-05"] + ["2024-02-01"] * (n - 1), "stage": ["Closed Won"] * n, "amount": ["1"] * n,
    })
    found = dataset_from_frames({"opportunities": frame}).findings  # strict: no error raised
    [finding] = only(found, "close_before_creation")
    assert (finding.severity, finding.count) == ("warning", 1)
    assert finding.message == (
        "opportunities.close_date: 1 row(s) close before they were created (0.5% of deals), e.g. "
        "(opportunity_id='0', created_at='2024-01-10', close_date='2024-01-05', stage='Closed Won'). Their sales "
        "cycle would be negative; correct the dates in the CRM.")


def test_probability_on_a_0_to_100_scale():
    # 10 and 50 are above 1; 0.3 and 1 are fine -> 2 rows
    [finding] = only(findings({"probability": ["10", "0.3", "50"]}), "probability_scale")
    assert finding.count == 2
    assert finding.severity == ("error" if "probability" in validate.TABLES["opportunities"].column_names else "warning")
    assert finding.message == (
        "opportunities.probability: 2 row(s) have a probability above 1, as if on a 0..100 scale, e.g. "
        "(opportunity_id='1', probability='10'); (opportunity_id='3', probability='50'). Probabilities are 0..1 "
        "(25% is 0.25): divide the column by 100, or import the export with a mapping that says "
        "'probability_scale: 100'.")


def test_implausible_dates_are_warnings():
    dataset = dataset_from_frames({"opportunities": pd.DataFrame({
        **CLEAN, "created_at": ["1900-01-01", "2024-02-01", "2024-03-01"],
        "close_date": ["2024-02-01", "2024-03-01", "2204-06-30"]})}, strict=False)
    # today 2026-01-15: the latest plausible date is 2031-01-15; 1900-01-01 is before 1990-01-01
    found = validate.check_date_range("opportunities", dataset.table("opportunities"), today=dt.date(2026, 1, 15))
    assert [(f.severity, f.column, f.count) for f in found] == [("warning", "created_at", 1), ("warning", "close_date", 1)]
    assert found[1].message == (
        "opportunities.close_date: 1 row(s) have a date before 1990-01-01 or after 2031-01-15, e.g. "
        "(opportunity_id='3', close_date='2204-06-30'). These are usually typos or placeholder dates; correct them "
        "in the CRM. Until then they fall outside most reporting periods.")
    # and the loader runs the check with today's date
    assert [f.column for f in only(dataset.findings, "implausible_date")] == ["created_at", "close_date"]


def test_unknown_reps_and_accounts_are_warnings():
    found = findings({"rep_id": ["R1", "R9", "R9"], "account_id": ["A1", "A7", None]}, reps=REPS, accounts=ACCOUNTS)
    references = only(found, "unknown_reference")
    assert [(f.severity, f.column, f.count) for f in references] == [("warning", "account_id", 1), ("warning", "rep_id", 2)]
    assert references[1].message == (
        "opportunities.rep_id: 2 row(s) refer to a rep that is not in the reps table, e.g. (rep_id='R9', rows=2). "
        "Add the missing rows to reps, or check that both exports use the same IDs. Until then these rows count, "
        "but without a rep name or team.")
    assert validate.errors(found) == []


def test_references_to_unknown_deals():
    history = pd.DataFrame({"opportunity_id": ["1", "42"], "changed_at": ["2024-01-10 09:00", "2024-01-11 09:00"],
                            "stage": ["Prospecting", "Prospecting"]})
    [finding] = only(findings(opportunity_history=history), "unknown_reference")
    assert finding.message.startswith(
        "opportunity_history.opportunity_id: 1 row(s) refer to a deal that is not in the opportunities table, "
        "e.g. (opportunity_id='42', rows=1).")


def test_references_are_not_checked_without_the_table():
    # no reps table: rep IDs cannot be checked, and nothing is reported
    assert only(findings({"rep_id": ["R1", "R9", "R9"]}), "unknown_reference") == []


def test_existing_checks_still_report():
    found = findings({"opportunity_id": ["1", "1", "3"], "stage": ["Closed Won", "Won It", "Proposal"],
                      "created_at": ["2024-01-10", "31/02/2025", "2024-03-01"]})
    assert [(f.check, f.count) for f in validate.errors(found)] == [
        ("unparsable", 1), ("duplicate_id", 2), ("unknown_stage", 1)]


def test_misspelt_header_suggestion():
    # stage is one of the two columns a deal table cannot do without
    frame = pd.DataFrame({**{k: v for k, v in CLEAN.items() if k != "stage"}, "stages": CLEAN["stage"]})
    [finding] = dataset_from_frames({"opportunities": frame}, strict=False).findings
    assert finding.message.endswith("Did you mean 'stages'? Rename that header to 'stage'.")


def test_lost_amounts_zeroed_is_a_warning():
    # CLEAN: deal 2 is the one lost deal; at amount 0 while won deal 1 has 100 -> 1 of 1 lost deals
    [finding] = only(findings({"amount": ["100", "0", "300"]}), "lost_amounts_zeroed")
    assert (finding.severity, finding.column, finding.count) == ("warning", "amount", 1)
    assert finding.message.startswith(
        "opportunities.amount: 1 row(s) are lost deals with amount 0 or none (1 of 1 lost deals) while 1 won deals "
        "have an amount, e.g. (opportunity_id='2', stage='Closed Lost', amount='0.0').")
    assert "win rate by value would read close to 100%" in finding.message


def test_no_amount_at_all_is_one_warning():
    frame = pd.DataFrame({key: value for key, value in CLEAN.items() if key != "amount"})
    found = dataset_from_frames({"opportunities": frame}, strict=False).findings
    assert [(f.check, f.count) for f in found] == [("no_amounts", 3)]


def test_only_id_and_stage_are_required():
    # no close_date, no amount, one creation date (the data needs some date to be placed in time)
    frame = pd.DataFrame({"opportunity_id": ["1", "2"], "stage": ["Closed Won", "Prospecting"],
                          "created_at": ["2024-01-10", None]})
    dataset = dataset_from_frames({"opportunities": frame})  # strict: no error
    assert validate.errors(dataset.findings) == []
    # the open deal has no expected close date: a pipeline-hygiene warning
    assert [f.check for f in dataset.findings] == ["no_amounts", "open_without_close_date"]


def test_open_deals_past_or_without_an_expected_close_date():
    # data date = latest creation / close of a closed deal = 2024-03-01 (deal 2 lost on 2024-03-01);
    # deal 3 (Proposal) expected 2024-02-15 < 2024-03-01: past; deal 4 (Discovery) has none
    opportunities = {"opportunity_id": ["1", "2", "3", "4"], "account_id": ["A1", "A1", "A2", "A2"],
                     "rep_id": ["R1", "R2", "R1", "R1"],
                     "created_at": ["2024-01-10", "2024-02-01", "2024-01-20", "2024-02-20"],
                     "close_date": ["2024-02-01", "2024-03-01", "2024-02-15", ""],
                     "stage": ["Closed Won", "Closed Lost", "Proposal", "Discovery"],
                     "amount": ["100", "200", "300", "50"]}
    found = findings(opportunities, reps=REPS, accounts=ACCOUNTS)
    [past] = only(found, "open_past_close_date")
    assert (past.severity, past.count, past.examples) == (
        "warning", 1, [{"opportunity_id": "3", "stage": "Proposal", "close_date": "2024-02-15"}])
    assert "before the data date 2024-03-01" in past.message and "Pipeline hygiene" in past.message
    [without] = only(found, "open_without_close_date")
    assert (without.count, without.examples[0]["opportunity_id"]) == (1, "4")


def test_a_date_decades_before_the_rest_is_an_outlier():
    # 20 deals created 2024-01-01 .. 2024-01-20, closed 30 days later; deal 0 closed in 2001
    n = 20
    created = [f"2024-01-{day:02d}" for day in range(1, n + 1)]
    close = ["2001-05-05"] + [f"2024-02-{day:02d}" for day in range(2, n + 1)]
    frame = pd.DataFrame({"opportunity_id": [str(i) for i in range(n)], "created_at": created, "close_date": close,
                          "stage": ["Closed Won"] * n, "amount": ["1"] * n})
    found = dataset_from_frames({"opportunities": frame}, strict=False).findings
    [outlier] = only(found, "outlying_date")
    assert (outlier.severity, outlier.column, outlier.count) == ("warning", "close_date", 1)
    assert outlier.examples == [{"opportunity_id": "0", "close_date": "2001-05-05"}]
    # it also closes before it was created: 1 of 20 = 5% > 1%, which is an error of its own
    assert only(found, "close_before_creation")[0].count == 1
    # the data's span for period 'all' starts with the first date that is not an outlier
    dataset = dataset_from_frames({"opportunities": frame}, strict=False)
    assert dataset.span.start.isoformat() == "2024-01-01"


def test_a_wide_history_has_no_outliers():
    # 20 deals spread over 19 years (2005..2024): the margin grows with the spread
    n = 20
    frame = pd.DataFrame({"opportunity_id": [str(i) for i in range(n)],
                          "created_at": [f"{2005 + i}-03-01" for i in range(n)],
                          "close_date": [f"{2005 + i}-04-01" for i in range(n)],
                          "stage": ["Closed Won"] * n, "amount": ["1"] * n})
    assert only(dataset_from_frames({"opportunities": frame}, strict=False).findings, "outlying_date") == []


def test_duplicate_id_message_names_generated_ids():
    [finding] = only(findings({"opportunity_id": ["1", "1", "3"]}), "duplicate_id")
    assert "import it with 'generate_ids: true' for opportunities in the mapping" in finding.message


def test_duplicates_and_missing_ids_counted_apart():
    # "1" twice: 2 rows share an ID; None and a blank cell ("  " strips to nothing): 2 rows have
    # no ID, and two missing IDs are not duplicates of each other.
    fourth_row = {column: values + values[:1] for column, values in CLEAN.items()}  # CLEAN has three rows
    found = findings(fourth_row | {"opportunity_id": ["1", None, "1", "  "]})
    assert [(finding.count, finding.examples) for finding in only(found, "duplicate_id")] == \
        [(2, [{"opportunity_id": "1", "copies": 2}])]
    assert [finding.count for finding in only(found, "missing_id")] == [2]


def test_distinct_ids_skip_the_search_for_copies(monkeypatch):
    """As many distinct hashes as IDs proves no ID repeats: the search for copies (a second and
    third pass over the IDs) does not run."""
    def search(*_):
        raise AssertionError("searched for copies of distinct IDs")

    monkeypatch.setattr(validate, "_duplicated_ids", search)
    found = findings({"opportunity_id": ["1", "2", None]})
    assert only(found, "duplicate_id") == []
    assert [finding.count for finding in only(found, "missing_id")] == [1]


def test_ids_that_share_a_hash_are_not_duplicates(monkeypatch):
    """Duplicates are found by a hash of the ID first, then counted by the ID: with a hash
    every ID of one length shares ("10" and "11", "7" and "8"), only the real copies count."""
    monkeypatch.setattr(validate, "id_hash", lambda key: key.length().cast("int64"))
    ids = {"opportunity_id": ["10", "11", "10", "7", "8", "10", "7"],
           "created_at": ["2024-01-10"] * 7, "close_date": ["2024-02-01"] * 7, "stage": ["Proposal"] * 7,
           "amount": ["1"] * 7}
    frame = pd.DataFrame(ids)
    [finding] = only(dataset_from_frames({"opportunities": frame}, strict=False).findings, "duplicate_id")
    assert finding.count == 5  # three rows of "10", two of "7"; "11" and "8" are alone
    assert finding.examples == [{"opportunity_id": "10", "copies": 3}, {"opportunity_id": "7", "copies": 2}]


# ----------------------------------------------------------------------------- issue 13

LEADS = pd.DataFrame({
    "lead_id": ["L1", "L2", "L3"],
    "created_at": ["2024-01-02 09:00:00", "2024-01-05 09:00:00", "2024-01-09 09:00:00"],
    "first_response_at": ["2024-01-02 10:00:00", "2024-01-05 08:00:00", None],
    "mql_at": ["2024-01-03 09:00:00", None, "2024-01-10 09:00:00"],
    "sql_at": ["2024-01-04 09:00:00", "2024-01-06 09:00:00", "2024-01-09 12:00:00"],
    "converted_at": [None, "2024-01-05 12:00:00", None],
})


def test_lead_events_out_of_order_compare_with_the_nearest_earlier_step():
    # L2: answered 08:00, created 09:00 -> response before creation (1 of 3 = 33.3%: error).
    # L2: converted 01-05 12:00, SQL 01-06 -> before its SQL (MQL empty, so SQL is the nearest step).
    # L3: SQL 01-09 12:00, MQL 01-10 -> SQL before MQL although after creation: counted.
    # L1 is in order; L3's converted_at and first_response_at are empty: nothing to compare.
    found = findings(leads=LEADS)
    response = only(found, "response_before_creation")
    stages = sorted((f.column, f.count, f.severity) for f in only(found, "lead_stage_order"))
    assert [(f.column, f.count, f.severity) for f in response] == [("first_response_at", 1, "error")]
    assert response[0].examples == [{"lead_id": "L2", "created_at": "2024-01-05 09:00:00",
                                     "first_response_at": "2024-01-05 08:00:00"}]
    assert stages == [("converted_at", 1, "error"), ("sql_at", 1, "error")]


def test_a_few_events_out_of_order_are_a_warning():
    # 1 lead of 101 answered before creation: 0.99% <= 1% -> a warning, not an error.
    created = pd.date_range("2024-01-01 09:00", periods=101, freq="D")
    leads = pd.DataFrame({
        "lead_id": [f"L{index}" for index in range(101)],
        "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
        "first_response_at": (created + pd.Timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
    })
    leads.loc[0, "first_response_at"] = "2023-12-31 09:00:00"
    [finding] = only(findings(leads=leads), "response_before_creation")
    assert (finding.severity, finding.count) == ("warning", 1)
    assert "(1.0% of leads)" in finding.message and "correct the dates in the CRM" in finding.message


QUOTAS = pd.DataFrame({
    "rep_id": ["R1", "R1", "R1", "R2", "R2"],
    "period_start": ["2024-01-01", "2024-03-01", "2024-08-01", "2024-01-01", "2024-04-01"],
    "period_end": ["2024-03-31", "2024-06-30", "2024-09-30", "2024-03-31", "2024-03-15"],
    "amount": ["100", "100", "100", "100", "100"],
})


def test_quota_periods_end_before_start_overlap_and_gaps():
    # R2's second quota ends (03-15) before it starts (04-01): 1 of 5 = 20% -> error; it is
    # left out of the overlap and gap checks. R1: 03-01 starts before 03-31 -> 1 overlap;
    # 08-01 starts more than a day after 06-30 -> 1 gap. R2 01-01..03-31 alone: nothing.
    found = findings(reps=REPS, quotas=QUOTAS)
    assert [(f.severity, f.count) for f in only(found, "quota_end_before_start")] == [("error", 1)]
    [overlap] = only(found, "overlapping_quotas")
    [gap] = only(found, "quota_gap")
    assert (overlap.severity, overlap.count, overlap.examples) == (
        "warning", 1, [{"rep_id": "R1", "period_start": "2024-03-01", "period_end": "2024-06-30"}])
    assert (gap.severity, gap.count, gap.examples) == (
        "warning", 1, [{"rep_id": "R1", "period_start": "2024-08-01", "period_end": "2024-09-30"}])


def test_non_finite_numbers_are_errors_and_nulls_are_not():
    # "inf" and "NaN" are read as floats by the engine; "" is an empty amount (allowed on lost deals).
    [finding] = only(findings({"amount": ["inf", "", "NaN"]}), "non_finite")
    assert (finding.severity, finding.column, finding.count) == ("error", "amount", 2)
    assert finding.examples == [{"opportunity_id": "1", "amount": "inf"}, {"opportunity_id": "3", "amount": "nan"}]


def test_empty_required_cells_of_typed_columns_are_counted_without_casting_to_text():
    # A Parquet-like typed column: lead L2's created_at (required) is NULL (NaT) -> 1 missing value.
    leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3"],
                          "created_at": pd.to_datetime(["2024-01-10", None, "2024-03-01"])})
    [finding] = only(findings(leads=leads), "missing_value")
    assert (finding.severity, finding.table, finding.column, finding.count) == ("error", "leads", "created_at", 1)
    assert finding.examples == [{"lead_id": "L2", "created_at": None}]


def test_amounts_above_the_bound_are_errors_in_every_money_column():
    # 1e15 itself is allowed (a thousand trillion); above it is a typo or a placeholder.
    found = findings({"amount": ["1e15", "1.5e15", "1e308"]})
    [too_large] = only(found, "amount_too_large")
    assert (too_large.severity, too_large.column, too_large.count) == ("error", "amount", 2)
    assert too_large.examples == [{"opportunity_id": "2", "amount": "1500000000000000.0"},
                                  {"opportunity_id": "3", "amount": "1e+308"}]  # as DuckDB writes them
    quotas = pd.DataFrame({"rep_id": ["R1"], "period_start": ["2024-01-01"], "period_end": ["2024-03-31"],
                           "amount": ["2e300"]})
    [quota] = only(findings(quotas=quotas, reps=REPS), "amount_too_large")
    assert quota.table == "quotas" and quota.count == 1
    # Infinity is "not finite", not "too large" as well.
    assert only(findings({"amount": ["100", "inf", "300"]}), "amount_too_large") == []


@pytest.mark.parametrize(("text", "offset"), [
    ("2025-01-05T23:30:00-10:00", "-10:00"), ("2025-01-05 23:30:00+14:00", "+14:00"), ("2025-01-05T23:30:00Z", "+00:00"),
    ("2025-01-05 23:30:00 UTC", "+00:00"), ("2025-01-05 23:30:00 +0530", "+05:30"), ("2025-01-05T23:30:00+14", "+14:00"),
    ("2025-01-05 23:30:00", None), ("2025-01-05", None), ("2025-01-14", None), ("2025-01-05 23:30", None),
])
def test_time_zone_offset_reads_the_end_of_the_text(text, offset):
    import ibis

    table = ibis.memtable(pd.DataFrame({"value": [text]}))
    found = table.select(offset=validate.time_zone_offset(table.value)).execute()["offset"].iloc[0]
    assert (None if pd.isna(found) else found) == offset


def test_mixed_offsets_in_a_column_are_one_warning_and_one_offset_is_none():
    leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3"],
                          "created_at": ["2025-01-02T09:00:00+14:00", "2025-01-03T09:00:00+14:00",
                                         "2025-01-04T09:00:00-10:00"]})
    [mixed] = only(findings(leads=leads), "mixed_time_zones")
    assert (mixed.severity, mixed.column, mixed.count) == ("warning", "created_at", 1)
    assert "the column's usual +14:00 (+14:00 on 2 row(s), -10:00 on 1 row(s))" in mixed.message
    same = leads.assign(created_at=leads["created_at"].str.replace("-10:00", "+14:00"))
    assert only(findings(leads=same), "mixed_time_zones") == []


def test_a_nan_probability_is_not_on_a_0_to_100_scale():
    found = findings({"probability": ["0.5", "NaN", "0.2"]})
    assert only(found, "probability_scale") == [] and only(found, "non_finite")[0].count == 1


def test_won_and_lost_for_the_playbooks_closed_stages_get_the_lines_that_fix_them():
    """A first CSV says "Won" and "Lost": the message lists the playbook's stages and the two
    playbook lines to change."""
    [finding] = only(findings({"stage": ["Won", "Lost", "Proposal"]}, reps=REPS, accounts=ACCOUNTS), "unknown_stage")
    assert finding.severity == "error" and finding.count == 2
    assert "The playbook's stages are: Prospecting, Qualification, Discovery, Proposal, Negotiation, Closed Won, " \
           "Closed Lost." in finding.message
    assert finding.message.endswith(
        "'Lost' and 'Won' look like the playbook's 'Closed Lost' and 'Closed Won': write those names in the file, or "
        "copy salesnb/data/playbook.yaml, change these lines in its stages ('- name: Closed Lost' becomes "
        "'- name: Lost'; '- name: Closed Won' becomes '- name: Won') and pass the copy with --config.")
    # A stage that is no common name for won or lost gets the general advice only.
    [other] = only(findings({"stage": ["Signed", "Closed Lost", "Proposal"]}), "unknown_stage")
    assert "look like" not in other.message


def test_an_amount_written_with_a_currency_sign_is_reported_once():
    """"$4,500" in every row: one error (not a number), not also "no deal value" for every row."""
    found = findings({"amount": ["$4,500", "$1,200", "$300"]}, reps=REPS, accounts=ACCOUNTS)
    assert [(finding.check, finding.column, finding.count) for finding in found] == [("unparsable", "amount", 3)]
    # Readable amounts with the open deal's missing still get their warning.
    missing = findings({"amount": ["100", "200", ""]}, reps=REPS, accounts=ACCOUNTS)
    assert [(finding.check, finding.count) for finding in missing] == [("missing_amount", 1)]


def test_a_rep_who_left_before_being_hired():
    # R2 left (2024-01-31) before being hired (2024-03-01): 1 of 2 reps = 50% -> error. R1's
    # last day equals the hire day (a one-day job): in order. Empty left_on: still employed.
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["Ann", "Bob"], "hire_date": ["2024-01-01", "2024-03-01"],
                         "left_on": ["2024-01-01", "2024-01-31"]})
    [left] = only(findings(reps=reps, accounts=ACCOUNTS), "left_before_hire")
    assert (left.severity, left.count, left.table, left.column) == ("error", 1, "reps", "left_on")
    employed = reps.assign(left_on=pd.to_datetime([None, None]))
    assert only(findings(reps=employed, accounts=ACCOUNTS), "left_before_hire") == []


def test_the_fences_quantile_is_the_engines_bit_for_bit():
    # The fences' quantiles come from counts per day; they must be the floats DuckDB's
    # QUANTILE_CONT gives over every value (a fence is int(low - margin): one ulp can move it).
    import random

    import duckdb

    connection = duckdb.connect()
    rng = random.Random(7)
    for _ in range(60):
        total = rng.choice([10, 11, 19, 20, 21, 99, 101, 997, rng.randint(10, 5000)])
        first = rng.randint(7300, 20000)
        days = sorted(dt.date(1970, 1, 1) + dt.timedelta(days=first + rng.randint(0, rng.choice([3, 400, 9000])))
                      for _ in range(total))
        counts = sorted(pd.Series(days).value_counts().items())
        connection.execute("CREATE OR REPLACE TABLE t AS SELECT unnest(?::DATE[]) AS d", [days])
        for fraction in (*validate.OUTLYING_DATE_QUANTILES, 0.01, 0.5, 0.99):
            engine = connection.execute(
                f"SELECT quantile_cont(epoch(CAST(d AS TIMESTAMP)) / 86400.0, {fraction}) FROM t").fetchone()[0]
            assert validate.continuous_quantile(counts, total, fraction) == engine


def test_fences_worked_by_hand():
    # 11 dates, in days after 1990-01-01: 0 five times, then 10, 20, 30, 40, 100, 1000.
    # q05: position 10 * 0.05 = 0.5, between the 1st and 2nd values (both day 0): day 0.
    # q95: position 9.5, between day 100 and day 1000: 100 * 0.5 + 1000 * 0.5 = day 550.
    # margin = max(550 - 0, 730) = 730: fences day -730 .. day 1280.
    start = dt.date(1990, 1, 1)

    def deals(offsets):
        return dataset_from_frames({"opportunities": pd.DataFrame({
            "opportunity_id": [str(i) for i in range(len(offsets))], "stage": ["Closed Won"] * len(offsets),
            "close_date": [(start + dt.timedelta(days=offset)).isoformat() for offset in offsets],
        })}, strict=False).table("opportunities")

    table = deals([0, 0, 0, 0, 0, 10, 20, 30, 40, 100, 1000])
    assert validate.day_counts(table, "close_date") == [
        (start + dt.timedelta(days=offset), rows) for offset, rows in
        [(0, 5), (10, 1), (20, 1), (30, 1), (40, 1), (100, 1), (1000, 1)]]
    assert validate.date_fences(table, "close_date") == (start - dt.timedelta(days=730),
                                                        start + dt.timedelta(days=1280))
    # Without the 100: q95 at position 9 * 0.95, which is 8.549999999999999 in floating point, so
    # q95 is just below day 40 * 0.45 + 1000 * 0.55 = 568 and the upper fence day 1297, not 1298:
    # the engine's quantile gives the same float, so the fences do not move by a day.
    assert validate.date_fences(deals([0, 0, 0, 0, 0, 10, 20, 30, 40, 1000]), "close_date")[1] == (
        start + dt.timedelta(days=1297))


def test_blank_required_text_is_counted_the_same_from_the_typed_table():
    # A rep name blank, spaces only or missing is empty; counted from the typed table (where it
    # is NULL) or from the raw text (stripped), the finding is the same.
    import ibis

    from salesnb.data.dataset import _typed_table

    raw = ibis.memtable(pd.DataFrame({"rep_id": ["R1", "R2", "R3", "R4"],
                                      "rep_name": ["Ann", "  ", None, "\t"]}))
    typed = _typed_table("reps", raw)
    from_raw = validate.check_required_values("reps", raw)
    from_typed = validate.check_required_values("reps", raw, typed)
    [finding] = from_typed
    assert (finding.check, finding.count, finding.column) == ("missing_value", 3, "rep_name")
    assert [f.message for f in from_typed] == [f.message for f in from_raw]
    assert [f.examples for f in from_typed] == [f.examples for f in from_raw]
