"""Conversion metrics against numbers worked out by hand (see tests/deal_fixtures.py).

Closed in Q1 2025 by close_date: O1 won 1000, O2 lost 500, O3 won 3000, O5 lost (no
amount), O7 won 2000, O9 lost 700. O6 closes in April, O4/O8 are open.
"""

import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.metrics import conversion, deals
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


def test_segment_selection(dataset):
    enterprise = conversion.win_rates(dataset, PERIOD, where=select(segment="Enterprise")).iloc[0]
    # Enterprise accounts A2, A4: O3 won, O7 won, O9 lost -> 2/3
    assert enterprise["win_rate"] == pytest.approx(2 / 3)


def test_sales_cycle_median_and_p75(dataset):
    cycle = conversion.sales_cycle(dataset, PERIOD).iloc[0]
    # O1 Jan 5 -> Feb 4 = 30 d; O3 Jan 15 -> Mar 16 = 60 d; O7 Mar 1 -> Mar 31 = 30 d
    assert cycle["won_with_cycle"] == 3
    assert cycle["median_sales_cycle_days"] == pytest.approx(30)
    assert cycle["p75_sales_cycle_days"] == pytest.approx(45)  # sorted 30, 30, 60: 30 + 0.5 * 30
    assert cycle["mean_sales_cycle_days"] == pytest.approx(40)


def test_open_deal_age(dataset):
    age = conversion.open_deal_age(dataset).set_index("stage")
    # as_of = 2025-04-10 (O6's close). O4 created Feb 1 -> 68 d; O8 created Mar 5 -> 36 d
    assert dataset.as_of.isoformat() == "2025-04-10"
    assert age.loc["Proposal", "deals"] == 1 and age.loc["Proposal", "median_age_days"] == pytest.approx(68)
    assert age.loc["Qualification", "median_age_days"] == pytest.approx(36)
    assert age.loc["Negotiation", "deals"] == 0
    assert age["overdue_deals"].sum() == 0


def test_sales_velocity_uses_the_pipeline_open_at_the_end_of_the_period():
    dataset = dataset_from_frames(frames(history=True))
    velocity = conversion.sales_velocity(dataset, PERIOD)
    # Open and qualified on 31 March: O4 (Proposal, no history, still open), O8
    # (Qualification, no history, still open) and O6 (Discovery per its history; won only
    # on 10 April) = 3. Win rate 0.5; average won 6000 / 3 = 2000; average cycle
    # (30 + 60 + 30) / 3 = 40 d -> 3 x 0.5 x 2000 / 40 = 75 per day.
    assert velocity["open_qualified_deals"] == 3
    assert velocity["sales_velocity_per_day"] == pytest.approx(3 * 0.5 * 2000 / 40)


def test_sales_velocity_at_the_snapshot_uses_the_current_pipeline(dataset):
    from salesnb.data.periods import Period

    # Period ending on the data date (10 April): open now are O4 and O8 = 2; closed in
    # Jan..Apr 10: Q1's six plus O6 won (Feb 15 -> Apr 10 = 54 d, 4000) -> 4 won of 7;
    # average won (6000 + 4000) / 4 = 2500; cycle (30 + 60 + 30 + 54) / 4 = 43.5 d.
    to_date = Period(PERIOD.start, dataset.as_of)
    velocity = conversion.sales_velocity(dataset, to_date)
    assert velocity["open_qualified_deals"] == 2
    assert velocity["sales_velocity_per_day"] == pytest.approx(2 * (4 / 7) * 2500 / 43.5)


def test_sales_velocity_of_a_past_period_without_history_is_unknown(dataset):
    # 31 March is before the data date and there is no stage history: which deals were
    # open and qualified then cannot be known, so there is no velocity (not a guess).
    velocity = conversion.sales_velocity(dataset, PERIOD)
    assert velocity["open_qualified_deals"] is None and velocity["sales_velocity_per_day"] is None
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
        conversion.win_rates(dataset, PERIOD, where=select(team="Alfa"))


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


# ----------------------------------------------------------------------------- selections and groupings
# Team Alpha = reps R1, R2; with source Web: O1 (won 1000, Jan 5 -> Feb 4), O2 (lost 500,
# Price), O4 (open, Proposal, created Feb 1), O6 (won on Apr 10: after Q1), O9 (lost 700, Price).
ALPHA_WEB = select(team="Alpha", source="Web")


def test_win_rates_of_a_team_and_source(dataset):
    row = conversion.win_rates(dataset, PERIOD, where=ALPHA_WEB).iloc[0]
    # closed in Q1: O1 won, O2 and O9 lost -> 1 / 3; by value 1000 / (1000 + 500 + 700)
    assert (row["won"], row["lost"], row["closed"]) == (1, 2, 3)
    assert row["win_rate"] == pytest.approx(1 / 3)
    assert row["win_rate_by_value"] == pytest.approx(1000 / 2200)


def test_summary_of_a_team_and_source(dataset):
    kpis = conversion.summary(dataset, PERIOD, where=ALPHA_WEB)
    # created in Q1: O1, O2, O4, O6, O9 = 5; won O1 only: average 1000, cycle 30 d
    assert kpis["opportunities_created"] == 5
    assert (kpis["won"], kpis["lost"]) == (1, 2)
    assert kpis["avg_won_amount"] == pytest.approx(1000)
    assert kpis["median_sales_cycle_days"] == pytest.approx(30)
    # 31 March is before the data date (10 April) and there is no history: no velocity
    assert kpis["sales_velocity_per_day"] is None


