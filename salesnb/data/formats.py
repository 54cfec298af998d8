"""How a value of each kind is written for people: currency, percent, days, hours, counts.

One place for number formatting: report tables and tiles, the run index and the sentences
of computed findings all write a value the same way. Missing values (None, NaN) are "–",
never 0. Plain numbers, ratios and hours get as many digits as they deserve (about three
significant digits, :func:`decimals`): "283 predicted purchases", "21.2 activities per
rep-week", "2 meetings per opportunity", never "282.84", "21.21" or "2.00".
"""

from __future__ import annotations

import math
import numbers
import re

import pandas as pd

# Column formats: name -> kind. Kinds: currency, percent, days, months, count, number, hours, text.
FORMATS = {
    "currency": "{:,.0f}",
    "percent": "{:.1%}",
    "days": "{:,.0f} d",
    "hours": "{:,.1f} h",
    "months": "{:,.0f} mo",
    "count": "{:,.0f}",
    "number": "{:,.2f}",
    "ratio": "{:,.2f}x",
}
# Kinds written with as many decimals as the value deserves (:func:`decimals`), at most
# this many: "{:,.{decimals}f}" with the suffix.
SIGNIFICANT_KINDS = {"number": ("", 2), "ratio": ("x", 2), "hours": (" h", 1)}


def decimals(value, most: int = 2) -> int:
    """The decimals a number deserves: about three significant digits (282.84 -> 0,
    21.21 -> 1, 1.824 -> 2), none for a whole number (2.0 -> 0), at most ``most``."""
    magnitude = abs(float(value))
    if magnitude == 0 or float(value).is_integer() or magnitude >= 100:
        return 0
    return min(most, 1 if magnitude >= 10 else 2)


def column_decimals(values, kind: str) -> int | None:
    """One number of decimals for a table column of ``kind`` (so its digits line up): what
    the column's median magnitude deserves; none when every value is whole. None for kinds
    with fixed decimals."""
    if kind not in SIGNIFICANT_KINDS:
        return None
    numbers = [abs(float(value)) for value in values
               if value is not None and not isinstance(value, bool) and not pd.isna(value)]
    numbers = [number for number in numbers if number == number and number not in (float("inf"),)]
    if not numbers or all(float(number).is_integer() for number in numbers):
        return 0
    nonzero = sorted(number for number in numbers if number)
    return decimals(nonzero[len(nonzero) // 2], SIGNIFICANT_KINDS[kind][1]) if nonzero else 0


def plural(count, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the noun as people write it: "1 deal", "6 deals", "2 opportunities"
    (never "deal(s)")."""
    word = singular if count == 1 else (plural_form or _plural(singular))
    return f"{count:,} {word}"


def plurals_written_out(text: str) -> str:
    """Text with every "N noun(s)" written as people write it ("7 finding(s)" -> "7 findings",
    "1 deal(s)" -> "1 deal"): for titles and captions composed before :func:`plural` existed."""
    return re.sub(r"\b(\d[\d,]*) ([A-Za-z-]+)\(s\)",
                  lambda match: plural(int(match[1].replace(",", "")), match[2]), str(text))


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def currency_symbol(currency: str) -> str:
    return {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(currency.upper(), currency.upper() + " ")


def format_value(value, kind: str, currency: str = "USD", digits: int | None = None) -> str:
    """One value as text, as the tables show it (used for KPI tiles and findings too).

    ``digits``: the decimals of a number, ratio or hours value (a table column's, from
    :func:`column_decimals`); by default what the value itself deserves (:func:`decimals`)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if kind in SIGNIFICANT_KINDS and not isinstance(value, bool):
        suffix, most = SIGNIFICANT_KINDS[kind]
        if not math.isfinite(float(value)):
            return "–"
        places = decimals(value, most) if digits is None else digits
        return f"{float(value):,.{places}f}{suffix}"
    if kind == "currency":
        # -1200 is "-$1,200", not "$-1,200"; a rounded -0 is "$0".
        sign = "-" if value < 0 and round(value) != 0 else ""
        return sign + currency_symbol(currency) + FORMATS["currency"].format(abs(value))
    if kind in ("date", "month"):
        stamp = pd.Timestamp(value)
        return stamp.strftime("%b %Y") if kind == "month" else stamp.strftime("%Y-%m-%d")
    if kind in FORMATS:
        return FORMATS[kind].format(value)
    return str(value)


def compact(value: float, symbol: str = "") -> str:
    """A number in thousands, millions or billions with one decimal ("$91.1B", "12.5k", "$300"):
    chart axes and labels, and headline tiles of a billion or more (:func:`tile_value`)."""
    magnitude = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{symbol}{value / threshold:,.1f}{suffix}".replace(".0" + suffix, suffix)
    return f"{symbol}{value:,.0f}"


# A headline tile holds about twelve characters of its value at 1280 px and on a phone: an amount
# of a billion or more ("$91,082,644,525") ran into the next tile, so it is written "$91.1B".
TILE_COMPACT_FROM = 1e9


def tile_value(value, kind: str, currency: str = "USD") -> str:
    """A headline tile's value: :func:`format_value`, with amounts of :data:`TILE_COMPACT_FROM`
    or more in billions (:func:`compact`); the tables keep every digit."""
    if kind == "currency" and isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and math.isfinite(float(value)) and abs(value) >= TILE_COMPACT_FROM:
        return ("-" if value < 0 else "") + compact(abs(float(value)), currency_symbol(currency))
    return format_value(value, kind, currency)


def shorten(value, limit: int):
    """Text longer than ``limit`` characters cut to ``limit`` with an ellipsis; anything else as is.

    Tables and chart labels show text from the CRM this way: one pasted e-mail as a loss
    reason must not make a table megabytes long or a chart unreadable.
    """
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1].rstrip() + "…"
    return value
