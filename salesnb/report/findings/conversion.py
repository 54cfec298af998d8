"""What moved most in conversion, composed from the frames the conversion report computed.

The report computes each view once, for this period and the previous one of the same length
(``period.previous()``), on the deals of its selection, and passes the pairs here; nothing is
computed again. The generic detectors (:mod:`salesnb.metrics.findings`) decide what moved.
"""

from __future__ import annotations

import pandas as pd

from salesnb.data.formats import format_value
from salesnb.metrics.findings import MIN_N, Movement, strongest, count_changes, mean_changes, rate_changes

# A pair of frames: (this period, the previous period).
Pair = tuple[pd.DataFrame, pd.DataFrame]

# What the report says when nothing passed the thresholds.
NOTHING_MOVED = ("Nothing moved beyond the thresholds between this period and the previous one: no win rate "
                 "(overall, by team or by source), number of deals created or sales cycle changed significantly.")


def _overall(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The one row of all deals, from a frame grouped by a column that leaves no deal out
    (a deal without a source is in the group "(none)")."""
    return frame[columns].sum().to_frame().T


def _several(pair: Pair, key: str) -> bool:
    """Whether a grouping has more than one group: one team (a team selection, or data without
    reps) says nothing the overall row does not."""
    return len(set(pair[0][key]) | set(pair[1][key])) > 1


def conversion_findings(*, win_rates: dict[str, Pair], deals_created: Pair, sales_cycle: Pair,
                        min_n: int = MIN_N) -> list[Movement]:
    """What moved most in conversion, this period against the previous one.

    Each view is a pair (this period, previous period) the report computed on its selection:
    ``win_rates`` maps "team" and "source" to the pairs of ``conversion.win_rates(by=...)``
    (other keys are not used), ``deals_created`` is the pair of
    ``conversion.deals_created(by="source")`` and ``sales_cycle`` of ``conversion.sales_cycle()``
    (one row). In this order, at most ``findings.PER_TOPIC`` per topic, strongest first:

    1. win rate = won / (won + lost) over deals closed in each period (open deals are never
       losses): overall (the sum of the source rows), by team and by the deal's source (each
       only with more than one group); n = closed deals, at least ``min_n`` in both periods
       (:func:`salesnb.metrics.findings.rate_changes`);
    2. volume: deals created (by ``created_at``), overall and by source
       (:func:`salesnb.metrics.findings.count_changes`);
    3. speed: the mean sales cycle (``close_date - created_at`` in days) of deals won in each
       period (:func:`salesnb.metrics.findings.mean_changes`, n = won deals with a cycle).
    """
    rates: list[Movement] = []
    groupings = [(None, "", [_overall(frame, ["won", "closed"]) for frame in win_rates["source"]])]
    groupings += [(key, prefix, win_rates[key]) for key, prefix in (("team", "Team "), ("source", "Source "))
                  if _several(win_rates[key], key)]
    for key, prefix, (now, before) in groupings:
        rates += rate_changes(now, before, key=key, successes="won", trials="closed", what="win rate",
                              topic="win rate", subject_prefix=prefix, min_n=min_n, overall="All deals")
    found = strongest(rates)

    volume: list[Movement] = []
    overall = [_overall(frame, ["opportunities_created"]) for frame in deals_created]
    for key, prefix, (now, before) in [(None, "", overall)] + (
            [("source", "Source ", deals_created)] if _several(deals_created, "source") else []):
        volume += count_changes(now, before, key=key, count="opportunities_created", what="deals created",
                                topic="volume", subject_prefix=prefix, min_n=min_n, overall="All deals")
    found += strongest(volume)

    now, before = sales_cycle
    found += mean_changes(now, before, key=None, mean="mean_sales_cycle_days", std="std_sales_cycle_days",
                          n="won_with_cycle", what="mean sales cycle of won deals", topic="speed",
                          n_label="won deals", min_n=min_n, format_value=lambda days: format_value(days, "days"))
    return found
