"""Reporting periods: parsing the notebook parameters and fiscal quarters.

Dates are compared as dates (never as timestamps with time zones). A period is inclusive
at both ends: ``2025-01-01`` to ``2025-03-31`` is the first calendar quarter.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import ClassVar

import ibis
import pandas as pd

from salesnb.errors import NeedsDatesError, SalesnbError


# Reports compare a period with the one before and the year before, with pandas
# timestamps (which end in 2262): periods beyond these bounds are refused with a message
# instead of failing in a notebook ("year -5950 is out of range").
EARLIEST_PERIOD_DATE = dt.date(1900, 1, 1)
LATEST_PERIOD_DATE = dt.date(2199, 12, 31)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    dated: ClassVar[bool] = True  # False only for UNDATED, the period of data without dates

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def whole_months(self) -> int | None:
        """The number of calendar months the period spans exactly, else None."""
        start, end = pd.Timestamp(self.start), pd.Timestamp(self.end)
        if start.day != 1 or not end.is_month_end:
            return None
        return (end.year - start.year) * 12 + end.month - start.month + 1

    def previous(self) -> "Period":
        """The period just before this one: as many calendar months back for whole-month
        periods (2025 -> 2024, Q2 -> Q1), otherwise as many days."""
        end = self.start - dt.timedelta(days=1)
        months = self.whole_months
        if months:
            start = (pd.Timestamp(self.start) - pd.DateOffset(months=months)).date()
            return Period(start, end)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def year_earlier(self) -> "Period":
        return Period((pd.Timestamp(self.start) - pd.DateOffset(years=1)).date(),
                      (pd.Timestamp(self.end) - pd.DateOffset(years=1)).date())

    def label(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"

    def short_label(self) -> str:
        """``Jul–Sep 2025`` for whole months, else the two dates (for tile labels and axes)."""
        if self.whole_months:
            first = f"{self.start:%b}" if self.start.year == self.end.year else f"{self.start:%b %Y}"
            return f"{first}–{self.end:%b %Y}" if self.whole_months > 1 else f"{self.end:%b %Y}"
        return f"{self.start:%d %b %Y}–{self.end:%d %b %Y}"


class Undated(Period):
    """The period of data without dates (:data:`UNDATED`): every row, and no calendar.

    A dataset with no dated row (a lead-scoring extract, a win/loss table) loads; its reports'
    period is this one. What needs no dates filters nothing with it (:func:`within` is true
    for every row: win rates and loss reasons over all closed deals, scoring, conversion by
    source); what needs dates asks for a day of it (``start``, ``end``, ``previous()``, its
    length) and gets a :class:`~salesnb.errors.NeedsDatesError` saying so, never a period of
    invented dates whose empty views would read as zeros.
    """

    dated: ClassVar[bool] = False

    def __init__(self):  # no dates to set (the frozen dataclass's fields are not used)
        pass

    start = property(lambda self: _needs_dates("A view placed in time"))
    end = property(lambda self: _needs_dates("A view placed in time"))
    days = property(lambda self: _needs_dates("A period's length"))
    whole_months = property(lambda self: _needs_dates("A month-by-month view"))

    def previous(self) -> "Period":
        return _needs_dates("A comparison with the previous period")

    def year_earlier(self) -> "Period":
        return _needs_dates("A comparison with a year earlier")

    def label(self) -> str:
        return UNDATED_LABEL

    def short_label(self) -> str:
        return "all rows"

    def __eq__(self, other) -> bool:
        return isinstance(other, Undated)

    def __hash__(self) -> int:
        return hash("salesnb.periods.UNDATED")

    def __repr__(self) -> str:
        return "UNDATED"


def _needs_dates(what: str):
    raise NeedsDatesError(what)


UNDATED_LABEL = "all rows (the data has no dates)"
UNDATED = Undated()


def within(day, period: Period):
    """``day`` (an Ibis date column) in ``period``, both ends included; every row (even one
    without a date) for :data:`UNDATED`. The one test of "in the period" the metrics that
    run on data without dates use."""
    if not period.dated:
        return ibis.literal(True)
    return day.between(period.start, period.end)


def undated_period(spec=None, period_start=None, period_end=None) -> Period:
    """The period a report covers on data without dates: :data:`UNDATED` for no period, a rule
    (``last_12_months``, ``fiscal_quarter``: relative to the data, which has no dates) or
    ``all``; a :class:`NeedsDatesError` for dates or a named period (``2025Q3``), which such
    data cannot honour."""
    asked = [value for value in (spec, period_start, period_end) if value not in (None, "")]
    for value in asked:
        if isinstance(value, Undated) or is_all(value) or (isinstance(value, str) and value.strip().lower() in RULES):
            continue
        raise NeedsDatesError(f"The period {value!r}")
    return UNDATED


# The period parameter value meaning "the data's own span" (``--period all``).
ALL = "all"
# A side of a period further than this outside the data is cut back to the data's span.
CLAMP_MARGIN_DAYS = 366


def is_coming(period: Period, as_of: dt.date) -> bool:
    """Whether ``period`` is a coming one for data dated ``as_of``: it starts after that date
    and within a year of it (a plan's next quarter or year). Such a period holds no lead or
    order yet by nature; one that starts more than a year later is more likely a typo."""
    return as_of < period.start <= as_of + dt.timedelta(days=CLAMP_MARGIN_DAYS)


def is_all(value) -> bool:
    return isinstance(value, str) and value.strip().lower() == ALL


def parse_date(value, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value if not isinstance(value, dt.datetime) else value.date()
    try:
        # ISO only: "03/04/2025" is ambiguous (March or April) and is refused, not guessed.
        return dt.datetime.fromisoformat(str(value).strip()).date()
    except (ValueError, TypeError):
        raise SalesnbError(f"{name} must be a date written as YYYY-MM-DD or '{ALL}' (the data's whole span), "
                           f"not {value!r}.") from None


def check_data_date(as_of: dt.date) -> dt.date:
    """``as_of`` when periods can be computed around it, else a :class:`SalesnbError`.

    The loader never dates data after ``LATEST_PERIOD_DATE`` (``Dataset.as_of`` leaves such
    dates out); a data date given directly (a notebook's own, a test) is checked here, so a
    date like 9999-12-31 is a message, not "year 10000 is out of range" from a month's end.
    """
    if not EARLIEST_PERIOD_DATE <= as_of <= LATEST_PERIOD_DATE:
        raise SalesnbError(
            f"The data date {as_of} is outside the dates the kit reports on ({EARLIEST_PERIOD_DATE} to "
            f"{LATEST_PERIOD_DATE}): correct the dates of the data (a year typed wrong?) before reporting on it."
        )
    return as_of


def resolve_period(start, end, as_of: dt.date, span: Period | None = None) -> Period:
    """The reporting period from the notebook parameters.

    Without parameters: the twelve full months ending with the last complete month at
    ``as_of`` (the data's snapshot date), so the default does not depend on today's date.
    ``"all"`` for either end means that end of the data's own ``span`` (first event ..
    ``as_of``); a period far wider than the data is clamped to it (:func:`clamp_to_data`).
    """
    check_data_date(as_of)
    if is_all(start) or is_all(end):
        span = span or Period(as_of, as_of)
        start = span.start if is_all(start) else start
        end = span.end if is_all(end) else end
    start_date, end_date = parse_date(start, "period_start"), parse_date(end, "period_end")
    for name, value in (("period_start", start_date), ("period_end", end_date)):
        if value is not None and not EARLIEST_PERIOD_DATE <= value <= LATEST_PERIOD_DATE:
            raise SalesnbError(
                f"{name} {value} is outside the dates the kit reports on ({EARLIEST_PERIOD_DATE} to "
                f"{LATEST_PERIOD_DATE}); give a period within your data's years, or leave it out for the default."
            )
    if end_date is None:
        month_end = (pd.Timestamp(as_of) + pd.offsets.MonthEnd(0)).date()
        end_date = month_end if month_end == as_of else (pd.Timestamp(as_of).replace(day=1) - pd.Timedelta(days=1)).date()
    if start_date is None:
        start_date = (pd.Timestamp(end_date) + pd.Timedelta(days=1) - pd.DateOffset(years=1)).date()
    if start_date > end_date:
        if parse_date(end, "period_end") is None:
            raise SalesnbError(
                f"period_start {start_date} is after the default period_end {end_date} (the end of the last "
                f"full month in the data, which runs to {as_of}); give an earlier period_start or a period_end too."
            )
        raise SalesnbError(f"period_start {start_date} is after period_end {end_date}; swap them.")
    period = Period(start_date, end_date)
    return clamp_to_data(period, span) if span is not None else period


def clamp_to_data(period: Period, span: Period) -> Period:
    """The period with each side that lies more than ``CLAMP_MARGIN_DAYS`` outside the data's
    ``span`` moved to the data's first / last month (its first / last day).

    No row falls in the part cut off (except dates the validator reports as far outside the
    rest, ``outlying_date``), so every count and rate stays the same; what changes
    is that month axes, monthly tables and charts follow the data, not the calendar
    (1990..2099 over two years of data would otherwise draw 1,320 empty months)."""
    start, end = period.start, period.end
    margin = dt.timedelta(days=CLAMP_MARGIN_DAYS)
    if start < span.start - margin:
        start = span.start.replace(day=1)
    if end > span.end + margin:
        end = (pd.Timestamp(span.end) + pd.offsets.MonthEnd(0)).date()
    if start > end:  # a period entirely outside the data: leave it as asked (it shows nothing)
        return period
    return Period(start, end)


def fiscal_quarter_start(date: dt.date, fiscal_year_start_month: int) -> dt.date:
    """First day of the fiscal quarter that contains ``date``."""
    offset = (date.month - fiscal_year_start_month) % 3
    first = pd.Timestamp(date.year, date.month, 1) - pd.DateOffset(months=offset)
    return first.date()


def fiscal_quarter_start_expression(date, fiscal_year_start_month: int):
    """The same as :func:`fiscal_quarter_start` for an Ibis date column: shift so the fiscal
    year starts in January, truncate to the quarter, shift back."""
    shift = ibis.interval(months=fiscal_year_start_month - 1)
    return ((date - shift).truncate("Q") + shift).cast("date")


def fiscal_quarter_label(date: dt.date, fiscal_year_start_month: int) -> str:
    """E.g. ``FY2026 Q1``; the fiscal year is named after the calendar year it ends in."""
    months_in = (date.month - fiscal_year_start_month) % 12
    quarter = months_in // 3 + 1
    year = date.year + (1 if fiscal_year_start_month != 1 and date.month >= fiscal_year_start_month else 0)
    return f"FY{year} Q{quarter}"


def fiscal_quarter(date: dt.date, fiscal_year_start_month: int) -> Period:
    """The fiscal quarter that contains ``date``, first to last day."""
    start = fiscal_quarter_start(date, fiscal_year_start_month)
    end = (pd.Timestamp(start) + pd.DateOffset(months=3) - pd.Timedelta(days=1)).date()
    return Period(start, end)


def resolve_quarter(start, end, as_of: dt.date, fiscal_year_start_month: int) -> Period:
    """A target period from the notebook parameters, by default a fiscal quarter.

    Without parameters: the fiscal quarter that contains ``as_of`` (the data's date), unless
    ``as_of`` is that quarter's last day: the quarter is then over (nothing is left to
    forecast or cover) and the target is the next one, i.e. the quarter that contains the
    day after ``as_of``. With one end given, the other is the matching end of the fiscal
    quarter containing it.
    """
    start_date, end_date = parse_date(start, "period_start"), parse_date(end, "period_end")
    if start_date is None and end_date is None:
        return fiscal_quarter(check_data_date(as_of) + dt.timedelta(days=1), fiscal_year_start_month)
    if start_date is None:
        start_date = fiscal_quarter(end_date, fiscal_year_start_month).start
    if end_date is None:
        end_date = fiscal_quarter(start_date, fiscal_year_start_month).end
    if start_date > end_date:
        raise SalesnbError(f"period_start {start_date} is after period_end {end_date}; swap them.")
    return Period(start_date, end_date)


# Period rules for scheduled runs (run plans): each resolves, against the data's snapshot
# date, to concrete dates, so the notebooks receive plain period_start / period_end.
PERIOD_RULES = {
    "last_full_month": "the last complete calendar month in the data",
    "quarter_to_date": "from the first day of the current fiscal quarter to the data's date",
    "last_12_months": "the twelve full months up to the data's date (the notebooks' default); data of less "
                      "than twelve months is reported whole",
    "all": "the data's whole span, from its first dated event to its last",
}


def period_from_rule(rule: str, as_of: dt.date, fiscal_year_start_month: int = 1,
                     first_date: dt.date | None = None) -> Period:
    """The period a rule (``PERIOD_RULES``) gives for data whose snapshot date is ``as_of``.

    - ``last_full_month``: the month of the default period's end (``as_of``'s month when it
      is the month's last day, else the month before);
    - ``quarter_to_date``: first day of the fiscal quarter containing ``as_of`` .. ``as_of``;
    - ``last_12_months``: the default period (twelve full months, see :func:`resolve_period`),
      or, for data of less than twelve months that it would cut, the data's own months
      (:func:`period_for_short_data`, when ``first_date`` is known);
    - ``all``: ``first_date`` (the data's first dated event) .. ``as_of``.
    """
    if rule not in PERIOD_RULES:
        raise SalesnbError(f"Unknown period rule {rule!r}; use one of {', '.join(PERIOD_RULES)}, "
                           "or dates (start and end as YYYY-MM-DD).")
    check_data_date(as_of)
    default = resolve_period(None, None, as_of)
    if rule == "last_full_month":
        return Period(default.end.replace(day=1), default.end)
    if rule == "quarter_to_date":
        return Period(fiscal_quarter_start(as_of, fiscal_year_start_month), as_of)
    if rule == "all":
        return Period(min(first_date or as_of, as_of), as_of)
    if first_date is not None:
        return period_for_short_data(Period(min(first_date, as_of), as_of), as_of) or default
    return default


def period_for_short_data(span: Period, as_of: dt.date) -> Period | None:
    """The default period of data that holds less than twelve months (its ``span``, first
    dated event .. ``as_of``) when the last twelve full months would leave some of it out:
    from the first day of the data's first month to ``as_of``. A first file of ten deals
    from March to early July is then reported whole, not as March to June (9 of the 10
    deals). None for a year of data or more, or when the twelve months cover it all."""
    default = resolve_period(None, None, as_of)
    if default.start <= span.start and span.end <= default.end:
        return None
    start = span.start.replace(day=1)
    if (pd.Timestamp(start) + pd.DateOffset(years=1)).date() <= as_of:
        return None
    return Period(start, as_of)


# Rules a notebook declares as its default period (its ``period`` parameter) beside the
# scheduling rules: the fiscal quarters a pipeline review or a plan looks at.
QUARTER_RULES = {
    "fiscal_quarter": "the fiscal quarter still open at the data's date (the pipeline review's default)",
    "next_fiscal_quarter": "the full fiscal quarter after the one open at the data's date",
    "next_fiscal_year": "the full fiscal year after the one open at the data's date",
    "last_fiscal_quarter": "the last fiscal quarter that ended on or before the data's date",
}
RULES = {**PERIOD_RULES, **QUARTER_RULES}

PERIOD_FORMS = ("a rule (" + ", ".join(RULES) + "), a year (2025), a quarter (2025Q3), a fiscal quarter or year "
                "(FY2026Q1, FY2026), a month (2025-07), a day (2025-07-15), or two dates ('2025-01-01..2025-03-31' "
                "or a pair)")

_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_FISCAL_QUARTER = re.compile(r"^FY\s*(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_FISCAL_YEAR = re.compile(r"^FY\s*(\d{4})$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def month_bounds(months) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """The first day and the last day (at midnight) of each calendar month of ``months``
    (``pd.Period`` values, monthly), worked out once for the whole list: a ``Period``'s
    ``start_time`` asked per row of a rep x month grid took 1.6 s at large."""
    index = pd.PeriodIndex(list(months), freq="M")
    return index.start_time, index.end_time.normalize()


def _month_end(year: int, month: int) -> dt.date:
    return (pd.Timestamp(year, month, 1) + pd.offsets.MonthEnd(0)).date()


def fiscal_year(label_year: int, fiscal_year_start_month: int) -> Period:
    """Fiscal year ``FY<label_year>``: named after the calendar year it ends in (as
    :func:`fiscal_quarter_label`), so with a February start FY2026 runs Feb 2025 – Jan 2026."""
    if fiscal_year_start_month == 1:
        return Period(dt.date(label_year, 1, 1), dt.date(label_year, 12, 31))
    start = dt.date(label_year - 1, fiscal_year_start_month, 1)
    return Period(start, (pd.Timestamp(start) + pd.DateOffset(years=1) - pd.Timedelta(days=1)).date())


def quarter_rule(rule: str, as_of: dt.date, fiscal_year_start_month: int) -> Period:
    """The period of a :data:`QUARTER_RULES` rule at the data's date ``as_of``."""
    check_data_date(as_of)
    open_quarter = resolve_quarter(None, None, as_of, fiscal_year_start_month)
    if rule == "fiscal_quarter":
        return open_quarter
    if rule == "next_fiscal_quarter":
        return fiscal_quarter(open_quarter.end + dt.timedelta(days=1), fiscal_year_start_month)
    if rule == "last_fiscal_quarter":
        current = fiscal_quarter(as_of, fiscal_year_start_month)
        return current if current.end == as_of else fiscal_quarter(current.start - dt.timedelta(days=1),
                                                                   fiscal_year_start_month)
    if rule == "next_fiscal_year":
        year_start = fiscal_quarter_start(open_quarter.start, fiscal_year_start_month)
        while year_start.month != fiscal_year_start_month:
            year_start = fiscal_quarter_start(year_start - dt.timedelta(days=1), fiscal_year_start_month)
        start = (pd.Timestamp(year_start) + pd.DateOffset(years=1)).date()
        return Period(start, (pd.Timestamp(start) + pd.DateOffset(years=1) - pd.Timedelta(days=1)).date())
    raise SalesnbError(f"Unknown period rule {rule!r}; use one of {', '.join(RULES)}.")


def _period_from_text(text: str, fiscal_year_start_month: int) -> Period | None:
    """A named calendar or fiscal period written as people type it, or None."""
    if match := _QUARTER.match(text):
        year, quarter = int(match[1]), int(match[2])
        return Period(dt.date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter))
    if match := _FISCAL_QUARTER.match(text):
        year_period = fiscal_year(int(match[1]), fiscal_year_start_month)
        start = (pd.Timestamp(year_period.start) + pd.DateOffset(months=3 * (int(match[2]) - 1))).date()
        return fiscal_quarter(start, fiscal_year_start_month)
    if match := _FISCAL_YEAR.match(text):
        return fiscal_year(int(match[1]), fiscal_year_start_month)
    if match := _YEAR.match(text):
        return Period(dt.date(int(match[1]), 1, 1), dt.date(int(match[1]), 12, 31))
    if match := _MONTH.match(text):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12:
            return Period(dt.date(year, month, 1), _month_end(year, month))
    return None


def parse_period(spec, *, as_of: dt.date, span: Period | None = None, fiscal_year_start_month: int = 1,
                 default: str = "last_12_months") -> Period:
    """The period ``spec`` means for data whose snapshot date is ``as_of``.

    ``spec`` is any of :data:`PERIOD_FORMS`: None (the ``default`` rule), a
    :class:`Period`, a rule name, ``2025``, ``2025Q3`` (calendar quarter), ``FY2026Q1`` or
    ``FY2026`` (fiscal, named after the calendar year the fiscal year ends in), ``2025-07``,
    a date, ``'2025-01-01..2025-03-31'``, or a pair (start, end) where either end may be None
    (the default's) or ``'all'`` (the data's own span). Rules and open-ended pairs are
    resolved against the data (``span`` is its first .. last date), so the same data gives
    the same period whatever today's date.
    """
    if isinstance(spec, Period):
        return spec
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        spec = default
    if isinstance(spec, (tuple, list)):
        if len(spec) != 2:
            raise SalesnbError(f"A period given as a pair needs two ends (start, end), not {len(spec)}: {spec!r}.")
        return resolve_period(spec[0], spec[1], as_of, span=span)
    if isinstance(spec, dt.date):
        day = spec.date() if isinstance(spec, dt.datetime) else spec
        return Period(day, day)
    if not isinstance(spec, str):
        raise SalesnbError(f"A period is written as {PERIOD_FORMS}; not {spec!r}.")
    text = spec.strip()
    rule = text.lower()
    if rule in QUARTER_RULES:
        return quarter_rule(rule, as_of, fiscal_year_start_month)
    if rule in PERIOD_RULES:
        return period_from_rule(rule, as_of, fiscal_year_start_month, span.start if span else None)
    for separator in ("..", " to ", "/"):
        if separator in text:
            start, end = (part.strip() for part in text.split(separator, 1))
            return resolve_period(start, end, as_of, span=span)
    named = _period_from_text(text, fiscal_year_start_month)
    if named is not None:
        return named
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        close = difflib.get_close_matches(rule, list(RULES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise SalesnbError(f"{spec!r} is not a period.{hint} A period is {PERIOD_FORMS}.") from None
    return Period(day, day)
