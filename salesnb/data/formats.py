"""How a value of each kind is written for people: currency, percent, days, hours, counts.

One place for number formatting: report tables and tiles, the run index and the sentences
of computed findings all write a value the same way. Missing values (None, NaN) are "–",
never 0.
"""

from __future__ import annotations

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


def currency_symbol(currency: str) -> str:
    return {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(currency.upper(), currency.upper() + " ")


def format_value(value, kind: str, currency: str = "USD") -> str:
    """One value as text, as the tables show it (used for KPI tiles and findings too)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
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


def shorten(value, limit: int):
    """Text longer than ``limit`` characters cut to ``limit`` with an ellipsis; anything else as is.

    Tables and chart labels show text from the CRM this way: one pasted e-mail as a loss
    reason must not make a table megabytes long or a chart unreadable.
    """
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1].rstrip() + "…"
    return value
