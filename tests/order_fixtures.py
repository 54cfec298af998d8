"""Tiny hand-made order datasets for the account metrics; each test works its numbers out by hand.

``orders_dataset(rows)`` builds a dataset with only ``orders`` (and ``accounts`` when given):
rows are (account_id, ordered_at, amount) or (account_id, ordered_at, amount, product,
opportunity_id); order IDs are numbered in row order (O01, O02 ...).

``selection_dataset()`` adds deals and reps, for the selections (``where=``) of every
account metric; its rows are listed below, and each test works its numbers out from them.
"""

import pandas as pd

from salesnb.data.dataset import dataset_from_frames
from salesnb.data.periods import Period


def period(start: str, end: str) -> Period:
    return Period(pd.Timestamp(start).date(), pd.Timestamp(end).date())


def orders_frame(rows) -> pd.DataFrame:
    rows = [tuple(row) + (None,) * (5 - len(row)) for row in rows]
    frame = pd.DataFrame(rows, columns=["account_id", "ordered_at", "amount", "product", "opportunity_id"])
    frame = frame.drop(columns=[column for column in ("product", "opportunity_id") if frame[column].isna().all()])
    frame.insert(0, "order_id", [f"O{index:02d}" for index in range(1, len(frame) + 1)])
    return frame


def orders_dataset(rows, accounts=None, config=None, strict=True, **frames):
    """A dataset of the given orders, with ``accounts`` rows (account_id, account_name, segment[, region]) if given,
    and any other table as a frame (``opportunities=``, ``reps=``).

    ``strict=False`` keeps rows the validator calls errors (e.g. an order without an amount,
    required today): the metrics must still count them right.
    """
    frames = {"orders": orders_frame(rows), **frames}
    if accounts is not None:
        columns = ["account_id", "account_name", "segment", "region"][:len(accounts[0])]
        frames["accounts"] = pd.DataFrame(accounts, columns=columns)
    return dataset_from_frames(frames, config, strict=strict)


YEAR = period("2025-01-01", "2025-12-31")  # its previous period: 2024

# Reps R1 (team Alpha) and R2 (team Beta).
SELECTION_REPS = pd.DataFrame([("R1", "Ann", "Alpha"), ("R2", "Bo", "Beta")], columns=["rep_id", "rep_name", "team"])
# Accounts: A (SMB, East), B (SMB, West), C (Enterprise, East), D (Enterprise, West).
SELECTION_ACCOUNTS = [("A", "Acme", "SMB", "East"), ("B", "Bolt", "SMB", "West"),
                      ("C", "Cora", "Enterprise", "East"), ("D", "Dyna", "Enterprise", "West")]
# Deals: D1 A/R1/Web, D2 B/R2/Referral, D3 C/R1/Referral, D4 D/R2/Web.
SELECTION_DEALS = pd.DataFrame([
    ("D1", "A", "R1", "Web", "Closed Won"), ("D2", "B", "R2", "Referral", "Closed Won"),
    ("D3", "C", "R1", "Referral", "Closed Won"), ("D4", "D", "R2", "Web", "Closed Won"),
], columns=["opportunity_id", "account_id", "rep_id", "source", "stage"])
# Orders (account, day, amount, product, deal); those without a deal are repeat orders placed directly.
SELECTION_ORDERS = [
    ("A", "2025-02-01", 100.0, "Widget", "D1"),  # O01
    ("A", "2025-03-01", 50.0, "Gadget", None),  # O02
    ("A", "2025-06-01", 70.0, "Widget", None),  # O03
    ("B", "2025-04-01", 200.0, "Widget", "D2"),  # O04
    ("B", "2025-04-01", 30.0, "Gadget", "D2"),  # O05: same day as O04
    ("C", "2024-06-01", 500.0, "Gadget", "D3"),  # O06
    ("C", "2025-05-01", 400.0, "Gadget", None),  # O07
    ("D", "2025-09-01", 80.0, "Widget", "D4"),  # O08
]


def selection_dataset():
    return orders_dataset(SELECTION_ORDERS, SELECTION_ACCOUNTS, opportunities=SELECTION_DEALS, reps=SELECTION_REPS)
