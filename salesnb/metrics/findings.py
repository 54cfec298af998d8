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

Report-specific lists (:func:`lead_generation_findings`, :func:`conversion_findings`,
:func:`account_findings`) combine these blocks; the people report's are composed in
:mod:`salesnb.report.findings.people`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesnb.data.formats import format_value
from salesnb.metrics import concentration, conversion, leads, marketing, repeat, retention
from salesnb.metrics.orders import NO_SEGMENT
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
    """A topic's movements, strongest first (then by subject), at most ``limit``."""
    return sorted(movements, key=lambda movement: (-movement.strength, movement.subject))[:limit]


def sentences(movements: list[Movement]) -> list[str]:
    return [movement.sentence for movement in movements]


# ----------------------------------------------------------------------------- lead generation


def _rep_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """``rep_label`` = the rep's name, followed by the id when several ids share that name."""
    names = frame["rep_name"].astype(str)
    shared = names.map(frame.groupby(names)["rep_id"].nunique()) > 1
    return frame.assign(rep_label=names.where(~shared, names + " (" + frame["rep_id"].astype(str) + ")"))


def lead_generation_findings(dataset, period, *, maturity_days: int | None = None, min_n: int = MIN_N) -> list[Movement]:
    """What moved most in lead generation, this period against the previous one.

    In this order, at most :data:`PER_TOPIC` per topic, strongest first:

    1. conversion: lead-to-opportunity rate overall and by source, over *mature* cohort
       months only (immature months of either period are left out);
    2. speed: share of leads answered within the SLA (over all leads), overall, by source
       and by rep;
    3. volume: leads created, overall and by source;
    4. cost (with marketing_spend): campaigns that spent money and produced no lead, and
       campaigns whose cost per lead is unusual against the other campaigns (this period).
    """
    maturity_days = leads.DEFAULT_MATURITY_DAYS if maturity_days is None else maturity_days
    previous = period.previous()
    found: list[Movement] = []
    if leads.measured_steps(dataset)["opportunity"]:
        conversion: list[Movement] = []
        for by, prefix in ((None, ""), ("source", "Source ")):
            now, before = (leads.lead_conversion(dataset, window, by=by, maturity_days=maturity_days, mature_only=True)
                           for window in (period, previous))
            conversion += rate_changes(now, before, key=by, successes="reached_opportunity", trials="leads",
                                       what="lead-to-opportunity conversion (mature cohorts)", topic="conversion",
                                       subject_prefix=prefix, min_n=min_n)
        found += strongest(conversion)

    sla = dataset.playbook.lead_response_sla_hours
    speed: list[Movement] = []
    # Without first_response_at nothing about speed is known, so nothing about it moved.
    groupings = ((None, None, ""), ("source", "source", "Source "), ("rep", "rep_id", "Rep "))
    for by, key, prefix in groupings if leads.response_time_measured(dataset) else ():
        now, before = (leads.response_speed(dataset, window, by=by) for window in (period, previous))
        if by == "rep":
            # Match reps by id (two reps may share a name); show the name, with the id when shared.
            now, before = (_rep_labels(frame) for frame in (now, before))
        speed += rate_changes(now, before, key=key, successes="within_sla", trials="leads",
                              what=f"share of leads answered within the {sla:g} h SLA", topic="speed",
                              subject_prefix=prefix, min_n=min_n, label="rep_label" if by == "rep" else None)
    found += strongest(speed)

    volume = leads.lead_volume_comparison(dataset, period, by="source")
    volume_moves = []
    for frame, key, prefix in ((volume.sum(numeric_only=True).to_frame().T, None, ""), (volume, "source", "Source ")):
        now = frame.rename(columns={"leads": "count"})
        before = frame.rename(columns={"leads_previous_period": "count"}).drop(columns=["leads"])
        volume_moves += count_changes(now, before, key=key, count="count", what="leads created", topic="volume",
                                      subject_prefix=prefix, min_n=min_n)
    found += strongest(volume_moves)

    if dataset.has("marketing_spend"):
        currency = dataset.playbook.currency
        costs = marketing.marketing_costs(dataset, period, by="campaign")
        costs = costs.assign(label=costs["campaign"].astype(str) + " (" + costs["source"].astype(str) + ")")
        wasted = costs[(costs["spend"] > 0) & (costs["leads"] == 0)].sort_values(["spend", "label"], ascending=[False, True])
        cost_moves = [
            Movement("cost", f"Campaign {row.label}",
                     f"Campaign {row.label}: {format_value(row.spend, 'currency', currency)} spent in the period "
                     "and no lead created.", math.inf, 0)
            for row in wasted.itertuples(index=False)
        ]
        cost_moves += value_outliers(costs, key="label", value="cost_per_lead", n="leads", what="cost per lead",
                                     topic="cost", n_label="leads", subject_prefix="Campaign ", min_n=min_n,
                                     format_value=lambda value: format_value(value, "currency", currency))
        found += strongest(cost_moves)
    return found


