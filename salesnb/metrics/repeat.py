"""New and repeat customers: who buys again, how soon, and how much of revenue repeat
orders bring.

Built on :mod:`salesnb.metrics.orders` (usable orders, order numbers, purchase days). Every
rate comes with its n; rates over groups are ratios of sums. Cohort rates are read at
fixed horizons (90, 180, 365 days after the first order) and only where every customer of
the cohort has been observed that long, so young cohorts are never compared with old ones.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period, fiscal_quarter_start, fiscal_quarter_start_expression
from salesnb.data.selection import Selection
from salesnb.errors import SalesnbError
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.orders import customers, for_each, order_facts, purchase_days
from salesnb.metrics.scope import metric
from salesnb.metrics.totals import exact_sum

HORIZONS = (90, 180, 365)  # days after the first order within which a second order counts
GRAINS = ("month", "quarter")
GAP_BUCKETS = 5  # time between orders by purchase-day number 2, 3, 4, then 5 and later

declare(
    Measure("new_customers", "New customers", "count", "Accounts whose first order falls in the period (or month)",
            section="repeat-purchases", higher_is_better=True),
    Measure("repeat_customers", "Repeat customers", "count", "Customers of the row with a repeat order: a second "
            "order by the period's end, within the horizon, or (per month) an order after an earlier first one",
            section="repeat-purchases", higher_is_better=True),
    Measure("repeat_purchase_rate", "Repeat purchase rate", "percent", "Customers of the period with two or more "
            "orders by its end (earlier orders count) ÷ customers of the period", section="repeat-purchases",
            higher_is_better=True, min_n=30),
    Measure("revenue_from_repeat_share", "Revenue from repeat orders", "percent", "Known amounts of the orders that "
            "are not the account's first order ÷ known amounts of all orders", section="repeat-purchases",
            higher_is_better=True),
    Measure("new_customer_revenue", "New customers' revenue", "currency", "The month's order amounts of accounts "
            "whose first order falls in the month", section="repeat-purchases", higher_is_better=True),
    Measure("repeat_customer_revenue", "Repeat customers' revenue", "currency", "The month's order amounts of "
            "accounts that first ordered before the month", section="repeat-purchases", higher_is_better=True),
    Measure("repeat_order_revenue", "Repeat order revenue", "currency", "Amounts of orders that are not the "
            "account's first order", section="repeat-purchases", higher_is_better=True),
    Measure("same_day_orders", "Same-day orders", "count", "Orders placed on a day the same account had already "
            "ordered (orders - purchase days)", section="repeat-purchases"),
    Measure("same_day_accounts", "Accounts with same-day orders", "count", "Accounts with more than one order on a "
            "day of the period", section="repeat-purchases"),
    Measure("orders_without_amount", "Orders without amount", "count", "Orders of the period without an amount, "
            "left out of revenue", section="repeat-purchases", higher_is_better=False),
    Measure("horizon_days", "Horizon", "days", "Days after the first order within which a second order counts",
            section="repeat-purchases"),
    Measure("repeat_rate", "Repeat rate", "percent", "Of the customers whose horizon closed in the period, the "
            "share with a second order within horizon_days of their first", section="repeat-purchases",
            higher_is_better=True, min_n=30),
    Measure("first_order_cohort", "First-order cohort", "month", "The month (or fiscal quarter) of the customer's "
            "first order."),
    Measure("repeat_to_date", "Repeated to date", "count", "Customers of the cohort with a second order by the "
            "period's end", section="repeat-purchases", higher_is_better=True),
    Measure("repeat_rate_to_date", "Repeat rate to date", "percent", "repeat_to_date ÷ customers of the cohort "
            "(not comparable between cohorts of different ages)", section="repeat-purchases", higher_is_better=True),
    Measure("order_day", "Order day", "text", "Which of the account's order days: the 2nd, 3rd, ..."),
    Measure("intervals", "Intervals", "count", "Intervals between consecutive order days whose later day falls in "
            "the period", section="repeat-purchases"),
    Measure("median_days_between_orders", "Median days between orders", "days", "Median days from an account's "
            "order day to its next, over the intervals ending in the period", section="repeat-purchases",
            higher_is_better=False, min_n=30),
    Measure("p75_days_between_orders", "75th percentile days between orders", "days", "75th percentile of the same "
            "intervals (linear interpolation)", section="repeat-purchases", higher_is_better=False, min_n=30),
)
for _horizon in HORIZONS:
    declare(
        Measure(f"repeat_purchase_rate_{_horizon}d", f"{_horizon}-day repeat rate", "percent",
                f"repeat_rate at {_horizon} days: of the customers whose first {_horizon} days ended in the period, "
                "the share that ordered again within them", section="repeat-purchases", higher_is_better=True,
                min_n=30),
        Measure(f"repeat_{_horizon}d", f"Repeated within {_horizon} days", "count", f"Customers of the cohort with "
                f"a second order at most {_horizon} days after their first", section="repeat-purchases",
                higher_is_better=True),
        Measure(f"repeat_rate_{_horizon}d", f"{_horizon}-day repeat rate", "percent", f"repeat_{_horizon}d ÷ "
                f"customers of the cohort, shown once the cohort is {_horizon} days old", section="repeat-purchases",
                higher_is_better=True, min_n=30),
    )


# ----------------------------------------------------------------------------- cohorts


def check_grain(grain: str) -> None:
    if grain not in GRAINS:
        raise SalesnbError(f"cohort_grain must be 'month' or 'quarter', not {grain!r}.")


def cohort_expression(date: ir.DateValue, grain: str, playbook) -> ir.DateValue:
    """First day of the cohort (calendar month, or fiscal quarter of the playbook) of each date."""
    check_grain(grain)
    if grain == "month":
        return date.truncate("M").cast("date")
    return fiscal_quarter_start_expression(date, playbook.fiscal_year_start_month)


def cohort_of(date: dt.date, grain: str, playbook) -> dt.date:
    """The same for one Python date."""
    check_grain(grain)
    if grain == "month":
        return date.replace(day=1)
    return fiscal_quarter_start(date, playbook.fiscal_year_start_month)


def cohort_end(start: pd.Series, grain: str) -> pd.Series:
    """Last day of each cohort (month or quarter) starting on ``start``."""
    months = 1 if grain == "month" else 3
    return pd.to_datetime(start) + pd.DateOffset(months=months) - pd.Timedelta(days=1)


def months_between(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    """Calendar months from ``earlier``'s month to ``later``'s month (portable: no date_diff)."""
    return (later.year() * 12 + later.month()) - (earlier.year() * 12 + earlier.month())


# ----------------------------------------------------------------------------- new and repeat


@metric
def new_and_repeat_by_month(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                            where: Selection) -> pd.DataFrame:
    """Per calendar month of the period: new and repeat customers and their revenue.

    - ``new_customers``: accounts whose first order falls in the month;
    - ``repeat_customers``: accounts that ordered in the month and had first ordered before it;
    - ``new_customer_revenue`` / ``repeat_customer_revenue``: the month's order amounts of each;
    - ``repeat_order_revenue``: amounts of orders that are not the account's first order
      (a new customer's second order in its first month is a repeat order);
    - ``revenue_from_repeat_share`` = repeat_order_revenue / revenue.

    Every month of the period appears (0 without orders); revenue is empty (not 0) in a
    month whose orders all lack an amount. ``by``: a dimension of the selection
    (:func:`salesnb.metrics.orders.for_each`), months per value.
    """
    if by is not None:
        return for_each(dataset, by, where, lambda part: new_and_repeat_by_month(dataset, period, where=part))
    facts = order_facts(dataset, where)
    table = facts.filter(facts.ordered_at.between(period.start, period.end))
    table = table.mutate(month=table.ordered_at.truncate("M").cast("date"))
    is_new = table.first_ordered_at.truncate("M").cast("date") == table.month
    result = table.group_by("month").aggregate(
        orders=table.count(), customers=table.account_id.nunique(),
        new_customers=table.account_id.nunique(where=is_new),
        repeat_customers=table.account_id.nunique(where=~is_new),
        revenue=exact_sum(table.amount),
        new_customer_revenue=exact_sum(table.amount, where=is_new),
        repeat_customer_revenue=exact_sum(table.amount, where=~is_new),
        repeat_order_revenue=exact_sum(table.amount, where=table.order_number > 1),
    ).execute()
    months = pd.date_range(pd.Timestamp(period.start).replace(day=1), pd.Timestamp(period.end), freq="MS")
    result["month"] = pd.to_datetime(result["month"])
    result = result.set_index("month").reindex(months).rename_axis("month").reset_index()
    counts = ["orders", "customers", "new_customers", "repeat_customers"]
    result[counts] = result[counts].fillna(0).astype("int64")
    money = ["revenue", "new_customer_revenue", "repeat_customer_revenue", "repeat_order_revenue"]
    no_orders = result["orders"] == 0
    for column in money:  # no order: 0; orders without any amount: not measured
        result[column] = result[column].astype(float).mask(no_orders, 0.0)
    with_amount = result["revenue"].notna()
    for column in money[1:]:  # a group without orders in a month that has amounts adds 0
        result[column] = result[column].mask(with_amount & result[column].isna(), 0.0)
    result["revenue_from_repeat_share"] = result["repeat_order_revenue"] / result["revenue"].where(
        result["revenue"] > 0)
    return result


@metric
def summary(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
            where: Selection) -> pd.DataFrame:
    """The headline numbers of the period, one row (one per value of ``by``).

    - ``customers``: accounts with an order in the period; ``orders``: orders in the period;
      ``revenue``: their known amounts (None when none is known);
    - ``new_customers``: accounts whose first order falls in the period;
    - ``repeat_purchase_rate`` = customers of the period with at least two orders up to the
      period's end (earlier orders count) / customers of the period;
    - ``revenue_from_repeat_share`` = amounts of the period's orders that are not the
      account's first order / amounts of all the period's orders;
    - ``same_day_orders``: orders in the period placed on a day the account had already
      ordered (orders - purchase days), and ``same_day_accounts``;
    - ``orders_without_amount``: orders of the period left out of revenue.
    """
    if by is not None:
        return for_each(dataset, by, where, lambda part: summary(dataset, period, where=part))
    facts = order_facts(dataset, where)
    table = facts.filter(facts.ordered_at.between(period.start, period.end))
    firsts = customers(dataset, where)
    repeat = firsts.filter(firsts.second_order <= period.end).select(repeat_account="account_id")
    table = table.left_join(repeat, table.account_id == repeat.repeat_account)
    row = table.aggregate(
        orders=table.count(), customers=table.account_id.nunique(),
        repeat_customers=table.account_id.nunique(where=table.repeat_account.notnull()),
        new_customers=table.account_id.nunique(where=table.first_ordered_at >= period.start),
        revenue=exact_sum(table.amount), repeat_order_revenue=exact_sum(table.amount, where=table.order_number > 1),
        orders_without_amount=table.amount.isnull().cast("int64").sum(),
    ).execute().iloc[0]
    days = purchase_days(dataset, where)
    days = days.filter(days.ordered_at.between(period.start, period.end))
    same_day = days.aggregate(same_day_orders=(days.orders - 1).sum(),
                              same_day_accounts=days.account_id.nunique(where=days.orders > 1)).execute().iloc[0]
    customers_count = int(row["customers"])
    revenue = _number(row["revenue"])
    repeat_revenue = _number(row["repeat_order_revenue"]) or 0.0
    return pd.DataFrame([{
        "customers": customers_count,
        "orders": int(row["orders"]),
        "revenue": revenue,
        "new_customers": int(row["new_customers"] or 0),
        "repeat_customers": int(row["repeat_customers"] or 0),
        "repeat_purchase_rate": int(row["repeat_customers"] or 0) / customers_count if customers_count else None,
        "revenue_from_repeat_share": repeat_revenue / revenue if revenue else None,
        "same_day_orders": int(same_day["same_day_orders"] or 0),
        "same_day_accounts": int(same_day["same_day_accounts"] or 0),
        "orders_without_amount": int(row["orders_without_amount"] or 0),
    }])


def _number(value):
    return None if value is None or pd.isna(value) else float(value)


# ----------------------------------------------------------------------------- repeat purchase rate


def _repeated_within(table: ir.Table, horizon: int) -> ir.BooleanValue:
    """A second order no later than ``horizon`` days after the first (same day counts)."""
    return (table.second_order.delta(table.first_order, unit="day") <= horizon).fill_null(False)


@metric
def repeat_rates_at_horizons(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                             where: Selection, horizons=HORIZONS) -> pd.DataFrame:
    """Repeat purchase rate at fixed horizons, over the customers whose horizon *closed* in the period.

    For horizon h: customers = accounts whose first order lies in
    [period start - h days, period end - h days] (each was observed for the full h days,
    and its window ended in the period); ``repeat_customers`` = those with a second order
    at most h days after the first; ``repeat_rate`` = repeat_customers / customers.
    One row per horizon (per value and horizon with ``by``, a dimension of the selection).
    """
    if by is not None:
        return for_each(dataset, by, where,
                        lambda part: repeat_rates_at_horizons(dataset, period, where=part, horizons=horizons))
    table = customers(dataset, where)
    aggregates = {}
    for horizon in horizons:
        start = period.start - dt.timedelta(days=horizon)
        end = period.end - dt.timedelta(days=horizon)
        closed = table.first_order.between(start, end)
        aggregates[f"customers_{horizon}"] = closed.cast("int64").sum()
        aggregates[f"repeat_{horizon}"] = (closed & _repeated_within(table, horizon)).cast("int64").sum()
    record = table.aggregate(**aggregates).execute().iloc[0]
    rows = []
    for horizon in horizons:
        n = int(record[f"customers_{horizon}"] or 0)
        repeated = int(record[f"repeat_{horizon}"] or 0)
        rows.append({"horizon_days": horizon, "customers": n, "repeat_customers": repeated,
                     "repeat_rate": repeated / n if n else float("nan")})
    return pd.DataFrame(rows, columns=["horizon_days", "customers", "repeat_customers", "repeat_rate"])


@metric
def repeat_rates_by_cohort(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                           where: Selection, grain: str = "month", horizons=HORIZONS) -> pd.DataFrame:
    """Repeat purchase rate by first-order cohort, at fixed horizons and to date.

    Cohorts: the months (or fiscal quarters) of first orders from the start of the previous
    period to the end of this one (``first_order_cohort``, its first day). For each cohort:
    ``customers``; for each horizon h, ``repeat_{h}d`` (customers with a second order at most
    h days after their first) and ``repeat_rate_{h}d`` = repeat_{h}d / customers, shown only
    when the cohort is *mature* at h (its last day + h <= period end: every customer had the
    full h days), else empty; ``repeat_to_date`` / ``repeat_rate_to_date``: a second order by
    the period's end (not comparable between cohorts of different ages). ``by``: a dimension
    of the selection, cohorts per value.
    """
    check_grain(grain)
    if by is not None:
        return for_each(dataset, by, where, lambda part: repeat_rates_by_cohort(
            dataset, period, where=part, grain=grain, horizons=horizons))
    playbook = dataset.playbook
    table = customers(dataset, where)
    table = table.filter(table.first_order <= period.end)
    table = table.mutate(cohort=cohort_expression(table.first_order, grain, playbook))
    table = table.filter(table.cohort >= cohort_of(period.previous().start, grain, playbook))
    aggregates = {"customers": table.count(),
                  "repeat_to_date": (table.second_order <= period.end).fill_null(False).cast("int64").sum()}
    for horizon in horizons:
        aggregates[f"repeat_{horizon}d"] = _repeated_within(table, horizon).cast("int64").sum()
    result = table.group_by("cohort").aggregate(**aggregates).execute()
    result["cohort"] = pd.to_datetime(result["cohort"])
    result = result.sort_values("cohort", ignore_index=True)
    last_day = cohort_end(result["cohort"], grain)
    for horizon in horizons:
        mature = last_day + pd.Timedelta(days=horizon) <= pd.Timestamp(period.end)
        result[f"repeat_{horizon}d"] = result[f"repeat_{horizon}d"].astype("int64")
        result[f"repeat_rate_{horizon}d"] = (result[f"repeat_{horizon}d"] / result["customers"]).where(mature)
    result["repeat_rate_to_date"] = result["repeat_to_date"] / result["customers"]
    return result.rename(columns={"cohort": "first_order_cohort"})


# ----------------------------------------------------------------------------- time between orders


@metric
def time_between_orders(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                        where: Selection) -> pd.DataFrame:
    """Days between consecutive purchase days, by the number of the later one.

    An interval counts in the period when its later purchase day falls in the period. Rows
    (``order_day``): the 2nd, 3rd, 4th and 5th-or-later purchase day, then ``all``; columns
    ``intervals`` (n), ``median_days_between_orders`` and ``p75_days_between_orders``
    (linear interpolation). Same-day orders are one purchase day, so they add no 0-day
    interval (they are counted in :func:`summary`). ``by``: a dimension of the selection.
    """
    if by is not None:
        return for_each(dataset, by, where, lambda part: time_between_orders(dataset, period, where=part))
    days = purchase_days(dataset, where)
    gaps = days.filter((days.day_number > 1) & days.ordered_at.between(period.start, period.end))
    gaps = gaps.mutate(purchase_number=ibis.least(gaps.day_number, GAP_BUCKETS))
    aggregates = dict(intervals=gaps.count(), median_days_between_orders=gaps.gap_days.median(),
                      p75_days_between_orders=gaps.gap_days.quantile(0.75))
    by_number = gaps.group_by("purchase_number").aggregate(**aggregates).execute()
    overall = gaps.aggregate(**aggregates).execute().assign(purchase_number=0)
    numbers = [*range(2, GAP_BUCKETS + 1), 0]
    labels = {number: f"{_ordinal(number)} order day" for number in numbers}
    labels[GAP_BUCKETS] += " and later"
    labels[0] = "all"
    result = pd.DataFrame({"purchase_number": numbers}).merge(pd.concat([by_number, overall]), on="purchase_number",
                                                               how="left")
    result["intervals"] = result["intervals"].fillna(0).astype("int64")
    result.insert(0, "order_day", result["purchase_number"].map(labels))
    return result.drop(columns="purchase_number")


def _ordinal(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number, "th")
    return f"{number}{suffix}"
