"""The leakage guard: columns filled in or decided after the outcome, found before a model learns from them.

A column filled in once the outcome is known (a loss reason; a status note such as "Closed by
competitor"; the CRM's probability, set to 0 or 1 when a deal closes; an amount the CRM blanks
when a deal is lost) makes a model look perfect and predict nothing: on the open records it is
empty or different. Before a score is learned, every candidate column is compared on the closed
records (the training data, whose outcome is known) and the open ones (what will be scored),
and flagged when (docs/metrics.md#scoring-leakage):

1. ``filled after``: it is filled on at least ``FILL_GAP`` more of the closed records than of the
   open ones (a loss reason on 92% of closed deals and on no open deal);
2. ``outcome values``: some of its values (a category, a frequent number such as 0 or 1, a
   range of numbers, or *empty*) are almost only one outcome (``PURE_SHARE``, each on at least
   ``MIN_VALUE_ROWS`` records) and hold together at least ``OUTCOME_VALUES_SHARE`` of the
   closed records: a value this pure on this many records is usually written when the outcome
   is decided (the probability set to 0 or 1 at closing; an account matched to a lead only
   when it converts, so *empty* means "never converted");
3. ``perfect alone``: on its own it separates the outcomes almost perfectly out of sample (the
   AUC of each record's value scored by its outcome rate on the other folds is at least
   ``PERFECT_AUC``; a real single attribute rarely passes 0.8).

Check 1 needs open records (at least ``MIN_OPEN``): without any (a win/loss table) checks 2
and 3 apply. A column filled later in a record's life (a first-response time: every closed lead
was answered or not, while fresh open leads are not yet) fails check 1 too, rightly: on open
records its absence means "not yet", on closed ones "never", and a model would read one as the
other. A flagged column is left out of the model by default, with its sentence; the
user can force it in. Everything here works on small pandas frames the scoring module built.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.metrics.catalogue import Measure, declare

FILL_GAP = 0.5
OUTCOME_VALUES_SHARE = 0.10
PURE_SHARE = 0.98
MIN_VALUE_ROWS = 20
PERFECT_AUC = 0.95
MIN_OPEN = 20
# Numbers are grouped for the checks (and for the drivers a report names): a value held by at
# least FREQUENT_VALUE_SHARE of the closed records is a group of its own (0 and 1 of a
# probability), the others fall in NUMBER_BINS ranges of equal counts.
FREQUENT_VALUE_SHARE = 0.05
NUMBER_BINS = 5
EMPTY = "(empty)"
FOLDS = 5

NUMBER, CATEGORY = "number", "category"

declare(
    Measure("suspect_column", "Column", "text", "A column the leakage guard flagged (filled or decided after the "
            "outcome)."),
    Measure("leak_check", "Check", "text", "Which leakage check flagged it: filled after, outcome values or "
            "perfect alone."),
    Measure("why", "Why", "text", "What the leakage guard saw, in numbers."),
    Measure("auc_alone", "AUC alone", "number", "AUC of the column on its own, out of fold (0.5: no information, 1: "
            "separates the outcomes perfectly)", section="scoring-leakage"),
    Measure("filled_closed", "Filled (closed)", "percent", "Share of the closed records with a value in the column",
            section="scoring-leakage"),
    Measure("filled_open", "Filled (open)", "percent", "Share of the open records with a value in the column",
            section="scoring-leakage"),
    Measure("left_out_of_model", "Left out of the model", "flag", "Whether the column is left out of the model (forced in: no)."),
)

SUSPECT_COLUMNS = ["suspect_column", "leak_check", "why", "auc_alone", "filled_closed", "filled_open", "left_out_of_model"]


def number_groups(closed: pd.Series) -> tuple[list[float], np.ndarray]:
    """How a number column is grouped: (its frequent values, the edges of the ranges of the
    others), both from the closed records."""
    values = pd.to_numeric(closed, errors="coerce").dropna()
    if values.empty:
        return [], np.array([])
    shares = values.value_counts(normalize=True)
    frequent = sorted(float(value) for value in shares[shares >= FREQUENT_VALUE_SHARE].index)
    rest = values[~values.isin(frequent)]
    edges = np.unique(np.quantile(rest, np.linspace(0, 1, NUMBER_BINS + 1))) if len(rest) else np.array([])
    return frequent, edges


def category_texts(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A category column as (each record's position in the texts, the texts): ``str`` of each
    distinct value, then :data:`EMPTY`, the position of every empty record. Each distinct
    value is turned into text once (a hash pass), not each of millions of records."""
    codes, uniques = pd.factorize(series)
    texts = np.array([str(value) for value in uniques] + [EMPTY], dtype=object)
    return np.where(codes < 0, len(uniques), codes), texts


def levels(series: pd.Series, kind: str, groups=None) -> pd.Series:
    """Each value's group, as text: a category's value; a number's frequent value (``= 0``) or
    range (``0.5 – 2``, :func:`number_groups`); :data:`EMPTY` where there is none."""
    if kind == CATEGORY:
        positions, texts = category_texts(series)
        return pd.Series(texts[positions], index=series.index)
    frequent, edges = groups if groups is not None else number_groups(series)
    numbers = pd.to_numeric(series, errors="coerce")
    result = pd.Series(EMPTY, index=series.index, dtype=object)
    for value in frequent:
        result[numbers == value] = f"= {value:g}"
    rest = numbers.notna() & ~numbers.isin(frequent)
    if rest.any() and len(edges) >= 2:
        inner = np.clip(np.searchsorted(edges, numbers[rest], side="right") - 1, 0, len(edges) - 2)
        labels = np.array([f"{edges[index]:,.3g} – {edges[index + 1]:,.3g}" for index in range(len(edges) - 1)],
                          dtype=object)
        result[rest] = labels[inner]
    elif rest.any():
        result[rest] = "other"
    return result


