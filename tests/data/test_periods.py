"""Reporting periods: defaults anchored to the data, previous periods by calendar months."""

import datetime as dt

import pandas as pd
import pytest

from salesnb.data.periods import (Period, fiscal_quarter_label, fiscal_quarter_start, is_coming, parse_period,
                                  resolve_period)
from salesnb.errors import SalesnbError

D = dt.date


def test_default_period_is_twelve_full_months_before_the_snapshot():
    assert resolve_period(None, None, D(2025, 12, 31)) == Period(D(2025, 1, 1), D(2025, 12, 31))
    # Mid-month snapshot: the last full month is the previous one.
    assert resolve_period(None, None, D(2025, 6, 15)) == Period(D(2024, 6, 1), D(2025, 5, 31))


def test_previous_period_of_a_leap_year_is_the_whole_year_before():
    # 2024 has 366 days: counting days back would start on 2023-01-01 for 2024 but on
    # 2024-01-02 for 2025; counting months gives the calendar year.
    assert Period(D(2025, 1, 1), D(2025, 12, 31)).previous() == Period(D(2024, 1, 1), D(2024, 12, 31))
    assert Period(D(2025, 4, 1), D(2025, 6, 30)).previous() == Period(D(2025, 1, 1), D(2025, 3, 31))
    # Not whole months: the same number of days just before.
    assert Period(D(2025, 1, 10), D(2025, 1, 19)).previous() == Period(D(2024, 12, 31), D(2025, 1, 9))


def test_year_earlier():
    assert Period(D(2025, 1, 1), D(2025, 3, 31)).year_earlier() == Period(D(2024, 1, 1), D(2024, 3, 31))


def test_bad_period_parameters_are_explained():
    with pytest.raises(SalesnbError, match="period_start must be a date written as YYYY-MM-DD"):
        resolve_period("31/01/2025", None, D(2025, 12, 31))
    with pytest.raises(SalesnbError, match="is after period_end"):
        resolve_period("2025-03-01", "2025-01-01", D(2025, 12, 31))


def test_fiscal_quarters():
    # Fiscal year starting in April: 15 May 2025 is in FY2026 Q1, which starts 1 April 2025.
    assert fiscal_quarter_start(D(2025, 5, 15), 4) == D(2025, 4, 1)
    assert fiscal_quarter_label(D(2025, 5, 15), 4) == "FY2026 Q1"
    assert fiscal_quarter_label(D(2026, 2, 1), 4) == "FY2026 Q4"
    assert fiscal_quarter_label(D(2025, 11, 3), 1) == "FY2025 Q4"


def test_a_start_after_the_default_end_says_which_end():
    with pytest.raises(SalesnbError, match="after the default period_end 2025-11-30"):
        resolve_period("2025-12-05", None, D(2025, 12, 15))


SPAN = Period(D(2020, 1, 1), D(2021, 3, 21))


def test_all_is_the_data_span():
    assert resolve_period("all", "all", SPAN.end, span=SPAN) == SPAN
    assert resolve_period("ALL", None, SPAN.end, span=SPAN).start == SPAN.start  # any case
    # one end 'all', the other a date
    assert resolve_period("all", "2020-12-31", SPAN.end, span=SPAN) == Period(D(2020, 1, 1), D(2020, 12, 31))


def test_a_period_far_wider_than_the_data_is_clamped_to_its_months():
    # 1990..2099 around data from 2020-01-01 to 2021-03-21: both sides are > 366 days outside
    assert resolve_period("1990-01-01", "2099-12-31", SPAN.end, span=SPAN) == Period(D(2020, 1, 1), D(2021, 3, 31))
    # a calendar year a little wider than the data is left as asked (its previous period stays a year)
    assert resolve_period("2020-01-01", "2021-12-31", SPAN.end, span=SPAN) == Period(D(2020, 1, 1), D(2021, 12, 31))
    # a period entirely outside the data is left as asked: it shows nothing, and says so
    assert resolve_period("2030-01-01", "2031-12-31", SPAN.end, span=SPAN) == Period(D(2030, 1, 1), D(2031, 12, 31))


def test_a_period_value_that_is_neither_a_date_nor_all():
    with pytest.raises(SalesnbError, match="YYYY-MM-DD or 'all'"):
        resolve_period("everything", None, SPAN.end, span=SPAN)


def test_target_quarter_defaults_to_the_fiscal_quarter_still_open():
    from salesnb.data.periods import fiscal_quarter, resolve_quarter

    # Mid-quarter: the quarter containing the data's date (fiscal year from April: Q3 is Oct-Dec).
    assert resolve_quarter(None, None, D(2025, 11, 14), 4) == Period(D(2025, 10, 1), D(2025, 12, 31))
    # On a quarter's last day that quarter is over: the next one (nothing is left to forecast).
    assert resolve_quarter(None, None, D(2025, 12, 31), 1) == Period(D(2026, 1, 1), D(2026, 3, 31))
    assert fiscal_quarter(D(2025, 12, 31), 1) == Period(D(2025, 10, 1), D(2025, 12, 31))
    # One end given: the other end of its fiscal quarter; both given: as written.
    assert resolve_quarter("2025-02-10", None, D(2025, 12, 31), 1) == Period(D(2025, 2, 10), D(2025, 3, 31))
    assert resolve_quarter(None, "2025-05-31", D(2025, 12, 31), 1) == Period(D(2025, 4, 1), D(2025, 5, 31))
    assert resolve_quarter("2025-01-01", "2025-12-31", D(2025, 6, 1), 1) == Period(D(2025, 1, 1), D(2025, 12, 31))
    with pytest.raises(SalesnbError, match="is after period_end"):
        resolve_quarter("2025-03-01", "2025-01-01", D(2025, 12, 31), 1)


