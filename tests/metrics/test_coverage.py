"""Coverage against tests/pipeline_fixtures.py at as_of 2025-02-15, target Q1 2025.

Due in Q1 and open: D1 12,000 + D9 6,000 (R1), D5 3,000 + D10 9,000 (R3). Won so far:
D2 5,000 (R1), D11 2,000 (R2). Quotas: R1 30,000, R2 20,000, R3 10,000.
"""

import datetime as dt

import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.data.periods import Period
from salesnb.data.selection import SelectionError
from salesnb.metrics import coverage
from tests.pipeline_fixtures import Q1, frames, playbook


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(frames(), playbook(min_deals_for_ranking=3))


def test_coverage_per_rep(dataset):
    by_rep = coverage.coverage(dataset, Q1, by="rep").set_index("rep_id")
    # R1: 18,000 / (30,000 - 5,000) = 0.72; R2: 0 / 18,000 = 0; R3: 12,000 / 10,000 = 1.2
    assert by_rep["coverage"].to_dict() == pytest.approx({"R1": 0.72, "R2": 0.0, "R3": 1.2})
    assert by_rep.loc["R1", ["pipeline_due", "deals_due", "quota", "won_so_far", "gap"]].tolist() == \
        [18000, 2, 30000, 5000, 25000]


def test_team_coverage_is_a_ratio_of_sums(dataset):
    by_team = coverage.coverage(dataset, Q1, by="team").set_index("team")
    # Alpha = (18,000 + 0) / (50,000 - 7,000) = 0.4186, not the mean of 0.72 and 0 (0.36)
    assert by_team.loc["Alpha", "coverage"] == pytest.approx(18000 / 43000)
    total = coverage.coverage(dataset, Q1, by=None).iloc[0]
    assert total["coverage"] == pytest.approx(30000 / 53000)


def test_rule_of_thumb_is_one_over_the_win_rate(dataset):
    by_team = coverage.coverage(dataset, Q1, by="team").set_index("team")
    # Alpha closed in the last year: D2, D11 won; D4, D7, D8 lost -> 2 / 5 = 40% -> 2.5x.
    assert by_team.loc["Alpha", ["win_rate", "closed", "rule_of_thumb"]].tolist() == pytest.approx([0.4, 5, 2.5])
    assert by_team.loc["Alpha", "below_rule_of_thumb"] is True  # 0.42x < 2.5x on n = 5 >= 3
    # Beta closed nothing: no rule of thumb, not judged (not "below").
    assert by_team.loc["Beta", "below_rule_of_thumb"] is None


def test_small_n_is_not_judged():
    dataset = dataset_from_frames(frames())  # min_deals_for_ranking 10: Alpha's 5 closed deals are too few
    assert coverage.coverage(dataset, Q1, by="team").set_index("team").loc["Alpha", "below_rule_of_thumb"] is None


def test_quota_reached_has_no_coverage(dataset):
    # February 2025 only: R1's quarterly 30,000 prorated to 28 of 90 days = 9,333.33; won in
    # February 5,000 (D2) -> gap 4,333.33. R2's 20,000 -> 6,222.22 with 2,000 won.
    february = Period(dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    by_rep = coverage.coverage(dataset, february, by="rep").set_index("rep_id")
    assert by_rep.loc["R1", "quota"] == pytest.approx(30000 * 28 / 90)
    assert by_rep.loc["R1", "gap"] == pytest.approx(30000 * 28 / 90 - 5000)
    # Nothing open is due in February: coverage 0 where a gap remains.
    assert by_rep.loc["R1", "coverage"] == 0
    reached = coverage.coverage(dataset, Period(dt.date(2025, 2, 10), dt.date(2025, 2, 10)), by="rep").set_index("rep_id")
    # One day: R1's quota 333.33 < 5,000 won that day: reached, nothing left to cover.
    assert reached.loc["R1", "gap"] < 0 and reached["coverage"].isna()["R1"]


def test_without_quotas_coverage_is_not_measured_but_the_pipeline_due_is():
    dataset = dataset_from_frames(frames(quotas=False), playbook(min_deals_for_ranking=3))
    by_team = coverage.coverage(dataset, Q1, by="team").set_index("team")
    # Alpha: due D1 12,000 + D9 6,000, won D2 5,000 + D11 2,000; Beta: due D5 3,000 + D10 9,000.
    assert by_team[["pipeline_due", "won_so_far"]].to_dict("index") == {
        "Alpha": {"pipeline_due": 18000, "won_so_far": 7000}, "Beta": {"pipeline_due": 12000, "won_so_far": 0}}
    assert by_team[["quota", "gap", "coverage"]].isna().all().all()  # "–", never 0
    assert by_team.loc["Alpha", "win_rate"] == pytest.approx(0.4) and by_team["below_rule_of_thumb"].isna().all()
    total = coverage.coverage(dataset, Q1).iloc[0]
    assert total["pipeline_due"] == 30000 and pd.isna(total["coverage"])


def test_a_team_without_deals_or_quotas_is_an_empty_table(dataset):
    tables = frames()
    tables["reps"] = pd.concat([tables["reps"], pd.DataFrame([("R9", "Manager", "Leads")], columns=["rep_id", "rep_name", "team"])])
    empty = dataset_from_frames(tables)
    assert coverage.coverage(empty, Q1, by="rep", where=select(team="Leads")).empty
    assert coverage.coverage(empty, Q1, by="team", where=select(team="Leads")).empty


def test_coverage_of_one_team_or_one_rep(dataset):
    # Beta (R3 Cy): due in Q1 D5 3,000 + D10 9,000 = 12,000 against a 10,000 quota, nothing
    # won yet: 1.2x; nothing closed in the year, so no rule of thumb.
    beta = coverage.coverage(dataset, Q1, where=select(team="Beta")).iloc[0]
    assert beta[["pipeline_due", "deals_due", "quota", "won_so_far", "gap", "coverage", "closed"]].tolist() == \
        [12000, 2, 10000, 0, 10000, 1.2, 0]
    # A rep by name: Bo (R2) has nothing due against 20,000 - 2,000 won (D11).
    bo = coverage.coverage(dataset, Q1, "rep", where=select(rep="Bo <b>"))
    assert bo[["rep_id", "pipeline_due", "gap", "coverage"]].values.tolist() == [["R2", 0, 18000, 0]]


def test_the_period_defaults_to_the_fiscal_quarter_open_at_the_data_date(dataset):
    # as_of 2025-02-15: Q1 2025.
    assert coverage.coverage(dataset).equals(coverage.coverage(dataset, Q1))
    assert coverage.coverage(dataset, "2025Q1", "team").equals(coverage.coverage(dataset, Q1, "team"))


def test_quotas_cannot_be_selected_by_source(dataset):
    # Quotas are per rep: a source's pipeline against the whole quota would mean nothing.
    with pytest.raises(SelectionError, match="Quotas cannot be selected by source"):
        coverage.coverage(dataset, Q1, where=select(source="Web"))
