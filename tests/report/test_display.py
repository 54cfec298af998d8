"""The one table helper always escapes text from the data, cells and headers alike."""

import pandas as pd

from salesnb.report import display as show
from salesnb.report import kpis

ATTACK = "<script>alert(1)</script>"
IMAGE = '<img src=x onerror="alert(1)">'


def test_table_escapes_cells_and_headers():
    frame = pd.DataFrame({"rep_name": [ATTACK, IMAGE], IMAGE: [1, 2], "win_rate": [0.25, 0.5]})
    html = show.table(frame, {"win_rate": "percent"}).data
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "25.0%" in html and "50.0%" in html


def test_formatted_columns_are_escaped_too():
    # A "currency" column that holds text must not switch escaping off for that column.
    frame = pd.DataFrame({"amount": [ATTACK]})
    html = show.table(frame, {"amount": "text-that-is-not-a-kind"}).data
    assert "<script>" not in html


def test_long_tables_are_cut_with_a_note():
    html = show.table(pd.DataFrame({"n": range(100)}), max_rows=10).data
    assert "Showing the first 10 of 100 rows" in html
    assert html.count("<tr") == 11  # header + 10 rows


def test_bullets_notice_and_tiles_escape():
    assert "<script>" not in show.bullets([ATTACK], title=ATTACK).data
    assert "<script>" not in show.notice(ATTACK).data
    tiles = show.kpi_tiles([(ATTACK, 0.5, "percent", 0.4)]).data
    assert "<script>" not in tiles and "+10.0 pts vs previous period" in tiles


def test_kpis_are_json_native():
    cleaned = kpis.clean({"rate": float("nan"), "count": 3.0, "by_rep": {"R2": 0.5, "R1": None}})
    assert cleaned == {"rate": None, "count": 3, "by_rep": {"R1": None, "R2": 0.5}}
    assert list(cleaned["by_rep"]) == ["R1", "R2"]  # sorted keys: deterministic metrics.json


def test_dates_show_without_midnight_and_months_as_month_names():
    frame = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                          "closed": pd.to_datetime(["2025-01-05", None])})
    html = show.table(frame).data
    assert "Jan 2025" in html and "Feb 2025" in html and "2025-01-05" in html
    assert "00:00:00" not in html


def test_left_out_names_count_total_and_reason_and_is_silent_at_zero():
    note = show.left_out(12, 1240, "deals", "have no <created_at>").data
    assert "12 of 1,240 deals are left out of this view: they have no &lt;created_at&gt;." in note
    assert show.left_out(0, 1240, "deals", "have no created_at").data == ""  # display(None) would print "None"