def test_short_label_names_whole_months_and_falls_back_to_the_dates():
    assert Period(dt.date(2025, 7, 1), dt.date(2025, 9, 30)).short_label() == "Jul–Sep 2025"
    assert Period(dt.date(2025, 11, 1), dt.date(2026, 1, 31)).short_label() == "Nov 2025–Jan 2026"
    assert Period(dt.date(2025, 3, 1), dt.date(2025, 3, 31)).short_label() == "Mar 2025"
    assert Period(dt.date(2025, 3, 5), dt.date(2025, 3, 20)).short_label() == "05 Mar 2025–20 Mar 2025"


# ----------------------------------------------------------------------------- the forms people type

AS_OF = dt.date(2025, 12, 15)


@pytest.mark.parametrize("spec, start, end", [
    ("2025Q3", "2025-07-01", "2025-09-30"),
    ("2025-q1", "2025-01-01", "2025-03-31"),
    ("2025-07", "2025-07-01", "2025-07-31"),
    ("2024", "2024-01-01", "2024-12-31"),
    ("2025-03-04", "2025-03-04", "2025-03-04"),
    ("2025-01-01..2025-02-15", "2025-01-01", "2025-02-15"),
    (("2025-01-01", "2025-02-15"), "2025-01-01", "2025-02-15"),
    (None, "2024-12-01", "2025-11-30"),  # the default: twelve full months up to the data's date
    ("last_12_months", "2024-12-01", "2025-11-30"),
    ("last_full_month", "2025-11-01", "2025-11-30"),
    ("fiscal_quarter", "2025-10-01", "2025-12-31"),
    ("next_fiscal_quarter", "2026-01-01", "2026-03-31"),
    ("last_fiscal_quarter", "2025-07-01", "2025-09-30"),
    ("next_fiscal_year", "2026-01-01", "2026-12-31"),
])
def test_period_forms_with_a_calendar_fiscal_year(spec, start, end):
    period = parse_period(spec, as_of=AS_OF)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


@pytest.mark.parametrize("spec, start, end", [
    # A fiscal year starting in April is named after the calendar year it ends in.
    ("FY2026", "2025-04-01", "2026-03-31"),
    ("FY2026Q1", "2025-04-01", "2025-06-30"),
    ("FY2026 Q4", "2026-01-01", "2026-03-31"),
    ("fiscal_quarter", "2025-10-01", "2025-12-31"),
    ("next_fiscal_year", "2026-04-01", "2027-03-31"),
])
def test_period_forms_with_an_april_fiscal_year(spec, start, end):
    period = parse_period(spec, as_of=AS_OF, fiscal_year_start_month=4)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


def test_a_period_that_is_not_one_says_the_forms():
    with pytest.raises(SalesnbError, match="Did you mean 'last_full_month'.*a quarter \\(2025Q3\\)"):
        parse_period("last_full_mnth", as_of=AS_OF)
    with pytest.raises(SalesnbError, match="needs two ends"):
        parse_period(("2025-01-01",), as_of=AS_OF)


def test_a_small_file_is_reported_whole():
    """Data from 3 Mar to 8 Jul 2025: the last twelve full months (Jul 2024 - Jun 2025) would leave
    July out; the default covers the data's own months, 01 Mar - 08 Jul 2025."""
    from salesnb.data.periods import period_for_short_data

    span = Period(D(2025, 3, 3), D(2025, 7, 8))
    assert period_for_short_data(span, span.end) == Period(D(2025, 3, 1), D(2025, 7, 8))
    assert parse_period(None, as_of=span.end, span=span) == Period(D(2025, 3, 1), D(2025, 7, 8))
    assert parse_period("last_12_months", as_of=span.end, span=span) == Period(D(2025, 3, 1), D(2025, 7, 8))
    # The twelve months already cover it (the data ends on a month's last day): they stay.
    assert period_for_short_data(Period(D(2025, 3, 3), D(2025, 6, 30)), D(2025, 6, 30)) is None
    # A year of data or more: the last twelve full months.
    long = Period(D(2024, 6, 20), D(2025, 7, 8))
    assert period_for_short_data(long, long.end) is None
    assert parse_period(None, as_of=long.end, span=long) == Period(D(2024, 7, 1), D(2025, 6, 30))


def test_a_coming_period_starts_after_the_data_date_and_within_a_year():
    as_of = dt.date(2025, 12, 31)
    assert is_coming(Period(dt.date(2026, 4, 1), dt.date(2026, 6, 30)), as_of)  # the next fiscal quarter
    assert is_coming(Period(dt.date(2026, 12, 31), dt.date(2027, 12, 30)), as_of)  # 365 days on: still coming
    assert not is_coming(Period(dt.date(2025, 10, 1), dt.date(2025, 12, 31)), as_of)  # open at the data date
    assert not is_coming(Period(dt.date(2028, 1, 1), dt.date(2028, 12, 31)), as_of)  # two years on: a typo


def test_month_bounds_are_each_months_first_and_last_day():
    from salesnb.data.periods import month_bounds

    starts, ends = month_bounds([pd.Period("2024-02", "M"), pd.Period("2025-12", "M")])
    assert list(starts) == [pd.Timestamp("2024-02-01"), pd.Timestamp("2025-12-01")]
    assert list(ends) == [pd.Timestamp("2024-02-29"), pd.Timestamp("2025-12-31")]  # leap year; midnight