def test_win_rates_by_source_within_a_team(dataset):
    by_source = conversion.win_rates(dataset, PERIOD, by="source", where=select(team="Alpha")).set_index("source")
    # Alpha closed in Q1: Web O1 won, O2 lost, O9 lost -> 1/3; Referral O3 won, O5 lost -> 1/2
    assert by_source.loc["Web", "win_rate"] == pytest.approx(1 / 3)
    assert by_source.loc["Referral", "win_rate"] == pytest.approx(1 / 2)
    assert list(by_source.index) == ["Web", "Referral"]  # most closed deals first


def test_a_rep_by_name_and_a_segment_by_team(dataset):
    # Cy = R3: O7 won in Q1 (O8 is open) -> 1 of 1
    cy = conversion.win_rates(dataset, PERIOD, where=select(rep="Cy")).iloc[0]
    assert (cy["won"], cy["closed"], cy["win_rate"]) == (1, 1, 1.0)
    # SMB accounts A1, A3: O1 won, O2 lost, O5 lost in Q1 (O6 closes in April), all Alpha's -> 1 / 3
    smb = conversion.win_rates(dataset, PERIOD, by="team", where=select(segment="SMB"))
    assert smb["team"].tolist() == ["Alpha"] and smb["win_rate"].iloc[0] == pytest.approx(1 / 3)


def test_deals_created_by_creation_month(dataset):
    created = conversion.deals_created(dataset, PERIOD, by="month")
    months = dict(zip(created["created_month"].astype(str).str[:7], created["opportunities_created"]))
    # Jan: O1, O2, O3, O9; Feb: O4, O6; Mar: O7, O8 (O5 was created in December), in time order
    assert months == {"2025-01": 4, "2025-02": 2, "2025-03": 2}
    assert list(months) == ["2025-01", "2025-02", "2025-03"]


def test_deals_created_without_any_creation_date_is_not_measured():
    frame = frames()["opportunities"].drop(columns="created_at")  # no creation date anywhere
    dataset = dataset_from_frames({"opportunities": frame})
    assert pd.isna(conversion.deals_created(dataset, PERIOD).iloc[0]["opportunities_created"])
    assert conversion.summary(dataset, PERIOD)["opportunities_created"] is None


def test_open_deal_age_of_a_selection_and_by_team(dataset):
    age = conversion.open_deal_age(dataset, where=ALPHA_WEB).set_index("stage")
    # open Alpha Web deals: O4 only (Proposal, 2000, created Feb 1: 68 d at 10 April)
    assert age["deals"].sum() == 1 and age.loc["Proposal", "median_age_days"] == pytest.approx(68)
    assert age.loc["Qualification", "deals"] == 0 and age.loc["Qualification", "amount"] == 0.0
    by_team = conversion.open_deal_age(dataset, by="team").set_index("team")
    # O4 (Alpha, 2000, 68 d) and O8 (Beta, 800, created Mar 5: 36 d)
    assert by_team.loc["Alpha", "amount"] == 2000.0 and by_team.loc["Beta", "median_age_days"] == pytest.approx(36)


def test_loss_reasons_of_a_selection_and_by_team(dataset):
    losses = conversion.loss_reasons(dataset, PERIOD, where=ALPHA_WEB, by_stage=False)
    # lost: O2 (500) and O9 (700), both Price: all of it
    assert losses[["reason", "deals", "lost_amount", "share_of_lost"]].values.tolist() == [["Price", 2, 1200.0, 1.0]]
    by_team = conversion.loss_reasons(dataset, PERIOD, by="team", by_stage=False)
    # Alpha lost O2 Price 500, O9 Price 700, O5 Competitor (no amount); Beta lost nothing.
    # Shares within the team: Price 2 of 3 deals, 1200 of 1200 lost amount.
    price = by_team.set_index(["team", "reason"]).loc[("Alpha", "Price")]
    assert price["share_of_lost"] == pytest.approx(2 / 3) and price["share_of_lost_amount"] == pytest.approx(1.0)
    assert set(by_team["team"]) == {"Alpha"}


def test_sales_velocity_of_a_team():
    dataset = dataset_from_frames(frames(history=True))
    velocity = conversion.sales_velocity(dataset, PERIOD, where=select(team="Beta"))
    # Beta = R3. Open and qualified on 31 March: O8 (Qualification, still open) = 1; O7 closed
    # (won) on 31 March. Win rate 1/1, average won 2000, cycle 30 d -> 1 x 1 x 2000 / 30.
    assert velocity["open_qualified_deals"] == 1
    assert velocity["sales_velocity_per_day"] == pytest.approx(2000 / 30)


def test_missing_counts_of_a_team(dataset):
    counts = deals.missing_counts(dataset, PERIOD, where=select(team="Alpha"))
    # Alpha: O1..O6 and O9 = 7 deals; closed O1, O2, O3, O5, O6, O9 = 6, of which 5 in Q1 (not O6);
    # open O4; O5 has no amount
    assert (counts["deals"], counts["closed"], counts["closed_in_period"], counts["open"]) == (7, 6, 5, 1)
    assert counts["closed_in_period_without_amount"] == 1


def test_exclusions_say_what_each_view_leaves_out(dataset):
    left_out = conversion.exclusions(dataset, PERIOD)
    # closed in Q1: O1, O2, O3, O5, O7, O9; O5 has no amount
    assert left_out["value"] == (1, 6, "deals closed in the period",
                                 "have no amount: left out of win rate by value and average won deal")
    assert left_out["created"].count == 0 and left_out["created"].total == 9


def test_a_grouping_that_does_not_exist_is_named(dataset):
    from salesnb.errors import SalesnbError

    with pytest.raises(SalesnbError, match="by must be one of rep, team, source"):
        conversion.win_rates(dataset, PERIOD, by="teams")
