"""Opportunity history, derived from the deals' stage walk, and each deal's current state
taken from its last history row (so the two tables always agree)."""

import numpy as np
import pandas as pd

from salesnb.data.sample.arrays import concat_columns
from salesnb.data.sample.timeline import SNAPSHOT


def make_history(deals):
    """One row per state change, and each deal's current state (its last row).

    Rows: the first stage at creation (with the planned close date), each later stage
    entered, each close-date push, and the close. Events after the snapshot are dropped.
    """
    n = len(deals["account"])
    index = np.arange(n)
    parts = []
    # Stage entries (the creation row is the entry of the start stage).
    rows, stages = np.nonzero(~np.isnan(deals["entered"]))
    times = deals["entered"][rows, stages]
    keep = times <= SNAPSHOT
    rows, stages, times = rows[keep], stages[keep], times[keep]
    is_first = stages == deals["start"][rows]
    parts.append(dict(
        deal=rows, time=times, order=np.zeros(len(rows)), stage=stages.astype(float),
        amount=deals["amount_by_stage"][rows, stages],
        close=np.where(is_first, deals["expected"][rows, 0], np.nan),
    ))
    # Close-date pushes: the stage is carried forward from the previous row.
    rows, pushes = np.nonzero(~np.isnan(deals["pushes"]))
    parts.append(dict(
        deal=rows, time=deals["pushes"][rows, pushes], order=np.ones(len(rows)), stage=np.full(len(rows), np.nan),
        amount=np.full(len(rows), np.nan), close=deals["expected"][rows, pushes + 1],
    ))
    # The close, if it happened by the snapshot.
    closed = index[deals["closed_at"] <= SNAPSHOT]
    amount = np.where(deals["amount_empty"][closed], -1.0, deals["amount_final"][closed])  # -1 marks empty
    parts.append(dict(
        deal=closed, time=deals["closed_at"][closed], order=np.full(len(closed), 2.0),
        stage=deals["outcome"][closed].astype(float), amount=amount, close=np.floor(deals["closed_at"][closed]),
    ))
    events = pd.DataFrame(concat_columns(*parts))
    events = events.sort_values(["deal", "time", "order"], kind="stable", ignore_index=True)
    filled = events.groupby("deal", sort=False)[["stage", "amount", "close"]].ffill()
    events[["stage", "amount", "close"]] = filled
    events.loc[events["amount"] < 0, "amount"] = np.nan
    # Distinct, increasing whole-second timestamps within each deal.
    # (t'_i = i + running max of t_j - j within the deal, so t'_i >= t_i and t'_i > t'_(i-1).)
    seconds = np.floor(events["time"].to_numpy() * 86400).astype(np.int64)
    position = np.arange(len(events), dtype=np.int64)
    running = pd.Series(seconds - position).groupby(events["deal"].to_numpy(), sort=False).cummax()
    events["seconds"] = running.to_numpy() + position
    events["stage"] = events["stage"].astype(np.int64)
    current = events.groupby("deal", sort=False).tail(1).set_index("deal").sort_index()
    last_change = events.groupby("deal", sort=False)["time"].max().sort_index().to_numpy()
    return events, {
        "stage": current["stage"].to_numpy(), "amount": current["amount"].to_numpy(),
        "close": current["close"].to_numpy(), "last_change": last_change,
    }
