"""Bad files: each is an error that says what is wrong with the file, never "table absent"
and never a generic "columns do not match"."""

from __future__ import annotations

import datetime as dt
import io
import os

import pandas as pd
import pytest

from salesnb.data.tablefiles import MAX_LINE_BYTES
from tests.robustness_fixtures import LEADS as LEADS_TEXT
from tests.robustness_fixtures import OPPORTUNITIES, assert_refused, replace_cell, validate, write_dataset


def test_semicolon_delimited_table_names_the_delimiter_and_what_works(tmp_path):
    # Before: five "required column missing" errors.
    data = write_dataset(tmp_path, opportunities=OPPORTUNITIES.replace(",", ";"))
    outcome = validate(data)
    assert_refused(outcome, 2, "opportunities", "separated by semicolons (;), not commas",
                   "Save it with commas", "delimiter: \";\"")
    assert "required column" not in outcome.text


def test_tab_delimited_table(tmp_path):
    data = write_dataset(tmp_path, opportunities=OPPORTUNITIES.replace(",", "\t"))
    assert_refused(validate(data), 2, "opportunities", "separated by tabs", "Save it with commas")


def test_empty_file_is_an_error_of_its_own(tmp_path):
    data = write_dataset(tmp_path, opportunities="")
    outcome = validate(data)
    assert_refused(outcome, 2, "opportunities", "is empty (0 bytes", "Export the table again")
    assert "do not match" not in outcome.text


def test_header_without_rows_is_an_error_not_an_all_zero_report(tmp_path):
    # Before: validated clean, and every report ran with zero deals.
    data = write_dataset(tmp_path, leads=None, quotas=None, opportunities=OPPORTUNITIES.splitlines()[0] + "\n")
    assert_refused(validate(data), 1, "ERROR", "opportunities: the file has a header but no rows",
                   "Export the table again with its rows")


def test_empty_optional_table_is_an_error_too(tmp_path):
    data = write_dataset(tmp_path, reps="rep_id,rep_name,team\n")
    assert_refused(validate(data), 1, "reps: the file has a header but no rows")


def test_duplicate_header_names_are_named(tmp_path):
    header, *rows = OPPORTUNITIES.splitlines()
    data = write_dataset(tmp_path, opportunities="\n".join([header.replace("lost_reason", "amount"), *rows]) + "\n")
    outcome = validate(data)
    assert_refused(outcome, 2, "opportunities", "names a column more than once", "'amount' in columns 8, 9",
                   "Rename or remove the extra column")
    assert "do not match" not in outcome.text


def test_mixed_line_endings_are_named(tmp_path):
    lines = OPPORTUNITIES.encode().splitlines()
    mixed = b"".join(line + (b"\r\n" if index % 2 else b"\n") for index, line in enumerate(lines))
    data = write_dataset(tmp_path, opportunities=mixed)
    assert_refused(validate(data), 2, "opportunities", "mixes line endings", "Windows style (CRLF)",
                   "Unix style (LF)", "save it again with one style")


def test_row_with_too_many_fields_is_reported_by_line(tmp_path):
    data = write_dataset(tmp_path, opportunities=OPPORTUNITIES + "O6,R1,,Webinar,2025-03-12,2025-05-20,Proposal,10,,x,y\n")
    assert_refused(validate(data), 2, "opportunities", "line 7 has 11 fields where the header has 9")


def test_folder_named_like_a_table_is_an_error_not_absent(tmp_path):
    # Before: "table absent", and the run succeeded without the deals.
    data = write_dataset(tmp_path, opportunities=None)
    (data / "opportunities.csv").mkdir()
    assert_refused(validate(data), 2, "opportunities", "is a folder, not a file", "Replace it with the "
                   "opportunities.csv file, or remove it")


def test_broken_symbolic_link_is_an_error_not_absent(tmp_path):
    data = write_dataset(tmp_path / "data", reps=None)
    os.symlink(tmp_path / "gone.csv", data / "reps.csv")
    assert_refused(validate(data), 2, "reps", "is a symbolic link to", "which does not exist")


def test_symbolic_link_loop_is_an_error_not_absent(tmp_path):
    data = write_dataset(tmp_path, leads=None)
    os.symlink("leads.csv", data / "leads.csv")
    assert_refused(validate(data), 2, "leads", "symbolic link that loops back on itself")


