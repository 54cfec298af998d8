"""The people report's findings, composed from the views its notebook computed
(tests/people_fixtures.py: Q1 2025 against Q4 2024; ramp_frames: 2025)."""

from __future__ import annotations

import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.metrics import activity, quota, ramp
from salesnb.report.findings import people
from tests.people_fixtures import DEAL_COLUMNS, Q1, YEAR_2025, people_frames, ramp_frames


def moved(dataset, period, where=select(), min_n=30):
    """The findings as the notebook asks for them: from this period's views by team and by rep."""
    def views(metric):
        return tuple(metric(dataset, period, by, where=where) for by in ("team", "rep"))

    return people.findings(dataset, period, where=where, attainment=views(quota.quota_attainment),
                           outcome=views(activity.activity_to_outcome), activity_rates=views(activity.activity_rates),
                           ramped=ramp.ramp(dataset, period, where=where), min_n=min_n)


def attainment_frames():
    """Cy (team Beta, alone in it): Q4 2024 quota 10,000, 10 deals of 200 won = 20%; Q1 2025 quota
    10,000, O8 + O9 + 8 more deals of 1,000 = 10 won deals, 100%."""
    frames = people_frames()
    now = [(f"X{i}", "R3", "2025-01-10", "2025-02-14", "Closed Won", 1000.0) for i in range(8)]
    before = [(f"Y{i}", "R3", "2024-10-05", "2024-11-15", "Closed Won", 200.0) for i in range(10)]
    frames["opportunities"] = pd.concat([frames["opportunities"], pd.DataFrame(now + before, columns=DEAL_COLUMNS)],
                                        ignore_index=True)
    quotas = frames["quotas"]
    quotas.loc[(quotas["rep_id"] == "R3") & (quotas["period_start"] == "2025-01-01"), "amount"] = 10000.0
    extra = pd.DataFrame([("R3", "2024-10-01", "2024-12-31", 10000.0)], columns=quotas.columns)
    frames["quotas"] = pd.concat([quotas, extra], ignore_index=True)
    return frames


def test_quota_attainment_beyond_noise():
    """Standard errors (compound Poisson): now sqrt(10 * 1000²) / 10000 = 0.3162, before
    sqrt(10 * 200²) / 10000 = 0.0632; z = 0.8 / sqrt(0.3162² + 0.0632²) = 0.8 / 0.3225 = 2.48
    -> kept, for the rep and the team. His win rate (10 of 11 against 10 of 10) moved -9.1
    points but z = -0.97: noise."""
    found = moved(dataset_from_frames(attainment_frames()), Q1, min_n=10)
    assert [m.subject for m in found] == ["Rep Cy", "Team Beta"]  # equal strength: by subject
    assert found[0].strength == pytest.approx(0.8 / (0.1 + 0.004) ** 0.5)
    assert found[0].sentence == ("Rep Cy: quota attainment rose from 20.0% (10 won deals) in the previous period "
                                 "to 100.0% (10 won deals), +80.0 points.")


def test_a_selection_keeps_its_own_findings():
    dataset = dataset_from_frames(attainment_frames())
    # Team Alpha: Cy is not in it, nothing else moved.
    assert moved(dataset, Q1, where=select(team="Alpha"), min_n=10) == []
    # Rep Cy: his row and his team's.
    assert [m.subject for m in moved(dataset, Q1, where=select(rep="Cy"), min_n=10)] == ["Rep Cy", "Team Beta"]
    # A source selection: attainment is not measured (quotas are per rep), so it cannot move.
    assert moved(dataset, Q1, where=select(source="Referral"), min_n=1) == []


def test_a_new_hire_behind_their_peers():
    found = moved(dataset_from_frames(ramp_frames()), YEAR_2025)
    assert [m.topic for m in found] == ["ramp"]
    assert found[0].sentence.startswith("Rep Nox (hired Aug 2025) is still ramping after 4 months: 2 of the 2 reps "
                                        "hired during the data who were observed that long had reached 50%")


def test_nothing_moved_on_the_hand_worked_fixture():
    # Q4 2024 has no activities and fewer than 30 closed deals anywhere: nothing to compare.
    assert moved(dataset_from_frames(people_frames()), Q1) == []
