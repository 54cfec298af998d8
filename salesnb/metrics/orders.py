"""Orders and customers: the one place orders are selected, joined to their account and numbered.

Every account metric (``repeat``, ``retention``, ``rfm``, ``overdue``, ``concentration``,
``clv``) starts from these, so they all count the same orders the same way:

- :func:`order_facts`: one row per usable order of a selection, with the account's name,
  segment and region, the order's number in the account's sequence and the account's first
  order date;
- :func:`purchase_days`: one row per account and day it ordered (several orders on one day
  are one *purchase day*), with the days since the account's previous purchase day;
- :func:`customers`: one row per customer with its first and second order dates;
- :func:`customer_history`: one row per customer as of a date (pandas), for RFM, overdue
  accounts and the CLV model;
- :func:`orders_left_out`: how many orders the report cannot use, and why;
- :func:`for_each`: ``by=`` of every account metric.

Conventions (also in ``docs/metrics.md``):

- An order needs ``account_id`` and ``ordered_at``; an order missing either is left out of
  everything and counted. An order without ``amount`` is still an order (customers, repeat
  rates, time between orders) but adds nothing to revenue (sums skip it; a sum over orders
  that all lack an amount is *not measured*, never 0).
- A *selection* (``where=``) is the universe of orders every number is computed on
  (:func:`salesnb.metrics.scope.restrict`): segment and region are the account's, product
  the order's own, rep, team and source its deal's (``opportunity_id``; an order without a
  deal is in no rep's, team's or source's orders). Orders are numbered within it: with
  ``product="Analytics"``, a customer's first order is its first Analytics order.
- A *customer* is an account with at least one usable order; its *first order* is its
  earliest in the data. Orders are numbered per account by date, then ``order_id``.
- Orders on the same day by the same account stay separate orders (two identical rows are
  two purchases); intervals between orders are measured between purchase days.
- Without an ``accounts`` row an account shows its ``account_id`` as name, the segment
  ``(no segment)`` and the region ``(no region)``.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import parse_date
from salesnb.data.selection import DIMENSIONS, Selection, SelectionError, as_selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.scope import metric, restrict
from salesnb.metrics.totals import exact_sum

NO_SEGMENT = "(no segment)"
NO_REGION = "(no region)"
TRAILING_DAYS = 365  # "revenue in the last year" of an account: the 365 days up to its last order
THROUGH_DEAL = ("rep", "team", "source")  # dimensions an order takes from its deal

declare(
    Measure("customers", "Customers", "count", "Customers (accounts with at least one order) in the row's group; "
            "the KPI: accounts with an order in the period", section="accounts-orders", higher_is_better=True),
    Measure("orders", "Orders", "count", "Orders placed (by order date) in the row's group", section="accounts-orders",
            higher_is_better=True),
    Measure("revenue", "Revenue", "currency", "Sum of the known order amounts in the row's group (orders without an "
            "amount add nothing)", section="accounts-orders", higher_is_better=True),
    Measure("first_order", "First order", "date", "The day of the customer's first order."),
    Measure("last_order", "Last order", "date", "The day of the customer's last order (up to the state date)."),
    Measure("order_days", "Order days", "count", "Distinct days the customer ordered (its purchases)",
            section="accounts-orders"),
)


def state_date(dataset: Dataset, period) -> dt.date:
    """The day account state (recency, RFM, overdue accounts, lifetime value) is measured on:
    the period's last day, or the data date when the period runs past the data."""
    return min(period.end, dataset.as_of)


def as_day(dataset: Dataset, day, name: str = "at") -> dt.date:
    """A state date given as a date or ``YYYY-MM-DD``; None is the data's date (``as_of``)."""
    return parse_date(day, name) or dataset.as_of


def order_facts(dataset: Dataset, where: Selection | None = None) -> ir.Table:
    """One row per usable order of the selection (``account_id`` and ``ordered_at`` present).

    Columns: ``order_id``, ``account_id``, ``account_name``, ``segment``, ``region``,
    ``ordered_at`` (date), ``amount`` (NULL when unknown), ``product``, ``opportunity_id``,
    ``order_number`` (1 = the account's first order of the selection, by date then
    ``order_id``) and ``first_ordered_at`` (the date of that first order). Materialized once
    per selection; every order's, kept in the cache for the next report.
    """
    orders = dataset.table("orders", needed_for="the account report")
    where = as_selection(where)
    if not where:  # every order: kept in the cache for the next report (Dataset.derived)
        return dataset.derived("order_facts", lambda: _order_facts(dataset, orders, where))
    return dataset.materialized(("order_facts", where), lambda: _order_facts(dataset, orders, where))


