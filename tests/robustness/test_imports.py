"""Bad imports: what an import leaves out or cannot read is said on the terminal, and the CSV
files it writes are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
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


def test_deals_over_two_sheets_are_a_warning_on_the_terminal(tmp_path):
    # Before: only the first sheet was imported, silently.
    frame = hubspot_frame()
    workbook = tmp_path / "export" / "deals.xlsx"
    workbook.parent.mkdir()
    with pd.ExcelWriter(workbook) as writer:
        frame.iloc[:2].to_excel(writer, sheet_name="Q1", index=False)
        frame.iloc[2:].to_excel(writer, sheet_name="Q2", index=False)
        pd.DataFrame({"note": ["exported by Ann"]}).to_excel(writer, sheet_name="About", index=False)
    outcome = import_export(workbook, tmp_path / "out", "--preset", "hubspot")
    assert_refused(outcome, 0, "WARNING opportunities: deals.xlsx has 2 sheets with the same columns",
                   "only the first ('Q1') was read; 'Q2' were not", "copy them into one sheet", "'sheet:'")
    assert "'About'" not in outcome.text  # a sheet of other columns is not deals


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
