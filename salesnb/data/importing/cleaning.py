"""Cleaning the messy values real CRM exports have, column by column (vectorised pandas).

Each parser returns the parsed values and a mask of cells that were present but could not
be read; the importer turns those into one clear error instead of guessing. Nothing here
guesses an ambiguous value: ``03/04/2024`` is read with the date order the mapping states.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata

import numpy as np
import pandas as pd

# Words CRMs and spreadsheets use for "no value". Compared case-insensitively after trimming.
# "NA" is deliberately absent: it is also a region (North America).
DEFAULT_MISSING_VALUES = (
    "", "n/a", "#n/a", "null", "none", "nan", "nat", "unknown", "select", "-- select --", "--select--",
    "--none--", "-", "--", "—", "(blank)", "(none)",
)

EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # Excel's day 0 (it counts 1900 as a leap year)
# Five-digit serials only: 10000..99999 is 1927..2173; a four-digit number is more likely a year.
EXCEL_SERIAL = r"\d{5}(?:\.\d+)?"
DATE_ORDERS = ("month_first", "day_first")
_TIME = r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp][Mm])?)?"
_NUMERIC_DATE = re.compile(rf"^(?P<first>\d{{1,2}})[/.-](?P<second_part>\d{{1,2}})[/.-](?P<year>\d{{4}}|\d{{2}}){_TIME}$")
_ISO_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_TIME_ZONE = re.compile(r"^(.*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})$")
# Month names: "Jan 5, 2024", "5 January 2024", "05-Jan-2024".
TEXT_DATE_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y", "%B %d %Y")


def as_text(series: pd.Series) -> pd.Series:
    """Cells as trimmed text (missing stays missing); native numbers and dates become text."""
    text = series.astype("string").str.strip()
    return text.str.replace("\r\n", "\n", regex=False)


def blank_missing(series: pd.Series, missing_values) -> pd.Series:
    """Placeholder words ("N/A", "unknown", "Select", "-") become missing."""
    words = {str(word).strip().casefold() for word in missing_values}
    text = series.astype("string")
    is_missing = text.str.strip().str.casefold().isin(words) | text.isna()
    return series.where(~is_missing.to_numpy(dtype=bool), None)


def _native_numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(numbers where the cell already is a number, mask of those cells)."""
    if pd.api.types.is_bool_dtype(series):
        return pd.Series(np.nan, index=series.index), pd.Series(False, index=series.index)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64"), series.notna()
    is_number = series.map(lambda value: isinstance(value, (int, float, np.integer, np.floating))
                           and not isinstance(value, bool)).astype(bool)
    numbers = pd.to_numeric(series.where(is_number), errors="coerce")
    return numbers, is_number & numbers.notna()