def _order_facts(dataset: Dataset, orders: ir.Table, where: Selection) -> ir.Table:
    table = orders.filter(orders.account_id.notnull() & orders.ordered_at.notnull())
    table = restrict(dataset, table, where, rows="orders")
    if dataset.has("accounts"):
        accounts = dataset.table("accounts").select("account_id", name_joined="account_name",
                                                    segment_joined="segment", region_joined="region")
        table = table.left_join(accounts, "account_id").drop("account_id_right")
        table = table.mutate(account_name=table.name_joined.fill_null(table.account_id),
                             segment=table.segment_joined.fill_null(NO_SEGMENT),
                             region=table.region_joined.fill_null(NO_REGION))
    else:
        table = table.mutate(account_name=table.account_id, segment=ibis.literal(NO_SEGMENT),
                             region=ibis.literal(NO_REGION))
    sequence = ibis.window(group_by="account_id", order_by=["ordered_at", "order_id"])
    table = table.mutate(order_number=ibis.row_number().over(sequence) + 1,
                         first_ordered_at=table.ordered_at.min().over(ibis.window(group_by="account_id")))
    return table.select("order_id", "account_id", "account_name", "segment", "region", "ordered_at", "amount",
                        "product", "opportunity_id", "order_number", "first_ordered_at")


def purchase_days(dataset: Dataset, where: Selection | None = None) -> ir.Table:
    """One row per account and day it ordered (orders of the selection).

    Columns: ``account_id``, ``account_name``, ``segment``, ``ordered_at``, ``orders`` (on
    that day), ``amount`` (their known amounts summed; NULL when none is known),
    ``day_number`` (1 = the first purchase day) and ``gap_days`` (days since the previous
    purchase day; NULL on the first).
    """
    facts = order_facts(dataset, where)
    return dataset.materialized(("purchase_days", as_selection(where)), lambda: _purchase_days(facts))


def _purchase_days(facts: ir.Table) -> ir.Table:
    days = facts.group_by(["account_id", "account_name", "segment", "ordered_at"]).aggregate(
        orders=facts.count(), amount=exact_sum(facts.amount))
    sequence = ibis.window(group_by="account_id", order_by="ordered_at")
    days = days.mutate(day_number=ibis.row_number().over(sequence) + 1,
                       previous_day=days.ordered_at.lag().over(sequence))
    return days.mutate(gap_days=days.ordered_at.delta(days.previous_day, unit="day")).drop("previous_day")


def customers(dataset: Dataset, where: Selection | None = None) -> ir.Table:
    """One row per customer of the selection: ``account_id``, ``account_name``, ``segment``,
    ``first_order`` and ``second_order`` (the date of its second order, NULL if it has one
    order; a second order on the first day has the first day's date)."""
    facts = order_facts(dataset, where)
    return dataset.materialized(("customers", as_selection(where)), lambda: facts.group_by(
        ["account_id", "account_name", "segment"]).aggregate(
        first_order=facts.ordered_at.min(),
        second_order=facts.ordered_at.max(where=facts.order_number == 2),
    ))


def customer_history(dataset: Dataset, until: dt.date, where: Selection | None = None) -> pd.DataFrame:
    """Each customer's orders of the selection up to and including ``until``, one row per
    customer (pandas).

    Columns: ``account_id``, ``account_name``, ``segment``, ``first_order``,
    ``last_order``, ``orders``, ``revenue`` (sum of known amounts; NaN when none is known),
    ``order_days`` (distinct purchase days), ``median_gap_days`` (median days between
    consecutive purchase days; NaN with one day), ``repeat_day_revenue`` and
    ``repeat_days_with_amount`` (known amounts of the purchase days after the first, and
    how many such days have an amount: the CLV spend model's input), and
    ``revenue_last_year`` (known amounts of the orders in the 365 days up to and including
    the customer's last order).
    """
    facts = order_facts(dataset, where)
    facts = facts.filter(facts.ordered_at <= until)
    days = purchase_days(dataset, where)
    days = days.filter(days.ordered_at <= until)
    per_day = days.group_by(["account_id", "account_name", "segment"]).aggregate(
        first_order=days.ordered_at.min(), last_order=days.ordered_at.max(), order_days=days.count(),
        median_gap_days=days.gap_days.median(),
        repeat_day_revenue=exact_sum(days.amount, where=days.day_number > 1),
        repeat_days_with_amount=days.amount.count(where=days.day_number > 1),
    )
    last = per_day.select(last_account_id="account_id", last_order_of_account="last_order")
    with_last = facts.join(last, facts.account_id == last.last_account_id)
    recent = with_last.ordered_at > with_last.last_order_of_account - ibis.interval(days=TRAILING_DAYS)
    per_order = with_last.group_by("account_id").aggregate(
        orders=with_last.count(), revenue=exact_sum(with_last.amount),
        revenue_last_year=exact_sum(with_last.amount, where=recent),
    )
    result = per_day.join(per_order, "account_id").execute()
    result = result.sort_values("account_id", ignore_index=True)
    for column in ("first_order", "last_order"):
        result[column] = pd.to_datetime(result[column])
    return result[["account_id", "account_name", "segment", "first_order", "last_order", "orders", "revenue",
                   "order_days", "median_gap_days", "repeat_day_revenue", "repeat_days_with_amount",
                   "revenue_last_year"]]


