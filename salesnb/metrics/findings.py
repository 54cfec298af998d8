"""Findings: a short, computed list of what moved most, each sentence built from its numbers.

Generic building blocks any report can use on small aggregated frames (one row per group,
never per deal or lead):

- :func:`rate_changes`: a rate (successes / trials) that moved between two periods;
- :func:`count_changes`: a count (e.g. leads), or a count per unit of exposure (activities
  per rep-week), that moved between two periods;
- :func:`mean_changes`: a mean (e.g. days of sales cycle) that moved between two periods;
- :func:`estimate_changes`: an estimate with its standard error (e.g. revenue retention) that moved;
- :func:`value_outliers`: a group whose value (e.g. cost per lead) is far from the others'.

A movement is only reported when it is large *and* unlikely to be noise, and only for
groups with enough observations (thresholds below, all parameters). Nothing moved -> an
empty list, and the report says so; there are no sentences that hold whatever the data.

Report-specific lists combine these blocks in the report layer (:mod:`salesnb.report.findings`),
from the views each notebook computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesnb.data.formats import format_value
from salesnb.metrics.statistics import MIN_N  # groups smaller than this (in either period) are not compared

# A rate must move at least this much (0.05 = 5 percentage points) ...
MIN_RATE_CHANGE = 0.05
# ... a count at least this much relative to the earlier period (0.25 = 25%) ...
MIN_COUNT_CHANGE = 0.25
# ... an amount against its target (quota attainment) at least this much (0.10 = 10 points) ...
MIN_TARGET_CHANGE = 0.10
# ... and by at least this many standard errors (two-proportion z-test for rates,
# Poisson approximation for counts), so small groups' noise is not reported as news.
MIN_Z = 2.0
# A mean (e.g. sales cycle days) must move at least this much relative to the earlier period.
MIN_MEAN_CHANGE = 0.20
# A value this many times the median of its peers (or 1/this) is unusual; needs 3+ peers.
OUTLIER_RATIO = 2.0
MIN_PEERS = 3
# At most this many findings per topic, strongest first.
PER_TOPIC = 3


@dataclass(frozen=True)
class Movement:
    """One finding: ``topic`` (conversion, speed, volume, cost ...), the ``subject`` it is
    about, the ``sentence`` shown, its ``strength`` (z-score, or ratio to the peers' median)
    used to order findings, and ``n`` (observations behind it, current period)."""

    topic: str
    subject: str
    sentence: str
    strength: float
    n: int


def _keyed(frame: pd.DataFrame, key: str | None, label: str | None = None, overall: str = "All leads") -> pd.DataFrame:
    """The frame with ``group_key`` (what matches a group between periods: ``key``) and
    ``group_label`` (what the sentence shows: ``label``, default the key; ``overall`` for
    the one row of ``key`` None)."""
    if key is None:
        return frame.assign(group_key="", group_label=overall)
    return frame.assign(group_key=frame[key].astype(str), group_label=frame[label or key].astype(str))


def rate_changes(current: pd.DataFrame, previous: pd.DataFrame, *, key: str | None, successes: str,
                 trials: str, what: str, topic: str, subject_prefix: str = "", min_n: int = MIN_N,
                 min_change: float = MIN_RATE_CHANGE, min_z: float = MIN_Z,
                 label: str | None = None, overall: str = "All leads") -> list[Movement]:
    """Groups whose rate = successes / trials moved between the previous and the current period.

    Kept when trials >= ``min_n`` in both periods, |change| >= ``min_change`` (in rate units)
    and |z| >= ``min_z``, with z = change / sqrt(p(1-p)(1/n0 + 1/n1)) and p the pooled rate.
    ``key`` is the group column that matches groups between the periods (None for one
    overall row; an id, e.g. ``rep_id``, so two reps with the same name stay apart);
    ``label`` the column shown in the sentence (default ``key``, e.g. ``rep_name``).
    """
    merged = _keyed(current, key, label, overall)[["group_key", "group_label", successes, trials]].merge(
        _keyed(previous, key, label, overall)[["group_key", successes, trials]], on="group_key", suffixes=("", "_before"))
    merged = merged[(merged[trials] >= min_n) & (merged[f"{trials}_before"] >= min_n)]
    if merged.empty:
        return []
    s1, n1 = merged[successes].astype(float), merged[trials].astype(float)
    s0, n0 = merged[f"{successes}_before"].astype(float), merged[f"{trials}_before"].astype(float)
    p1, p0 = s1 / n1, s0 / n0
    pooled = (s0 + s1) / (n0 + n1)
    error = np.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    z = (p1 - p0) / error.where(error > 0)
    merged = merged.assign(p1=p1, p0=p0, z=z, change=p1 - p0)
    moved = merged[(merged["change"].abs() >= min_change) & (merged["z"].abs() >= min_z)]
    movements = []
    for row in moved.itertuples(index=False):
        direction = "rose" if row.change > 0 else "fell"
        subject = f"{subject_prefix}{row.group_label}"
        sentence = (
            f"{subject}: {what} {direction} from {row.p0:.1%} ({int(getattr(row, successes + '_before')):,} of "
            f"{int(getattr(row, trials + '_before')):,}) in the previous period to {row.p1:.1%} "
            f"({int(getattr(row, successes)):,} of {int(getattr(row, trials)):,}), "
            f"{row.change * 100:+.1f} points."
        )
        movements.append(Movement(topic, subject, sentence, abs(float(row.z)), int(getattr(row, trials))))
    return strongest(movements)


def count_changes(current: pd.DataFrame, previous: pd.DataFrame, *, key: str | None, count: str, what: str,
                  topic: str, subject_prefix: str = "", min_n: int = MIN_N,
                  min_change: float = MIN_COUNT_CHANGE, min_z: float = MIN_Z,
                  label: str | None = None, overall: str = "All leads", exposure: str | None = None,
                  unit: str = "") -> list[Movement]:
    """Groups whose count moved between the previous and the current period (same length).

    Kept when the count is >= ``min_n`` in BOTH periods (as for rates: a group too small in
    either period is not compared), |c1 / c0 - 1| >= ``min_change`` and |z| >= ``min_z``
    with z = (c1 - c0) / sqrt(c1 + c0). A group new this period (c0 = 0) is therefore only
    reported with ``min_n`` = 0. ``key`` matches groups, ``label`` is shown (default ``key``).

    With ``exposure`` (a column such as rep-weeks, e.g. for activities per rep-week) the
    rate c / exposure is compared instead: change = (c1/e1) / (c0/e0) - 1 and, given the
    c0 + c1 events, z = (c1 - N p) / sqrt(N p (1 - p)) with N = c0 + c1 and p = e1 / (e0 + e1)
    (the conditional test of two Poisson rates; with e0 = e1 it is the z above). ``unit``
    names the exposure in the sentence ("rep-week").
    """
    columns = [count] + ([exposure] if exposure else [])
    before = _keyed(previous, key, label, overall)[["group_key", "group_label", *columns]].rename(
        columns={"group_label": "label_before", **{column: f"{column}_before" for column in columns}})
    merged = _keyed(current, key, label, overall)[["group_key", "group_label", *columns]].merge(
        before, on="group_key", how="outer")
    # A group gone this period keeps the label it had before.
    merged["group_label"] = merged["group_label"].fillna(merged["label_before"])
    merged = merged.fillna({column: 0 for column in (*columns, *(f"{column}_before" for column in columns))})
    c1, c0 = merged[count].astype(float), merged[f"{count}_before"].astype(float)
    e1, e0 = (merged[exposure].astype(float), merged[f"{exposure}_before"].astype(float)) if exposure else (1.0, 1.0)
    share = e1 / (e0 + e1) if exposure else 0.5
    total = c0 + c1
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (c1 - total * share) / np.sqrt((total * share * (1 - share)).where(total * share * (1 - share) > 0))
        r1, r0 = c1 / e1, c0 / e0
    merged = merged.assign(c1=c1, c0=c0, r1=r1, r0=r0, z=z, relative=(r1 / r0.where(r0 > 0)) - 1)
    big_enough = np.minimum(c1, c0) >= min_n
    large = merged["relative"].abs().fillna(math.inf) >= min_change
    moved = merged[big_enough & large & (merged["z"].abs() >= min_z)]
    movements = []
    for row in moved.itertuples(index=False):
        subject = f"{subject_prefix}{row.group_label}"
        direction = "rose" if row.r1 > row.r0 else "fell"
        if row.c0 == 0:
            change = f"rose from none to {int(row.c1):,}"
        elif exposure:
            change = f"{direction} {abs(row.relative):.0%} from {row.r0:,.1f} to {row.r1:,.1f}"
        else:
            change = f"{direction} {abs(row.relative):.0%} from {int(row.c0):,} to {int(row.c1):,}"
        sentence = f"{subject}: {what} {change} against the previous period of the same length"
        if exposure and row.c0:
            e1, e0 = getattr(row, exposure), getattr(row, f"{exposure}_before")
            sentence += f" ({int(row.c1):,} in {e1:,.0f} {unit}s; before, {int(row.c0):,} in {e0:,.0f})"
        sentence += "."
        movements.append(Movement(topic, subject, sentence, abs(float(row.z)), int(row.c1)))
    return strongest(movements)


def mean_changes(current: pd.DataFrame, previous: pd.DataFrame, *, key: str | None, mean: str, std: str, n: str,
                 what: str, topic: str, format_value, n_label: str = "observations", subject_prefix: str = "",
                 min_n: int = MIN_N, min_change: float = MIN_MEAN_CHANGE, min_z: float = MIN_Z,
                 label: str | None = None, overall: str = "All deals") -> list[Movement]:
    """Groups whose mean (e.g. sales cycle days) moved between the previous and the current period.

    Kept when n >= ``min_n`` in both periods, |m1 / m0 - 1| >= ``min_change`` and |z| >=
    ``min_z``, with Welch's z = (m1 - m0) / sqrt(s1^2 / n1 + s0^2 / n0) (s the sample
    standard deviations). ``format_value`` writes a mean (e.g. ``"30 d"``).
    """
    columns = ["group_key", "group_label", mean, std, n]
    merged = _keyed(current, key, label, overall)[columns].merge(
        _keyed(previous, key, label, overall)[columns[:1] + columns[2:]], on="group_key", suffixes=("", "_before"))
    merged = merged[(merged[n] >= min_n) & (merged[f"{n}_before"] >= min_n)]
    if merged.empty:
        return []
    m1, m0 = merged[mean].astype(float), merged[f"{mean}_before"].astype(float)
    n1, n0 = merged[n].astype(float), merged[f"{n}_before"].astype(float)
    error = np.sqrt(merged[std].astype(float) ** 2 / n1 + merged[f"{std}_before"].astype(float) ** 2 / n0)
    merged = merged.assign(m1=m1, m0=m0, z=(m1 - m0) / error.where(error > 0),
                           relative=(m1 / m0.where(m0 > 0)) - 1)
    moved = merged[(merged["relative"].abs() >= min_change) & (merged["z"].abs() >= min_z)]
    movements = []
    for row in moved.itertuples(index=False):
        subject = f"{subject_prefix}{row.group_label}"
        sentence = (
            f"{subject}: {what} {'rose' if row.m1 > row.m0 else 'fell'} {abs(row.relative):.0%} from "
            f"{format_value(row.m0)} to {format_value(row.m1)} ({int(getattr(row, n + '_before')):,} {n_label} "
            f"in the previous period, {int(getattr(row, n)):,} now)."
        )
        movements.append(Movement(topic, subject, sentence, abs(float(row.z)), int(getattr(row, n))))
    return strongest(movements)


def value_outliers(frame: pd.DataFrame, *, key: str, value: str, n: str, what: str, topic: str,
                   format_value, n_label: str = "observations", subject_prefix: str = "",
                   min_n: int = MIN_N, ratio: float = OUTLIER_RATIO, min_peers: int = MIN_PEERS) -> list[Movement]:
    """Groups whose ``value`` is at least ``ratio`` times (or at most 1/``ratio`` of) the
    median value of the groups with n >= ``min_n`` (at least ``min_peers`` such groups).

    ``format_value`` turns a value into text (e.g. a currency formatter).
    """
    eligible = frame[(frame[n] >= min_n) & frame[value].notna() & np.isfinite(frame[value].astype(float))]
    if len(eligible) < min_peers:
        return []
    median = float(eligible[value].median())
    if median <= 0:
        return []
    eligible = eligible.assign(_ratio=eligible[value].astype(float) / median)
    unusual = eligible[(eligible["_ratio"] >= ratio) | (eligible["_ratio"] <= 1 / ratio)]
    movements = []
    for _, row in unusual.iterrows():
        subject = f"{subject_prefix}{row[key]}"
        times = row["_ratio"]
        relation = f"{times:.1f}x" if times >= 1 else f"{1 / times:.1f}x lower than"
        sentence = (
            f"{subject}: {what} {format_value(row[value])} on {int(row[n]):,} {n_label} is {relation} "
            f"the median of the {len(eligible)} compared ({format_value(median)})."
        )
        movements.append(Movement(topic, subject, sentence, max(times, 1 / times), int(row[n])))
    return strongest(movements)


def estimate_changes(current: pd.DataFrame, previous: pd.DataFrame, *, key: str | None, value: str, error: str,
                     n: str, what: str, topic: str, n_label: str, subject_prefix: str = "", min_n: int = MIN_N,
                     min_change: float = MIN_RATE_CHANGE, min_z: float = MIN_Z, label: str | None = None,
                     overall: str = "All customers") -> list[Movement]:
    """Groups whose estimated ratio ``value`` (e.g. revenue retention), with its standard
    error ``error``, moved between the previous and the current period.

    Kept when n >= ``min_n`` in both periods, |v1 - v0| >= ``min_change`` and |z| >= ``min_z``
    with z = (v1 - v0) / sqrt(e1^2 + e0^2). ``key``, ``label`` and ``overall`` as for
    :func:`rate_changes`.
    """
    columns = ["group_key", "group_label", value, error, n]
    merged = _keyed(current, key, label, overall)[columns].merge(
        _keyed(previous, key, label, overall)[columns[:1] + columns[2:]], on="group_key", suffixes=("", "_before"))
    merged = merged[(merged[n] >= min_n) & (merged[f"{n}_before"] >= min_n)].dropna(
        subset=[value, f"{value}_before", error, f"{error}_before"])
    if merged.empty:
        return []
    change = merged[value] - merged[f"{value}_before"]
    spread = np.sqrt(merged[error] ** 2 + merged[f"{error}_before"] ** 2)
    merged = merged.assign(change=change, z=change / spread.where(spread > 0))
    moved = merged[(merged["change"].abs() >= min_change) & (merged["z"].abs() >= min_z)]
    movements = []
    for row in moved.to_dict("records"):
        subject = f"{subject_prefix}{row['group_label']}"
        sentence = (
            f"{subject}: {what} {'rose' if row['change'] > 0 else 'fell'} from {row[f'{value}_before']:.1%} "
            f"({int(row[f'{n}_before']):,} {n_label}) in the previous period to {row[value]:.1%} "
            f"({int(row[n]):,} {n_label}), {row['change'] * 100:+.1f} points."
        )
        movements.append(Movement(topic, subject, sentence, abs(float(row["z"])), int(row[n])))
    return strongest(movements)


def strongest(movements: list[Movement], limit: int = PER_TOPIC) -> list[Movement]:
    """The ``limit`` strongest movements of one topic, strongest first (ties by subject)."""
    return sorted(movements, key=lambda movement: (-movement.strength, movement.subject))[:limit]


def sentences(movements: list[Movement]) -> list[str]:
    return [movement.sentence for movement in movements]


def rep_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """``rep_label`` = the rep's name, followed by the id when several ids share that name: a
    findings list matches reps by ``rep_id`` and shows this label (lead speed, productivity)."""
    names = frame["rep_name"].astype(str)
    shared = names.map(frame.groupby(names)["rep_id"].nunique()) > 1
    return frame.assign(rep_label=names.where(~shared, names + " (" + frame["rep_id"].astype(str) + ")"))
