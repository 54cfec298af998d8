"""Conversion metrics against numbers worked out by hand (see tests/deal_fixtures.py).

Closed in Q1 2025 by close_date: O1 won 1000, O2 lost 500, O3 won 3000, O5 lost (no
amount), O7 won 2000, O9 lost 700. O6 closes in April, O4/O8 are open.
"""

import pytest

from salesnb import dataset_from_frames
from salesnb.metrics import conversion
from tests.deal_fixtures import PERIOD, frames


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(frames())


def test_win_rate_counts_only_closed_deals(dataset):
    overall = conversion.win_rates(dataset, PERIOD).iloc[0]
    # won 3 (O1, O3, O7), lost 3 (O2, O5, O9); open O4 and O8 are not losses: 3 / 6
    assert (overall["won"], overall["lost"], overall["closed"]) == (3, 3, 6)
    assert overall["win_rate"] == pytest.approx(0.5)


def test_win_rate_by_value_counts_missing_lost_amount_as_zero(dataset):
    overall = conversion.win_rates(dataset, PERIOD).iloc[0]
    # won 1000 + 3000 + 2000 = 6000; lost 500 + 0 (O5 has none) + 700 = 1200 -> 6000 / 7200
    assert overall["win_rate_by_value"] == pytest.approx(6000 / 7200)
    assert overall["lost_without_amount"] == 1


def test_team_rate_is_ratio_of_sums_not_mean_of_rep_rates(dataset):
    by_team = conversion.win_rates(dataset, PERIOD, by="team").set_index("team")
    by_rep = conversion.win_rates(dataset, PERIOD, by="rep").set_index("rep_id")
    # R1: O1 won, O2 lost = 1/2; R2: O3 won, O5 lost, O9 lost = 1/3
    assert by_rep.loc["R1", "win_rate"] == pytest.approx(1 / 2)
    assert by_rep.loc["R2", "win_rate"] == pytest.approx(1 / 3)
    # Team Alpha = (1 + 1) / (2 + 3) = 0.4, not (1/2 + 1/3) / 2 = 0.4167
    assert by_team.loc["Alpha", "win_rate"] == pytest.approx(0.4)
    assert by_team.loc["Beta", "win_rate"] == pytest.approx(1.0)
    assert by_team.loc["Alpha", "closed"] == 5


def test_rates_on_small_n_are_not_ranked(dataset):
    by_rep = conversion.win_rates(dataset, PERIOD, by="rep")
    assert not by_rep["ranked"].any()  # every rep has fewer than 10 closed deals


def test_win_rate_by_close_month(dataset):
    by_month = conversion.win_rates(dataset, PERIOD, by="month")
    by_month["month"] = by_month["close_month"].astype(str).str[:7]
    rates = dict(zip(by_month["month"], by_month["win_rate"]))
    # Jan: O5 lost -> 0/1; Feb: O1 won, O9 lost -> 1/2; Mar: O2 lost, O3 won, O7 won -> 2/3
    assert rates == pytest.approx({"2025-01": 0.0, "2025-02": 0.5, "2025-03": 2 / 3})


def test_segment_filter(dataset):
    enterprise = conversion.win_rates(dataset, PERIOD, segment="Enterprise").iloc[0]
    # Enterprise accounts A2, A4: O3 won, O7 won, O9 lost -> 2/3
    assert enterprise["win_rate"] == pytest.approx(2 / 3)


def test_sales_cycle_median_and_p75(dataset):
    cycle = conversion.sales_cycle(dataset, PERIOD).iloc[0]
    # O1 Jan 5 -> Feb 4 = 30 d; O3 Jan 15 -> Mar 16 = 60 d; O7 Mar 1 -> Mar 31 = 30 d
    assert cycle["won"] == 3
    assert cycle["median_days"] == pytest.approx(30)
    assert cycle["p75_days"] == pytest.approx(45)  # sorted 30, 30, 60: 30 + 0.5 * 30
    assert cycle["mean_days"] == pytest.approx(40)


def test_open_deal_age(dataset):
    age = conversion.open_deal_age(dataset).set_index("stage")
    # as_of = 2025-04-10 (O6's close). O4 created Feb 1 -> 68 d; O8 created Mar 5 -> 36 d
    assert dataset.as_of.isoformat() == "2025-04-10"
    assert age.loc["Proposal", "deals"] == 1 and age.loc["Proposal", "median_age_days"] == pytest.approx(68)
    assert age.loc["Qualification", "median_age_days"] == pytest.approx(36)
    assert age.loc["Negotiation", "deals"] == 0
    assert age["overdue"].sum() == 0


def test_sales_velocity_uses_the_pipeline_open_at_the_end_of_the_period():
    dataset = dataset_from_frames(frames(history=True))
    velocity = conversion.sales_velocity(dataset, PERIOD)
    # Open and qualified on 31 March: O4 (Proposal, no history, still open), O8
    # (Qualification, no history, still open) and O6 (Discovery per its history; won only
    # on 10 April) = 3. Win rate 0.5; average won 6000 / 3 = 2000; average cycle
    # (30 + 60 + 30) / 3 = 40 d -> 3 x 0.5 x 2000 / 40 = 75 per day.
    assert velocity["open_qualified_deals"] == 3
    assert velocity["velocity_per_day"] == pytest.approx(3 * 0.5 * 2000 / 40)