# ----------------------------------------------------------------------------- conversion


def conversion_findings(dataset, period, *, team: str | None = None, segment: str | None = None,
                        min_n: int = MIN_N) -> list[Movement]:
    """What moved most in conversion, this period against the previous one (``period.previous()``).

    In this order, at most :data:`PER_TOPIC` per topic, strongest first, each on deals of
    the same team/segment filter:

    1. win rate = won / (won + lost) over deals closed in each period (open deals are never
       losses): overall, by team (with a reps table and no team filter) and by the deal's
       source; n = closed deals, at least ``min_n`` in both periods;
    2. volume: deals created (by ``created_at``), overall and by source, as :func:`count_changes`;
    3. speed: the mean sales cycle (``close_date - created_at`` in days) of deals won in each
       period, as :func:`mean_changes` (n = won deals).
    """
    filters = dict(team=team, segment=segment)
    previous = period.previous()
    groupings = [(None, "")] + ([("team", "Team ")] if dataset.has("reps") and not team else []) + [("source", "Source ")]
    rates: list[Movement] = []
    for by, prefix in groupings:
        now, before = (conversion.win_rates(dataset, window, by=by, **filters) for window in (period, previous))
        rates += rate_changes(now, before, key=by, successes="won", trials="closed", what="win rate",
                              topic="win rate", subject_prefix=prefix, min_n=min_n, overall="All deals")
    found = strongest(rates)

    volume: list[Movement] = []
    for by, prefix in ((None, ""), ("source", "Source ")):
        now, before = (conversion.deals_created(dataset, window, by=by, **filters) for window in (period, previous))
        volume += count_changes(now, before, key=by, count="created", what="deals created", topic="volume",
                                subject_prefix=prefix, min_n=min_n, overall="All deals")
    found += strongest(volume)

    now, before = (conversion.sales_cycle(dataset, window, **filters) for window in (period, previous))
    found += mean_changes(now, before, key=None, mean="mean_days", std="std_days", n="won",
                          what="mean sales cycle of won deals", topic="speed", n_label="won deals", min_n=min_n,
                          format_value=lambda days: format_value(days, "days"))
    return found


# ----------------------------------------------------------------------------- accounts and repeat orders

ALL_CUSTOMERS = "All customers"


