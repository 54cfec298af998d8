"""Revenue concentration: how much of the period's revenue the largest accounts bring."""

from __future__ import annotations

import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.metrics.orders import order_facts

TOP_ACCOUNTS = 10
PARETO_SHARE = 0.8  # "how many accounts make 80% of revenue"


def revenue_by_account(dataset: Dataset, period: Period, segment: str | None = None) -> pd.DataFrame:
    """Accounts with known revenue in the period, largest first (ties by ``account_id``).

    Columns: ``rank``, ``account_id``, ``account_name``, ``segment``, ``orders``,
    ``revenue``, ``share_of_revenue`` = revenue / total, ``cumulative_share`` (of revenue,
    down to this account) and ``share_of_customers`` = rank / accounts: the Pareto curve.
    Accounts whose orders in the period all lack an amount are left out.
    """
    facts = order_facts(dataset, segment)
    table = facts.filter(facts.ordered_at.between(period.start, period.end) & facts.amount.notnull())
    result = table.group_by(["account_id", "account_name", "segment"]).aggregate(
        orders=table.count(), revenue=table.amount.sum()).execute()
    result = result.sort_values(["revenue", "account_id"], ascending=[False, True], ignore_index=True)
    total = result["revenue"].sum()
    result.insert(0, "rank", range(1, len(result) + 1))
    result["share_of_revenue"] = result["revenue"] / total if total > 0 else float("nan")
    result["cumulative_share"] = result["revenue"].cumsum() / total if total > 0 else float("nan")
    result["share_of_customers"] = result["rank"] / len(result) if len(result) else float("nan")
    return result


def concentration(dataset: Dataset, period: Period, segment: str | None = None, top: int = TOP_ACCOUNTS) -> dict:
    """``customers`` (with known revenue), ``revenue``, ``top_share`` = revenue of the ``top``
    largest accounts / revenue, ``largest_share`` (the largest account's share) and
    ``accounts_for_80_percent`` (the fewest accounts whose revenue reaches 80% of it).
    Shares are None when the period has no revenue."""
    accounts = revenue_by_account(dataset, period, segment)
    total = float(accounts["revenue"].sum())
    if total <= 0:
        return {"customers": len(accounts), "revenue": total, "top_share": None, "largest_share": None,
                "accounts_for_80_percent": None}
    return {
        "customers": len(accounts),
        "revenue": total,
        "top_share": float(accounts["revenue"].head(top).sum()) / total,
        "largest_share": float(accounts["revenue"].iloc[0]) / total,
        "accounts_for_80_percent": int((accounts["cumulative_share"] < PARETO_SHARE - 1e-12).sum() + 1),
    }