def test_sales_velocity_at_the_snapshot_uses_the_current_pipeline(dataset):
    from salesnb.data.periods import Period

    # Period ending on the data date (10 April): open now are O4 and O8 = 2; closed in
    # Jan..Apr 10: Q1's six plus O6 won (Feb 15 -> Apr 10 = 54 d, 4000) -> 4 won of 7;
    # average won (6000 + 4000) / 4 = 2500; cycle (30 + 60 + 30 + 54) / 4 = 43.5 d.
    to_date = Period(PERIOD.start, dataset.as_of)
    velocity = conversion.sales_velocity(dataset, to_date)
    assert velocity["open_qualified_deals"] == 2
    assert velocity["velocity_per_day"] == pytest.approx(2 * (4 / 7) * 2500 / 43.5)


def test_sales_velocity_of_a_past_period_without_history_is_unknown(dataset):
    # 31 March is before the data date and there is no stage history: which deals were
    # open and qualified then cannot be known, so there is no velocity (not a guess).
    velocity = conversion.sales_velocity(dataset, PERIOD)
    assert velocity["open_qualified_deals"] is None and velocity["velocity_per_day"] is None
    assert velocity["win_rate"] == pytest.approx(0.5)


def test_fiscal_quarters():
    import yaml

    from salesnb.data.playbook import load_playbook, playbook_from_dict

    raw = yaml.safe_load(open(load_playbook().source_path))
    dataset = dataset_from_frames(frames(), playbook_from_dict({**raw, "fiscal_year_start_month": 2}))
    quarters = conversion.win_rates(dataset, PERIOD, by="quarter")
    closed = {str(row.close_quarter)[:10]: (row.won, row.lost) for row in quarters.itertuples()}
    # Fiscal year from February: Nov-Jan is one quarter, Feb-Apr the next.
    # Nov 1 quarter: O5 lost Jan 31 -> (0, 1); Feb 1 quarter: O1 W, O9 L, O2 L, O3 W, O7 W -> (3, 2)
    assert closed == {"2024-11-01": (0, 1), "2025-02-01": (3, 2)}


def test_unknown_team_is_an_error_not_an_empty_report(dataset):
    from salesnb.errors import SalesnbError

    with pytest.raises(SalesnbError, match=r"team = 'Alfa' matches no data. Did you mean 'Alpha'\? The team values are: Alpha, Beta"):
        conversion.win_rates(dataset, PERIOD, team="Alfa")


def test_summary(dataset):
    kpis = conversion.summary(dataset, PERIOD)
    # created in Q1: all but O5 (created in December) = 8
    assert kpis["opportunities_created"] == 8
    assert kpis["won"] == 3 and kpis["lost"] == 3
    assert kpis["avg_won_amount"] == pytest.approx(2000)
    assert kpis["median_sales_cycle_days"] == pytest.approx(30)


def test_loss_reasons_without_history(dataset):
    reasons = conversion.loss_reasons(dataset, PERIOD)
    by_reason = reasons.groupby("reason")[["deals", "lost_amount"]].sum()
    # Price: O2 500 + O9 700; Competitor: O5 without amount
    assert by_reason.loc["Price", "deals"] == 2 and by_reason.loc["Price", "lost_amount"] == pytest.approx(1200)
    assert reasons["share_of_lost"].sum() == pytest.approx(1.0)
    assert set(reasons["lost_at_stage"]) == {"(unknown: no stage history)"}


def test_loss_reasons_by_reason_only_adds_the_stages_together():
    dataset = dataset_from_frames(frames(history=True))
    reasons = conversion.loss_reasons(dataset, PERIOD, by_stage=False)
    # Price: O2 (lost at Proposal) + O9 (at Prospecting) = 2 of 3 lost deals, 500 + 700;
    # Competitor: O5 = 1 of 3, no amount. Most deals first.
    assert list(reasons.columns[:3]) == ["reason", "deals", "lost_amount"]
    assert reasons["reason"].tolist() == ["Price", "Competitor"]
    assert reasons["deals"].tolist() == [2, 1]
    assert reasons["share_of_lost"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert reasons["lost_amount"].iloc[0] == pytest.approx(1200)


def test_loss_reasons_by_stage_with_history():
    dataset = dataset_from_frames(frames(history=True))
    reasons = conversion.loss_reasons(dataset, PERIOD)
    at = {(row.reason, row.lost_at_stage): row.deals for row in reasons.itertuples()}
    # O2 was in Proposal before it was lost, O9 in Prospecting; O5 has no history
    assert at == {("Price", "Proposal"): 1, ("Price", "Prospecting"): 1,
                  ("Competitor", "(unknown: no stage history)"): 1}


def test_empty_period_gives_no_rate(dataset):
    import datetime as dt

    from salesnb.data.periods import Period

    empty = Period(dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    kpis = conversion.summary(dataset, empty)
    assert kpis["won"] == 0 and kpis["win_rate"] is None and kpis["sales_velocity_per_day"] is None
