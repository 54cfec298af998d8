"""RFM quintile scores, their tie rule, and the named segments."""

import datetime as dt
import math

import pandas as pd
import pytest

from salesnb import select
from salesnb.metrics import rfm
from tests.order_fixtures import orders_dataset, selection_dataset


def test_distinct_values_get_one_score_each():
    assert list(rfm.quintile_scores(pd.Series([10, 20, 30, 40, 50]))) == [1, 2, 3, 4, 5]


def test_ties_share_the_lowest_score_of_their_block_and_scores_can_be_skipped():
    # Ten customers, six with one order. Score = 1 + floor(5 x (strictly lower) / 10):
    # 1 order: 0 lower -> 1; 2: 6 lower -> 1 + 3 = 4; 3: 7 -> 1 + floor(3.5) = 4;
    # 4: 8 -> 5; 5: 9 -> 1 + floor(4.5) = 5. No customer scores 2 or 3.
    orders = pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
    assert list(rfm.quintile_scores(orders)) == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]


def test_scores_do_not_depend_on_row_order():
    values = pd.Series([3, 1, 2, 2, 5, 1, 4, 2])
    shuffled = values.sample(frac=1, random_state=7)
    assert rfm.quintile_scores(values).to_dict() == rfm.quintile_scores(shuffled).to_dict()


def test_recency_scores_fewer_days_higher_and_unknown_values_are_not_scored():
    # Days since the last order 5, 5, 10, 20 (fewer is better): 20 d has 0 worse -> 1;
    # 10 d has 1 worse -> 1 + floor(1.25) = 2; 5 d (tied) have 2 worse -> 1 + floor(2.5) = 3.
    assert list(rfm.quintile_scores(pd.Series([5, 5, 10, 20]), higher_is_better=False)) == [3, 3, 2, 1]
    scores = rfm.quintile_scores(pd.Series([100.0, None, 300.0]))
    # n = 2 scored values: 100 -> 1, 300 -> 1 + floor(5 x 1 / 2) = 3; the unknown stays unknown.
    assert scores[0] == 1 and scores[2] == 3 and math.isnan(scores[1])


@pytest.mark.parametrize("r, f, name", [
    (5, 5, "Champions"), (4, 4, "Champions"), (3, 5, "Loyal"), (5, 3, "Potential loyalists"),
    (3, 2, "Potential loyalists"), (5, 1, "New customers"), (3, 1, "Need attention"), (2, 4, "At risk"),
    (1, 3, "At risk"), (2, 1, "Hibernating"), (1, 2, "Lost"),
])
def test_named_segments(r, f, name):
    assert rfm.segment_of(pd.Series([r]), pd.Series([f]))[0] == name


def test_rfm_on_orders_as_of_a_date():
    rows = [
        ("A", "2025-12-01", 100.0), ("A", "2025-12-20", 100.0), ("A", "2025-12-20", 100.0),
        ("B", "2025-11-01", 50.0),
        ("C", "2025-06-01", 500.0), ("C", "2025-07-01", 10.0),
        ("D", "2024-01-01", 20.0),
        ("E", "2025-12-30", 5.0),
        ("F", "2026-02-01", 999.0),  # after the date: not a customer yet
    ]
    scores = rfm.rfm_scores(orders_dataset(rows), dt.date(2025, 12, 31)).set_index("account_id")
    assert set(scores.index) == {"A", "B", "C", "D", "E"}
    # Recency days: A 11, B 60, C 183, D 730, E 1 -> scores (fewer better) A 4, B 3, C 2, D 1, E 5.
    assert scores["recency_days"].to_dict() == {"A": 11, "B": 60, "C": 183, "D": 730, "E": 1}
    assert scores["r_score"].to_dict() == {"A": 4, "B": 3, "C": 2, "D": 1, "E": 5}
    # Orders A 3 (same-day orders count), C 2, B/D/E 1: ones have 0 lower -> 1; C 3 lower -> 4; A 4 lower -> 5.
    assert scores["f_score"].to_dict() == {"A": 5, "B": 1, "C": 4, "D": 1, "E": 1}
    # Revenue A 300, B 50, C 510, D 20, E 5 -> E 1, D 2, B 3, A 4, C 5.
    assert scores["m_score"].to_dict() == {"A": 4, "B": 3, "C": 5, "D": 2, "E": 1}
    assert scores["rfm_segment"].to_dict() == {"A": "Champions", "B": "Need attention", "C": "At risk",
                                               "D": "Lost", "E": "New customers"}
    summary = rfm.segment_summary(scores.reset_index()).set_index("rfm_segment")
    assert list(summary.index) == rfm.SEGMENT_NAMES  # every segment, empty ones as 0
    assert summary.loc["Champions", "customers"] == 1 and summary.loc["Loyal", "customers"] == 0
    assert summary.loc["At risk", "share_of_revenue"] == pytest.approx(510 / 885)


def test_rfm_of_a_selection_ranks_its_customers_among_themselves():
    # tests/order_fixtures.py, SMB: A (last order 1 Jun 2025, 3 orders, 220) and B (1 Apr 2025, 2 orders, 230).
    # At 31 Dec 2025: recency A 213 d, B 274 d. Of two customers, the better scores 1 + floor(5 x 1 / 2) = 3,
    # the other 1: A R3 F3 M1 (Potential loyalists), B R1 F1 M3 (Lost).
    scores = rfm.rfm_scores(selection_dataset(), "2025-12-31", where=select(segment="SMB")).set_index("account_id")
    assert scores["recency_days"].to_dict() == {"A": 213, "B": 274}
    assert scores[["r_score", "f_score", "m_score"]].loc["A"].tolist() == [3, 3, 1]
    assert scores["rfm_segment"].to_dict() == {"A": "Potential loyalists", "B": "Lost"}
    # by="segment" scores each segment's customers among themselves: the SMB block is the same.
    by_segment = rfm.rfm_scores(selection_dataset(), "2025-12-31", by="segment")
    smb = by_segment[by_segment["segment"] == "SMB"].set_index("account_id")
    assert smb["rfm_segment"].to_dict() == {"A": "Potential loyalists", "B": "Lost"}
    # Without a date: the data's date (the last order, 1 Sep 2025).
    assert rfm.rfm_scores(selection_dataset(), where=select(segment="SMB")).set_index("account_id").loc[
        "A", "recency_days"] == 92
