"""The pipeline review's findings: what changed and what needs attention first.

Composed from the views ``03_pipeline_review`` has already computed (the waterfall, the
inspection of the open deals and the coverage by team): nothing is computed a second time.
"""

from __future__ import annotations

import math

import pandas as pd

from salesnb.data.formats import format_value, plural
from salesnb.metrics.findings import PER_TOPIC, Movement, strongest
from salesnb.metrics.inspection import Inspection
from salesnb.metrics.waterfall import Waterfall

# Stale deals count as big from this quantile of the open deals' amounts (the top quarter).
BIG_DEAL_QUANTILE = 0.75
# What the report says when nothing is found.
NOTHING_FOUND = ("Nothing needs attention first: no pipeline history to compare, no deal pushed out, no big stale "
                 "deal and no team below its coverage rule of thumb.")


def pipeline_review_findings(waterfall: Waterfall | None, inspection: Inspection | None,
                             coverage_by_team: pd.DataFrame | None, *, currency: str = "USD") -> list[Movement]:
    """What changed and what needs attention first, in the pipeline review, each with its n:

    1. the waterfall's headline (the pipeline due in the period, then and now, by bucket);
    2. deals pushed out of the period between the two dates (count, amount, the largest);
    3. big stale deals: stale deals whose amount is in the top quarter of open deals;
    4. teams whose coverage is below their rule of thumb (1 / win rate), only for teams
       with at least ``min_deals_for_ranking`` closed deals behind the win rate (at most
       :data:`~salesnb.metrics.findings.PER_TOPIC`, furthest below first).

    ``waterfall`` (:func:`salesnb.metrics.waterfall.waterfall`), ``inspection``
    (:func:`salesnb.metrics.inspection.inspect_open_deals`) and ``coverage_by_team``
    (:func:`salesnb.metrics.coverage.coverage` by team) are the views the notebook showed;
    None, or a view or check that is not measured, skips its topic.
    """
    money = lambda value: format_value(value, "currency", currency)  # noqa: E731
    found: list[Movement] = []
    if waterfall is not None and waterfall.measured:
        found += _waterfall_findings(waterfall, money)
    if inspection is not None and inspection.stale_measured and len(inspection.deals):
        threshold = float(inspection.deals["amount"].quantile(BIG_DEAL_QUANTILE))
        stale = inspection.deals_in("stale")
        big = stale[stale["amount"] >= threshold]
        if len(big):
            named = _largest(big, "amount", lambda row: f"{_deal_label(row, money)}: {int(row.days_since_touch)} days")
            found.append(Movement(
                "stale", "Big stale deals",
                f"{plural(len(big), 'big deal')} (at least {money(threshold)}, the top quarter of the "
                f"{len(inspection.deals):,} open deals) worth {money(big['amount'].sum())} "
                f"{'has' if len(big) == 1 else 'have'} had no activity and no stage change for "
                f"{inspection.stale_days} days or more: {named}.", float(big["amount"].sum()), len(big)))
    if coverage_by_team is not None and len(coverage_by_team):
        below = coverage_by_team[coverage_by_team["below_rule_of_thumb"].fillna(False).astype(bool)]
        movements = [
            Movement("coverage", f"Team {row.team}",
                     f"Team {row.team}: coverage {row.coverage:.1f}x ({money(row.pipeline_due)} due in the period for "
                     f"{money(row.gap)} left to quota) is below its rule of thumb of {row.rule_of_thumb:.1f}x "
                     f"(1 ÷ win rate {row.win_rate:.1%} over {int(row.closed):,} closed deals).",
                     float(row.rule_of_thumb / row.coverage) if row.coverage else math.inf, int(row.closed))
            for row in below.itertuples(index=False)]
        # Strongest first (furthest below its rule), then by team, at most PER_TOPIC.
        found += strongest(movements)
    return found


def _before_the_period(waterfall: Waterfall) -> str:
    """When the compare-from date is before the period's start, deals won or lost in between
    are in the waterfall but not in the period's "won so far": say so, or the two numbers
    beside each other read as a contradiction."""
    if waterfall.start_date >= waterfall.period.start or not (waterfall.counts["won"] or waterfall.counts["lost"]):
        return ""
    return (f" (won and lost count from {waterfall.start_date:%d %b %Y}, before the period began, so they are not "
            "in its won so far)")


def _waterfall_findings(waterfall: Waterfall, money) -> list[Movement]:
    """The waterfall's headline sentence, and the deals pushed out of the period."""
    totals, counts = waterfall.totals, waterfall.counts
    parts = [f"{sign if totals[name] else ''}{money(totals[name])} {label} ({counts[name]:,})"
             for name, sign, label in (("new", "+", "new"), ("pulled_in", "+", "pulled in"),
                                       ("pushed_out", "−", "pushed out"), ("won", "−", "won"), ("lost", "−", "lost"))]
    for name, words in (("amount_change", "in amount changes"), ("currency_effect", "from exchange rates")):
        if name not in totals:  # the currency effect: only with deals in several currencies
            continue
        change = totals[name]
        sign = "+" if change and change > 0 else "−" if change and change < 0 else ""
        parts.append(f"{sign}{money(abs(change) if change is not None else None)} {words} ({counts[name]:,} deals)")
    found = [Movement(
        "waterfall", "Pipeline due in the period",
        f"Pipeline due in {waterfall.period.label()} went from {money(totals['start'])} ({counts['start']:,} deals) "
        f"on {waterfall.start_date:%d %b %Y} to {money(totals['end'])} ({counts['end']:,} deals) on "
        f"{waterfall.end_date:%d %b %Y}: " + ", ".join(parts) + _before_the_period(waterfall) + ".", math.inf,
        counts["start"] + counts["end"])]
    pushed = waterfall.deals[waterfall.deals["way_out"] == "pushed_out"]
    if len(pushed):
        largest = _largest(pushed, "amount_out", lambda row: f"{row.opportunity_id} ({money(row.amount_out)}, {row.rep_name})")
        found.append(Movement(
            "pushed", "Pushed out of the period",
            f"{plural(len(pushed), 'deal')} worth {money(totals['pushed_out'])} "
            f"{'was' if len(pushed) == 1 else 'were'} pushed out of the period since {waterfall.start_date:%d %b %Y}"
            f"{':' if len(pushed) == 1 else '; the largest:'} {largest}.", float(totals["pushed_out"] or 0), len(pushed)))
    return found


def _deal_label(row, money) -> str:
    account = f", {row.account_name}" if isinstance(getattr(row, "account_name", None), str) else ""
    return f"{row.opportunity_id}{account}, {money(row.amount)}, {row.rep_name}"


def _largest(deals: pd.DataFrame, amount: str, describe) -> str:
    """The :data:`PER_TOPIC` largest deals by ``amount`` (then id), each ``describe(row)``, joined,
    and "and N more" for the others: a sentence that counts 6 deals accounts for all 6."""
    top = deals.sort_values([amount, "opportunity_id"], ascending=[False, True]).head(PER_TOPIC)
    listed = "; ".join(describe(row) for row in top.itertuples(index=False))
    others = len(deals) - len(top)
    return listed + (f"; and {others:,} more" if others else "")
