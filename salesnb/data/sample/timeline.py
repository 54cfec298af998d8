"""The sample's calendar: the fixed data window, the snapshot moment, and day arithmetic.

Every generator step keeps times as float days since :data:`START_DATE` (day 0.5 is noon
of 2024-01-01); only ``tables.py`` turns them into dates and timestamps.
"""

import datetime as dt

import numpy as np
import pandas as pd

START_DATE = dt.date(2024, 1, 1)
SNAPSHOT_DATE = dt.date(2025, 12, 31)
# Day number (since START_DATE) of the snapshot moment: the evening of SNAPSHOT_DATE.
# Nothing in the data happens after it; open deals' expected close dates may lie beyond.
SNAPSHOT = (SNAPSHOT_DATE - START_DATE).days + 0.75
DAYS = (SNAPSHOT_DATE - START_DATE).days + 1
START_WEEKDAY = START_DATE.weekday()  # 2024-01-01 is a Monday


def day_number(text: str) -> int:
    """Day number of an ISO date (``2024-01-01`` is day 0)."""
    return (dt.date.fromisoformat(text) - START_DATE).days


def business_time(rng, days):
    """The same day at a business hour (8:00-18:00), weekends moved back to Friday."""
    day = np.floor(days)
    weekday = (day.astype(np.int64) + START_WEEKDAY) % 7
    day = day - np.clip(weekday - 4, 0, None)
    return day + (8 + 10 * rng.random(len(day))) / 24


def seasonal_day_weights():
    """Relative lead volume per day: growth, summer dip, Q4 push, holiday lull, weekends."""
    days = np.arange(DAYS)
    dates = pd.Timestamp(START_DATE) + pd.to_timedelta(days, unit="D")
    month_factor = np.array([0.95, 1.0, 1.1, 1.0, 1.0, 0.9, 0.75, 0.7, 1.1, 1.2, 1.15, 0.8])
    weights = (1 + 0.35 * days / DAYS) * month_factor[dates.month.to_numpy() - 1]
    holiday = ((dates.month == 12) & (dates.day >= 20)) | ((dates.month == 1) & (dates.day <= 2))
    weights = weights * np.where(holiday, 0.35, 1.0)
    weights = weights * np.where(dates.day_of_week.to_numpy() >= 5, 0.22, 1.0)
    return weights / weights.sum()


def month_of(days):
    """Calendar month (1-12) of each day number; NaN counts as day 0."""
    stamps = pd.Timestamp(START_DATE) + pd.to_timedelta(np.nan_to_num(days), unit="D")
    return np.asarray(stamps.month)


def quarter_end_day(days):
    """The evening (18:00) of the last day of each day number's calendar quarter."""
    stamps = pd.DatetimeIndex(pd.Timestamp(START_DATE) + pd.to_timedelta(np.nan_to_num(days), unit="D"))
    ends = stamps.to_period("Q").end_time.normalize()
    return np.asarray((ends - pd.Timestamp(START_DATE)).days, dtype=float) + 0.75


def month_index(days):
    """Months since January 2024 (0-23) of each day number."""
    stamps = pd.DatetimeIndex(pd.Timestamp(START_DATE) + pd.to_timedelta(days, unit="D"))
    return np.asarray((stamps.year - START_DATE.year) * 12 + stamps.month - 1)
