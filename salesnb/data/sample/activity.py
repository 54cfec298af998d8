"""Activities: touches on deals (including deals gone quiet) and on leads (the first
response and follow-ups)."""

import numpy as np
import pandas as pd

from salesnb.data.sample.arrays import choose_per_row
from salesnb.data.sample.deals import OPEN_STAGES, WON
from salesnb.data.sample.timeline import SNAPSHOT, business_time

ACTIVITY_TYPES = ["call", "email", "meeting", "demo"]


def make_activities(rng, deals, current, leads, reps):
    """Touches on deals (more meetings on deals that are won), lead responses and follow-ups."""
    n = len(deals["account"])
    is_open = current["stage"] < OPEN_STAGES
    window_start = deals["created"]
    window_end = np.where(is_open, SNAPSHOT, np.minimum(deals["closed_at"], SNAPSHOT))
    # Some open deals have gone quiet: no touch for 30+ days (poor hygiene makes it likelier).
    quiet = is_open & (rng.random(n) < np.where(deals["updates"], 0.1, 0.4))
    quiet_since = np.fmax(current["last_change"], SNAPSHOT - rng.uniform(31, 150, n))
    # Zombie deals went silent when they were in effect lost.
    zombie = deals["went_quiet_at"] < deals["closed_at"]
    quiet_since = np.where(zombie, np.fmax(current["last_change"], deals["went_quiet_at"]), quiet_since)
    quiet = quiet | (is_open & zombie)
    quiet = quiet & (quiet_since < SNAPSHOT - 30)
    window_end = np.where(quiet, quiet_since, window_end)
    length = np.maximum(window_end - window_start, 0.05)
    outcome = np.where(is_open, 0, np.where(current["stage"] == WON, 1, 2))
    rate = np.array([0.085, 0.13, 0.065])[outcome] * np.array([1.0, 1.15, 1.35])[deals["segment"]]
    counts = np.minimum(rng.poisson(rate * length) + 1, 80)
    deal = np.repeat(np.arange(n), counts)
    times = window_start[deal] + rng.random(len(deal)) * length[deal]
    times = np.clip(business_time(rng, times), window_start[deal], window_end[deal])
    type_weights = np.array([[0.36, 0.40, 0.16, 0.08], [0.28, 0.34, 0.25, 0.13], [0.40, 0.42, 0.12, 0.06]])
    kinds = choose_per_row(rng, type_weights[outcome[deal]])
    deal, times, kinds = _busy_touches(rng.spawn(1)[0], reps, deals, deal, times, kinds, rate, window_start, window_end)
    # Active open deals were touched in the last two weeks.
    recent = np.flatnonzero(is_open & ~quiet)
    recent_times = np.clip(SNAPSHOT - rng.uniform(0, 14, len(recent)), window_start[recent], SNAPSHOT)
    # The data's snapshot date is the day of its latest event: one touch falls on it.
    recent_times[:1] = SNAPSHOT - 0.2
    deal = np.r_[deal, recent]
    times = np.r_[times, recent_times]
    kinds = np.r_[kinds, rng.choice([0, 1, 2], size=len(recent), p=[0.4, 0.4, 0.2])]

    # Leads: the first response, then follow-ups until the lead qualifies or drops.
    responded = np.flatnonzero(~np.isnan(leads["responded_at"]))
    first_kind = np.where(rng.random(len(responded)) < 0.6, 1, 0)
    follow_end = np.fmin(np.fmin(leads["sql_at"], leads["dropped_at"]), SNAPSHOT)[responded]
    follow_length = np.maximum(follow_end - leads["responded_at"][responded], 0)
    follow_counts = rng.poisson(np.minimum(follow_length / 20, 2.0))
    follow = np.repeat(responded, follow_counts)
    follow_times = leads["responded_at"][follow] + rng.random(len(follow)) * follow_length[np.repeat(
        np.arange(len(responded)), follow_counts)]
    lead = np.r_[responded, follow]
    lead_times = np.r_[leads["responded_at"][responded], follow_times]
    lead_kinds = np.r_[first_kind, rng.choice([0, 1], size=len(follow), p=[0.45, 0.55])]

    lead_account = np.where(leads["has_account"], leads["account"], -1)
    frame = pd.DataFrame({
        "time": np.r_[times, lead_times],
        "rep": np.r_[deals["rep"][deal], leads["rep"][lead]],
        "type": np.r_[kinds, lead_kinds],
        "lead": np.r_[np.full(len(deal), -1), lead],
        "deal": np.r_[deal, np.full(len(lead), -1)],
        "account": np.r_[deals["account"][deal], lead_account[lead]],
    })
    return frame.sort_values(["time", "deal", "lead"], kind="stable", ignore_index=True)


def _busy_touches(rng, reps, deals, deal, times, kinds, rate, window_start, window_end):
    """Extra calls and emails on the deals of reps who work harder than their skill pays
    (``reps["activity"]`` above 1): more activity, not more wins. ``rng`` is a child of the
    sample's generator, so these draws leave every other table as it was."""
    extra_rate = rate * (reps["activity"][deals["rep"]] - 1)
    counts = rng.poisson(extra_rate * np.maximum(window_end - window_start, 0))
    extra = np.repeat(np.arange(len(counts)), counts)
    extra_times = window_start[extra] + rng.random(len(extra)) * (window_end - window_start)[extra]
    extra_times = np.clip(business_time(rng, extra_times), window_start[extra], window_end[extra])
    extra_kinds = rng.choice([0, 1], size=len(extra), p=[0.5, 0.5])  # calls and emails
    return np.r_[deal, extra], np.r_[times, extra_times], np.r_[kinds, extra_kinds]
