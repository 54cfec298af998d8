"""Bad imports: what an import leaves out or cannot read is said on the terminal, and the CSV
files it writes are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.robustness_fixtures import assert_refused, salesnb, untouched

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
HUBSPOT = EXPORTS / "hubspot_deals.csv"


def import_export(source: Path, out: Path, *options: str):
    with untouched(source):
        return salesnb("import", source, "--out", out, *options)


def hubspot_frame() -> pd.DataFrame:
    return pd.read_csv(HUBSPOT, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path) as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def imported_deals(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "opportunities.csv", dtype=str, keep_default_na=False)


def test_deals_over_two_sheets_are_all_imported(tmp_path):
    # Before (issue 24): only the first sheet was read (with a warning); the second's deals were lost.
    frame = hubspot_frame()
    workbook = _workbook(tmp_path / "export" / "deals.xlsx", {
        "Q1": frame.iloc[:2], "Q2": frame.iloc[2:], "About": pd.DataFrame({"note": ["exported by Ann"]})})
    outcome = import_export(workbook, tmp_path / "out", "--preset", "hubspot")
    assert outcome.code == 0 and "Traceback" not in outcome.text, outcome.text
    assert imported_deals(tmp_path / "out")["opportunity_id"].tolist() == frame["Record ID"].tolist()
    report = json.loads((tmp_path / "out" / "import_report.json").read_text())
    [note] = [note for note in report["findings"] if note["check"] == "sheets_read"]
    assert "read the sheet(s) 'Q1', 'Q2' of deals.xlsx" in note["message"]


def test_a_cover_sheet_before_the_data_is_passed_over(tmp_path):
    # Before: "the mapping reads it from 'Record ID' or 'Deal ID', but deals.xlsx has no such column (it has: Title, By)".
    frame = hubspot_frame()
    workbook = _workbook(tmp_path / "export" / "deals.xlsx", {
        "Cover": pd.DataFrame({"Title": ["Q2 deals export"], "By": ["Ann"]}), "Deals": frame})
    outcome = import_export(workbook, tmp_path / "out", "--preset", "hubspot")
    assert outcome.code == 0, outcome.text
    assert imported_deals(tmp_path / "out")["opportunity_id"].tolist() == frame["Record ID"].tolist()


def test_sheets_with_the_mapped_columns_under_different_headers_ask_which(tmp_path):
    frame = hubspot_frame()
    # Every mapped column on both sheets, but other columns besides: one export split in two, or
    # two different tables? The kit does not guess.
    workbook = _workbook(tmp_path / "export" / "deals.xlsx", {
        "Open": frame.assign(**{"Next step": "call"}), "Closed": frame})
    assert_refused(import_export(workbook, tmp_path / "out", "--preset", "hubspot"), 2,
                   "deals.xlsx has several sheets with the mapped columns, under different headers: 'Open' (",
                   "'Closed' (", "Say which to read with 'sheet:'")
    assert not (tmp_path / "out").exists()


def _with_formula(workbook: Path, cell: str, formula: str, result: float | None) -> None:
    """Put a formula into ``cell`` of the first sheet, with its saved ``result`` (as Excel saves
    it) or without one (as a script writing the workbook leaves it)."""
    import re
    import zipfile

    with zipfile.ZipFile(workbook) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    sheet = files["xl/worksheets/sheet1.xml"].decode()
    saved = "" if result is None else f"<v>{result}</v>"
    sheet = re.sub(rf'<c r="{cell}"[^>]*>.*?</c>', f'<c r="{cell}"><f>{formula}</f>{saved}</c>', sheet, count=1)
    files["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(workbook, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def test_a_formula_without_a_saved_result_is_refused_naming_the_cell(tmp_path):
    # Before: the amount (E3, a formula nobody calculated) was imported as an empty cell, silently.
    frame = hubspot_frame()
    workbook = _workbook(tmp_path / "export" / "deals.xlsx", {"Deals": frame})
    _with_formula(workbook, "E3", "E2*2", result=None)
    outcome = import_export(workbook, tmp_path / "out", "--preset", "hubspot")
    assert_refused(outcome, 2, "deals.xlsx holds 1 formula(s) whose result was never saved",
                   "sheet 'Deals' cell E3 (=E2*2)", "Open the workbook in Excel or LibreOffice and save it")
    assert not (tmp_path / "out").exists()


def test_a_formula_with_its_saved_result_imports_the_result(tmp_path):
    frame = hubspot_frame()
    workbook = _workbook(tmp_path / "export" / "deals.xlsx", {"Deals": frame})
    _with_formula(workbook, "E3", "E2*37.5", result=45000)  # as Excel saves it: the result beside
    outcome = import_export(workbook, tmp_path / "out", "--preset", "hubspot")
    assert outcome.code == 0, outcome.text
    assert imported_deals(tmp_path / "out")["amount"].tolist()[:2] == ["1200.0", "45000.0"]


def test_a_misspelt_optional_column_is_a_warning_with_did_you_mean(tmp_path):
    # Before: lost_reason left empty with an "info" note in import_report.json only.
    export = tmp_path / "export" / "deals.csv"
    export.parent.mkdir()
    export.write_text(HUBSPOT.read_text(encoding="utf-8-sig").replace("Closed Lost Reason", "Closed Lost Reasn"))
    outcome = import_export(export, tmp_path / "out", "--preset", "hubspot")
    assert_refused(outcome, 0, "WARNING opportunities.lost_reason", "has no column 'Closed Lost Reason'",
                   "Did you mean 'Closed Lost Reasn'?", "Rename that header")


def test_a_column_the_export_simply_lacks_is_no_did_you_mean(tmp_path):
    # The HubSpot fixture has no Deal Type, Product or Currency column: no header is close to those.
    outcome = import_export(HUBSPOT, tmp_path / "out", "--preset", "hubspot")
    assert outcome.code == 0 and "Did you mean" not in outcome.text, outcome.text
    # What was printed before issue 13 too: the accounts table the export cannot give.
    assert "WARNING accounts: the export has no account name column" in outcome.text


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://evil.example","Click")', "+cmd|' /C calc'!A0",
                                     "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"])
def test_formulas_in_text_cells_are_neutralised_in_written_csvs(tmp_path, formula):
    frame = hubspot_frame()
    frame.loc[0, "Deal owner"] = formula
    frame.loc[1, "Closed Lost Reason"] = formula
    export = tmp_path / "export" / "deals.csv"
    export.parent.mkdir()
    frame.to_csv(export, index=False)
    outcome = import_export(export, tmp_path / "out", "--preset", "hubspot")
    assert outcome.code == 0, outcome.text
    cells = [cell for path in (tmp_path / "out").glob("*.csv")
             for row in csv.reader(path.open(encoding="utf-8")) for cell in row]
    assert "'" + formula in cells  # rep name and loss reason, prefixed
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@"))]
    # Numbers keep their sign: only text columns are neutralised.
    deals = pd.read_csv(tmp_path / "out" / "opportunities.csv", dtype=str)
    assert deals["amount"].dropna().map(float).tolist() == [float(value) for value in frame["Amount"] if value]


def test_out_inside_the_export_folder_is_refused(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(HUBSPOT, export / "deals.csv")
    assert_refused(import_export(export, export / "dataset", "--preset", "hubspot"), 2,
                   "is inside the export folder", "Choose an output folder elsewhere")


def test_an_export_that_does_not_exist(tmp_path):
    assert_refused(salesnb("import", tmp_path / "nope.csv", "--preset", "hubspot", "--out", tmp_path / "out"), 2,
                   "does not exist")


def test_a_damaged_workbook(tmp_path):
    workbook = tmp_path / "deals.xlsx"
    workbook.write_bytes(b"PK\x03\x04 not really a zip")
    assert_refused(import_export(workbook, tmp_path / "out", "--preset", "hubspot"), 2,
                   "cannot be opened as an Excel workbook")


def test_an_empty_export_file(tmp_path):
    export = tmp_path / "deals.csv"
    export.write_text("")
    assert_refused(import_export(export, tmp_path / "out", "--preset", "hubspot"), 2, "deals.csv is empty")


def _mounted_tmpfs(folder: Path, size: str) -> bool:
    import os
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


def test_import_onto_a_full_disk_is_a_message_and_leaves_nothing(tmp_path, monkeypatch):
    # Before (issue 24): "OSError: [Errno 28] No space left on device" traceback, exit 1.
    import errno
    import subprocess

    frame = hubspot_frame()
    export = tmp_path / "export" / "deals.csv"
    export.parent.mkdir()
    pd.concat([frame] * 200, ignore_index=True).assign(**{"Record ID": lambda rows: rows.index.astype(str)}).to_csv(
        export, index=False)  # 800 deals: some 60 KB of CSV, more than the disk below holds
    disk = tmp_path / "disk"
    mounted = _mounted_tmpfs(disk, "16k")
    try:
        if not mounted:  # not root, or no tmpfs: the same failure where the tables are written
            def full(self, path, *args, **kwargs):
                Path(path).write_text("opportunity_id\n")  # half-written, as a full disk leaves it
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(pd.DataFrame, "to_csv", full)
        outcome = import_export(export, disk / "crm", "--preset", "hubspot")
        assert_refused(outcome, 2, f"Could not write the imported dataset to {disk / 'crm'}",
                       "No space left on device", "the disk is full", "Nothing was written there")
        assert list(disk.iterdir()) == []  # no staging folder, no half-written table
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_header_the_mapping_misspells_is_an_error_with_the_right_advice(tmp_path):
    # Before (issue 24): a warning, "Did you mean 'Opened'? Rename that header to 'Opend' in the
    # export" (the advice reversed), and created_at imported empty.
    export = tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_text("Ref,Opened,Phase\nA1,2024-01-05,Won\nA2,2024-01-08,Lost\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("stages:\n  - {name: Won, probability: 1, outcome: won}\n"
                       "  - {name: Lost, probability: 0, outcome: lost}\n"
                       "tables:\n  opportunities:\n    source: deals.csv\n"
                       "    columns: {opportunity_id: Ref, created_at: Opend, stage: Phase}\n")
    outcome = import_export(export, tmp_path / "out", "--mapping", mapping)
    assert_refused(outcome, 2, "opportunities.created_at: the mapping reads it from 'Opend', but deals.csv has no such "
                   "column", "Did you mean 'Opened'? Write 'Opened' for created_at in the mapping.")
    assert "Rename that header to 'Opend'" not in outcome.text and not (tmp_path / "out").exists()


def test_time_zone_offsets_that_differ_within_a_column_are_a_warning(tmp_path):
    # Before: dropped silently; the rule (docs/importing.md): the wall-clock time written.
    text = HUBSPOT.read_text(encoding="utf-8-sig")
    export = tmp_path / "export" / "deals.csv"
    export.parent.mkdir()
    export.write_text(text.replace("2024-04-02 09:15", "2024-04-02T23:15:00-10:00")
                      .replace("2024-01-10 11:00", "2024-01-10T00:30:00+14:00"))
    outcome = import_export(export, tmp_path / "out", "--preset", "hubspot")
    assert_refused(outcome, 0, "WARNING opportunities.created_at (from deals.csv): 1 value(s) carry a time-zone offset "
                   "other than the column's usual +14:00 (+14:00 on 1 row(s), -10:00 on 1 row(s))",
                   "row 2 (Record ID='15234567890'): '2024-04-02T23:15:00-10:00'", "read as the wall-clock time written")
    assert imported_deals(tmp_path / "out")["created_at"].tolist()[:2] == ["2024-04-02", "2024-01-10"]


def test_parquet_timestamps_with_a_time_zone_import_their_local_date(tmp_path):
    frame = hubspot_frame()
    frame["Create Date"] = pd.to_datetime(frame["Create Date"]).dt.tz_localize("Pacific/Honolulu")
    export = tmp_path / "export" / "deals.parquet"
    export.parent.mkdir()
    frame.assign(**{"Create Date": frame["Create Date"] + pd.Timedelta(hours=14)}).to_parquet(export)
    outcome = import_export(export, tmp_path / "out", "--preset", "hubspot")
    assert outcome.code == 0, outcome.text
    # 2024-04-02 09:15 + 14 h is 23:15 in Honolulu (09:15 the next day in UTC): the local date stays.
    assert imported_deals(tmp_path / "out")["created_at"].tolist()[0] == "2024-04-02"


def test_long_notes_import_and_a_cell_beyond_the_limit_is_named(tmp_path):
    # Before: "is not a well-formed CSV file (field larger than field limit (131072))".
    from salesnb.data.tablefiles import MAX_LINE_BYTES

    frame = hubspot_frame()
    frame.loc[2, "Closed Lost Reason"] = "Went with competitor " + "x" * 200_000
    export = tmp_path / "export" / "deals.csv"
    export.parent.mkdir()
    frame.to_csv(export, index=False)
    outcome = import_export(export, tmp_path / "out", "--preset", "hubspot")
    assert outcome.code == 0, outcome.text
    assert len(imported_deals(tmp_path / "out")["lost_reason"][2]) == 200_021
    frame.loc[2, "Closed Lost Reason"] = "x" * (MAX_LINE_BYTES + 1)
    frame.to_csv(export, index=False)
    assert_refused(import_export(export, tmp_path / "out2", "--preset", "hubspot"), 2,
                   "deals.csv: line 4, column 'Closed Lost Reason' holds a cell longer than 16 MiB")


def test_an_export_with_a_million_columns_is_refused_by_line_and_column(tmp_path):
    export = tmp_path / "deals.csv"
    export.write_text("Record ID,Deal Stage," + ",".join(f"c{index}" for index in range(1_000_000)) + "\n1,closedwon"
                      + "," * 1_000_000 + "\n")
    assert_refused(import_export(export, tmp_path / "out", "--preset", "hubspot"), 2,
                   "deals.csv has 1,000,002 columns on line 1 (its header), from column 2,001 ('c1998')")
