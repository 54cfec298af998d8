"""Small vectorised helpers the generator's steps share (no loops over rows)."""

import numpy as np
import pandas as pd


def choose_per_row(rng, weights_by_row):
    """One index per row, drawn from that row's weights (rows of a 2-D array)."""
    cumulative = np.cumsum(weights_by_row, axis=1)
    cumulative /= cumulative[:, -1:]
    draws = rng.random(len(cumulative))[:, None]
    return np.minimum((draws > cumulative).sum(axis=1), weights_by_row.shape[1] - 1)


def round_to(values, step):
    """Round to a multiple of ``step``, never below one step (no zero amounts)."""
    return np.maximum(np.round(values / step) * step, step)


def concat_columns(*parts):
    """Stack dicts of column arrays row-wise, keeping the columns every part has."""
    keys = [key for key in parts[0] if all(key in part for part in parts)]
    return {key: np.concatenate([part[key] for part in parts]) for key in keys}


def numbered_ids(prefix, count):
    """IDs like ``L000001``: the prefix and a zero-padded running number (at least six digits)."""
    width = max(6, len(str(count)))
    return (prefix + pd.Series(np.arange(1, count + 1)).astype(str).str.zfill(width)).array
