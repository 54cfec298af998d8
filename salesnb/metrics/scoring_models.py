"""Learning a score and testing it out of sample (scikit-learn, seeded and deterministic).

The two models (``MODELS``): a regularised logistic regression (numbers on a signed log scale,
imputed with their median and a "was empty" indicator, standardised; categories one-hot, values
on fewer than ``MIN_LEVEL_ROWS`` closed records grouped) and a gradient-boosted model
(``HistGradientBoostingClassifier``: categories as categories, empty values as a branch of their
own). Both are tested on the same folds; the one with the higher out-of-sample AUC is chosen
(a tie: the logistic regression, the simpler one).

Out of sample or it did not happen (docs/metrics.md#scoring-quality):

- with dates, **out of time**: the closed records are cut by date into ``TIME_BLOCKS`` blocks of
  equal counts; fold k learns from the blocks before block k and is tested on block k, so every
  test record is later than every record its model learned from;
- without dates, **stratified k-fold** (``K_FOLDS``), the records of one group (a deal's stage
  rows) kept in one fold.

The baseline a manager already has is tested on the same folds: each test record scored by the
outcome rate of its baseline group (a lead's source, a deal's stage) on the training folds.
Records beyond ``MAX_TRAINING_EXAMPLES`` are left out of the test and the training (a seeded
sample of whole groups), so the large sample trains in seconds. Categories reach the models as
integer codes (:func:`matrix`), and records are scored ``SCORING_CHUNK`` at a time (:func:`scored`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesnb.metrics.leakage import CATEGORY, EMPTY, NUMBER, category_texts, levels, number_groups

LOGISTIC, BOOSTED = "logistic regression", "gradient boosting"
MODELS = (LOGISTIC, BOOSTED)
OUT_OF_TIME, K_FOLD = "out of time", "k-fold"
TIME_BLOCKS = 5  # 4 out-of-time folds
K_FOLDS = 5
MAX_TRAINING_EXAMPLES = 100_000
# Below these, no score is learned: too few closed records (or too few of one outcome) to test one.
MIN_EXAMPLES = 100
MIN_PER_CLASS = 20
# A fold is kept when its training holds this many of each outcome and its test this many.
MIN_FOLD_TRAIN_PER_CLASS = 10
MIN_FOLD_TEST_PER_CLASS = 5
MIN_LEVEL_ROWS = 20
# A category with more distinct values than this, whose values held by MIN_LEVEL_ROWS records
# cover less than half of its filled records, is an ID or free text: not learned from.
MAX_LEVELS = 50
BASELINE_SMOOTHING = 10  # a baseline group's rate is shrunk towards the overall rate by this many records
DECILES = 10
PERMUTATION_ROWS = 20_000
SCORING_CHUNK = 200_000
PERMUTATION_REPEATS = 3
# What drives the score: at most TOP_DRIVERS columns, each with a value held by MIN_DRIVER_ROWS
# closed records; a record's reasons are its REASONS strongest values among them.
TOP_DRIVERS = 8
MIN_IMPORTANCE = 0.005  # half a point of AUC: columns below it hardly move the score
MIN_DRIVER_ROWS = 30
MIN_DRIVER_LIFT = 1.15  # a strongest value within 1/1.15 .. 1.15 of the average is "about the average"
REASONS = 2
MIN_REASON_LIFT = 1.1


def one_thread():
    """Run scikit-learn's native code (OpenMP, BLAS) on one thread. Gradient boosting's OpenMP
    threads wait for each other at every tree node: on the 2-core machine shared with other work,
    learning the sample's lead score took 29 to 129 s with the default threads and 4 to 6 s on one
    thread, with the same scores (timed by hand while building issue 19; no benchmark script yet)."""
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime: a runtime loaded later is not limited)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _signed_log(values):
    return np.sign(values) * np.log1p(np.abs(values))


def build_model(name: str, numbers: list[str], categories: list[str], seed: int):
    """An unfitted pipeline of model ``name`` over the ``numbers`` and ``categories`` columns."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

    # Categories arrive as integer codes (:func:`matrix`): a value's code is its rank among the
    # learning records' values, "empty" included, so the encoders see the same categories in
    # the same order as they would the texts, and compare integers instead of millions of texts.
    if name == LOGISTIC:
        parts = []
        if numbers:
            parts.append(("numbers", Pipeline([
                ("log", FunctionTransformer(_signed_log)),
                ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                ("scale", StandardScaler())]), numbers))
        if categories:
            parts.append(("categories", OneHotEncoder(handle_unknown="infrequent_if_exist",
                                                      min_frequency=MIN_LEVEL_ROWS), categories))
        return Pipeline([("prepare", ColumnTransformer(parts)),
                         ("model", LogisticRegression(C=1.0, max_iter=2000))])
    parts = []
    if categories:
        parts.append(("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                                   min_frequency=MIN_LEVEL_ROWS, max_categories=250), categories))
    if numbers:
        parts.append(("numbers", "passthrough", numbers))
    return Pipeline([
        ("prepare", ColumnTransformer(parts)),
        ("model", HistGradientBoostingClassifier(
            categorical_features=[True] * len(categories) + [False] * len(numbers), max_iter=150,
            learning_rate=0.08, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0,
            early_stopping=False, random_state=seed))])


def fitted(model, features: pd.DataFrame, outcome: np.ndarray):
    with warnings.catch_warnings():  # a slow convergence is not the reader's problem: the test says how good it is
        warnings.simplefilter("ignore")
        return model.fit(features, outcome)


def predicted(model, features: pd.DataFrame) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.predict_proba(features)[:, 1]


def scored(model, frame: pd.DataFrame, numbers: list[str], categories: list[str],
           vocabulary: dict[str, pd.Index]) -> np.ndarray:
    """The model's score of every record of ``frame``, ``SCORING_CHUNK`` records at a time (the
    input of millions of records at once would be a copy of them all; a record's score does not
    depend on the others in its chunk)."""
    parts = [predicted(model, matrix(frame.iloc[start:start + SCORING_CHUNK], numbers, categories, vocabulary))
             for start in range(0, len(frame), SCORING_CHUNK)]
    return np.concatenate(parts) if parts else np.array([], dtype="float64")


def usable_features(frame: pd.DataFrame, kinds: dict[str, str], closed: np.ndarray,
                    of_what: str = "") -> tuple[list[str], list[dict]]:
    """The candidate columns a model can learn from, and why each other one cannot (rows of
    ``column``, ``why``): filled on fewer than ``MIN_LEVEL_ROWS`` closed records, the same value
    on every closed record, or an ID or free text (see ``MAX_LEVELS``). ``of_what`` follows
    "closed records" in the reasons (" of the learning sample" when judged on a sample)."""
    usable, unusable = [], []
    for name, kind in kinds.items():
        values = frame.loc[closed, name]
        filled = int(values.notna().sum())
        if filled < MIN_LEVEL_ROWS:
            unusable.append({"column": name, "why": f"filled on only {filled:,} closed records{of_what}"})
            continue
        distinct = values.nunique(dropna=True)
        if distinct <= 1 and filled == len(values):
            unusable.append({"column": name, "why": f"the same value on every closed record{of_what}"})
            continue
        if kind == CATEGORY and distinct > MAX_LEVELS:
            counts = values.value_counts()
            if counts[counts >= MIN_LEVEL_ROWS].sum() < filled / 2:
                unusable.append({"column": name, "why": f"{distinct:,} different values, most of them rare: an ID or "
                                                        "free text, which a score should not learn"})
                continue
        usable.append(name)
    return usable, unusable


UNKNOWN_CODE = -1  # a category value none of the learning records has


def category_vocabulary(frame: pd.DataFrame, categories: list[str]) -> dict[str, pd.Index]:
    """Each category column's values on ``frame`` (the learning records) as texts, sorted, with
    :data:`EMPTY` for an empty value: what a value's code (:func:`matrix`) is the rank in."""
    vocabulary = {}
    for name in categories:
        positions, texts = category_texts(frame[name])
        vocabulary[name] = pd.Index(sorted(set(texts[np.unique(positions)])))  # the texts the records hold
    return vocabulary


def matrix(frame: pd.DataFrame, numbers: list[str], categories: list[str],
           vocabulary: dict[str, pd.Index]) -> pd.DataFrame:
    """The model's input: numbers as floats, each category as the code of its text in
    ``vocabulary`` (:func:`category_vocabulary`; :data:`UNKNOWN_CODE` for a value not in them)."""
    columns = {name: pd.to_numeric(frame[name], errors="coerce").astype("float64") for name in numbers}
    for name in categories:
        positions, texts = category_texts(frame[name])
        ranks = vocabulary[name].get_indexer(pd.Index(texts, dtype=object))  # each distinct value looked up once
        columns[name] = ranks[positions].astype("int64")
    return pd.DataFrame(columns, index=frame.index)[[*numbers, *categories]]


def folds(dates: pd.Series | None, outcome: np.ndarray, groups: np.ndarray, seed: int) -> tuple[list, str]:
    """The (training positions, test positions) of each fold and the method: out of time over
    ``dates`` when at least ``TIME_BLOCKS`` - 2 folds hold both outcomes, else stratified k-fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    if dates is not None:
        days = pd.to_datetime(dates, errors="coerce")
        dated = days.notna().to_numpy()
        if dated.sum() >= MIN_EXAMPLES:
            ordinal = days.to_numpy(dtype="datetime64[D]").astype("int64")
            cuts = np.quantile(ordinal[dated], np.linspace(0, 1, TIME_BLOCKS + 1)[1:-1])
            block = np.where(dated, np.searchsorted(cuts, ordinal, side="right"), -1)
            chosen = []
            for index in range(1, TIME_BLOCKS):
                train = np.flatnonzero(dated & (block < index) & (block >= 0))
                test = np.flatnonzero(block == index)
                if _both(outcome[train], MIN_FOLD_TRAIN_PER_CLASS) and _both(outcome[test], MIN_FOLD_TEST_PER_CLASS):
                    chosen.append((train, test))
            if len(chosen) >= TIME_BLOCKS - 2:
                return chosen, OUT_OF_TIME
    splitter = StratifiedGroupKFold(n_splits=K_FOLDS, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(outcome)), outcome, groups)), K_FOLD


def _both(outcome: np.ndarray, least: int) -> bool:
    return int(outcome.sum()) >= least and int(len(outcome) - outcome.sum()) >= least


def baseline_scores(train_groups: pd.Series, train_outcome: np.ndarray, test_groups: pd.Series) -> np.ndarray:
    """Each test record scored by its group's outcome rate on the training records, shrunk
    towards the overall rate by ``BASELINE_SMOOTHING`` records (an unseen group: the overall rate)."""
    base = float(train_outcome.mean())
    table = pd.DataFrame({"group": train_groups.astype(object).fillna(EMPTY).to_numpy(), "outcome": train_outcome})
    counts = table.groupby("group")["outcome"].agg(["sum", "count"])
    rates = (counts["sum"] + BASELINE_SMOOTHING * base) / (counts["count"] + BASELINE_SMOOTHING)
    return test_groups.astype(object).fillna(EMPTY).map(rates).fillna(base).to_numpy(dtype="float64")


@dataclass
class Evaluation:
    """What the out-of-sample test found (see the module docstring)."""

    method: str
    folds: int
    tested: np.ndarray  # positions (in the examples) of the records scored out of sample
    scores: dict[str, np.ndarray]  # model (and "baseline") -> out-of-sample score of each tested record
    auc: dict[str, float | None]
    chosen: str
    last_model: object = None  # the chosen model of the last fold, with its test positions:
    last_test: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))  # what drivers are measured on


def evaluate(features: pd.DataFrame, outcome: np.ndarray, groups: np.ndarray, dates: pd.Series | None,
             baseline: pd.Series | None, numbers: list[str], categories: list[str], seed: int) -> Evaluation:
    """Both models (and the baseline, when there is one) tested on the same folds."""
    from sklearn.metrics import roc_auc_score

    splits, method = folds(dates, outcome, groups, seed)
    scores = {name: np.full(len(outcome), np.nan) for name in MODELS}
    if baseline is not None:
        scores["baseline"] = np.full(len(outcome), np.nan)
    last = {}
    for train, test in splits:
        for name in MODELS:
            model = fitted(build_model(name, numbers, categories, seed), features.iloc[train], outcome[train])
            scores[name][test] = predicted(model, features.iloc[test])
            last[name] = model
        if baseline is not None:
            scores["baseline"][test] = baseline_scores(baseline.iloc[train], outcome[train], baseline.iloc[test])
    tested = np.flatnonzero(~np.isnan(scores[MODELS[0]]))
    auc = {name: float(roc_auc_score(outcome[tested], values[tested])) for name, values in scores.items()}
    chosen = max(MODELS, key=lambda name: (round(auc[name], 6), name == LOGISTIC))
    return Evaluation(method, len(splits), tested, {name: values[tested] for name, values in scores.items()}, auc,
                      chosen, last.get(chosen), splits[-1][1])


def decile_thresholds(scores: np.ndarray) -> np.ndarray:
    """The scores that cut the out-of-sample records into ``DECILES`` groups of equal counts."""
    return np.quantile(scores, np.linspace(0, 1, DECILES + 1)[1:-1])


def decile_of(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """1 (lowest scores) .. 10 (highest): the decile a score falls in, by the out-of-sample thresholds."""
    return np.clip(np.searchsorted(thresholds, scores, side="right") + 1, 1, DECILES).astype("int64")


def lift_table(deciles: np.ndarray, scores: np.ndarray, outcome: np.ndarray) -> pd.DataFrame:
    """Per decile of the out-of-sample records: ``records``, ``positives``, ``observed_rate``
    (positives ÷ records), ``predicted_rate`` (mean score) and ``lift`` (observed rate ÷ base rate)."""
    frame = pd.DataFrame({"decile": deciles, "score": scores, "outcome": outcome})
    table = frame.groupby("decile").agg(records=("outcome", "size"), positives=("outcome", "sum"),
                                        predicted_rate=("score", "mean"))
    table = table.reindex(range(1, DECILES + 1)).fillna({"records": 0, "positives": 0}).reset_index()
    table[["records", "positives"]] = table[["records", "positives"]].astype("int64")
    table["observed_rate"] = (table["positives"] / table["records"]).where(table["records"] > 0)
    base = outcome.mean()
    table["lift"] = table["observed_rate"] / base if base else np.nan
    return table[["decile", "records", "positives", "observed_rate", "predicted_rate", "lift"]]


def importances(evaluation: Evaluation, features: pd.DataFrame, outcome: np.ndarray, seed: int) -> pd.Series:
    """How much the chosen model's AUC falls when a column is shuffled (permutation importance),
    on the last fold's test records (at most ``PERMUTATION_ROWS``): column -> AUC points."""
    from sklearn.inspection import permutation_importance

    test = evaluation.last_test
    if evaluation.last_model is None or len(test) == 0 or len(set(outcome[test])) < 2:
        return pd.Series(0.0, index=features.columns)
    if len(test) > PERMUTATION_ROWS:
        test = np.sort(np.random.default_rng(seed).choice(test, PERMUTATION_ROWS, replace=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = permutation_importance(evaluation.last_model, features.iloc[test], outcome[test], scoring="roc_auc",
                                        n_repeats=PERMUTATION_REPEATS, random_state=seed)
    return pd.Series(result.importances_mean, index=features.columns)


@dataclass
class LevelLifts:
    """Per column: how its values are grouped (numbers) and each group's outcome rate ÷ the base rate."""

    groups: dict  # column -> number groups (leakage.number_groups), numbers only
    lifts: dict  # column -> DataFrame(level, records, rate, lift)


def level_lifts(frame: pd.DataFrame, kinds: dict[str, str], columns: list[str], outcome: np.ndarray) -> LevelLifts:
    """The outcome rate of each value group of ``columns`` over the closed records of ``frame``
    (``outcome`` 1 / 0), and its lift over the base rate; groups on fewer than
    ``MIN_DRIVER_ROWS`` records are left out."""
    base = outcome.mean()
    groups, lifts = {}, {}
    for column in columns:
        kind = kinds[column]
        if kind == NUMBER:
            groups[column] = number_groups(frame[column])
        level = levels(frame[column], kind, groups.get(column))
        table = pd.DataFrame({"level": level.to_numpy(), "outcome": outcome}).groupby("level")["outcome"]
        stats = table.agg(records="size", positives="sum").reset_index()
        stats = stats[stats["records"] >= MIN_DRIVER_ROWS].copy()
        stats["rate"] = stats["positives"] / stats["records"]
        stats["lift"] = stats["rate"] / base if base else np.nan
        lifts[column] = stats.reset_index(drop=True)
    return LevelLifts(groups, lifts)


def record_lifts(frame: pd.DataFrame, kinds: dict[str, str], columns: list[str], lifts: LevelLifts) -> pd.DataFrame:
    """Each record's value group of every column and that group's lift (1 where unknown):
    columns ``<column>`` (the group) and ``<column> lift``."""
    result = {}
    for column in columns:
        level = levels(frame[column], kinds[column], lifts.groups.get(column))
        table = lifts.lifts[column].set_index("level")["lift"]
        result[column] = level.to_numpy()
        result[f"{column} lift"] = level.map(table).fillna(1.0).to_numpy(dtype="float64")
    return pd.DataFrame(result, index=frame.index)


def reasons(values: pd.DataFrame, columns: list[str], labels: dict[str, str], scores: np.ndarray,
            base_rate: float) -> list[str]:
    """Each record's top ``REASONS``: its value groups whose lift points the way its score does
    (above the base rate: lifts above ``MIN_REASON_LIFT``; below it: lifts below its inverse),
    strongest first, as "source Referral (2.3x)"."""
    if not columns or values.empty:
        return [""] * len(values)
    lift = values[[f"{column} lift" for column in columns]].to_numpy(dtype="float64")
    direction = np.where(scores >= base_rate, 1.0, -1.0)[:, None]
    strength = np.log(np.clip(lift, 1e-9, None)) * direction
    order = np.argsort(-strength, axis=1, kind="stable")[:, :REASONS]
    level = values[columns].to_numpy(dtype=object)
    threshold = np.log(MIN_REASON_LIFT)
    texts = []
    for row in range(len(values)):
        parts = [f"{labels[columns[index]]} {level_words(level[row, index])} ({lift[row, index]:.1f}x)"
                 for index in order[row] if strength[row, index] >= threshold]
        texts.append("; ".join(parts))
    return texts


def level_words(level: str) -> str:
    """A value group as a sentence writes it ("empty", "0", "0.5 – 2")."""
    return "empty" if level == EMPTY else level[2:] if level.startswith("= ") else level