def test_parquet_file_that_is_not_parquet(tmp_path):
    data = write_dataset(tmp_path, quotas=None)
    (data / "quotas.parquet").write_bytes(b"PAR1 this is not a parquet file")
    assert_refused(validate(data), 2, "quotas", "cannot be read as a PARQUET table")


def test_csv_not_in_utf8(tmp_path):
    data = write_dataset(tmp_path, reps="rep_id,rep_name,team\nR1,Jos\xe9 N\xfa\xf1ez,East\nR2,Bob,West\n".encode("latin-1"))
    assert_refused(validate(data), 2, "reps", "cannot be read as a CSV table", "UTF-8", "salesnb import")


def test_misspelt_required_column_suggests_the_header(tmp_path):
    data = write_dataset(tmp_path, opportunities=OPPORTUNITIES.replace(",stage,", ",stges,"))
    assert_refused(validate(data), 1, "opportunities", "the required column 'stage' is missing",
                   "Did you mean 'stges'?")


def test_a_byte_order_mark_and_windows_line_endings_are_fine(tmp_path):
    # Not every unusual file is wrong: Excel's "CSV UTF-8" writes a BOM and CRLF throughout.
    text = "\ufeff" + OPPORTUNITIES.replace("\n", "\r\n")
    outcome = validate(write_dataset(tmp_path, opportunities=text.encode("utf-8")))
    assert outcome.code == 0 and "0 errors, 0 warnings" in outcome.text, outcome.text


def test_a_quoted_line_break_inside_a_reason_is_fine(tmp_path):
    text = OPPORTUNITIES.replace(",Price\n", ',"Price,\nand timing"\n')
    outcome = validate(write_dataset(tmp_path, opportunities=text))
    assert outcome.code == 0 and "0 errors" in outcome.text, outcome.text


