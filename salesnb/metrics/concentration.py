"""Revenue concentration: how much of the period's revenue the largest accounts bring."""

from __future__ import annotations

import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.orders import for_each, order_facts
from salesnb.metrics.scope import metric
from salesnb.metrics.totals import exact_sum

TOP_ACCOUNTS = 10
PARETO_SHARE = 0.8  # "how many accounts make 80% of revenue"

declare(
    Measure("top10_revenue_share", "Top-10 accounts' share", "percent", "Revenue of the 10 accounts with "
            "the most revenue in the period ÷ the period's revenue", section="concentration",
            higher_is_better=False, min_n=30),
    Measure("largest_account_share", "Largest account's share", "percent", "Revenue of the account with the most "
            "revenue ÷ the period's revenue", section="concentration", higher_is_better=False),
    Measure("accounts_for_80_percent", "Accounts making 80% of revenue", "count", "The fewest accounts whose "
            "revenue reaches 80% of the period's", section="concentration", higher_is_better=True),
    Measure("revenue_rank", "Rank", "count", "The account's place by revenue in the period (1 = the most; ties by "
            "account_id)", section="concentration"),
    Measure("cumulative_share_of_revenue", "Cumulative share of revenue", "percent", "Revenue of the accounts down "
            "to this one ÷ the period's revenue", section="concentration"),
    Measure("cumulative_share_of_customers", "Cumulative share of customers", "percent", "revenue_rank ÷ accounts "
            "with revenue", section="concentration"),
)


@metric
def revenue_by_account(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                       where: Selection) -> pd.DataFrame:
    """Accounts with known revenue in the period, largest first (ties by ``account_id``).

    Columns: ``revenue_rank``, ``account_id``, ``account_name``, ``segment``, ``orders``,
    ``revenue``, ``share_of_revenue`` = revenue / total, ``cumulative_share_of_revenue`` (down
    to this account) and ``cumulative_share_of_customers`` = rank / accounts: the Pareto curve.
    Accounts whose orders in the period all lack an amount are left out. ``by``: a dimension
    of the selection (ranks and shares within each value's orders).
    """
    if by is not None:
        return for_each(dataset, by, where, lambda part: revenue_by_account(dataset, period, where=part))
    facts = order_facts(dataset, where)
    table = facts.filter(facts.ordered_at.between(period.start, period.end) & facts.amount.notnull())
    result = table.group_by(["account_id", "account_name", "segment"]).aggregate(
        orders=table.count(), revenue=exact_sum(table.amount)).execute()
    result = result.sort_values(["revenue", "account_id"], ascending=[False, True], ignore_index=True)
    total = result["revenue"].sum()
    result.insert(0, "revenue_rank", range(1, len(result) + 1))
    result["share_of_revenue"] = result["revenue"] / total if total > 0 else float("nan")
    result["cumulative_share_of_revenue"] = result["revenue"].cumsum() / total if total > 0 else float("nan")
    result["cumulative_share_of_customers"] = result["revenue_rank"] / len(result) if len(result) else float("nan")
    return result


@metric
def concentration(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                  where: Selection) -> pd.DataFrame:
    """The top-10 accounts' share, the largest account's share and the accounts that make 80%
    of the period's revenue.

    One row (one per value of ``by``): ``customers`` (with known revenue), ``revenue``,
    ``top10_revenue_share`` = revenue of the 10 largest accounts / revenue,
    ``largest_account_share`` and ``accounts_for_80_percent`` (the fewest accounts whose
    revenue reaches 80% of it). Shares are empty (not measured) when the period has no revenue."""
    if by is not None:
        return for_each(dataset, by, where, lambda part: concentration(dataset, period, where=part))
    accounts = revenue_by_account(dataset, period, where=where)
    total = float(accounts["revenue"].sum())
    row = {"customers": len(accounts), "revenue": total, "top10_revenue_share": None, "largest_account_share": None,
           "accounts_for_80_percent": None}
    if total > 0:
        row.update(top10_revenue_share=float(accounts["revenue"].head(TOP_ACCOUNTS).sum()) / total,
                   largest_account_share=float(accounts["revenue"].iloc[0]) / total,
                   accounts_for_80_percent=int((accounts["cumulative_share_of_revenue"] < PARETO_SHARE - 1e-12).sum()
                                               + 1))
    return pd.DataFrame([row])
