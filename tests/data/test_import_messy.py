"""Messy values real exports have: one fixture per kind of mess (tests/fixtures/exports/messy_*),
each imported with messy_mapping.yaml and checked against values worked out by hand."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesnb.data.importing import ValueProblemsError, import_dataset
from salesnb.data.importing.mapping import mapping_from_dict

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
BASE = yaml.safe_load((EXPORTS / "messy_mapping.yaml").read_text())


def mapping(**overrides):
    return mapping_from_dict({**BASE, **overrides})


def imported(tmp_path, fixture, table="opportunities", **overrides):
    out = tmp_path / "out"
    import_dataset(EXPORTS / fixture, out, mapping=mapping(**overrides))
    frame = pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    frame = frame.astype(object).where(frame != "", None)
    return frame, json.loads((out / "import_report.json").read_text())


def test_amounts_with_currency_symbols_and_thousands_separators(tmp_path):
    frame, _ = imported(tmp_path, "messy_amounts.csv")
    # "$1,234.50" -> 1234.5; "USD 2,000" -> 2000; "(250.00)" -> -250 (accounting negative);
    # "1,000,000" -> 1e6; empty stays empty (a lost deal without amount).
    assert frame["amount"].tolist() == ["1234.5", "2000.0", "-250.0", "1000000.0", None]


def test_amounts_with_decimal_comma_when_the_mapping_says_so(tmp_path):
    frame, _ = imported(tmp_path, "messy_amounts_decimal_comma.csv", decimal=",")
    # "1.234,50 €" -> 1234.5; "€ 99,5" -> 99.5; "2.000.000" -> 2e6
    assert frame["amount"].tolist() == ["1234.5", "99.5", "2000000.0"]


def test_decimal_comma_amounts_without_the_setting_are_an_error_not_a_wrong_number(tmp_path):
    with pytest.raises(ValueProblemsError) as caught:
        import_dataset(EXPORTS / "messy_amounts_decimal_comma.csv", tmp_path / "out", mapping=mapping())
    assert caught.value.problems[0] == (
        "opportunities.amount (from messy_amounts_decimal_comma.csv): 3 value(s) are not amounts written like "
        "1,234.50: row 2 (Deal ID='1'): '1.234,50 €'; row 3 (Deal ID='2'): '€ 99,5'; row 4 (Deal ID='3'): "
        "'2.000.000'. Set 'decimal' in the mapping to the export's decimal separator, or correct these cells."
    )
    assert not (tmp_path / "out").exists()  # a failed import leaves nothing behind


def test_percent_signs(tmp_path):
    frame, _ = imported(tmp_path, "messy_percent.csv")
    # "25%" -> 0.25; "100 %" -> 1.0; "0.5" on the stated 0..1 scale -> 0.5; empty stays empty
    assert frame["probability"].tolist() == ["0.25", "1.0", "0.5", None]


def test_probability_scale_100(tmp_path):
    frame, _ = imported(tmp_path, "messy_percent.csv", probability_scale=100)
    # with a 0..100 scale the plain "0.5" means half a percent: 0.5 / 100 = 0.005
    assert frame["probability"].tolist() == ["0.25", "1.0", "0.005", None]


def test_dates_in_several_formats_in_one_column(tmp_path):
    frame, _ = imported(tmp_path, "messy_dates.csv")
    assert frame["created_at"].tolist() == [
        "2024-01-05",  # ISO
        "2024-01-01",  # Excel serial 45292 = 1899-12-30 + 45292 days
        "2024-01-01",  # the same serial written as a float
        "2024-01-15",  # US 01/15/2024 (month_first stated in the mapping)
        "2024-01-05",  # "Jan 5, 2024"
        "2024-01-05",  # 23:30 UTC: the wall-clock date, not shifted to another zone
        "2024-01-07",  # 2024/01/07, year first
    ]


@pytest.mark.parametrize("order,expected", [("month_first", ["2024-03-04", "2024-12-01"]),
                                            ("day_first", ["2024-04-03", "2024-01-12"])])
def test_ambiguous_dates_follow_the_stated_order(tmp_path, order, expected):
    frame, _ = imported(tmp_path, "messy_ambiguous_dates.csv", date_order=order)
    assert frame["created_at"].tolist() == expected


def test_ambiguous_dates_without_an_order_are_an_error(tmp_path):
    raw = {key: value for key, value in BASE.items() if key != "date_order"}
    with pytest.raises(ValueProblemsError) as caught:
        import_dataset(EXPORTS / "messy_ambiguous_dates.csv", tmp_path / "out", mapping=mapping_from_dict(raw))
    assert caught.value.problems == [
        "opportunities.created_at (from messy_ambiguous_dates.csv): 2 date(s) like 03/04/2024 could be day-first or "
        "month-first: row 2 (Deal ID='1'): '03/04/2024'; row 3 (Deal ID='2'): '12/01/2024'. State the export's order "
        "in the mapping: 'date_order: month_first' (US) or 'date_order: day_first'."
    ]


def test_unreadable_dates_are_an_error_with_examples(tmp_path):
    with pytest.raises(ValueProblemsError) as caught:
        import_dataset(EXPORTS / "messy_unreadable_dates.csv", tmp_path / "out", mapping=mapping())
    # "2024-02-30" does not exist: it is not silently moved to March
    assert caught.value.problems == [
        "opportunities.created_at (from messy_unreadable_dates.csv): 2 value(s) are not dates: row 3 (Deal ID='2'): "
        "'next tuesday'; row 4 (Deal ID='3'): '2024-02-30'. Correct them, or add the export's format to "
        "'date_formats' in the mapping (e.g. '%d.%m.%Y %H:%M')."
    ]
    assert "nothing was imported" in str(caught.value)


def test_date_only_and_timestamp_columns(tmp_path):
    frame, _ = imported(tmp_path, "messy_leads_timestamps.csv", table="leads", stages=None, tables={
        "leads": {"columns": {"lead_id": "Lead", "created_at": "Created on", "first_response_at": "First reply"}}})
    # A date-only value in a timestamp column is midnight; 12-hour clock times are converted.
    assert frame["created_at"].tolist() == ["2024-01-05 00:00:00", "2024-01-06 14:05:09", "2024-01-07 14:15:00"]
    assert frame["first_response_at"].tolist() == ["2024-01-05 09:30:00", None, "2024-01-08 09:00:00"]


def test_timestamps_in_a_date_column_are_truncated_to_the_date(tmp_path):
    frame, _ = imported(tmp_path, "messy_dates.csv")
    assert frame.loc[5, "created_at"] == "2024-01-05"  # from 2024-01-05T23:30:00Z


def test_placeholder_words_mean_missing(tmp_path):
    frame, _ = imported(tmp_path, "messy_placeholders.csv")
    # "", "N/A", "unknown", "Select", "-" are all missing; "Web" is kept
    assert frame["source"].tolist() == [None, None, None, None, None, "Web"]


def test_trailing_empty_columns(tmp_path):
    frame, _ = imported(tmp_path, "messy_trailing_columns.csv")
    assert frame["amount"].tolist() == ["100.0", "200.0"]
    assert list(frame.columns) == ["opportunity_id", "account_id", "rep_id", "source", "created_at", "close_date",
                                   "stage", "amount", "probability"]


def test_exact_duplicate_rows_are_dropped_with_a_warning(tmp_path):
    frame, report = imported(tmp_path, "messy_duplicates.csv")
    # 6 rows: deal 1 twice, deal 2 three times, deal 3 once -> 3 rows kept, 3 dropped
    assert frame["opportunity_id"].tolist() == ["1", "2", "3"]
    [note] = [note for note in report["findings"] if note["check"] == "duplicate_rows_dropped"]
    assert note["count"] == 3
    assert note["message"] == (
        "opportunities: 3 row(s) of messy_duplicates.csv were exact copies of another row and were dropped on import. "
        "If they are real separate deals, give them distinct IDs in the CRM.")


def test_ids_with_leading_zeros_stay_text(tmp_path):
    frame, _ = imported(tmp_path, "messy_leading_zeros.csv")
    assert frame["opportunity_id"].tolist() == ["007", "0010"]
    assert frame["account_id"].tolist() == ["00123", "00124"]


def test_case_and_whitespace_variants_of_a_category_are_unified(tmp_path):
    frame, _ = imported(tmp_path, "messy_categories.csv")
    # Webinar x2, "webinar ", " WEBINAR" -> the commonest spelling "Webinar";
    # "Cold   call" and "cold call" tie 1:1 -> the first in sort order, "Cold call".
    assert frame["source"].tolist() == ["Webinar"] * 4 + ["Cold call"] * 2
    # stage values "open", "OPEN " match the mapping's stage "Open" whatever their case
    assert frame["stage"].tolist() == ["Open"] * 6


@pytest.mark.parametrize("fixture", ["messy_names_utf8_bom.csv", "messy_names_cp1252.csv"])
def test_names_with_accents_and_apostrophes_are_preserved(tmp_path, fixture):
    reps, _ = imported(tmp_path, fixture, table="reps")
    assert reps.to_dict("list") == {
        "rep_id": ["jose-garcia", "mary-o-brien", "zoe-d-arc"],  # slugs of the names, sorted
        "rep_name": ["José García", "Mary O'Brien", "Zoë d’Arc"],
    }
    opportunities = pd.read_csv(tmp_path / "out" / "opportunities.csv", dtype=str)
    assert opportunities["account_id"].tolist() == ["Café Noir", "Smith & Sons, Ltd.", "Ørsted A/S"]
    assert opportunities["rep_id"].tolist() == ["jose-garcia", "mary-o-brien", "zoe-d-arc"]


def test_row_numbers_in_messages_survive_dropped_duplicates(tmp_path):
    export = tmp_path / "deals.csv"
    export.write_text("Deal ID,Created,Closed,Stage,Amount,Owner,Account,Source,Win %\n"
                      "1,2024-01-02,2024-02-01,Open,1,Ann,A,Web,\n"
                      "1,2024-01-02,2024-02-01,Open,1,Ann,A,Web,\n"
                      "2,2024-01-02,2024-02-01,Open,1,Ann,A,Web,\n"
                      "3,someday,2024-02-01,Open,1,Ann,A,Web,\n", encoding="utf-8")
    with pytest.raises(ValueProblemsError) as caught:
        import_dataset(export, tmp_path / "out", mapping=mapping())
    # header = row 1, so deal 3 is on row 5 even though the copy on row 3 was dropped
    assert "row 5 (Deal ID='3'): 'someday'" in caught.value.problems[0]
