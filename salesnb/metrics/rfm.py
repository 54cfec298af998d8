"""RFM: recency, frequency and monetary scores, and the named segments they map to.

Scores are quintiles among the customers, 1 (worst) to 5 (best), as of a date (the
period's end), over each customer's orders up to that date:

- recency = days since the last order (fewer is better);
- frequency = number of orders (same-day orders count separately);
- monetary = revenue, the sum of the known amounts (a customer without any known amount
  has no monetary score).

Tie rule: score = 1 + floor(5 x (customers with a strictly worse value) / customers
scored). Tied customers share a score, the lowest their block reaches, whatever the row
order; so when more than a fifth of customers bought once, all one-time buyers score 1 on
frequency and the next scores start higher (a score can be skipped).

Named segments come from the R and F scores, first match wins (:data:`SEGMENTS`);
monetary is shown beside them, not used to name them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.selection import Selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.orders import as_day, customer_history, for_each
from salesnb.metrics.scope import metric

# (name, rule on recency score r and frequency score f, what an account manager does)
SEGMENTS = (
    ("Champions", lambda r, f: (r >= 4) & (f >= 4),
     "Bought recently and often: thank them, ask for referrals and case studies, offer what is new first."),
    ("Loyal", lambda r, f: (r >= 3) & (f >= 4),
     "Frequent buyers, a little less recent: keep them close with account reviews; upsell and cross-sell."),
    ("Potential loyalists", lambda r, f: (r >= 3) & (f >= 2),
     "Fairly recent, a few orders: suggest the next purchase and make ordering again easy."),
    ("New customers", lambda r, f: (r >= 4) & (f == 1),
     "First purchase recently: make the first weeks a success so they order again."),
    ("Need attention", lambda r, f: r == 3,
     "One order some months ago: a check-in call with a reason to buy again."),
    ("At risk", lambda r, f: (r <= 2) & (f >= 3),
     "Used to buy more often, not lately: call them this month and find out what changed."),
    ("Hibernating", lambda r, f: r == 2,
     "Few orders, long ago: a low-cost reactivation campaign."),
    ("Lost", lambda r, f: r == 1,
     "Longest gone and rarely bought: a win-back offer at most; do not chase."),
)
SEGMENT_NAMES = [name for name, _, _ in SEGMENTS]

declare(
    Measure("rfm_segment", "RFM segment", "text", "The named segment of the customer's recency and frequency "
            "scores (first rule that matches)."),
    Measure("rfm_segment_counts", "Customers by RFM segment", "count", "Customers per named RFM segment at the "
            "state date", section="rfm"),
    Measure("recency_days", "Days since last order", "days", "State date - the customer's last order",
            section="rfm", higher_is_better=False),
    Measure("r_score", "R score", "count", "Recency score 1..5 (5: the most recent fifth)", section="rfm",
            higher_is_better=True),
    Measure("f_score", "F score", "count", "Frequency score 1..5 (5: the fifth with the most orders)", section="rfm",
            higher_is_better=True),
    Measure("m_score", "M score", "count", "Monetary score 1..5 (5: the fifth with the most revenue)", section="rfm",
            higher_is_better=True),
    Measure("share_of_customers", "Share of customers", "percent", "The row's customers ÷ all customers of the "
            "view", section="rfm"),
    Measure("share_of_revenue", "Share of revenue", "percent", "The row's revenue ÷ the view's revenue",
            section="rfm"),
    Measure("median_recency_days", "Median days since last order", "days", "Median recency_days of the row's "
            "customers", section="rfm", higher_is_better=False),
    Measure("median_orders", "Median orders", "number", "Median orders per customer of the row", section="rfm",
            higher_is_better=True),
    Measure("what_to_do", "What to do", "text", "What an account manager does with the segment."),
)


def quintile_scores(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..5: 1 + floor(5 x (values strictly worse) / values scored); NaN stays NaN.

    Ties share the lowest score of their block (``rank(method="min")``), so the result does
    not depend on the row order.
    """
    valid = values.dropna().astype(float)
    scores = pd.Series(np.nan, index=values.index)
    if valid.empty:
        return scores
    worse = (valid if higher_is_better else -valid).rank(method="min") - 1
    scores[valid.index] = 1 + np.floor(5 * worse / len(valid))
    return scores


