"""Tiny hand-made order datasets for the account metrics; each test works its numbers out by hand.

``orders_dataset(rows)`` builds a dataset with only ``orders`` (and ``accounts`` when given):
rows are (account_id, ordered_at, amount); order IDs are numbered in row order (O01, O02 ...).
"""

import pandas as pd

from salesnb.data.dataset import dataset_from_frames
from salesnb.data.periods import Period


def period(start: str, end: str) -> Period:
    return Period(pd.Timestamp(start).date(), pd.Timestamp(end).date())


def orders_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["account_id", "ordered_at", "amount"])
    frame.insert(0, "order_id", [f"O{index:02d}" for index in range(1, len(frame) + 1)])
    return frame


def orders_dataset(rows, accounts=None, config=None, strict=True):
    """A dataset of the given orders, with ``accounts`` rows (account_id, account_name, segment) if given.

    ``strict=False`` keeps rows the validator calls errors (e.g. an order without an amount,
    required today): the metrics must still count them right.
    """
    frames = {"orders": orders_frame(rows)}
    if accounts is not None:
        frames["accounts"] = pd.DataFrame(accounts, columns=["account_id", "account_name", "segment"])
    return dataset_from_frames(frames, config, strict=strict)