def account_findings(dataset, period, *, segment: str | None = None, min_n: int = MIN_N) -> list[Movement]:
    """What moved most in the accounts, this period against the previous one.

    In this order, at most :data:`PER_TOPIC` per topic, strongest first:

    1. repeat: the 90/180/365-day repeat purchase rate of the customers whose window
       closed in each period (:func:`salesnb.metrics.repeat.repeat_rates_at_horizons`),
       overall and by segment (:func:`rate_changes`);
    2. retention: net and gross revenue retention, overall and by segment
       (:func:`estimate_changes` on their standard errors);
    3. churn: the largest accounts (by revenue in the previous period) that had ordered at
       least twice, bought in the previous period and placed no order in this one;
    4. concentration: the top-10 accounts' share of revenue, when it moved at least
       :data:`MIN_RATE_CHANGE` with at least ``min_n`` customers in both periods.
    """
    previous = period.previous()
    by_segment = segment is None  # with a segment filter (or one segment) the overall row says it all
    overall = segment or ALL_CUSTOMERS
    found: list[Movement] = []

    now, before = (repeat.repeat_rates_at_horizons(dataset, window, segment) for window in (period, previous))
    repeat_moves: list[Movement] = []
    for horizon in repeat.HORIZONS:
        pair = [frame[frame["horizon_days"] == horizon] for frame in (now, before)]
        repeat_moves += rate_changes(*pair, key=None, successes="repeat_customers", trials="customers",
                                     what=f"{horizon}-day repeat purchase rate", topic="repeat", min_n=min_n,
                                     overall=overall)
    if by_segment:
        now, before = (repeat.repeat_rates_at_horizons(dataset, window, by="segment") for window in (period, previous))
        for horizon in repeat.HORIZONS if now["segment"].nunique() > 1 else ():  # one segment: the overall row
            pair = [frame[frame["horizon_days"] == horizon] for frame in (now, before)]
            repeat_moves += rate_changes(*pair, key="segment", successes="repeat_customers", trials="customers",
                                         what=f"{horizon}-day repeat purchase rate", topic="repeat",
                                         subject_prefix="Segment ", min_n=min_n)
    found += strongest(repeat_moves)

    retention_moves: list[Movement] = []
    for by, prefix in [(None, "")] + ([("segment", "Segment ")] if by_segment else []):
        now, before = (retention.revenue_retention(dataset, window, by=by, segment=segment)
                       for window in (period, previous))
        if by and now["segment"].nunique() <= 1:
            continue
        for value, what in (("nrr", "net revenue retention"), ("grr", "gross revenue retention")):
            retention_moves += estimate_changes(now, before, key=by, value=value, error=f"{value}_error",
                                                n="customers", what=what, topic="retention", n_label="customers",
                                                subject_prefix=prefix, min_n=min_n, overall=overall)
    found += strongest(retention_moves)

    currency = dataset.playbook.currency
    churned = retention.churned_accounts(dataset, period, segment)
    churned = churned[churned["orders_to_date"] >= 2].head(PER_TOPIC)
    labels = churned["account_name"].where(churned["segment"] == NO_SEGMENT,
                                           churned["account_name"] + " (" + churned["segment"] + ")")
    found += [
        Movement("churn", row["account_name"],
                 f"{label} stopped ordering: "
                 f"{format_value(row['revenue_before'], 'currency', currency)} over {int(row['orders_before']):,} "
                 f"order(s) in the previous period, none in this one (last order {row['last_order']:%d %b %Y}).",
                 float(row["revenue_before"]), int(row["orders_before"]))
        for label, row in zip(labels, churned.to_dict("records"))
    ]

    shares = [concentration.concentration(dataset, window, segment) for window in (period, previous)]
    (now_share, now_n), (before_share, before_n) = ((item["top_share"], item["customers"]) for item in shares)
    if None not in (now_share, before_share) and min(now_n, before_n) >= min_n \
            and abs(now_share - before_share) >= MIN_RATE_CHANGE:
        direction = "more" if now_share > before_share else "less"
        found.append(Movement(
            "concentration", f"Top {concentration.TOP_ACCOUNTS} accounts",
            f"The {concentration.TOP_ACCOUNTS} largest accounts brought {now_share:.1%} of revenue "
            f"({now_n:,} customers) against {before_share:.1%} ({before_n:,} customers) in the previous period, "
            f"{(now_share - before_share) * 100:+.1f} points: revenue is {direction} concentrated.",
            abs(now_share - before_share) / MIN_RATE_CHANGE, now_n))
    return found


# ----------------------------------------------------------------------------- pipeline review

# Stale deals count as big from this quantile of the open deals' amounts (the top quarter).
BIG_DEAL_QUANTILE = 0.75