@metric
def orders_left_out(dataset: Dataset, until: dt.date | str | None = None, *, where: Selection) -> dict:
    """How many orders up to ``until`` (default: the data's date) the report cannot use, and why.

    ``orders``: rows of the orders table dated up to ``until`` or undated;
    ``without_account_or_date``: left out of everything (no ``account_id`` or no
    ``ordered_at``); ``usable``: the orders of the selection every view counts;
    ``without_amount``: usable orders without an amount, left out of revenue only;
    ``without_deal``: orders the selection's rep, team or source cannot reach because they
    have no deal (no ``opportunity_id``, or one the deals table does not hold), of
    ``orders_before_deal_filter`` (the usable orders of the rest of the selection); 0 without such
    a dimension.
    """
    until = as_day(dataset, until, "until")
    orders = dataset.table("orders", needed_for="the account report")
    considered = orders.filter(orders.ordered_at.isnull() | (orders.ordered_at <= until))
    unplaced = considered.account_id.isnull() | considered.ordered_at.isnull()
    row = considered.aggregate(orders=considered.count(),
                               without_account_or_date=unplaced.cast("int64").sum()).execute().iloc[0]
    counts = {name: int(value or 0) for name, value in row.items()}
    usable = _counts(order_facts(dataset, where), until)
    rest = where.but(**{name: None for name in THROUGH_DEAL})
    if rest == where:
        return {**counts, **usable, "orders_before_deal_filter": usable["usable"], "without_deal": 0}
    reachable = _counts(order_facts(dataset, rest), until, dataset.table("opportunities").opportunity_id)
    return {**counts, **usable, "orders_before_deal_filter": reachable["usable"],
            "without_deal": reachable["without_deal"]}


def _counts(facts: ir.Table, until: dt.date, deal_ids: ir.Column | None = None) -> dict:
    """``usable`` orders up to ``until``, ``without_amount`` and (given the deals' ids) ``without_deal``."""
    facts = facts.filter(facts.ordered_at <= until)
    aggregates = dict(usable=facts.count(), without_amount=facts.amount.isnull().cast("int64").sum())
    if deal_ids is not None:
        aggregates["without_deal"] = (~facts.opportunity_id.isin(deal_ids).fill_null(False)).cast("int64").sum()
    row = facts.aggregate(**aggregates).execute().iloc[0]
    return {name: int(value or 0) for name, value in row.items()}


# ----------------------------------------------------------------------------- by=


def for_each(dataset: Dataset, by: str | None, where: Selection, compute) -> pd.DataFrame:
    """``by=`` of the account metrics: ``compute(where)`` without ``by``; with a dimension of
    the selection, ``compute`` once per value the selected orders carry, exactly as
    ``where`` narrowed to that value gives it, stacked with the value as the first column
    (``rep_id`` for ``by="rep"``).

    So every number of a row is the one a selection of that value shows: RFM scores rank the
    customers of the row's segment, a product's first orders are first orders of that
    product. Orders without a value (an account without a segment, an order without a deal
    for ``source``) are in no row.
    """
    if by is None:
        return compute(where)
    if by not in DIMENSIONS:
        raise SelectionError(f"by={by!r}: the account metrics group by one dimension of the selection: "
                             f"{', '.join(DIMENSIONS)}.")
    column = "rep_id" if by == "rep" else by
    frames = [compute(where.but(**{by: value})).assign(**{column: value}) for value in values_of(dataset, by, where)]
    result = pd.concat(frames, ignore_index=True) if frames else compute(where).iloc[0:0].assign(**{column: ""})
    return result[[column, *(name for name in result.columns if name != column)]]


def values_of(dataset: Dataset, by: str, where: Selection) -> list[str]:
    """The values of dimension ``by`` that the orders of ``where`` carry, sorted."""
    facts = order_facts(dataset, where)
    if by in ("segment", "region", "product"):
        values = facts[by]
    else:
        if not dataset.has("opportunities"):
            raise SelectionError(f"Orders cannot be grouped by {by}: an order takes its {by} from its deal, and "
                                 "there is no 'opportunities' table. Group by segment, region or product.")
        deals = dataset.table("opportunities")
        chosen = deals.filter(deals.opportunity_id.isin(facts.opportunity_id).fill_null(False))
        if by == "team":
            if not dataset.has("reps"):
                raise SelectionError("Orders cannot be grouped by team without the 'reps' table (rep_id, team).")
            reps = dataset.table("reps")
            values = reps.filter(reps.rep_id.isin(chosen.rep_id).fill_null(False)).team
        else:
            values = chosen["rep_id" if by == "rep" else "source"]
    found = values.name("value").as_table().distinct().execute()["value"].dropna()
    return sorted({str(value) for value in found} - {NO_SEGMENT, NO_REGION})
