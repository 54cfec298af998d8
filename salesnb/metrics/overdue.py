"""Overdue accounts: regular customers whose next order is well past their own rhythm.

The list an account manager calls this week. An account is *overdue* at a date (the
period's end) when it has ordered on at least :data:`MIN_ORDER_DAYS` different days (so it
has a rhythm: at least two intervals) and the days since its last order exceed
:data:`OVERDUE_FACTOR` times its median interval between purchase days.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.selection import Selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.orders import as_day, customer_history, for_each
from salesnb.metrics.scope import metric

OVERDUE_FACTOR = 2.0  # "well beyond their usual interval": more than twice it
MIN_ORDER_DAYS = 3  # two intervals at least, or there is no usual interval to speak of

declare(
    Measure("overdue_accounts", "Overdue accounts", "count", "Regular customers (3+ order days) whose days since "
            "their last order exceed twice their median interval between order days", section="overdue-accounts",
            higher_is_better=False),
    Measure("regular_customers", "Regular customers checked (3+ order days)", "count", "Customers with at least "
            "three order days up to the state date: the accounts with a rhythm", section="overdue-accounts"),
    Measure("revenue_at_risk", "Revenue at risk", "currency", "Known order amounts of the "
            "account (summed over the overdue ones) in the 365 days up to its last order",
            section="overdue-accounts", higher_is_better=False),
    Measure("days_since_last_order", "Since last order", "days", "State date - the account's last order",
            section="overdue-accounts", higher_is_better=False),
    Measure("median_gap_days", "Usual interval", "days", "Median days between the account's consecutive order "
            "days", section="overdue-accounts"),
    Measure("times_usual_interval", "Times usual", "ratio", "days_since_last_order ÷ median_gap_days",
            section="overdue-accounts", higher_is_better=False),
    Measure("overdue_account", "Overdue", "flag", "days_since_last_order > 2 x median_gap_days."),
)


@metric
def overdue_accounts(dataset: Dataset, at: dt.date | str | None = None, by: str | None = None, *,
                     where: Selection, factor: float = OVERDUE_FACTOR,
                     min_order_days: int = MIN_ORDER_DAYS) -> pd.DataFrame:
    """Customers of the selection with at least ``min_order_days`` purchase days up to ``at``
    (a date; default the data's date), with their rhythm.

    Columns: ``account_id``, ``account_name``, ``segment``, ``order_days``, ``last_order``,
    ``days_since_last_order`` (``at`` - last order), ``median_gap_days`` (median days
    between consecutive purchase days), ``times_usual_interval`` = days_since_last_order /
    median_gap_days, ``overdue_account`` = days_since_last_order > ``factor`` x
    median_gap_days, and ``revenue_at_risk`` = the account's known order amounts in the 365
    days up to and including its last order (what it was worth in its last year of buying).

    Sorted overdue first, then by revenue at risk (highest first), then ``account_id``.
    ``by``: a dimension of the selection.
    """
    at = as_day(dataset, at)
    if by is not None:
        return for_each(dataset, by, where, lambda part: overdue_accounts(
            dataset, at, where=part, factor=factor, min_order_days=min_order_days))
    history = customer_history(dataset, at, where)
    regular = history[history["order_days"] >= min_order_days].copy()
    regular["days_since_last_order"] = (pd.Timestamp(at) - regular["last_order"]).dt.days
    regular["times_usual_interval"] = regular["days_since_last_order"] / regular["median_gap_days"]
    regular["overdue_account"] = regular["days_since_last_order"] > factor * regular["median_gap_days"]
    regular = regular.rename(columns={"revenue_last_year": "revenue_at_risk"})
    regular = regular.sort_values(["overdue_account", "revenue_at_risk", "account_id"], ascending=[False, False, True],
                                  na_position="last", ignore_index=True)
    return regular[["account_id", "account_name", "segment", "order_days", "last_order", "days_since_last_order",
                    "median_gap_days", "times_usual_interval", "overdue_account", "revenue_at_risk"]]


def summary(accounts: pd.DataFrame) -> dict:
    """From :func:`overdue_accounts`: ``regular_customers`` (the accounts checked),
    ``overdue_accounts`` and ``revenue_at_risk`` (summed over the overdue ones)."""
    late = accounts[accounts["overdue_account"]]
    return {"regular_customers": len(accounts), "overdue_accounts": len(late),
            "revenue_at_risk": float(late["revenue_at_risk"].sum())}