def segment_of(recency_score: pd.Series, frequency_score: pd.Series) -> pd.Series:
    """The named segment of each (R, F) pair: the first rule of :data:`SEGMENTS` that matches."""
    names = pd.Series(pd.NA, index=recency_score.index, dtype="object")
    for name, rule, _ in SEGMENTS:
        names = names.where(names.notna() | ~rule(recency_score, frequency_score), name)
    return names


@metric
def rfm_scores(dataset: Dataset, at: dt.date | str | None = None, by: str | None = None, *,
               where: Selection) -> pd.DataFrame:
    """RFM scores and named segment of each customer of the selection at ``at`` (a date;
    default the data's date).

    One row per customer with a first order on or before ``at``: ``account_id``,
    ``account_name``, ``segment``, ``last_order``, ``recency_days`` (``at`` - last order),
    ``orders`` (frequency), ``revenue`` (monetary), ``r_score``, ``f_score``, ``m_score`` and
    ``rfm_segment``; sorted by segment order, then revenue (highest first). Scores rank the customers of the selection; with ``by`` (a
    dimension of the selection), the customers of each value among themselves."""
    at = as_day(dataset, at)
    if by is not None:
        return for_each(dataset, by, where, lambda part: rfm_scores(dataset, at, where=part))
    history = customer_history(dataset, at, where)
    scores = history[["account_id", "account_name", "segment", "last_order", "orders", "revenue"]].copy()
    scores.insert(4, "recency_days", (pd.Timestamp(at) - scores["last_order"]).dt.days)
    scores["r_score"] = quintile_scores(scores["recency_days"], higher_is_better=False)
    scores["f_score"] = quintile_scores(scores["orders"])
    scores["m_score"] = quintile_scores(scores["revenue"])
    scores["rfm_segment"] = segment_of(scores["r_score"], scores["f_score"])
    order = scores["rfm_segment"].map({name: index for index, name in enumerate(SEGMENT_NAMES)})
    scores = scores.assign(_order=order).sort_values(["_order", "revenue", "account_id"], ascending=[True, False, True],
                                                     na_position="last")
    return scores.drop(columns="_order").reset_index(drop=True)


def segment_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per named segment (every segment, in :data:`SEGMENTS` order, 0 when empty):
    ``customers``, ``share_of_customers``, ``revenue`` (known amounts), ``share_of_revenue``,
    ``median_recency_days``, ``median_orders`` and ``what_to_do``."""
    grouped = scores.groupby("rfm_segment").agg(
        customers=("account_id", "size"), revenue=("revenue", lambda values: values.sum(min_count=1)),
        median_recency_days=("recency_days", "median"), median_orders=("orders", "median"))
    summary = grouped.reindex(SEGMENT_NAMES).rename_axis("rfm_segment").reset_index()
    summary["customers"] = summary["customers"].fillna(0).astype("int64")
    summary["revenue"] = summary["revenue"].fillna(0.0)
    total_customers, total_revenue = summary["customers"].sum(), summary["revenue"].sum()
    summary["share_of_customers"] = summary["customers"] / total_customers if total_customers else np.nan
    summary["share_of_revenue"] = summary["revenue"] / total_revenue if total_revenue else np.nan
    summary["what_to_do"] = [action for _, _, action in SEGMENTS]
    return summary[["rfm_segment", "customers", "share_of_customers", "revenue", "share_of_revenue",
                    "median_recency_days", "median_orders", "what_to_do"]]


def accounts_by_segment(scores: pd.DataFrame, per_segment: int = 5) -> pd.DataFrame:
    """The accounts behind each segment: its ``per_segment`` largest by revenue."""
    return scores.groupby("rfm_segment", sort=False).head(per_segment).reset_index(drop=True)