def test_parquet_timestamps_in_year_10000_are_unreadable_not_a_traceback(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Stored as microseconds since 1970: 10000-01-02 is beyond Python's datetime.
    late = (pd.Timestamp("9999-12-31") - pd.Timestamp("1970-01-01")) // pd.Timedelta(microseconds=1) + 2 * 86_400_000_000
    data = write_dataset(tmp_path, leads=None)
    frame = pd.read_csv(io.StringIO(LEADS_TEXT), dtype=str)
    stamps = pd.to_datetime(frame["created_at"]).astype("datetime64[us]").astype("int64").tolist()
    stamps[2] = late
    table = pa.Table.from_pandas(frame.drop(columns="created_at"), preserve_index=False)
    table = table.append_column("created_at", pa.array(stamps, type=pa.timestamp("us")))
    pq.write_table(table, data / "leads.parquet")
    assert_refused(validate(data), 1, "leads.created_at: 1 row(s) have a date that cannot be read", "lead_id='L3'")


def test_two_files_for_one_table_are_refused_naming_both(tmp_path):
    # Before (issue 24): opportunities.parquet was read and opportunities.csv ignored, without a word.
    data = write_dataset(tmp_path)
    pd.read_csv(io.StringIO(OPPORTUNITIES), dtype=str).head(2).to_parquet(data / "opportunities.parquet")
    outcome = validate(data)
    assert_refused(outcome, 2, "opportunities: the folder", "has two files for the opportunities table, "
                   "opportunities.parquet and opportunities.csv", "will not guess which is current")


def test_a_csv_without_its_header_line_says_the_first_line_is_data(tmp_path):
    # Before: "has a header that names a column more than once ('' in columns 3, 9)" or
    # "the columns found do not match the header line".
    data = write_dataset(tmp_path, opportunities="\n".join(OPPORTUNITIES.splitlines()[1:]) + "\n")
    outcome = validate(data)
    assert_refused(outcome, 2, "opportunities: the file", "has no header line: its first line looks like data, not a "
                   "header ('O1', 'R1', 'L1', 'Webinar', '2025-01-06', ...)", "Add a first line naming the columns "
                   "(opportunity_id, stage, ...")
    assert "more than once" not in outcome.text


def test_headers_padded_with_spaces_are_read_without_them(tmp_path):
    # Before: "cannot be read as a CSV table (the columns found do not match the header line)".
    header, *rows = OPPORTUNITIES.splitlines()
    padded = ",".join(f" {name} " if name in ("stage", "amount") else name for name in header.split(","))
    outcome = validate(write_dataset(tmp_path, opportunities="\n".join([padded, *rows]) + "\n"))
    assert outcome.code == 0 and "0 errors, 0 warnings" in outcome.text, outcome.text


def test_a_csv_with_a_million_columns_names_the_table_the_line_and_the_column(tmp_path):
    # Before: "names a column more than once ('c10' in columns 14, 10950)" (the header, cut at
    # 64 KiB), or DuckDB's "CSV Error on Line: 1".
    wide = "rep_id,rep_name,team," + ",".join(f"c{index}" for index in range(1_000_000)) + "\n"
    data = write_dataset(tmp_path, reps=wide + "R1,Ann,East" + "," * 1_000_000 + "\n")
    assert_refused(validate(data), 2, "reps: the file", "has 1,000,003 columns on line 1 (its header), from column "
                   "2,001 ('c1997')", "beyond the 2,000 the kit reads")


def test_a_long_note_is_read_up_to_the_documented_limit(tmp_path):
    # Before: a cell over 128 KiB failed the whole table ("field larger than field limit (131072)").
    from salesnb.data.dataset import open_dataset

    note = "Price " + "x" * 3_000_000  # 3 MB: DuckDB's own limit is 2 MiB
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O2", "lost_reason", note))
    assert validate(data).code == 0
    deals = open_dataset(data).table("opportunities")
    assert deals.filter(deals.opportunity_id == "O2").lost_reason.execute().tolist() == [note]


def test_a_cell_beyond_the_limit_names_the_line_and_the_column(tmp_path):
    huge = '"' + "x" * (MAX_LINE_BYTES + 10) + '"'
    data = write_dataset(tmp_path, opportunities=replace_cell(OPPORTUNITIES, "O2", "lost_reason", huge))
    assert_refused(validate(data), 2, "opportunities: the file", "line 3, column 'lost_reason' holds a cell longer "
                   "than 16 MiB, the longest the kit reads")


@pytest.mark.parametrize("zone", [
    "Pacific/Kiritimati",
    dt.timezone(dt.timedelta(hours=14)),  # a fixed offset: pyarrow writes it as '+14:00'
])
def test_parquet_timestamps_with_a_time_zone_keep_their_local_date(tmp_path, zone):
    # Before (issue 24): converted to UTC and cut: a lead created 2025-01-02 09:00 in Kiritimati
    # (UTC+14) became 2025-01-01 19:00, a day earlier.
    from salesnb.data.dataset import open_dataset

    frame = pd.read_csv(io.StringIO(LEADS_TEXT), dtype=str)
    for column in ("created_at", "first_response_at", "mql_at", "sql_at", "converted_at"):
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize(zone)
    data = write_dataset(tmp_path, leads=None)
    frame.to_parquet(data / "leads.parquet")
    assert validate(data).code == 0
    leads = open_dataset(data).table("leads").order_by("lead_id").execute()
    assert leads["created_at"].astype(str).tolist() == ["2025-01-02 09:00:00", "2025-01-20 14:00:00",
                                                         "2025-02-11 08:00:00", "2025-03-01 16:00:00"]


def test_offsets_that_differ_within_a_csv_column_are_a_warning(tmp_path):
    # Before: dropped silently. The rule: each time is read as written (the CRM's local time).
    from salesnb.data.dataset import open_dataset

    text = (LEADS_TEXT.replace("L1,2025-01-02 09:00:00,", "L1,2025-01-02T09:00:00+14:00,")
            .replace("L2,2025-01-20 14:00:00,", "L2,2025-01-20T14:00:00-10:00,")
            .replace("L3,2025-02-11 08:00:00,", "L3,2025-02-11T08:00:00+14:00,"))
    data = write_dataset(tmp_path, leads=text)
    assert_refused(validate(data), 0, "WARNING leads.created_at: 1 row(s) carry a time-zone offset other than the "
                   "column's usual +14:00 (+14:00 on 2 row(s), -10:00 on 1 row(s))",
                   "lead_id='L2', created_at='2025-01-20T14:00:00-10:00'", "read as the wall-clock time written")
    leads = open_dataset(data).table("leads").order_by("lead_id").execute()
    assert leads["created_at"].astype(str).tolist()[:3] == ["2025-01-02 09:00:00", "2025-01-20 14:00:00",
                                                             "2025-02-11 08:00:00"]
