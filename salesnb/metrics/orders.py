"""Orders and customers: the one place orders are joined to their account and numbered.

Every account metric (``repeat``, ``retention``, ``rfm``, ``overdue``, ``concentration``,
``clv``) starts from these, so they all count the same orders the same way:

- :func:`order_facts`: one row per usable order, with the account's name and segment, the
  order's number in the account's sequence and the account's first order date;
- :func:`purchase_days`: one row per account and day it ordered (several orders on one day
  are one *purchase day*), with the days since the account's previous purchase day;
- :func:`customers`: one row per customer with its first and second order dates;
- :func:`customer_history`: one row per customer as of a date (pandas), for RFM, overdue
  accounts and the CLV model;
- :func:`orders_left_out`: how many orders the report cannot use, and why.

Conventions (also in ``docs/metrics.md``):

- An order needs ``account_id`` and ``ordered_at``; an order missing either is left out of
  everything and counted. An order without ``amount`` is still an order (customers, repeat
  rates, time between orders) but adds nothing to revenue (sums skip it; a sum over orders
  that all lack an amount is *not measured*, never 0).
- A *customer* is an account with at least one usable order; its *first order* is its
  earliest in the data. Orders are numbered per account by date, then ``order_id``.
- Orders on the same day by the same account stay separate orders (two identical rows are
  two purchases); intervals between orders are measured between purchase days.
- Without an ``accounts`` row an account shows its ``account_id`` as name and the segment
  ``(no segment)``.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.metrics.deals import check_segment

NO_SEGMENT = "(no segment)"
TRAILING_DAYS = 365  # "revenue in the last year" of an account: the 365 days up to its last order


def state_date(dataset: Dataset, period) -> dt.date:
    """The day account state (recency, RFM, overdue accounts, lifetime value) is measured on:
    the period's last day, or the data date when the period runs past the data."""
    return min(period.end, dataset.as_of)


def order_facts(dataset: Dataset, segment: str | None = None) -> ir.Table:
    """One row per usable order (``account_id`` and ``ordered_at`` present).

    Columns: ``order_id``, ``account_id``, ``account_name``, ``segment``, ``ordered_at``
    (date), ``amount`` (NULL when unknown), ``product``, ``opportunity_id``,
    ``order_number`` (1 = the account's first order, by date then ``order_id``) and
    ``first_ordered_at`` (the date of the account's first order).
    """
    orders = dataset.table("orders", needed_for="the account report")
    if segment:
        check_segment(dataset, segment)
    return dataset.materialized(("order_facts", segment), lambda: _order_facts(dataset, orders, segment))


def _order_facts(dataset: Dataset, orders: ir.Table, segment: str | None) -> ir.Table:
    table = orders.filter(orders.account_id.notnull() & orders.ordered_at.notnull())
    if dataset.has("accounts"):
        accounts = dataset.table("accounts").select("account_id", name_joined="account_name", segment_joined="segment")
        table = table.left_join(accounts, "account_id").drop("account_id_right")
        table = table.mutate(account_name=table.name_joined.fill_null(table.account_id),
                             segment=table.segment_joined.fill_null(NO_SEGMENT))
    else:
        table = table.mutate(account_name=table.account_id, segment=ibis.literal(NO_SEGMENT))
    if segment:
        table = table.filter(table.segment == segment)
    sequence = ibis.window(group_by="account_id", order_by=["ordered_at", "order_id"])
    table = table.mutate(order_number=ibis.row_number().over(sequence) + 1,
                         first_ordered_at=table.ordered_at.min().over(ibis.window(group_by="account_id")))
    return table.select("order_id", "account_id", "account_name", "segment", "ordered_at", "amount", "product",
                        "opportunity_id", "order_number", "first_ordered_at")


def purchase_days(dataset: Dataset, segment: str | None = None) -> ir.Table:
    """One row per account and day it ordered.

    Columns: ``account_id``, ``account_name``, ``segment``, ``ordered_at``, ``orders`` (on
    that day), ``amount`` (their known amounts summed; NULL when none is known),
    ``day_number`` (1 = the first purchase day) and ``gap_days`` (days since the previous
    purchase day; NULL on the first).
    """
    facts = order_facts(dataset, segment)
    return dataset.materialized(("purchase_days", segment), lambda: _purchase_days(facts))


