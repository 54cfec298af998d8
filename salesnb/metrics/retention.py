"""Retention: do customers keep ordering, and does their revenue hold up?

- :func:`cohort_retention`: first-order cohort x periods since the first order, the share of
  the cohort's customers ordering and its revenue against its first period's revenue;
- :func:`revenue_retention`: net and gross revenue retention (NRR, GRR) of the customers
  who bought in the previous period of the same length, with the revenue bridge.

Built on :mod:`salesnb.metrics.orders`; orders without an amount count as orders (the
customer is active) but add no revenue.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.orders import customers, for_each, order_facts
from salesnb.metrics.repeat import check_grain, cohort_end, cohort_expression, cohort_of, months_between
from salesnb.metrics.scope import metric
from salesnb.metrics.totals import exact_sum

declare(
    Measure("periods_since_first_order", "Periods since the first order", "count", "Calendar months (or quarters) "
            "from the cohort's own (0) to the cell's", section="cohort-retention"),
    Measure("cohort_customers", "Cohort customers", "count", "Customers whose first order falls in the cohort",
            section="cohort-retention"),
    Measure("active_customers", "Active customers", "count", "Customers of the cohort with an order in the cell's "
            "month (or quarter)", section="cohort-retention", higher_is_better=True),
    Measure("first_period_revenue", "First-period revenue", "currency", "The cohort's revenue in its own month "
            "(or quarter)", section="cohort-retention"),
    Measure("observed", "Observed", "flag", "Whether the cell's month (or quarter) ended by the period's end."),
    Measure("customer_share", "Customers ordering", "percent", "active_customers ÷ cohort_customers",
            section="cohort-retention", higher_is_better=True),
    Measure("revenue_share", "Revenue against the first period", "percent", "The cohort's revenue in the cell ÷ "
            "its first-period revenue", section="cohort-retention", higher_is_better=True),
    Measure("retained_customers", "Retained customers", "count", "Customers of the base with revenue in this "
            "period", section="revenue-retention", higher_is_better=True),
    Measure("churned_customers", "Churned customers", "count", "Customers of the base without revenue in this "
            "period", section="revenue-retention", higher_is_better=False),
    Measure("start_revenue", "Start revenue", "currency", "Revenue of the base (customers with revenue in the "
            "previous period) in the previous period", section="revenue-retention"),
    Measure("expansion", "Expansion", "currency", "Sum over the base of max(revenue now - revenue before, 0)",
            section="revenue-retention", higher_is_better=True),
    Measure("contraction", "Contraction", "currency", "Sum over the base of revenue before - revenue now, where "
            "some but less revenue came in now", section="revenue-retention", higher_is_better=False),
    Measure("churned_revenue", "Churned revenue", "currency", "Revenue before of the base's customers without "
            "revenue now", section="revenue-retention", higher_is_better=False),
    Measure("end_revenue", "End revenue", "currency", "Revenue of the base in this period",
            section="revenue-retention", higher_is_better=True),
    Measure("nrr", "Net revenue retention", "percent", "NRR: the previous period's customers' revenue now ÷ "
            "their revenue then", section="revenue-retention", higher_is_better=True, min_n=30),
    Measure("grr", "Gross revenue retention", "percent", "GRR: the same with each customer capped at its "
            "revenue then", section="revenue-retention", higher_is_better=True, min_n=30),
    Measure("nrr_error", "NRR standard error", "percent", "Standard error of NRR (delta method, ratio of sums)",
            section="revenue-retention"),
    Measure("grr_error", "GRR standard error", "percent", "Standard error of GRR (delta method, ratio of sums)",
            section="revenue-retention"),
    Measure("revenue_before", "Revenue before", "currency", "The account's revenue in the previous period",
            section="revenue-retention"),
    Measure("orders_before", "Orders before", "count", "The account's orders in the previous period",
            section="revenue-retention"),
    Measure("orders_to_date", "Orders to date", "count", "The account's orders up to the previous period's end",
            section="revenue-retention"),
)

CELL_NAMES = {"cohort": "first_order_cohort", "offset": "periods_since_first_order"}  # the cells' columns, as returned


@metric
def cohort_retention(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                     where: Selection, grain: str = "month") -> pd.DataFrame:
    """Cohort retention, one row per (cohort, periods since the first order).

    Cohorts (``first_order_cohort``) are the months (or fiscal quarters) of first orders from
    the start of the previous period to the end of this one; ``periods_since_first_order``
    counts calendar months (or quarters) from the cohort's own (0) on. For each cell:

    - ``customer_share`` = customers of the cohort with an order in that month /
      ``cohort_customers``;
    - ``revenue_share`` = the cohort's revenue in that month / its revenue in month 0.

    A cell whose month (quarter) does not end by the period's end is not observed yet: its
    shares are empty (NaN), never 0. Orders after the period's end are not used. ``by``: a
    dimension of the selection, cells per value.
    """
    check_grain(grain)
    if by is not None:
        return for_each(dataset, by, where, lambda part: cohort_retention(dataset, period, where=part, grain=grain))
    playbook = dataset.playbook
    first_cohort = cohort_of(period.previous().start, grain, playbook)
    facts = order_facts(dataset, where)
    facts = facts.filter(facts.ordered_at <= period.end)
    facts = facts.mutate(cohort=cohort_expression(facts.first_ordered_at, grain, playbook),
                         unit=cohort_expression(facts.ordered_at, grain, playbook))
    facts = facts.filter(facts.cohort >= first_cohort)
    step = 1 if grain == "month" else 3
    facts = facts.mutate(offset=months_between(facts.unit, facts.cohort) // step)
    cells = facts.group_by(["cohort", "offset"]).aggregate(
        active_customers=facts.account_id.nunique(), revenue=exact_sum(facts.amount)).execute()
    firsts = customers(dataset, where)
    firsts = firsts.filter(firsts.first_order <= period.end)
    firsts = firsts.mutate(cohort=cohort_expression(firsts.first_order, grain, playbook))
    firsts = firsts.filter(firsts.cohort >= first_cohort)
    sizes = firsts.group_by("cohort").aggregate(cohort_customers=firsts.count()).execute()
    columns = ["cohort", "offset", "cohort_customers", "active_customers", "revenue", "first_period_revenue",
               "observed", "customer_share", "revenue_share"]
    if sizes.empty:
        return pd.DataFrame(columns=columns).rename(columns=CELL_NAMES)
    sizes["cohort"] = pd.to_datetime(sizes["cohort"])
    cells["cohort"] = pd.to_datetime(cells["cohort"])
    offsets = range(int(cells["offset"].max()) + 1 if len(cells) else 1)
    grid = pd.MultiIndex.from_product([sorted(sizes["cohort"]), offsets], names=["cohort", "offset"]).to_frame(index=False)
    result = grid.merge(sizes, on="cohort").merge(cells, on=["cohort", "offset"], how="left")
    result["active_customers"] = result["active_customers"].fillna(0).astype("int64")
    first_revenue = result.loc[result["offset"] == 0].set_index("cohort")["revenue"]
    result["first_period_revenue"] = result["cohort"].map(first_revenue)
    cell_start = (result["cohort"].dt.to_period("M") + result["offset"] * step).dt.to_timestamp()
    result["observed"] = cohort_end(cell_start, grain) <= pd.Timestamp(period.end)
    # An observed cell without orders had no revenue (0); one with orders but no known amount is not measured.
    result["revenue"] = result["revenue"].astype(float).mask(result["active_customers"] == 0, 0.0)
    result["customer_share"] = (result["active_customers"] / result["cohort_customers"]).where(result["observed"])
    base = result["first_period_revenue"].where(result["first_period_revenue"] > 0)
    result["revenue_share"] = (result["revenue"] / base).where(result["observed"])
    return result[columns].sort_values(["cohort", "offset"], ignore_index=True).rename(columns=CELL_NAMES)



@metric
def revenue_retention(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                      where: Selection) -> pd.DataFrame:
    """Net and gross revenue retention of the customers who bought in the previous period.

    Base: accounts with revenue x > 0 (known amounts) in the previous period of the same
    length (``Period.previous``); y = the same account's revenue in this period (0 if none).

    - ``nrr`` = sum(y) / sum(x) = (start + expansion - contraction - churned) / start;
    - ``grr`` = sum(min(y, x)) / sum(x) = (start - contraction - churned) / start;
    - ``start_revenue`` = sum(x), ``end_revenue`` = sum(y), ``expansion`` = sum(max(y - x, 0)),
      ``contraction`` = sum(x - y) over 0 < y < x, ``churned_revenue`` = sum(x) over y = 0;
    - ``customers`` (n, the base), ``retained_customers`` (y > 0), ``churned_customers``;
    - ``nrr_error``, ``grr_error``: standard errors of the two ratios (delta method for a
      ratio of sums over customers: sqrt(n/(n-1) * sum((y_i - R x_i)^2)) / sum(x_i)), used by
      the findings to tell a real change from noise.

    New customers of this period are not in the base. One row, or one per value of ``by``
    (a dimension of the selection: the same ratio within each value's orders).
    """
    if by is not None:
        return for_each(dataset, by, where, lambda part: revenue_retention(dataset, period, where=part))
    previous = period.previous()
    facts = order_facts(dataset, where)
    facts = facts.filter(facts.amount.notnull())
    per_account = facts.group_by(["account_id", "segment"]).aggregate(
        before=exact_sum(facts.amount, where=facts.ordered_at.between(previous.start, previous.end)),
        now=exact_sum(facts.amount, where=facts.ordered_at.between(period.start, period.end)),
    )
    base = per_account.filter(per_account.before > 0)
    x, y = base.before, base.now.fill_null(0)
    kept = ibis.least(x, y)
    base = base.mutate(x=x, y=y, kept=kept)
    aggregates = dict(
        customers=base.count(), retained_customers=(base.y > 0).cast("int64").sum(),
        start_revenue=exact_sum(base.x), end_revenue=exact_sum(base.y), kept_revenue=exact_sum(base.kept),
        expansion=exact_sum(ibis.greatest(base.y - base.x, 0)),
        contraction=exact_sum(base.x - base.y, where=(base.y > 0) & (base.y < base.x)),
        churned_revenue=exact_sum(base.x, where=base.y == 0),
        xx=exact_sum(base.x * base.x), yy=exact_sum(base.y * base.y), xy=exact_sum(base.x * base.y),
        kk=exact_sum(base.kept * base.kept), xk=exact_sum(base.x * base.kept),
    )
    result = base.aggregate(**aggregates).execute()
    money = ["start_revenue", "end_revenue", "kept_revenue", "expansion", "contraction", "churned_revenue"]
    result[money] = result[money].astype(float).fillna(0.0)
    result[["customers", "retained_customers"]] = result[["customers", "retained_customers"]].fillna(0).astype("int64")
    result["churned_customers"] = result["customers"] - result["retained_customers"]
    start = result["start_revenue"].where(result["start_revenue"] > 0)
    result["nrr"] = result["end_revenue"] / start
    result["grr"] = result["kept_revenue"] / start
    n = result["customers"].astype(float)
    scale = (n / (n - 1)).where(n > 1)
    for name, sum_yy, sum_xy in (("nrr", "yy", "xy"), ("grr", "kk", "xk")):
        ratio = result[name]
        squares = (result[sum_yy] - 2 * ratio * result[sum_xy] + ratio ** 2 * result["xx"]).clip(lower=0)
        result[f"{name}_error"] = np.sqrt(scale * squares) / start
    return result[["customers", "retained_customers", "churned_customers", "start_revenue", "expansion",
                   "contraction", "churned_revenue", "end_revenue", "nrr", "grr", "nrr_error", "grr_error"]]


@metric
def churned_accounts(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                     where: Selection) -> pd.DataFrame:
    """Accounts with revenue in the previous period and no order at all in this one: the
    churned revenue of :func:`revenue_retention`, account by account.

    Columns: ``account_id``, ``account_name``, ``segment``, ``revenue_before`` and
    ``orders_before`` (in the previous period), ``orders_to_date`` (every order up to the
    previous period's end) and ``last_order``; largest revenue first. ``by``: a dimension of
    the selection (the accounts of each value's orders).
    """
    if by is not None:
        return for_each(dataset, by, where, lambda part: churned_accounts(dataset, period, where=part))
    previous = period.previous()
    facts = order_facts(dataset, where)
    facts = facts.filter(facts.ordered_at <= period.end)
    before = facts.ordered_at.between(previous.start, previous.end)
    per_account = facts.group_by(["account_id", "account_name", "segment"]).aggregate(
        revenue_before=exact_sum(facts.amount, where=before), orders_before=before.cast("int64").sum(),
        orders_now=facts.ordered_at.between(period.start, period.end).cast("int64").sum(),
        orders_to_date=(facts.ordered_at <= previous.end).cast("int64").sum(),
        last_order=facts.ordered_at.max(where=facts.ordered_at <= previous.end),
    )
    churned = per_account.filter((per_account.revenue_before > 0) & (per_account.orders_now == 0)).execute()
    churned["last_order"] = pd.to_datetime(churned["last_order"])
    churned = churned.sort_values(["revenue_before", "account_id"], ascending=[False, True], ignore_index=True)
    return churned[["account_id", "account_name", "segment", "revenue_before", "orders_before", "orders_to_date",
                    "last_order"]]
