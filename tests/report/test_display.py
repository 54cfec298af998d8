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


def test_tables_sit_in_a_frame_with_numbers_and_dates_on_one_line():
    frame = pd.DataFrame({"rep_name": ["Ann"], "won_amount": [1438165.0],
                          "close_date": pd.to_datetime(["2025-06-14"])})
    html = show.table(frame).data
    assert '<div class="salesnb-table-frame" style="overflow-x:auto">' in html
    assert "salesnb-wide" not in html  # 3 short columns fit a portrait page
    # Every number cell and date cell is kept on one line; the rep's name may wrap.
    assert html.count("white-space: nowrap") == 2
    assert "$1,438,165" in html and "2025-06-14" in html


def test_a_table_too_wide_for_a_portrait_page_is_marked_for_landscape():
    # 14 columns of 10-character amounts: 14 x (10 + 2) = 168 characters > 110.
    frame = pd.DataFrame({f"amount_{index}": [1234567.0] for index in range(14)})
    assert "salesnb-table-frame salesnb-wide" in show.table(frame, values_unit="currency").data
    # Long text wraps on paper: it counts as 16 characters, not as its length.
    text = pd.DataFrame({"loss_reason": ["x " * 200], "deals": [3]})
    assert "salesnb-wide" not in show.table(text).data


def test_table_columns_show_the_digits_they_deserve():
    frame = pd.DataFrame({"rep_name": ["A", "B", "C"], "activities_per_rep_week": [21.21, 35.5, 130.0]})
    html = show.table(frame).data
    # One decimal for the column, what its median (35.5) deserves.
    assert ">21.2<" in html and ">130.0<" in html and "21.21" not in html


def test_tiles_are_a_grid_two_to_a_row_on_a_phone():
    html = show.kpi_tiles([("Deals", 3, "count"), ("Won", 1, "count")]).data
    # Columns at least 150 px, or half the width: two to a row on a 390 px phone.
    assert 'class="salesnb-tiles"' in html
    assert "grid-template-columns:repeat(auto-fill,minmax(min(150px,calc(50% - 4px)),1fr))" in html
    assert html.count('class="salesnb-tile"') == 2


def test_css_strings_cannot_end_the_string_or_the_style():
    assert show.css_string('Team "A" \\ <b></style>') == '"Team \\"A\\" \\\\ \\3c b>\\3c /style>"'
    assert show.css_string("two\nlines") == '"two lines"'


def test_acronyms_in_headers_are_written_as_people_write_them():
    """MQL, SQL, SLA, CRM ... never "Mql rate" or "within sla": every label of the catalogue, and
    the headers a table makes of them."""
    import re

    from salesnb.metrics import catalogue

    acronyms = re.compile(r"\b(mql|sql|sla|crm|nrr|grr|rfm|clv|id)\b", re.IGNORECASE)
    wrong = [(entry.name, entry.label) for entry in catalogue.entries()
             if any(found != found.upper() for found in acronyms.findall(entry.label))]
    assert wrong == []
    html = show.table(pd.DataFrame({"mql_rate": [0.5], "share_within_sla": [0.4], "reached_sql": [3]})).data
    assert all(header in html for header in (">MQL rate<", ">Share within SLA<", ">Reached SQL<"))


def test_notices_write_their_plurals_out():
    html = show.notice("3 order(s) by 1 account(s) were placed on a day <b>").data
    assert "3 orders by 1 account were placed on a day &lt;b&gt;" in html and "(s)" not in html


def test_tiles_write_amounts_of_a_billion_or_more_in_billions():
    # "$91,082,644,525" ran into the next tile at 1280 px; tables keep every digit.
    import numpy as np

    html = show.kpi_tiles([("revenue", np.int64(91_082_644_525), 50_000_000_000),
                           ("won_amount", 987_654_321.0), ("pipeline_created", -2.5e9)]).data
    assert ">$91.1B<" in html and ">$987,654,321<" in html and ">-$2.5B<" in html
    assert "+82% vs previous period" in html  # the change is worked out on the exact values
    assert show.table(pd.DataFrame({"revenue": [91_082_644_525.0]})).data.count("$91,082,644,525") == 1
    # The run's index and summary pages write the tiles the same way.
    from salesnb.report.pages import headline_tiles

    assert headline_tiles({"currency": "EUR", "tiles": [{"label": "Revenue", "value": 91_082_644_525.0,
                                                          "kind": "currency"}]}) == [("Revenue", "€91.1B")]
