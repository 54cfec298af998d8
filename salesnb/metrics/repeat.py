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
from salesnb.errors import SalesnbError
from salesnb.metrics.orders import customers, order_facts, purchase_days

HORIZONS = (90, 180, 365)  # days after the first order within which a second order counts
GRAINS = ("month", "quarter")
GAP_BUCKETS = 5  # time between orders by purchase-day number 2, 3, 4, then 5 and later


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


def new_and_repeat_by_month(dataset: Dataset, period: Period, segment: str | None = None) -> pd.DataFrame:
    """Per calendar month of the period: new and repeat customers and their revenue.

    - ``new_customers``: accounts whose first order falls in the month;
    - ``repeat_customers``: accounts that ordered in the month and had first ordered before it;
    - ``new_customer_revenue`` / ``repeat_customer_revenue``: the month's order amounts of each;
    - ``repeat_order_revenue``: amounts of orders that are not the account's first order
      (a new customer's second order in its first month is a repeat order);
    - ``repeat_order_share`` = repeat_order_revenue / revenue.

    Every month of the period appears (0 without orders); revenue is empty (not 0) in a
    month whose orders all lack an amount.
    """
    facts = order_facts(dataset, segment)
    table = facts.filter(facts.ordered_at.between(period.start, period.end))
    table = table.mutate(month=table.ordered_at.truncate("M").cast("date"))
    is_new = table.first_ordered_at.truncate("M").cast("date") == table.month
    result = table.group_by("month").aggregate(
        orders=table.count(), customers=table.account_id.nunique(),
        new_customers=table.account_id.nunique(where=is_new),
        repeat_customers=table.account_id.nunique(where=~is_new),
        revenue=table.amount.sum(),
        new_customer_revenue=table.amount.sum(where=is_new),
        repeat_customer_revenue=table.amount.sum(where=~is_new),
        repeat_order_revenue=table.amount.sum(where=table.order_number > 1),
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
    result["repeat_order_share"] = result["repeat_order_revenue"] / result["revenue"].where(result["revenue"] > 0)
    return result


def summary(dataset: Dataset, period: Period, segment: str | None = None) -> dict:
    """The headline numbers of the period.

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
    facts = order_facts(dataset, segment)
    table = facts.filter(facts.ordered_at.between(period.start, period.end))
    firsts = customers(dataset, segment)
    repeat = firsts.filter(firsts.second_order <= period.end).select(repeat_account="account_id")
    table = table.left_join(repeat, table.account_id == repeat.repeat_account)
    row = table.aggregate(
        orders=table.count(), customers=table.account_id.nunique(),
        repeat_customers=table.account_id.nunique(where=table.repeat_account.notnull()),
        new_customers=table.account_id.nunique(where=table.first_ordered_at >= period.start),
        revenue=table.amount.sum(), repeat_order_revenue=table.amount.sum(where=table.order_number > 1),
        orders_without_amount=table.amount.isnull().cast("int64").sum(),
    ).execute().iloc[0]
    days = purchase_days(dataset, segment)
    days = days.filter(days.ordered_at.between(period.start, period.end))
    same_day = days.aggregate(same_day_orders=(days.orders - 1).sum(),
                              same_day_accounts=days.account_id.nunique(where=days.orders > 1)).execute().iloc[0]
    customers_count = int(row["customers"])
    revenue = _number(row["revenue"])
    repeat_revenue = _number(row["repeat_order_revenue"]) or 0.0
    return {
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
    }


def _number(value):
    return None if value is None or pd.isna(value) else float(value)


# ----------------------------------------------------------------------------- repeat purchase rate


def _repeated_within(table: ir.Table, horizon: int) -> ir.BooleanValue:
    """A second order no later than ``horizon`` days after the first (same day counts)."""
    return (table.second_order.delta(table.first_order, unit="day") <= horizon).fill_null(False)


def repeat_rates_at_horizons(dataset: Dataset, period: Period, segment: str | None = None,
                             by: str | None = None, horizons=HORIZONS) -> pd.DataFrame:
    """Repeat purchase rate at fixed horizons, over the customers whose horizon *closed* in the period.

    For horizon h: customers = accounts whose first order lies in
    [period start - h days, period end - h days] (each was observed for the full h days,
    and its window ended in the period); ``repeat_customers`` = those with a second order
    at most h days after the first; ``repeat_rate`` = repeat_customers / customers.
    One row per horizon (and per segment with ``by="segment"``).
    """
    table = customers(dataset, segment)
    columns = ["segment"] if by == "segment" else []
    if by not in (None, "segment"):
        raise SalesnbError(f"by must be None or 'segment', not {by!r}.")
    aggregates = {}
    for horizon in horizons:
        start = period.start - dt.timedelta(days=horizon)
        end = period.end - dt.timedelta(days=horizon)
        closed = table.first_order.between(start, end)
        aggregates[f"customers_{horizon}"] = closed.cast("int64").sum()
        aggregates[f"repeat_{horizon}"] = (closed & _repeated_within(table, horizon)).cast("int64").sum()
    grouped = (table.group_by(columns).aggregate(**aggregates) if columns else table.aggregate(**aggregates)).execute()
    rows = []
    for record in grouped.to_dict("records"):
        for horizon in horizons:
            n = int(record[f"customers_{horizon}"] or 0)
            repeated = int(record[f"repeat_{horizon}"] or 0)
            rows.append({**{column: record[column] for column in columns}, "horizon_days": horizon,
                         "customers": n, "repeat_customers": repeated, "repeat_rate": repeated / n if n else float("nan")})
    result = pd.DataFrame(rows, columns=[*columns, "horizon_days", "customers", "repeat_customers", "repeat_rate"])
    return result.sort_values([*columns, "horizon_days"], ignore_index=True)


def repeat_rates_by_cohort(dataset: Dataset, period: Period, grain: str = "month", segment: str | None = None,
                           horizons=HORIZONS) -> pd.DataFrame:
    """Repeat purchase rate by first-order cohort, at fixed horizons and to date.

    Cohorts: the months (or fiscal quarters) of first orders from the start of the previous
    period to the end of this one. For each cohort: ``customers``; for each horizon h,
    ``repeat_{h}d`` (customers with a second order at most h days after their first) and
    ``rate_{h}d`` = repeat_{h}d / customers, shown only when the cohort is *mature* at h
    (its last day + h <= period end: every customer had the full h days), else empty;
    ``repeat_to_date`` / ``rate_to_date``: a second order by the period's end (not
    comparable between cohorts of different ages).
    """
    check_grain(grain)
    playbook = dataset.playbook
    table = customers(dataset, segment)
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
        result[f"rate_{horizon}d"] = (result[f"repeat_{horizon}d"] / result["customers"]).where(mature)
    result["rate_to_date"] = result["repeat_to_date"] / result["customers"]
    return result


# ----------------------------------------------------------------------------- time between orders


def time_between_orders(dataset: Dataset, period: Period, segment: str | None = None) -> pd.DataFrame:
    """Days between consecutive purchase days, by the number of the later one.

    A gap counts in the period when its later purchase day falls in the period. Rows: the
    2nd, 3rd, 4th and 5th-or-later purchase day, then ``all``; columns ``gaps`` (n),
    ``median_days`` and ``p75_days`` (linear interpolation). Same-day orders are one
    purchase day, so they add no 0-day gap (they are counted in :func:`summary`).
    """
    days = purchase_days(dataset, segment)
    gaps = days.filter((days.day_number > 1) & days.ordered_at.between(period.start, period.end))
    gaps = gaps.mutate(purchase_number=ibis.least(gaps.day_number, GAP_BUCKETS))
    aggregates = dict(gaps=gaps.count(), median_days=gaps.gap_days.median(), p75_days=gaps.gap_days.quantile(0.75))
    by_number = gaps.group_by("purchase_number").aggregate(**aggregates).execute()
    overall = gaps.aggregate(**aggregates).execute().assign(purchase_number=0)
    numbers = [*range(2, GAP_BUCKETS + 1), 0]
    labels = {number: f"{_ordinal(number)} order day" for number in numbers}
    labels[GAP_BUCKETS] += " and later"
    labels[0] = "all"
    result = pd.DataFrame({"purchase_number": numbers}).merge(pd.concat([by_number, overall]), on="purchase_number",
                                                               how="left")
    result["gaps"] = result["gaps"].fillna(0).astype("int64")
    result.insert(0, "order_day", result["purchase_number"].map(labels))
    return result.drop(columns="purchase_number")


def _ordinal(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number, "th")
    return f"{number}{suffix}"
