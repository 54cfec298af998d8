"""Deals with missing values stay in every number that does not need the value, and leave
only those that do; value numbers without amounts are not measured, never 0. Every expected
value is worked out by hand in the comments from the tiny tables below."""

import pandas as pd
import pytest

from salesnb.data.dataset import dataset_from_frames
from salesnb.data.periods import Period
from salesnb.data.playbook import playbook_from_dict
from salesnb.metrics import conversion, deals, funnel

PERIOD = Period(pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-03-31").date())

# Default playbook: open Prospecting .. Negotiation, Closed Won, Closed Lost.
PARTIAL = pd.DataFrame(
    [
        # id,  created,      close,        stage,          amount
        ("P1", "2025-01-05", "2025-02-04", "Closed Won",   1000.0),  # cycle 30 d
        ("P2", None,         "2025-02-10", "Closed Won",   3000.0),  # no created_at: no cycle, no cohort
        ("P3", "2025-01-10", "2025-03-01", "Closed Lost",   500.0),
        ("P4", "2025-01-20", None,         "Closed Lost",   700.0),  # no close_date: in no period
        ("P5", "2025-02-01", "2025-03-20", "Closed Won",     None),  # no amount: counted, no value
        ("P6", None,         None,         "Prospecting",    None),  # open, nothing but a stage
        ("P7", "2025-02-15", "2025-06-30", "Proposal",     2000.0),  # open
    ],
    columns=["opportunity_id", "created_at", "close_date", "stage", "amount"],
)


@pytest.fixture(scope="module")
def partial():
    return dataset_from_frames({"opportunities": PARTIAL})


def test_missing_counts(partial):
    counts = deals.missing_counts(partial, PERIOD)
    # 7 deals; P2 and P6 without created_at; closed P1..P5 = 5, P4 without close_date;
    # won in period P1, P2, P5 (P2 without created_at); closed in period P1, P2, P3, P5 (P5 no amount);
    # open P6, P7: P6 has no amount, no created_at, no close_date.
    assert counts == {
        "deals": 7, "without_created_at": 2, "closed": 5, "closed_without_close_date": 1,
        "won_in_period": 3, "won_in_period_without_created_at": 1,
        "closed_in_period": 4, "closed_in_period_without_amount": 1,
        "open": 2, "open_without_amount": 1, "open_without_created_at": 1, "open_without_close_date": 1,
    }


def test_win_rates_keep_deals_without_created_at_or_amount(partial):
    row = conversion.win_rates(partial, PERIOD).iloc[0]
    # closed in the period by close_date: P1 won, P2 won (no created_at: still counts), P3 lost,
    # P5 won (no amount: still counts); P4 has no close_date -> in no period.
    assert (row["won"], row["lost"], row["closed"]) == (3, 1, 4)
    assert row["win_rate"] == pytest.approx(3 / 4)
    # by value over the closed deals with an amount: won 1000 + 3000 = 4000, lost 500 -> 4000 / 4500
    assert row["win_rate_by_value"] == pytest.approx(4000 / 4500)
    assert (row["won_amount"], row["lost_amount"], row["closed_without_amount"]) == (4000.0, 500.0, 1)


def test_sales_cycle_leaves_out_won_deals_without_created_at(partial):
    row = conversion.sales_cycle(partial, PERIOD).iloc[0]
    # won in the period with both dates: P1 (30 d) and P5 (2025-02-01 -> 2025-03-20 = 47 d); P2 left out
    assert row["won_with_cycle"] == 2
    assert row["median_sales_cycle_days"] == pytest.approx((30 + 47) / 2)


def test_summary_counts_created_deals_with_a_date_only(partial):
    summary = conversion.summary(partial, PERIOD)
    # created in Q1 2025: P1, P3, P4, P5, P7 = 5 (P2 and P6 have no created_at)
    assert summary["opportunities_created"] == 5
    # average won amount over won deals with an amount: (1000 + 3000) / 2; P5 left out
    assert summary["avg_won_amount"] == pytest.approx(2000.0)


def test_open_deal_age_counts_every_open_deal(partial):
    age = conversion.open_deal_age(partial).set_index("stage")
    # P6 (Prospecting): counted; no amount -> amount not measured; no created_at -> no age; no close date
    assert age.loc["Prospecting", "deals"] == 1 and pd.isna(age.loc["Prospecting", "amount"])
    assert pd.isna(age.loc["Prospecting", "median_age_days"]) and age.loc["Prospecting", "without_close_date"] == 1
    # an empty stage holds 0 value, not "unknown"
    assert age.loc["Discovery", "deals"] == 0 and age.loc["Discovery", "amount"] == 0.0
    assert age.loc["Proposal", "amount"] == 2000.0


def test_funnel_cohort_leaves_out_deals_without_created_at(partial):
    table = funnel.stage_funnel(partial, PERIOD)
    # cohort: P1, P3, P4, P5, P7 (P2, P6 left out). Without history lost deals reach position 0 only.
    # reached Prospecting = 5; Won = P1, P5 = 2
    assert table.iloc[0]["reached"] == 5 and table.iloc[-1]["reached"] == 2


def test_no_amount_column_at_all_is_not_measured():
    dataset = dataset_from_frames({"opportunities": PARTIAL.drop(columns=["amount"])})
    row = conversion.win_rates(dataset, PERIOD).iloc[0]
    assert row["win_rate"] == pytest.approx(3 / 4)  # counts unaffected
    assert pd.isna(row["win_rate_by_value"]) and pd.isna(row["won_amount"])
    summary = conversion.summary(dataset, PERIOD)
    assert summary["win_rate_by_value"] is None and summary["avg_won_amount"] is None
    assert summary["sales_velocity_per_day"] is None
    assert not deals.amounts_recorded(dataset)
    assert any("No deal has an amount" in gap for gap in deals.process_gaps(dataset))


def test_zeroed_lost_amounts_make_value_win_rate_not_measured():
    frame = pd.DataFrame({
        "opportunity_id": ["1", "2", "3", "4", "5"],
        "created_at": ["2025-01-02"] * 5, "close_date": ["2025-02-01"] * 5,
        "stage": ["Closed Won", "Closed Won", "Closed Lost", "Closed Lost", "Closed Lost"],
        # 2 of 3 lost deals at 0 or empty (>= half) while won deals have amounts
        "amount": [1000.0, 2000.0, 0.0, None, 400.0],
    })
    dataset = dataset_from_frames({"opportunities": frame})
    assert not deals.value_win_rate_measured(dataset)
    row = conversion.win_rates(dataset, PERIOD).iloc[0]
    assert row["win_rate"] == pytest.approx(2 / 5) and pd.isna(row["win_rate_by_value"])
    losses = conversion.loss_reasons(dataset, PERIOD)
    assert losses["lost_amount"].isna().all() and losses["share_of_lost_amount"].isna().all()
    # one lost deal at 0 of 3 (under half): measured, 3000 / (3000 + 0 + 400)
    frame.loc[3, "amount"] = 300.0
    dataset = dataset_from_frames({"opportunities": frame})
    assert conversion.win_rates(dataset, PERIOD).iloc[0]["win_rate_by_value"] == pytest.approx(3000 / 3700)


def test_funnel_only_process_with_won_deals_only():
    playbook = playbook_from_dict({"stages": [{"name": "Won", "probability": 1.0, "outcome": "won"}]})
    frame = pd.DataFrame({"opportunity_id": ["1", "2"], "close_date": ["2025-01-10", "2025-02-10"],
                          "stage": ["Won", "Won"]})
    dataset = dataset_from_frames({"opportunities": frame}, playbook)
    summary = conversion.summary(dataset, PERIOD)
    # 2 won; win rate would always read 100%: not measured; no created_at anywhere: created not measured
    assert summary["won"] == 2 and summary["lost"] == 0
    assert summary["win_rate"] is None and summary["opportunities_created"] is None
    assert summary["sales_velocity_per_day"] is None  # no open stage: no pipeline
    assert funnel.stage_funnel(dataset, PERIOD).empty
    assert conversion.open_deal_age(dataset).empty
    gaps = deals.process_gaps(dataset)
    assert any("No lost deals are recorded" in gap for gap in gaps)
    assert any("No open deals are recorded" in gap for gap in gaps)


def test_won_and_lost_only_process():
    playbook = playbook_from_dict({"stages": [{"name": "Won", "probability": 1.0, "outcome": "won"},
                                              {"name": "Lost", "probability": 0.0, "outcome": "lost"}]})
    frame = pd.DataFrame({"opportunity_id": ["1", "2", "3"], "created_at": ["2025-01-01"] * 3,
                          "close_date": ["2025-01-10", "2025-02-10", "2025-03-01"],
                          "stage": ["Won", "Lost", "Lost"], "amount": [100.0, 50.0, 25.0]})
    dataset = dataset_from_frames({"opportunities": frame}, playbook)
    summary = conversion.summary(dataset, PERIOD)
    assert summary["win_rate"] == pytest.approx(1 / 3)  # 1 won / (1 + 2)
    assert summary["win_rate_by_value"] == pytest.approx(100 / 175)
    assert summary["sales_velocity_per_day"] is None