def _purchase_days(facts: ir.Table) -> ir.Table:
    days = facts.group_by(["account_id", "account_name", "segment", "ordered_at"]).aggregate(
        orders=facts.count(), amount=facts.amount.sum())
    sequence = ibis.window(group_by="account_id", order_by="ordered_at")
    days = days.mutate(day_number=ibis.row_number().over(sequence) + 1,
                       previous_day=days.ordered_at.lag().over(sequence))
    return days.mutate(gap_days=days.ordered_at.delta(days.previous_day, unit="day")).drop("previous_day")


def customers(dataset: Dataset, segment: str | None = None) -> ir.Table:
    """One row per customer: ``account_id``, ``account_name``, ``segment``, ``first_order``
    and ``second_order`` (the date of its second order, NULL if it has one order; a second
    order on the first day has the first day's date)."""
    facts = order_facts(dataset, segment)
    return dataset.materialized(("customers", segment), lambda: facts.group_by(
        ["account_id", "account_name", "segment"]).aggregate(
        first_order=facts.ordered_at.min(),
        second_order=facts.ordered_at.max(where=facts.order_number == 2),
    ))


def customer_history(dataset: Dataset, until: dt.date, segment: str | None = None) -> pd.DataFrame:
    """Each customer's orders up to and including ``until``, one row per customer (pandas).

    Columns: ``account_id``, ``account_name``, ``segment``, ``first_order``,
    ``last_order``, ``orders``, ``revenue`` (sum of known amounts; NaN when none is known),
    ``order_days`` (distinct purchase days), ``median_gap_days`` (median days between
    consecutive purchase days; NaN with one day), ``repeat_day_revenue`` and
    ``repeat_days_with_amount`` (known amounts of the purchase days after the first, and
    how many such days have an amount: the CLV spend model's input), and
    ``revenue_last_year`` (known amounts of the orders in the 365 days up to and including
    the customer's last order).
    """
    facts = order_facts(dataset, segment)
    facts = facts.filter(facts.ordered_at <= until)
    days = purchase_days(dataset, segment)
    days = days.filter(days.ordered_at <= until)
    per_day = days.group_by(["account_id", "account_name", "segment"]).aggregate(
        first_order=days.ordered_at.min(), last_order=days.ordered_at.max(), order_days=days.count(),
        median_gap_days=days.gap_days.median(),
        repeat_day_revenue=days.amount.sum(where=days.day_number > 1),
        repeat_days_with_amount=days.amount.count(where=days.day_number > 1),
    )
    last = per_day.select(last_account_id="account_id", last_order_of_account="last_order")
    with_last = facts.join(last, facts.account_id == last.last_account_id)
    recent = with_last.ordered_at > with_last.last_order_of_account - ibis.interval(days=TRAILING_DAYS)
    per_order = with_last.group_by("account_id").aggregate(
        orders=with_last.count(), revenue=with_last.amount.sum(),
        revenue_last_year=with_last.amount.sum(where=recent),
    )
    result = per_day.join(per_order, "account_id").execute()
    result = result.sort_values("account_id", ignore_index=True)
    for column in ("first_order", "last_order"):
        result[column] = pd.to_datetime(result[column])
    return result[["account_id", "account_name", "segment", "first_order", "last_order", "orders", "revenue",
                   "order_days", "median_gap_days", "repeat_day_revenue", "repeat_days_with_amount",
                   "revenue_last_year"]]


def orders_left_out(dataset: Dataset, until: dt.date, segment: str | None = None) -> dict:
    """How many orders up to ``until`` the report cannot use, and why.

    ``orders``: rows of the orders table dated up to ``until`` or undated;
    ``without_account_or_date``: left out of everything (no ``account_id`` or no
    ``ordered_at``); ``usable``: the orders every view counts (within the segment filter);
    ``without_amount``: usable orders without an amount, left out of revenue only.
    """
    orders = dataset.table("orders", needed_for="the account report")
    considered = orders.filter(orders.ordered_at.isnull() | (orders.ordered_at <= until))
    unplaced = considered.account_id.isnull() | considered.ordered_at.isnull()
    counts = considered.aggregate(orders=considered.count(),
                                  without_account_or_date=unplaced.cast("int64").sum()).execute().iloc[0]
    facts = order_facts(dataset, segment)
    facts = facts.filter(facts.ordered_at <= until)
    usable = facts.aggregate(usable=facts.count(), without_amount=facts.amount.isnull().cast("int64").sum()).execute().iloc[0]
    return {
        "orders": int(counts["orders"]),
        "without_account_or_date": int(counts["without_account_or_date"] or 0),
        "usable": int(usable["usable"]),
        "without_amount": int(usable["without_amount"] or 0),
    }
