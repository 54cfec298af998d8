"""What moved most for people: teams and reps whose quota attainment, win rate or activity
changed beyond noise between this period and the previous one, and new hires behind their
peers (report ``04_productivity``).

Composed from the views the notebook already computed for this period (attainment,
activity to outcome and activity rates by team and by rep, and the ramp); only the same
views of the previous period are computed here, for the comparison. The detectors and
their thresholds are the generic ones of :mod:`salesnb.metrics.findings`.
"""

from __future__ import annotations

import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.formats import plural
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics import activity, quota
from salesnb.metrics.findings import (MIN_TARGET_CHANGE, Movement, rep_labels, strongest, count_changes,
                                      estimate_changes, rate_changes, sentences)
from salesnb.metrics.ramp import Ramp
from salesnb.metrics.statistics import MIN_N
from salesnb.report import kpis

TITLE = "{}, this period against the previous one"
NOTHING_FOUND = ("Nothing moved beyond noise between this period and the previous one: no team's or rep's quota "
                 "attainment, win rate or activity changed significantly, and no new hire is behind their peers.")
# (level, key matching a group between the periods, label shown, prefix of the sentence)
LEVELS = (("team", "team", None, "Team "), ("rep", "rep_id", "rep_label", "Rep "))


def findings(dataset: Dataset, period: Period, *, where: Selection, attainment: tuple[pd.DataFrame, pd.DataFrame],
             outcome: tuple[pd.DataFrame, pd.DataFrame], activity_rates: tuple[pd.DataFrame, pd.DataFrame],
             ramped: Ramp, min_n: int = MIN_N) -> list[Movement]:
    """What moved most for people, this period against the previous one.

    ``attainment``, ``outcome`` and ``activity_rates``: the (by team, by rep) frames of
    ``quota.quota_attainment``, ``activity.activity_to_outcome`` and
    ``activity.activity_rates`` the notebook showed for ``period`` and ``where``;
    ``ramped``: its ``ramp.ramp``. In this order, at most ``PER_TOPIC`` per topic,
    strongest first, for teams and reps (matched by ``rep_id``, shown by name):

    1. attainment (with quotas): quota attainment with its standard error (√Σ amount² /
       Σ quota), :func:`~salesnb.metrics.findings.estimate_changes`, at least
       ``MIN_TARGET_CHANGE``, n = won deals;
    2. win rate: won / closed, :func:`~salesnb.metrics.findings.rate_changes`, n = closed deals;
    3. activity (with activities): activities per rep-week,
       :func:`~salesnb.metrics.findings.count_changes` with the rep-weeks as exposure, n = activities;
    4. ramp: reps still ramping while more than half of their peers had ramped by the same
       month since hire.
    """
    previous = period.previous()

    def pairs(now: tuple[pd.DataFrame, pd.DataFrame], compute):
        """(level, key, label, prefix, this period's frame, the previous period's) per level."""
        for (by, key, label, prefix), frame in zip(LEVELS, now):
            before = compute(dataset, previous, by, where=where)
            if by == "rep":
                frame, before = rep_labels(frame), rep_labels(before)
            yield key, label, prefix, frame, before

    found: list[Movement] = []
    if dataset.has("quotas"):
        found += strongest([moved for key, label, prefix, now, before in pairs(attainment, quota.quota_attainment)
                            for moved in estimate_changes(
                                now, before, key=key, value="attainment", error="attainment_error",
                                n="won_deals_against_quota", what="quota attainment", topic="attainment",
                                n_label="won deals", subject_prefix=prefix, min_n=min_n,
                                min_change=MIN_TARGET_CHANGE, label=label)])
    found += strongest([moved for key, label, prefix, now, before in pairs(outcome, activity.activity_to_outcome)
                        for moved in rate_changes(now, before, key=key, successes="won", trials="closed",
                                                  what="win rate", topic="win rate", subject_prefix=prefix,
                                                  min_n=min_n, label=label)])
    if dataset.has("activities"):
        found += strongest([moved for key, label, prefix, now, before in pairs(activity_rates, activity.activity_rates)
                            for moved in count_changes(
                                now, before, key=key, count="activities", exposure="rep_weeks", unit="rep-week",
                                what="activities per rep-week", topic="activity", subject_prefix=prefix,
                                min_n=min_n, label=label)])
    behind = ramped.reps[ramped.reps["behind_peers"].astype(bool)]
    behind = behind.sort_values(["months_observed", "rep_name"], ascending=[False, True])
    found += strongest([
        Movement("ramp", f"Rep {row.rep_name}",
                 f"Rep {row.rep_name} (hired {row.hire_date:%b %Y}) is still ramping after {int(row.months_observed)} "
                 f"months: {int(row.peers_reached)} of the {int(row.peers_known)} reps {row.peer_group} who were "
                 f"observed that long had reached {ramped.ramp_share:.0%} of a tenured rep's monthly won amount by then.",
                 row.peers_reached / row.peers_known, int(row.peers_known))
        for row in behind.itertuples(index=False)
    ])
    return found


def show(movements: list[Movement]) -> None:
    """Show the findings (or that nothing moved) and record their sentences for the run's summary."""
    kpis.findings(sentences(movements), title=TITLE.format(plural(len(movements), "finding")),
                  nothing_found=NOTHING_FOUND)

