"""Stage funnel (cohort method) and time in stage, worked by hand on tests/deal_fixtures.py.

Cohort: deals created in Q1 2025 = O1, O2, O3, O4, O6, O7, O8, O9 (8 deals).
"""

import pytest

from salesnb import dataset_from_frames
from salesnb.metrics import funnel
from tests.deal_fixtures import PERIOD, frames


def test_funnel_without_history_infers_from_current_stage():
    dataset = dataset_from_frames(frames())
    table = funnel.stage_funnel(dataset, PERIOD).set_index("stage")
    # furthest: O1 5, O2 lost -> 0, O3 5, O4 Proposal 3, O6 5, O7 5, O8 Qualification 1, O9 lost -> 0
    assert list(table["reached"]) == [8, 6, 5, 5, 4, 4]
    assert table.loc["Prospecting", "next_step_rate"] == pytest.approx(6 / 8)
    assert table.loc["Qualification", "next_step_rate"] == pytest.approx(5 / 6)
    assert table.loc["Proposal", "next_step_rate"] == pytest.approx(4 / 5)
    assert table.loc["Prospecting", "win_rate_from_stage"] == pytest.approx(4 / 8)
    assert table.loc["Proposal", "open_now"] == 1 and table.loc["Qualification", "open_now"] == 1


def test_funnel_with_history_counts_skipped_stages_as_passed():
    dataset = dataset_from_frames(frames(history=True))
    table = funnel.stage_funnel(dataset, PERIOD).set_index("stage")
    # O2 went Prospecting -> Discovery -> Proposal -> lost: it passed Qualification too (3);
    # O9 Prospecting -> lost (0). Others as without history.
    assert list(table["reached"]) == [8, 7, 6, 6, 4, 4]
    assert table.loc["Qualification", "next_step_rate"] == pytest.approx(6 / 7)
    assert table.loc["Proposal", "next_step_rate"] == pytest.approx(4 / 6)
    assert table.loc["Proposal", "lost_here"] == 1 and table.loc["Prospecting", "lost_here"] == 1


def test_time_in_stage():
    dataset = dataset_from_frames(frames(history=True))
    table = funnel.time_in_stage(dataset, PERIOD).set_index("stage")
    # Prospecting: O1 Jan 5 -> Jan 15 (the Jan 10 row only changed the amount) = 10,
    # O2 Jan 10 -> Jan 20 = 10, O9 Jan 20 -> Feb 20 = 31 -> median 10, p75 10 + 0.5 * 21
    assert table.loc["Prospecting", "visits"] == 3
    assert table.loc["Prospecting", "median_days"] == pytest.approx(10)
    assert table.loc["Prospecting", "p75_days"] == pytest.approx(20.5)
    assert table.loc["Qualification", "median_days"] == pytest.approx(20)  # O1 Jan 15 -> Feb 4
    assert table.loc["Discovery", "median_days"] == pytest.approx(21)  # O2 Jan 20 -> Feb 10
    assert table.loc["Proposal", "median_days"] == pytest.approx(19)  # O2 Feb 10 -> Mar 1
    assert table.loc["Negotiation", "visits"] == 0


def test_time_in_stage_needs_history():
    from salesnb.errors import MissingTableError

    with pytest.raises(MissingTableError, match="opportunity_history"):
        funnel.time_in_stage(dataset_from_frames(frames()), PERIOD)
