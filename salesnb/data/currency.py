"""Amounts in several currencies, converted the way finance does: the one place it happens.

Deals and orders may carry a ``currency`` (empty means the playbook's). The rates come from
the optional ``exchange_rates`` table (``currency``, ``valid_from``, ``rate``: one unit of the
currency is worth ``rate`` in the playbook currency, from ``valid_from`` until the currency's
next row) and from the playbook's fixed ``exchange_rates`` (valid on every date). Each amount
is converted at the rate valid on the date that gives it its meaning:

- a won or lost deal: its close date (a closed deal without one: the data's date);
- an open deal: the data's date (``Dataset.as_of``), as the open pipeline is valued today;
- an order: its order date;
- the pipeline on a past date (``salesnb.metrics.snapshots``): that date for the deals open
  then, the close date for those closed by then (:func:`convert_on`), so a rate change
  between two dates shows in the waterfall as its own bar.

:func:`apply` replaces a loaded dataset's ``opportunities`` and ``orders`` by their converted
forms: ``amount`` in the playbook currency, beside ``amount_original`` (as written),
``currency`` (the code, upper case; the playbook's where empty) and ``exchange_rate`` (the rate
used). Metrics then see one currency. Data whose amounts are all in the playbook currency is
left exactly as it was. The checks that the rates cover every date that needs one are in
``salesnb.data.validate`` (:func:`~salesnb.data.validate.check_currency_rates`).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

# The tables whose amounts carry a currency, and the columns added to them when converted.
CONVERTED_TABLES = ("opportunities", "orders")
ADDED_COLUMNS = ("amount_original", "exchange_rate")


def code(value: ir.StringValue, playbook) -> ir.StringValue:
    """The currency code of a ``currency`` column: trimmed, upper case; empty is the playbook's."""
    return value.strip().upper().nullif("").fill_null(playbook.currency.strip().upper())


def reporting_currency(playbook) -> str:
    return playbook.currency.strip().upper()


def rate_periods(rates: ir.Table | None) -> ir.Table | None:
    """The ``exchange_rates`` table as periods: ``rate_currency``, ``rate_from`` (valid_from),
    ``rate_until`` (the currency's next valid_from, excluded; NULL for its latest row) and
    ``rate``. Rows the validator refuses (no currency, date or rate; a rate of 0 or less; not
    a finite number) are left out, and a date given twice keeps its highest rate: only a
    report opened despite errors (the data health report) ever sees them."""
    if rates is None:
        return None
    usable = rates.filter(rates.currency.notnull() & rates.valid_from.notnull() & rates.rate.notnull()
                          & (rates.rate > 0) & ~rates.rate.isnan() & ~rates.rate.isinf())
    usable = usable.mutate(rate_currency=usable.currency.strip().upper())
    usable = usable.group_by(["rate_currency", "valid_from"]).aggregate(rate=usable.rate.max())
    following = ibis.window(group_by="rate_currency", order_by="valid_from")
    return usable.select("rate_currency", rate_from=usable.valid_from,
                         rate_until=usable.valid_from.lead().over(following), rate="rate")


def _fixed_rate(currency: ir.StringValue, playbook) -> ir.FloatingValue:
    """The playbook's fixed rate of ``currency`` (a code), 1 for the playbook currency, else NULL."""
    cases = [(currency == reporting_currency(playbook), 1.0)]
    cases += [(currency == currency_code, rate) for currency_code, rate in playbook.exchange_rates]
    return ibis.cases(*[(condition, ibis.literal(rate, "float64")) for condition, rate in cases],
                      else_=ibis.null("float64"))


