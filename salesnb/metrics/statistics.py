"""Small-sample rules shared by every metric module: when a group is big enough to compare,
and how uncertain a rate on n observations is.

A rate or count on a handful of observations moves by chance; rankings and findings only
use groups with at least :data:`MIN_N` observations (and show n beside every rate). The
intervals below are 95% by default and work on plain numbers or numpy/pandas arrays;
where n is 0 they are NaN ("not measured"), never 0.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

# Groups with fewer observations than this are shown but not ranked, and not compared
# between periods (``findings``): below about 30 a share moves by 10+ points by chance.
MIN_N = 30

CONFIDENCE = 0.95


def _z(confidence: float) -> float:
    """The two-sided normal quantile: 1.96 for 95%."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes, trials, confidence: float = CONFIDENCE):
    """Wilson score interval of the proportion successes / trials: ``(low, high)``.

    With p = s / n and z the normal quantile (1.96 for 95%)::

        centre = (p + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) · sqrt(p(1 - p)/n + z²/4n²)

    Unlike the normal ("Wald") interval it stays inside 0..1 and is not zero-width at 0%
    or 100% (0 of 10 gives 0%..27.8%). n = 0 gives NaN.
    """
    s, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = s / n
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        # Exactly 0 at 0 successes and 1 at n (not 1e-17 from rounding).
        low = np.where(s <= 0, 0.0, np.clip(centre - half, 0, 1))
        high = np.where(s >= n, 1.0, np.clip(centre + half, 0, 1))
    empty = n <= 0
    return _shaped(np.where(empty, np.nan, low), successes), _shaped(np.where(empty, np.nan, high), successes)


def poisson_rate_interval(count, exposure, confidence: float = CONFIDENCE):
    """Interval of a rate count / exposure (e.g. activities per rep-week), ``(low, high)``.

    Byar's approximation of the exact Poisson interval of the count c, divided by the
    exposure::

        low  = c (1 - 1/9c - z/3√c)³                 (0 when c = 0)
        high = (c + 1) (1 - 1/9(c+1) + z/3√(c+1))³

    Within 1% of the exact (Garwood) interval from c = 10 on (c = 10: 4.79..18.39, exact
    4.80..18.39), slightly wider below (c = 2: 0.22..7.22, exact 0.24..7.22). Exposure 0
    gives NaN.
    """
    c, w = np.asarray(count, dtype=float), np.asarray(exposure, dtype=float)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(c > 0, c * (1 - 1 / (9 * c) - z / (3 * np.sqrt(c))) ** 3, 0.0)
        upper = c + 1
        high = upper * (1 - 1 / (9 * upper) + z / (3 * np.sqrt(upper))) ** 3
        low, high = np.maximum(low, 0) / w, high / w
    empty = ~(w > 0)
    return _shaped(np.where(empty, np.nan, low), count), _shaped(np.where(empty, np.nan, high), count)


def total_to_target_interval(total, sum_of_squares, count, target, confidence: float = CONFIDENCE):
    """Interval of a summed amount against a target (e.g. quota attainment = won / quota).

    The won amount is a sum of a random number of deals (compound Poisson), whose variance
    is estimated by the sum of the squared deal amounts::

        attainment ± z · sqrt(Σ amount²) / target      (low bound at 0)

    Needs at least one deal (``count``) and a target above 0, else NaN: with no won deal
    the spread of what a rep could have won is not known from the data.
    """
    total, squares = np.asarray(total, dtype=float), np.asarray(sum_of_squares, dtype=float)
    n, target_values = np.asarray(count, dtype=float), np.asarray(target, dtype=float)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = total / target_values
        half = z * np.sqrt(squares) / target_values
    measured = (n > 0) & (target_values > 0)
    low = np.where(measured, np.maximum(centre - half, 0), np.nan)
    high = np.where(measured, centre + half, np.nan)
    return _shaped(low, total), _shaped(high, total)


def _shaped(values: np.ndarray, like):
    """A Series with ``like``'s index, a float for a scalar, else the array."""
    if isinstance(like, pd.Series):
        return pd.Series(values, index=like.index)
    if np.ndim(values) == 0:
        return float(values)
    return values


def kaplan_meier_median(durations, reached) -> float | None:
    """Median time to an event when some subjects have not had it yet (censored).

    ``durations``: per subject, the time the event happened (``reached`` true) or the time
    observed so far without it (``reached`` false, censored). Kaplan-Meier::

        S(t) = Π over event times u ≤ t of (1 - d(u) / n(u))

    with d(u) the events at u and n(u) the subjects still observed at u (duration ≥ u).
    The median is the first event time with S(t) ≤ 0.5; None when fewer than half are known
    to have had the event (a subject still waiting is never counted as a failure, nor
    dropped: it counts while it is observed).
    """
    frame = pd.DataFrame({"duration": np.asarray(durations, dtype=float),
                          "reached": np.asarray(reached, dtype=bool)}).dropna(subset=["duration"])
    survival = 1.0
    for time in sorted(frame.loc[frame["reached"], "duration"].unique()):
        at_risk = int((frame["duration"] >= time).sum())
        events = int((frame["reached"] & (frame["duration"] == time)).sum())
        survival *= 1 - events / at_risk
        if survival <= 0.5:
            return float(time)
    return None


def share_reached_by_day(observed_days, event_days, weights=None) -> pd.DataFrame:
    """Share of subjects (deals, leads) that reached an event within d days of their start,
    from cohorts observed for different lengths of time (a pooled cohort estimate).

    ``observed_days``: per subject, the days from its start to the date of the data (how
    long it has been watched); ``event_days``: the day after its start it reached the event,
    NaN when it has not (yet, or ever). For each day u from 0 to the longest observation::

        n(u) = subjects observed at least u days      (observed_days >= u)
        e(u) = of those, subjects that reached the event on day u
        Q(d) = Σ_{u ≤ d} e(u) / n(u)                  (``share_by_day``)

    Each day's rate uses only the subjects watched that long, so subjects started recently
    neither count as failures nor drop out: without a trend, Q(d) estimates the share that
    reaches the event within d days, and Q at the longest day the share that ever does.
    ``weights`` (e.g. amounts) give ``weight_by_day`` = Σ_{u ≤ d} (Σ weights of e(u)) / n(u),
    the weight one subject brings within d days. An event dated before the start counts on
    day 0; one after the observation is ignored. Columns: ``day``, ``observed``,
    ``reached``, ``share_by_day`` (and ``weight_by_day``); no row without subjects.
    """
    observed = np.asarray(observed_days, dtype=float)
    events = np.asarray(event_days, dtype=float)
    keep = ~np.isnan(observed) & (observed >= 0)
    observed, events = observed[keep].astype(int), events[keep]
    columns = ["day", "observed", "reached", "share_by_day"] + (["weight_by_day"] if weights is not None else [])
    if not len(observed):
        return pd.DataFrame(columns=columns)
    days = int(observed.max()) + 1
    reached = ~np.isnan(events) & (events <= observed)
    event_day = np.clip(events[reached], 0, None).astype(int)
    # n(u): a cumulative count of the observation lengths, from the longest down.
    at_risk = np.cumsum(np.bincount(observed, minlength=days)[::-1])[::-1]
    counts = np.bincount(event_day, minlength=days)
    frame = pd.DataFrame({"day": np.arange(days), "observed": at_risk, "reached": counts,
                          "share_by_day": np.cumsum(counts / at_risk)})
    if weights is not None:
        weight = np.asarray(weights, dtype=float)[keep][reached]
        frame["weight_by_day"] = np.cumsum(np.bincount(event_day, weights=weight, minlength=days) / at_risk)
    return frame