def auc_alone(level: pd.Series, outcome: pd.Series, seed: int = 42) -> float | None:
    """AUC of one column on its own, out of fold: each closed record is scored by the outcome
    rate of its group on the other folds (shrunk towards the overall rate by 10 records). None
    with a single outcome."""
    from sklearn.metrics import roc_auc_score

    outcome = outcome.astype(int).to_numpy()
    if outcome.min() == outcome.max():
        return None
    folds = np.random.default_rng(seed).integers(0, FOLDS, len(outcome))
    scores = np.empty(len(outcome))
    # Groups as integer codes, counted with bincount: the same sums and counts as a group-by,
    # without hashing millions of texts once per fold.
    codes, uniques = pd.factorize(level.to_numpy(), use_na_sentinel=False)
    for fold in range(FOLDS):
        train, test = folds != fold, folds == fold
        if not test.any():
            continue
        base = outcome[train].mean() if train.any() else outcome.mean()
        count = np.bincount(codes[train], minlength=len(uniques))
        positives = np.bincount(codes[train], weights=outcome[train], minlength=len(uniques))
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(count > 0, (positives + 10 * base) / (count + 10), base)  # a group unseen in training: the base
        scores[test] = rates[codes[test]]
    return float(roc_auc_score(outcome, scores))


def check_column(name: str, values: pd.Series, kind: str, outcome: pd.Series, *, noun: str,
                 outcomes: tuple[str, str], seed: int = 42) -> dict | None:
    """The leakage guard's finding for one column (a row of :data:`SUSPECT_COLUMNS`), or None.

    ``values`` holds the column for every record, ``outcome`` 1 / 0 for closed records and NaN
    for open ones; ``noun`` names the records ("deals") and ``outcomes`` the two outcomes
    ("won", "lost"), for the sentence."""
    closed_mask = outcome.notna()
    closed, open_ = values[closed_mask], values[~closed_mask]
    known = outcome[closed_mask].astype(int)
    if closed.empty:
        return None
    groups = number_groups(closed) if kind == NUMBER else None
    closed_levels = levels(closed, kind, groups)
    alone = auc_alone(closed_levels, known, seed)
    filled_closed = float(closed.notna().mean())
    filled_open = float(open_.notna().mean()) if len(open_) else None
    finding = {"suspect_column": name, "auc_alone": alone, "filled_closed": filled_closed, "filled_open": filled_open,
               "left_out_of_model": True}
    if len(open_) >= MIN_OPEN and filled_closed - filled_open >= FILL_GAP:
        return {**finding, "leak_check": "filled after",
                "why": f"filled on {filled_closed:.0%} of closed {noun}, {filled_open:.0%} of open ones"}
    table = pd.DataFrame({"level": closed_levels.to_numpy(), "outcome": known.to_numpy()})
    stats = table.groupby("level")["outcome"].agg(["sum", "count"])
    stats["purity"] = np.maximum(stats["sum"], stats["count"] - stats["sum"]) / stats["count"]
    pure = stats[(stats["count"] >= MIN_VALUE_ROWS) & (stats["purity"] >= PURE_SHARE)]
    if pure["count"].sum() >= OUTCOME_VALUES_SHARE * len(table):
        open_share = levels(open_, kind, groups).value_counts(normalize=True) if len(open_) else pd.Series(dtype=float)
        pure = pure.sort_values("count", ascending=False)
        shown = "; ".join(
            f"{_value_words(level)} on {int(row['count']):,} closed {noun}, {row['purity']:.0%} "
            f"{outcomes[0] if row['sum'] * 2 >= row['count'] else outcomes[1]}"
            + (f" ({open_share.get(level, 0.0):.0%} of open ones)" if len(open_) else "")
            for level, row in pure.head(2).iterrows())
        return {**finding, "leak_check": "outcome values", "why": shown}
    if alone is not None and alone >= PERFECT_AUC:
        return {**finding, "leak_check": "perfect alone",
                "why": f"alone it separates {outcomes[0]} from {outcomes[1]} {noun} (AUC {alone:.2f})"}
    return None


def _value_words(level: str) -> str:
    return "empty" if level == EMPTY else f"'{level}'" if not level.startswith("= ") else level[2:]


def suspects(frame: pd.DataFrame, kinds: dict[str, str], outcome: pd.Series, *, noun: str,
             outcomes: tuple[str, str], forced=(), seed: int = 42) -> pd.DataFrame:
    """Every column of ``frame`` (with its kind in ``kinds``) the guard flags, one row each
    (:data:`SUSPECT_COLUMNS`), in ``kinds``' order; ``left_out_of_model`` is False for the ``forced`` ones."""
    rows = []
    for name, kind in kinds.items():
        finding = check_column(name, frame[name], kind, outcome, noun=noun, outcomes=outcomes, seed=seed)
        if finding is not None:
            rows.append({**finding, "left_out_of_model": name not in set(forced)})
    return pd.DataFrame(rows, columns=SUSPECT_COLUMNS)