def with_rates(table: ir.Table, currency_column: str, date: ir.DateValue, periods: ir.Table | None,
               playbook) -> ir.Table:
    """``table`` with ``exchange_rate``: the rate of its ``currency_column`` (a code, see
    :func:`code`) valid on ``date`` (an expression on ``table``): the playbook's fixed rate, or
    the ``exchange_rates`` row with the latest ``valid_from`` on or before the date. NULL when
    there is none: a currency without any rate, or a date before the currency's first rate."""
    fixed = _fixed_rate(table[currency_column], playbook)
    if periods is None:
        return table.mutate(exchange_rate=fixed)
    keyed = table.mutate(__rate_date=date)
    joined = keyed.left_join(periods, [
        keyed[currency_column] == periods.rate_currency, periods.rate_from <= keyed["__rate_date"],
        periods.rate_until.isnull() | (keyed["__rate_date"] < periods.rate_until),
    ])
    joined = joined.mutate(exchange_rate=ibis.coalesce(joined.rate, _fixed_rate(joined[currency_column], playbook)))
    return joined.drop("__rate_date", "rate_currency", "rate_from", "rate_until", "rate")


def rate_date(name: str, table: ir.Table, playbook, as_of: dt.date) -> ir.DateValue:
    """The date whose rate converts a row of ``opportunities`` or ``orders`` (module doc)."""
    if name == "orders":
        return table.ordered_at
    closed = table.stage.isin(playbook.closed_stages)
    return ibis.cases((closed & table.close_date.notnull(), table.close_date), else_=ibis.literal(as_of))


def converted_table(name: str, table: ir.Table, periods: ir.Table | None, playbook, as_of: dt.date) -> ir.Table:
    """``opportunities`` or ``orders`` with ``amount`` in the playbook currency, and
    ``amount_original``, ``currency`` (the code) and ``exchange_rate`` (the rate of
    :func:`rate_date`). A row without a rate gets no amount (the validator has refused such
    data unless it was opened despite its errors)."""
    coded = table.mutate(currency=code(table.currency, playbook), amount_original=table.amount)
    rated = with_rates(coded, "currency", rate_date(name, coded, playbook, as_of), periods, playbook)
    return rated.mutate(amount=rated.amount_original * rated.exchange_rate)


def foreign_amounts(table: ir.Table, playbook) -> ir.BooleanValue:
    """Rows with an amount in a currency other than the playbook's."""
    return table.amount.notnull() & (code(table.currency, playbook) != reporting_currency(playbook))


def needs_conversion(tables: dict[str, ir.Table], playbook) -> bool:
    """Whether any deal or order has an amount in another currency than the playbook's."""
    for name in CONVERTED_TABLES:
        table = tables.get(name)
        if table is not None and "currency" in table.columns:
            if int(table.filter(foreign_amounts(table, playbook)).limit(1).count().execute()):
                return True
    return False


def is_converted(dataset) -> bool:
    """Whether :func:`apply` converted the dataset's amounts (it had several currencies)."""
    return getattr(dataset, "converted_currencies", False)


def apply(dataset) -> None:
    """Convert the dataset's deals and orders to the playbook currency (module doc), once,
    right after loading; nothing happens when every amount is in the playbook currency.

    The converted tables are materialized in the backend (a join per table, computed once).
    The original tables stay available as ``dataset.original_tables`` (the data health
    report's amounts by original currency, and the checks)."""
    tables = dataset._tables
    dataset.converted_currencies = False
    dataset.original_tables = dict(tables)
    if not needs_conversion(tables, dataset.playbook):
        return
    from salesnb.data import backends

    periods = rate_periods(tables.get("exchange_rates"))
    for name in CONVERTED_TABLES:
        if name in tables:
            expression = converted_table(name, tables[name], periods, dataset.playbook, dataset.as_of)
            tables[name] = backends.materialize(dataset.connection, f"converted_{name}", expression)
    dataset.converted_currencies = True


def convert_on(table: ir.Table, date: ir.DateValue, periods: ir.Table | None, playbook) -> ir.Table:
    """``table`` (rows with ``amount_original`` and a ``currency`` code) with ``amount`` and
    ``exchange_rate`` at the rate valid on ``date``: the as-of views' conversion."""
    rated = with_rates(table, "currency", date, periods, playbook)
    return rated.mutate(amount=rated.amount_original * rated.exchange_rate)


