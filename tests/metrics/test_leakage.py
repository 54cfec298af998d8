"""The leakage guard on tiny frames whose verdicts are worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from salesnb.metrics import leakage
from salesnb.metrics.leakage import CATEGORY, EMPTY, NUMBER


def outcomes(won: int, lost: int, open_: int) -> pd.Series:
    return pd.Series([1.0] * won + [0.0] * lost + [np.nan] * open_)


def check(values, kind, outcome):
    return leakage.check_column("x", pd.Series(values), kind, outcome, noun="deals", outcomes=("won", "lost"))


def test_a_column_filled_on_closed_records_only_is_filled_after():
    # 30 won (empty), 30 lost (a reason), 30 open (empty): filled on 50% of closed, 0% of open -> gap 0.5
    outcome = outcomes(30, 30, 30)
    found = check([None] * 30 + ["price"] * 30 + [None] * 30, CATEGORY, outcome)
    assert found["leak_check"] == "filled after"
    assert (found["filled_closed"], found["filled_open"]) == (0.5, 0.0)
    assert found["why"] == "filled on 50% of closed deals, 0% of open ones"
    # 29 of 60 closed (48%) against none open: below the gap of 0.5, and neither value is pure on 20+ rows
    mixed = [None] * 15 + ["a"] * 15 + ["a"] * 14 + [None] * 16 + [None] * 30
    assert check(mixed, CATEGORY, outcome) is None


def test_near_pure_values_on_a_tenth_of_the_closed_records_are_outcome_values():
    # Probability 0 on the 40 lost, 1 on the 20 won, 0.3 on the open: both values pure and frequent.
    outcome = outcomes(20, 40, 30)
    found = check([1.0] * 20 + [0.0] * 40 + [0.3] * 30, NUMBER, outcome)
    assert found["leak_check"] == "outcome values"
    assert found["why"] == "0 on 40 closed deals, 100% lost (0% of open ones); 1 on 20 closed deals, 100% won (0% of open ones)"


def test_a_pure_value_on_fewer_than_a_tenth_of_the_closed_records_is_not_flagged():
    # 'x' on 20 lost deals (pure, but 20 of 300 closed = 6.7% < 10%); the rest mixed.
    rng = np.random.default_rng(0)
    outcome = outcomes(140, 160, 0)
    values = np.where(rng.random(300) < 0.5, "a", "b").astype(object)
    values[140:160] = "x"
    assert check(list(values), CATEGORY, outcome) is None


def test_a_column_that_alone_separates_the_outcomes_without_open_records():
    # No open record (a win/loss table): 19 won deals 'A', 10 lost 'B', 10 lost 'C'. No value is on
    # 20+ records, so none is an "outcome value"; scored by its value's rate on the other folds,
    # every won deal outranks every lost one: AUC 1.0 -> perfect alone.
    found = check(["A"] * 19 + ["B"] * 10 + ["C"] * 10, CATEGORY, outcomes(19, 20, 0))
    assert found["leak_check"] == "perfect alone"
    assert found["auc_alone"] == pytest.approx(1.0)
    assert found["filled_open"] is None


def test_levels_group_numbers_by_frequent_values_and_ranges():
    # 0 on 10 of 30 values (frequent: at least 5%); 1..20 once each (3.3%) in 5 ranges of equal counts.
    closed = pd.Series([0.0] * 10 + [float(value) for value in range(1, 21)] + [None] * 2)
    frequent, edges = leakage.number_groups(closed)
    assert frequent == [0.0]
    assert list(edges) == pytest.approx([1, 4.8, 8.6, 12.4, 16.2, 20])
    groups = leakage.levels(closed, NUMBER, (frequent, edges))
    assert groups.iloc[0] == "= 0" and groups.iloc[-1] == EMPTY
    assert groups.iloc[10] == groups.iloc[11] == "1 – 4.8"  # 1 and 2
    assert groups.iloc[29] == "16.2 – 20"  # 20, the last edge, in the last range


def test_suspects_leave_flagged_columns_out_unless_forced():
    outcome = outcomes(30, 30, 30)
    frame = pd.DataFrame({"note": [None] * 30 + ["lost"] * 30 + [None] * 30,
                          "source": ["a", "b", "c"] * 30})
    found = leakage.suspects(frame, {"note": CATEGORY, "source": CATEGORY}, outcome, noun="deals",
                             outcomes=("won", "lost"))
    assert list(found["suspect_column"]) == ["note"] and bool(found["left_out_of_model"].iloc[0])
    forced = leakage.suspects(frame, {"note": CATEGORY, "source": CATEGORY}, outcome, noun="deals",
                              outcomes=("won", "lost"), forced=["note"])
    assert not bool(forced["left_out_of_model"].iloc[0])


def test_levels_of_a_category_are_its_values_as_text_and_empty():
    values = pd.Series(["Web", None, "Referral", "Web", 3], dtype=object)
    assert leakage.levels(values, CATEGORY).tolist() == ["Web", EMPTY, "Referral", "Web", "3"]
    assert leakage.levels(pd.Series([None, None], dtype=object), CATEGORY).tolist() == [EMPTY, EMPTY]


def test_auc_alone_scores_each_fold_by_the_other_folds_group_rates(monkeypatch):
    # Two folds by hand (the fold of each record is drawn from the seed; fixed here instead):
    # records 0-3 in fold 0, 4-7 in fold 1. Group "a": outcomes 1,1 | 1,0; group "b": 0,0 | 0,1.
    monkeypatch.setattr(leakage, "FOLDS", 2)
    level = pd.Series(["a", "a", "b", "b", "a", "a", "b", "b"])
    outcome = pd.Series([1, 1, 0, 0, 1, 0, 0, 1])
    fold_of = np.array([0, 0, 0, 0, 1, 1, 1, 1])

    class Folds:
        def integers(self, low, high, size):
            return fold_of

    class NumpyWithTheseFolds:  # numpy for the leakage module only, its random folds fixed
        random = type("random", (), {"default_rng": staticmethod(lambda seed: Folds())})

        def __getattr__(self, name):
            return getattr(np, name)

    monkeypatch.setattr(leakage, "np", NumpyWithTheseFolds())
    # Fold 0 scored from fold 1 (base 0.5): a = (1 + 5) / 12 = 0.5, b = (1 + 5) / 12 = 0.5.
    # Fold 1 scored from fold 0 (base 0.5): a = (2 + 5) / 12, b = (0 + 5) / 12.
    # Scores: 0.5 x4 (outcomes 1,1,0,0), 7/12 (1), 7/12 (0), 5/12 (0), 5/12 (1).
    scores = [0.5, 0.5, 0.5, 0.5, 7 / 12, 7 / 12, 5 / 12, 5 / 12]
    from sklearn.metrics import roc_auc_score
    assert leakage.auc_alone(level, outcome) == pytest.approx(roc_auc_score(outcome, scores))
    # A group seen only in the test fold is scored by the training fold's base rate.
    unseen = pd.Series(["a", "a", "b", "b", "c", "c", "c", "c"])
    assert leakage.auc_alone(unseen, outcome) == pytest.approx(roc_auc_score(outcome, [0.5] * 4 + [0.5] * 4))