def parse_amounts(series: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Amounts like "$1,234.50", "1.234,50 €" (with ``decimal=","``), "(250.00)" (negative).

    Returns (float values, mask of cells present but not a number in the stated convention).
    """
    numbers, native = _native_numbers(series)
    text = as_text(series).where(~native)
    text = text.str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    text = text.str.replace(r"[$€£¥]|(?<![A-Za-z])[A-Za-z]{3}(?![A-Za-z])", "", regex=True)
    text = text.str.replace(r"[\s\u00a0\u202f]", "", regex=True)
    if decimal == ",":
        valid = text.str.fullmatch(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")
        plain = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        valid = text.str.fullmatch(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
        plain = text.str.replace(",", "", regex=False)
    valid = valid.fillna(False).astype(bool)
    parsed = pd.to_numeric(plain.where(valid), errors="coerce").astype("float64")
    values = numbers.where(native, parsed)
    bad = text.notna() & text.ne("") & ~valid
    return values.astype("float64"), bad.astype(bool)


def parse_probabilities(series: pd.Series, scale: float = 1, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Probabilities as 0..1: "25%" -> 0.25; plain numbers are divided by ``scale`` (100 for
    an export on a 0..100 scale)."""
    text = as_text(series)
    has_percent = text.str.endswith("%").fillna(False).astype(bool)
    stripped = series.where(~has_percent, text.str.rstrip("%"))
    values, bad = parse_amounts(stripped, decimal)
    divisor = pd.Series(float(scale), index=series.index).where(~has_percent, 100.0)
    return values / divisor, bad


def _parse_with_formats(text: pd.Series, formats, result: pd.Series, pending: pd.Series) -> pd.Series:
    """Parse the still-pending values with each format in turn, writing hits into ``result``;
    returns what is still pending."""
    for date_format in formats:
        if not pending.any():
            break
        parsed = pd.to_datetime(text.where(pending), format=date_format, errors="coerce")
        hit = pending & parsed.notna()
        result[hit] = parsed[hit]
        pending = pending & ~hit
    return pending


def parse_dates(series: pd.Series, order: str | None = None, formats=()) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Dates in several formats in one column.

    Read, in this order: native dates; Excel serial numbers (``45292`` or ``45292.0``);
    ISO dates and timestamps (a time-zone suffix is dropped: wall-clock time is kept);
    the mapping's explicit ``formats``; numeric day/month dates with the stated ``order``
    (``month_first`` or ``day_first``; without it they are ambiguous); month names.

    Returns (timestamps, mask of unreadable cells, mask of numeric dates needing an order).
    """
    index = series.index
    result = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
        return stamps.astype("datetime64[ns]"), pd.Series(False, index=index), pd.Series(False, index=index)
    is_datetime = series.map(lambda value: isinstance(value, (dt.date, pd.Timestamp))).astype(bool)
    if is_datetime.any():
        result[is_datetime] = pd.to_datetime(series[is_datetime].map(lambda value: pd.Timestamp(value).tz_localize(None)
                                             if pd.Timestamp(value).tzinfo else pd.Timestamp(value)))
    numbers, native = _native_numbers(series)
    text = as_text(series).where(~is_datetime & ~native)
    serial_text = text.str.fullmatch(EXCEL_SERIAL).fillna(False).astype(bool)
    serials = numbers.where(native, pd.to_numeric(text.where(serial_text), errors="coerce"))
    is_serial = (native | serial_text) & serials.between(10000, 99999)
    result[is_serial] = (EXCEL_EPOCH + pd.to_timedelta(serials[is_serial], unit="D")).dt.round("s")

    text = text.where(~serial_text)
    text = text.str.replace(_TIME_ZONE, r"\1", regex=True)
    pending = text.notna() & text.ne("")

    iso = pending & text.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
    if iso.any():
        normalised = text[iso].str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", regex=True)
        result[iso] = pd.to_datetime(normalised, format="ISO8601", errors="coerce")
        pending &= ~iso

    pending = _parse_with_formats(text, formats, result, pending)

    needs_order = pd.Series(False, index=index)
    parts = text.where(pending).str.extract(_NUMERIC_DATE)
    numeric = pending & parts["first"].notna()
    if numeric.any():
        if order not in DATE_ORDERS:
            needs_order = numeric
        else:
            first, second = parts["first"].astype("Float64"), parts["second_part"].astype("Float64")
            month, day = (first, second) if order == "month_first" else (second, first)
            year = parts["year"].astype("Float64")
            year = year.where(year >= 100, year.where(year >= 70, year + 2000).where(year < 70, year + 1900))
            hour = parts["hour"].astype("Float64").fillna(0)
            ampm = parts["ampm"].str.lower()
            hour = hour.where(~((ampm == "pm") & (hour < 12)).fillna(False), hour + 12)
            hour = hour.where(~((ampm == "am") & (hour == 12)).fillna(False), 0)
            stamps = pd.to_datetime(pd.DataFrame({
                "year": year, "month": month, "day": day, "hour": hour,
                "minute": parts["minute"].astype("Float64").fillna(0),
                "second": parts["second"].astype("Float64").fillna(0),
            }).where(numeric).astype("float64"), errors="coerce")
            result[numeric] = stamps[numeric]
        pending &= ~numeric

    pending = _parse_with_formats(text, TEXT_DATE_FORMATS, result, pending)

    present = series.notna() & as_text(series).ne("").fillna(False)
    bad = present & result.isna() & ~needs_order
    return result, bad.astype(bool), needs_order.astype(bool)


_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


def time_zone_offsets(series: pd.Series) -> pd.Series:
    """The time-zone offset each text cell ends with, as ``+HH:MM`` (``Z``, ``UTC``, ``GMT`` as
    ``+00:00``), else missing; native datetimes with a zone give their offset too. For the
    warning on a column that mixes zones (:func:`parse_dates` drops offsets: wall-clock time)."""
    def offset(value):
        if isinstance(value, (pd.Timestamp, dt.datetime)):
            delta = value.utcoffset()
            if delta is None:
                return None
            minutes = int(delta.total_seconds() // 60)
            return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        if not isinstance(value, str):
            return None
        match = _OFFSET.search(value.strip())
        if match is None:
            return None
        text = match.group(1).upper()
        if text in ("Z", "UTC", "GMT"):
            return "+00:00"
        digits = text[1:].replace(":", "")
        return f"{text[0]}{digits[:2]}:{digits[2:4] or '00'}"

    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.Series(None, index=series.index, dtype=object)  # one zone per column, or none
    return series.map(offset).astype(object)


def unify_categories(series: pd.Series) -> pd.Series:
    """Case and whitespace variants of one label become its most frequent spelling
    ("webinar", " Webinar ", "WEBINAR" -> "Webinar" if that is the commonest; ties: first
    in sort order, so the result is deterministic)."""
    text = as_text(series).str.replace(r"\s+", " ", regex=True)
    key = text.str.casefold()
    counts = pd.DataFrame({"key": key, "label": text}).dropna().value_counts().reset_index(name="n")
    counts = counts.sort_values(["key", "n", "label"], ascending=[True, False, True]).drop_duplicates("key")
    chosen = dict(zip(counts["key"], counts["label"]))
    return key.map(chosen).astype("string")


def clean_ids(series: pd.Series) -> pd.Series:
    """IDs as text, leading zeros kept; a whole number a spreadsheet stored as 1234.0 -> "1234"."""
    numbers, native = _native_numbers(series)
    whole = native & numbers.notna() & (numbers == numbers.round())
    text = as_text(series)
    text = text.where(~whole, numbers.where(whole).astype("Int64").astype("string"))
    return text.replace("", pd.NA)


def _slug(name: str) -> str:
    # Accents dropped (José -> jose), other letters kept (Weiß, Ørsted, 李伟); anything that
    # is not a letter or digit separates words (O'Brien, d’Arc -> o-brien, d-arc).
    decomposed = unicodedata.normalize("NFKD", name.lower())
    unaccented = unicodedata.normalize("NFC", re.sub(r"[\u0300-\u036f]", "", decomposed))
    return re.sub(r"[\W_]+", "-", unaccented).strip("-")


def ids_from_names(names: pd.Series) -> pd.Series:
    """A stable ID per distinct name: its slug ("José O'Brien" -> "jose-o-brien"). Names that
    differ only in case or spacing are one person; different names whose slugs collide get a
    short hash of the name appended, so two people never share an ID."""
    text = as_text(names).str.replace(r"\s+", " ", regex=True)
    key = text.str.casefold()
    distinct = pd.Series(key.dropna().unique())
    slugs = distinct.map(_slug)
    slugs = slugs.where(slugs != "", "name")
    collided = slugs.duplicated(keep=False)
    hashed = distinct.map(lambda value: hashlib.sha1(value.encode()).hexdigest()[:6])
    slugs = slugs.where(~collided, slugs + "-" + hashed)
    return key.map(dict(zip(distinct, slugs))).astype("string")


# Boolean cells (checkbox columns such as "Is Won"), compared case-insensitively.
TRUE_WORDS = ("true", "1", "yes", "1.0")
FALSE_WORDS = ("false", "0", "no", "0.0")


def parse_flags(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """TRUE/FALSE, 1/0, yes/no, true/false (any case, or native booleans and numbers) ->
    a nullable boolean Series; returns (values, mask of cells present but none of these)."""
    text = as_text(series).str.casefold()
    values = pd.Series(pd.NA, index=series.index, dtype="boolean")
    values[text.isin(TRUE_WORDS).fillna(False).to_numpy(dtype=bool)] = True
    values[text.isin(FALSE_WORDS).fillna(False).to_numpy(dtype=bool)] = False
    bad = text.notna() & text.ne("") & values.isna()
    return values, bad.fillna(False).astype(bool)


def row_ids(frame: pd.DataFrame) -> pd.Series:
    """A stable ID per row, generated from the row's content: the first 16 hex digits of the
    SHA-1 of its cells (in column order), with ``-2``, ``-3``, ... on the 2nd, 3rd identical
    row. The same export gives the same IDs on every import, whatever order its distinct rows
    come in."""
    text = frame.astype("string").fillna("\u2400")  # a missing cell hashes apart from any text
    joined = text.apply(lambda row: "\u241f".join(row), axis=1) if len(frame.columns) else pd.Series("", index=frame.index)
    digests = joined.map(lambda value: hashlib.sha1(value.encode("utf-8")).hexdigest()[:16])
    occurrence = digests.groupby(digests).cumcount() + 1
    suffix = occurrence.map(lambda number: "" if number == 1 else f"-{number}")
    return (digests + suffix).astype(object)