def original_tables(dataset) -> dict[str, ir.Table]:
    """The dataset's tables as loaded (amounts as written, before :func:`apply`)."""
    return getattr(dataset, "original_tables", None) or dataset._tables


def rates_of(dataset) -> ir.Table | None:
    """The dataset's ``exchange_rates`` as periods (:func:`rate_periods`), or None."""
    return rate_periods(original_tables(dataset).get("exchange_rates"))


def first_rate_dates(dataset) -> dict[str, dt.date | None]:
    """Currency code -> the first day it has a rate (None: every day, a fixed rate or the
    playbook currency), for the currencies of the rate table and the playbook."""
    def compute():
        first: dict[str, dt.date | None] = {reporting_currency(dataset.playbook): None}
        first.update({currency_code: None for currency_code, _ in dataset.playbook.exchange_rates})
        periods = rate_periods(original_tables(dataset).get("exchange_rates"))
        if periods is not None:
            starts = periods.group_by("rate_currency").aggregate(first=periods.rate_from.min()).execute()
            for currency_code, day in zip(starts["rate_currency"], starts["first"]):
                first.setdefault(currency_code, _as_date(day))
        return first
    return dataset.memo("first_rate_dates", compute)


def _as_date(value) -> dt.date:
    import pandas as pd

    return pd.Timestamp(value).date()


def rate_sources(dataset) -> dict[str, dict]:
    """Currency code -> where its rates come from: ``source`` ("exchange_rates", "playbook" or
    "reporting currency"), ``first`` and ``last`` ``valid_from`` dates (None for a fixed rate),
    for the reporting currency and every currency with a rate."""
    def compute():
        playbook = dataset.playbook
        sources = {reporting_currency(playbook): {"source": "reporting currency", "first": None, "last": None}}
        sources.update({code: {"source": "playbook", "first": None, "last": None}
                        for code, _ in playbook.exchange_rates})
        periods = rates_of(dataset)
        if periods is not None:
            spans = periods.group_by("rate_currency").aggregate(first=periods.rate_from.min(),
                                                                last=periods.rate_from.max()).execute()
            for code, first, last in zip(spans["rate_currency"], spans["first"], spans["last"]):
                sources.setdefault(code, {"source": "exchange_rates", "first": _as_date(first), "last": _as_date(last)})
        return sources
    return dataset.memo("rate_sources", compute)


def currencies_converted(dataset) -> list[str]:
    """The codes of the other currencies the deals and orders have amounts in (sorted): what
    was converted. Empty for data in one currency."""
    if not is_converted(dataset):
        return []

    def compute():
        codes: set[str] = set()
        for name in CONVERTED_TABLES:
            if dataset.has(name):
                table = dataset.table(name)
                found = table.filter(table.amount_original.notnull()).select("currency").distinct().execute()
                codes.update(found["currency"].dropna())
        return sorted(codes - {reporting_currency(dataset.playbook)})
    return dataset.memo("currencies_converted", compute)


def conversion_note(dataset) -> str | None:
    """One sentence for a report's header: which currencies were converted to the reporting
    currency, and with which rates; None for data in one currency."""
    converted = currencies_converted(dataset)
    if not converted:
        return None
    sources = rate_sources(dataset)
    dated = [sources[code] for code in converted if sources.get(code, {}).get("source") == "exchange_rates"]
    fixed = [code for code in converted if sources.get(code, {}).get("source") == "playbook"]
    how = []
    if dated:
        first, last = min(source["first"] for source in dated), max(source["last"] for source in dated)
        how.append(f"exchange_rates {first:%d %b %Y} – {last:%d %b %Y}")
    if fixed:
        how.append(f"fixed rates for {', '.join(fixed)}")
    return (f"Amounts in {', '.join(converted)} converted to {reporting_currency(dataset.playbook)} at the rate of "
            f"their date ({'; '.join(how)}).")
