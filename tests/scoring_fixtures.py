"""Generated leads and deals with a known signal and a leaky column, for the scoring tests.

Leads: ``Company Size`` truly changes conversion (Large 50%, Mid 20%, Small 5%); ``Favourite
Colour`` is noise; ``Closing Note`` copies the outcome ("Signed" on converted leads, "Dropped"
on the others, empty while open): the leak the guard must catch. Deals: ``Competitor Present``
truly changes the win rate (yes 15%, no 55%); ``Loss Note`` is filled on lost deals only.

Each closed record's true probability is kept (``true_probability``), so a test can compute
the AUC the best possible score would reach on the same records, independently of the kit.

``python -m tests.scoring_fixtures`` writes ``tests/fixtures/dateless`` (the same generator,
without dates): the dateless fixture the notebooks run on.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

LEAD_RATES = {"Large": 0.5, "Mid": 0.2, "Small": 0.05}
DEAL_RATES = {"yes": 0.15, "no": 0.55}
SOURCES = ["Web", "Referral", "Event", "Partner"]
OPEN_SHARE = 0.15
DATELESS = Path(__file__).resolve().parent / "fixtures" / "dateless"


def leads(count: int = 1500, seed: int = 7, dated: bool = True) -> pd.DataFrame:
    """Leads (model columns and attributes) and ``true_probability`` (drop it before loading)."""
    rng = np.random.default_rng(seed)
    size = rng.choice(list(LEAD_RATES), count, p=[0.3, 0.4, 0.3])
    probability = np.array([LEAD_RATES[value] for value in size])
    converted = rng.random(count) < probability
    is_open = rng.random(count) < OPEN_SHARE
    status = np.where(is_open, "Working", np.where(converted, "Converted", "Disqualified"))
    frame = pd.DataFrame({
        "lead_id": [f"L{index:05d}" for index in range(count)],
        "source": rng.choice(SOURCES, count),
        "status": status,
        "opportunity_id": [f"OPP{index:05d}" if done and not still_open else None
                           for index, (done, still_open) in enumerate(zip(converted, is_open))],
        "Company Size": size,
        "Favourite Colour": rng.choice(["red", "green", "blue"], count),
        "Closing Note": np.where(is_open, None, np.where(converted, "Signed", "Dropped")),
        "true_probability": probability,
    })
    if dated:
        start = dt.datetime(2024, 1, 1)
        frame.insert(1, "created_at", [start + dt.timedelta(hours=int(hours))
                                       for hours in np.sort(rng.integers(0, 24 * 700, count))])
    return frame


def deals(count: int = 1200, seed: int = 11, dated: bool = True) -> pd.DataFrame:
    """Deals in the default playbook's stages, attributes, and ``true_probability``."""
    rng = np.random.default_rng(seed)
    competitor = rng.choice(list(DEAL_RATES), count, p=[0.4, 0.6])
    probability = np.array([DEAL_RATES[value] for value in competitor])
    won = rng.random(count) < probability
    is_open = rng.random(count) < OPEN_SHARE
    stage = np.where(is_open, rng.choice(["Qualification", "Discovery", "Proposal"], count),
                     np.where(won, "Closed Won", "Closed Lost"))
    frame = pd.DataFrame({
        "opportunity_id": [f"D{index:05d}" for index in range(count)],
        "source": rng.choice(SOURCES, count),
        "stage": stage,
        "Competitor Present": competitor,
        "Loss Note": np.where(stage == "Closed Lost", rng.choice(["price", "timing", "competitor"], count), None),
        "true_probability": probability,
    })
    if dated:
        start = dt.date(2024, 1, 1)
        created = [start + dt.timedelta(days=int(days)) for days in np.sort(rng.integers(0, 600, count))]
        frame.insert(1, "created_at", created)
        frame.insert(2, "close_date", [day + dt.timedelta(days=int(rng.integers(10, 90))) for day in created])
    return frame


def write_dateless(folder: Path = DATELESS) -> Path:
    """The dateless fixture: leads and deals without any date (a lead-scoring extract and a
    win/loss table), with their attributes."""
    folder.mkdir(parents=True, exist_ok=True)
    lead_rows = leads(600, seed=3, dated=False).drop(columns="true_probability")
    deal_rows = deals(400, seed=5, dated=False).drop(columns="true_probability")
    # The converted leads' deals are the first deals of the table (their IDs, their lead).
    linked = lead_rows["opportunity_id"].dropna()
    deal_rows.loc[: len(linked) - 1, "opportunity_id"] = linked.to_numpy()
    deal_rows.insert(1, "lead_id", None)
    deal_rows.loc[: len(linked) - 1, "lead_id"] = lead_rows.loc[linked.index, "lead_id"].to_numpy()
    lead_rows.to_csv(folder / "leads.csv", index=False, lineterminator="\n")
    deal_rows.to_csv(folder / "opportunities.csv", index=False, lineterminator="\n")
    return folder


def oracle_auc(outcome: np.ndarray, probability: np.ndarray) -> float:
    """The AUC of the true probabilities (ties count one half): what the best possible score
    reaches on these records. Rank formula (Mann-Whitney), written here, not the kit's."""
    ranks = pd.Series(probability).rank(method="average").to_numpy()
    positives = outcome == 1
    count_positive, count_negative = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - count_positive * (count_positive + 1) / 2) / (count_positive * count_negative))


if __name__ == "__main__":
    print(write_dateless())
