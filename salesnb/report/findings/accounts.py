"""The account report (``05_accounts``), this period against the previous one: what moved
most (:func:`account_findings`) and the headline numbers (:func:`headline_numbers`).

Composed from the views the notebook has already computed and shown (no metric is computed
again here), with the generic detectors of :mod:`salesnb.metrics.findings`. The findings,
in this order, at most :data:`~salesnb.metrics.findings.PER_TOPIC` per topic, strongest first:

1. repeat: the 90/180/365-day repeat purchase rate of the customers whose window closed in
   each period (:func:`salesnb.metrics.repeat.repeat_rates_at_horizons`), overall and by
   segment (:func:`~salesnb.metrics.findings.rate_changes`);
2. retention: net and gross revenue retention, overall and by segment
   (:func:`~salesnb.metrics.findings.estimate_changes` on their standard errors);
3. churn: the largest accounts (by revenue in the previous period) that had ordered at
   least twice, bought in the previous period and placed no order in this one;
4. concentration: the top-10 accounts' share of revenue, when it moved at least
   :data:`~salesnb.metrics.findings.MIN_RATE_CHANGE` with at least ``min_n`` customers in both periods.
"""

from __future__ import annotations

import pandas as pd

from salesnb.data.formats import format_value, plural
from salesnb.data.selection import Selection
from salesnb.metrics.concentration import TOP_ACCOUNTS
from salesnb.metrics.findings import MIN_RATE_CHANGE, PER_TOPIC, Movement, estimate_changes, rate_changes, strongest
from salesnb.metrics.orders import NO_SEGMENT
from salesnb.metrics.repeat import HORIZONS
from salesnb.metrics.statistics import MIN_N

ALL_CUSTOMERS = "All customers"

Pair = tuple[pd.DataFrame, pd.DataFrame]  # (this period, the previous one)


def account_findings(horizons: Pair, horizons_by_segment: Pair, retention: Pair, retention_by_segment: Pair,
                     churned: pd.DataFrame, concentration: Pair, *, where: Selection, currency: str = "USD",
                     min_n: int = MIN_N) -> list[Movement]:
    """The findings of the account report (see the module docstring), from its views.

    ``horizons`` and ``horizons_by_segment``: :func:`salesnb.metrics.repeat.repeat_rates_at_horizons`
    (``by=None`` and ``by="segment"``) of this period and the previous one; ``retention`` and
    ``retention_by_segment``: :func:`salesnb.metrics.retention.revenue_retention` likewise;
    ``churned``: :func:`salesnb.metrics.retention.churned_accounts` of this period;
    ``concentration``: :func:`salesnb.metrics.concentration.concentration` of both periods.
    ``where`` names the overall rows ("All customers", or the selection). Segments are only
    compared when the views hold more than one.
    """
    described = where.describe()
    overall = described[:1].upper() + described[1:] if described else ALL_CUSTOMERS
    found: list[Movement] = []

    repeat_moves: list[Movement] = []
    for (now, before), key, prefix in ((horizons, None, ""), (horizons_by_segment, "segment", "Segment ")):
        if key and now["segment"].nunique() <= 1:  # one segment: the overall row says it all
            continue
        for horizon in HORIZONS:
            pair = [frame[frame["horizon_days"] == horizon] for frame in (now, before)]
            repeat_moves += rate_changes(*pair, key=key, successes="repeat_customers", trials="customers",
                                         what=f"{horizon}-day repeat purchase rate", topic="repeat",
                                         subject_prefix=prefix, min_n=min_n, overall=overall)
    found += strongest(repeat_moves)

    retention_moves: list[Movement] = []
    for (now, before), key, prefix in ((retention, None, ""), (retention_by_segment, "segment", "Segment ")):
        if key and now["segment"].nunique() <= 1:
            continue
        for value, what in (("nrr", "net revenue retention"), ("grr", "gross revenue retention")):
            retention_moves += estimate_changes(now, before, key=key, value=value, error=f"{value}_error",
                                                n="customers", what=what, topic="retention", n_label="customers",
                                                subject_prefix=prefix, min_n=min_n, overall=overall)
    found += strongest(retention_moves)

    found += _stopped_ordering(churned, currency)
    found += _concentration_moved(*concentration, min_n=min_n)
    return found


def headline_numbers(summary: pd.DataFrame, horizons: pd.DataFrame, retention: pd.DataFrame,
                     concentration: pd.DataFrame, overdue: dict, gaps: pd.DataFrame) -> dict:
    """The numbers the report records (``metrics.json``) and shows as headline tiles, for one
    period, by catalogue name, from its views: :func:`salesnb.metrics.repeat.summary`,
    :func:`~salesnb.metrics.repeat.repeat_rates_at_horizons`,
    :func:`~salesnb.metrics.retention.revenue_retention`,
    :func:`~salesnb.metrics.concentration.concentration`, :func:`salesnb.metrics.overdue.summary`
    and :func:`~salesnb.metrics.repeat.time_between_orders` (indexed by ``order_day``)."""
    row = summary.iloc[0]
    rates = horizons.set_index("horizon_days")["repeat_rate"]
    return {
        **{name: row[name] for name in ("customers", "new_customers", "orders", "revenue", "repeat_purchase_rate")},
        **{f"repeat_purchase_rate_{horizon}d": rates[horizon] for horizon in HORIZONS},
        "revenue_from_repeat_share": row["revenue_from_repeat_share"], "same_day_orders": row["same_day_orders"],
        "nrr": retention["nrr"].iloc[0], "grr": retention["grr"].iloc[0],
        "top10_revenue_share": concentration["top10_revenue_share"].iloc[0],
        "overdue_accounts": overdue["overdue_accounts"],
        "median_days_between_orders": gaps.loc["all", "median_days_between_orders"],
    }


def _stopped_ordering(churned: pd.DataFrame, currency: str) -> list[Movement]:
    """The largest accounts of the previous period, with at least two orders by its end, that placed none now."""
    churned = churned[churned["orders_to_date"] >= 2].head(PER_TOPIC)
    labels = churned["account_name"].where(churned["segment"] == NO_SEGMENT,
                                           churned["account_name"] + " (" + churned["segment"] + ")")
    return [
        Movement("churn", row["account_name"],
                 f"{label} stopped ordering: "
                 f"{format_value(row['revenue_before'], 'currency', currency)} over "
                 f"{plural(int(row['orders_before']), 'order')} in the previous period, none in this one "
                 f"(last order {row['last_order']:%d %b %Y}).",
                 float(row["revenue_before"]), int(row["orders_before"]))
        for label, row in zip(labels, churned.to_dict("records"))
    ]


def _concentration_moved(now: pd.DataFrame, before: pd.DataFrame, *, min_n: int) -> list[Movement]:
    (now_share, now_n), (before_share, before_n) = (
        (frame["top10_revenue_share"].iloc[0], int(frame["customers"].iloc[0])) for frame in (now, before))
    if pd.isna(now_share) or pd.isna(before_share) or min(now_n, before_n) < min_n \
            or abs(now_share - before_share) < MIN_RATE_CHANGE:
        return []
    direction = "more" if now_share > before_share else "less"
    return [Movement(
        "concentration", f"Top {TOP_ACCOUNTS} accounts",
        f"The {TOP_ACCOUNTS} largest accounts brought {now_share:.1%} of revenue ({now_n:,} customers) against "
        f"{before_share:.1%} ({before_n:,} customers) in the previous period, "
        f"{(now_share - before_share) * 100:+.1f} points: revenue is {direction} concentrated.",
        abs(now_share - before_share) / MIN_RATE_CHANGE, now_n)]