def _deal_label(row, currency: str) -> str:
    account = f", {row.account_name}" if isinstance(getattr(row, "account_name", None), str) else ""
    return f"{row.opportunity_id}{account}, {format_value(row.amount, 'currency', currency)}, {row.rep_name}"


def _largest(deals: pd.DataFrame, amount: str, describe) -> str:
    """The :data:`PER_TOPIC` largest deals by ``amount`` (then id), each ``describe(row)``, joined."""
    top = deals.sort_values([amount, "opportunity_id"], ascending=[False, True]).head(PER_TOPIC)
    return "; ".join(describe(row) for row in top.itertuples(index=False))


def pipeline_review_findings(waterfall, inspection, coverage_by_team: pd.DataFrame | None, *,
                             currency: str = "USD") -> list[Movement]:
    """What changed and what needs attention first, in the pipeline review, each with its n:

    1. the waterfall's headline (the pipeline due in the period, then and now, by bucket);
    2. deals pushed out of the period between the two dates (count, amount, the largest);
    3. big stale deals: stale deals whose amount is in the top quarter of open deals;
    4. teams whose coverage is below their rule of thumb (1 / win rate), only for teams
       with at least ``min_deals_for_ranking`` closed deals behind the win rate.

    ``waterfall``, ``inspection`` and ``coverage_by_team`` are the computed views (None or
    not measured: the topic is skipped).
    """
    money = lambda value: format_value(value, "currency", currency)  # noqa: E731
    found: list[Movement] = []
    if waterfall is not None:
        totals, counts = waterfall.totals, waterfall.counts
        parts = [f"{sign if totals[name] else ''}{money(totals[name])} {label} ({counts[name]:,})"
                 for name, sign, label in (("new", "+", "new"), ("pulled_in", "+", "pulled in"),
                                           ("pushed_out", "−", "pushed out"), ("won", "−", "won"), ("lost", "−", "lost"))]
        change = totals["amount_change"]
        sign = "+" if change and change > 0 else "−" if change and change < 0 else ""
        parts.append(f"{sign}{money(abs(change) if change is not None else None)} in amount changes "
                     f"({counts['amount_change']:,} deals)")
        found.append(Movement(
            "waterfall", "Pipeline due in the period",
            f"Pipeline due in {waterfall.period.label()} went from {money(totals['start'])} ({counts['start']:,} deals) "
            f"on {waterfall.start_date:%d %b %Y} to {money(totals['end'])} ({counts['end']:,} deals) on "
            f"{waterfall.end_date:%d %b %Y}: " + ", ".join(parts) + ".", math.inf, counts["start"] + counts["end"]))
        pushed = waterfall.deals[waterfall.deals["way_out"] == "pushed_out"]
        if len(pushed):
            largest = _largest(pushed, "amount_out",
                               lambda row: f"{row.opportunity_id} ({money(row.amount_out)}, {row.rep_name})")
            found.append(Movement(
                "pushed", "Pushed out of the period",
                f"{len(pushed):,} deal(s) worth {money(totals['pushed_out'])} were pushed out of the period since "
                f"{waterfall.start_date:%d %b %Y}; the largest: {largest}.", float(totals["pushed_out"] or 0), len(pushed)))
    if inspection is not None and inspection.stale_measured and len(inspection.deals):
        threshold = float(inspection.deals["amount"].quantile(BIG_DEAL_QUANTILE))
        stale = inspection.deals_in("stale")
        big = stale[stale["amount"] >= threshold]
        if len(big):
            named = _largest(big, "amount", lambda row: f"{_deal_label(row, currency)}: {int(row.days_since_touch)} days")
            found.append(Movement(
                "stale", "Big stale deals",
                f"{len(big):,} big deal(s) (at least {money(threshold)}, the top quarter of the {len(inspection.deals):,} "
                f"open deals) worth {money(big['amount'].sum())} have had no activity and no stage change for "
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
        found += strongest(movements)
    return found
