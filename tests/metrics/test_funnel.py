"""Stage funnel (cohort method) and time in stage, worked by hand on tests/deal_fixtures.py.

Cohort: deals created in Q1 2025 = O1, O2, O3, O4, O6, O7, O8, O9 (8 deals).
"""

import pytest

from salesnb import dataset_from_frames, select
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
    assert table.loc["Prospecting", "median_days_in_stage"] == pytest.approx(10)
    assert table.loc["Prospecting", "p75_days_in_stage"] == pytest.approx(20.5)
    assert table.loc["Qualification", "median_days_in_stage"] == pytest.approx(20)  # O1 Jan 15 -> Feb 4
    assert table.loc["Discovery", "median_days_in_stage"] == pytest.approx(21)  # O2 Jan 20 -> Feb 10
    assert table.loc["Proposal", "median_days_in_stage"] == pytest.approx(19)  # O2 Feb 10 -> Mar 1
    assert table.loc["Negotiation", "visits"] == 0


def test_time_in_stage_needs_history():
    from salesnb.errors import MissingTableError

    with pytest.raises(MissingTableError, match="opportunity_history"):
        funnel.time_in_stage(dataset_from_frames(frames()), PERIOD)


def test_funnel_of_a_team_and_source():
    dataset = dataset_from_frames(frames())
    table = funnel.stage_funnel(dataset, PERIOD, where=select(team="Alpha", source="Web")).set_index("stage")
    # Alpha (R1, R2) Web deals created in Q1: O1 (won: 5), O2 (lost: 0), O4 (Proposal: 3),
    # O6 (won: 5), O9 (lost: 0) -> reached 5, 3, 3, 3, 2, 2
    assert list(table["reached"]) == [5, 3, 3, 3, 2, 2]
    assert table.loc["Prospecting", "next_step_rate"] == pytest.approx(3 / 5)
    assert table.loc["Proposal", "win_rate_from_stage"] == pytest.approx(2 / 3)


def test_funnel_by_team():
    dataset = dataset_from_frames(frames())
    table = funnel.stage_funnel(dataset, PERIOD, by="team")
    # Alpha: O1, O2, O3, O4, O6, O9 (furthest 5, 0, 5, 3, 5, 0) -> reached 6, 4, 4, 4, 3, 3;
    # Beta: O7 (won: 5), O8 (Qualification: 1) -> reached 2, 2, 1, 1, 1, 1. Groups in name order.
    assert table["team"].tolist() == ["Alpha"] * 6 + ["Beta"] * 6
    assert table["reached"].tolist() == [6, 4, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1]
    beta = table[table["team"] == "Beta"].set_index("stage")
    assert beta.loc["Qualification", "open_now"] == 1 and beta.loc["Qualification", "next_step_rate"] == 0.5


def test_time_in_stage_of_a_rep_and_by_rep():
    dataset = dataset_from_frames(frames(history=True))
    bo = funnel.time_in_stage(dataset, PERIOD, where=select(rep="R2")).set_index("stage")
    # R2 (Bo): only O9 has history: Prospecting Jan 20 -> Feb 20 = 31 d
    assert bo["visits"].tolist() == [1, 0, 0, 0, 0]
    assert bo.loc["Prospecting", "median_days_in_stage"] == pytest.approx(31)
    by_rep = funnel.time_in_stage(dataset, PERIOD, by="rep").set_index(["rep_id", "stage"])
    # R1: O1 and O2 in Prospecting (10 d each), O1 in Qualification (20 d), O2 in Discovery (21 d)
    # and Proposal (19 d); O6's Discovery visit ends on Apr 10, after Q1. Every stage per rep.
    assert by_rep.loc[("R1", "Prospecting"), "visits"] == 2
    assert by_rep.loc[("R1", "Prospecting"), "median_days_in_stage"] == pytest.approx(10)
    assert by_rep.loc[("R2", "Qualification"), "visits"] == 0
    assert len(by_rep) == 2 * 5


def test_time_in_stage_has_no_close_month():
    from salesnb.errors import SalesnbError

    with pytest.raises(SalesnbError, match="by must be one of rep, team"):
        funnel.time_in_stage(dataset_from_frames(frames(history=True)), PERIOD, by="month")
