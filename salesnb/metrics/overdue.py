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
from salesnb.metrics.orders import customer_history

OVERDUE_FACTOR = 2.0  # "well beyond their usual interval": more than twice it
MIN_ORDER_DAYS = 3  # two intervals at least, or there is no usual interval to speak of


def overdue_accounts(dataset: Dataset, at: dt.date, segment: str | None = None, *,
                     factor: float = OVERDUE_FACTOR, min_order_days: int = MIN_ORDER_DAYS) -> pd.DataFrame:
    """Customers with at least ``min_order_days`` purchase days up to ``at``, with their rhythm.

    Columns: ``account_id``, ``account_name``, ``segment``, ``order_days``, ``last_order``,
    ``days_since_last_order`` (``at`` - last order), ``median_gap_days`` (median days
    between consecutive purchase days), ``times_usual_interval`` = days_since_last_order /
    median_gap_days, ``overdue`` = days_since_last_order > ``factor`` x median_gap_days, and
    ``revenue_at_risk`` = the account's known order amounts in the 365 days up to and
    including its last order (what it was worth in its last year of buying).

    Sorted overdue first, then by revenue at risk (highest first), then ``account_id``.
    """
    history = customer_history(dataset, at, segment)
    regular = history[history["order_days"] >= min_order_days].copy()
    regular["days_since_last_order"] = (pd.Timestamp(at) - regular["last_order"]).dt.days
    regular["times_usual_interval"] = regular["days_since_last_order"] / regular["median_gap_days"]
    regular["overdue"] = regular["days_since_last_order"] > factor * regular["median_gap_days"]
    regular = regular.rename(columns={"revenue_last_year": "revenue_at_risk"})
    regular = regular.sort_values(["overdue", "revenue_at_risk", "account_id"], ascending=[False, False, True],
                                  na_position="last", ignore_index=True)
    return regular[["account_id", "account_name", "segment", "order_days", "last_order", "days_since_last_order",
                    "median_gap_days", "times_usual_interval", "overdue", "revenue_at_risk"]]


def summary(accounts: pd.DataFrame) -> dict:
    """From :func:`overdue_accounts`: ``regular_customers`` (the accounts checked),
    ``overdue_accounts`` and ``revenue_at_risk`` (summed over the overdue ones)."""
    late = accounts[accounts["overdue"]]
    return {"regular_customers": len(accounts), "overdue_accounts": len(late),
            "revenue_at_risk": float(late["revenue_at_risk"].sum())}
