"""07_scoring executed with papermill on the sample; its KPIs are checked against an independent
computation in plain pandas and scikit-learn's AUC on the sample CSV files and on the
``scores.csv`` the report writes: which leads are open, which converted, the out-of-time test's
folds and the source baseline worked out here again, without salesnb's metric code."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tests.notebook_runner import execute_notebook

pytestmark = pytest.mark.notebook

OPEN_LEAD_STATUSES = {"New", "Working"}  # the default playbook's open lead statuses
CLOSED_STAGES = {"Closed Won", "Closed Lost"}
TIME_BLOCKS = 5  # the out-of-time test: 5 blocks of closed leads by creation day, folds 1..4 tested
SMOOTHING = 10  # the baseline's source rate is shrunk towards the training rate by 10 records


def lead_outcomes(folder):
    """Each lead's outcome: 1 converted (a conversion date, a deal ID, or a deal naming the lead),
    0 closed without converting, NaN open."""
    leads = pd.read_csv(folder / "leads.csv", dtype=str)
    deals = pd.read_csv(folder / "opportunities.csv", dtype=str)
    converted = leads["converted_at"].notna() | leads["opportunity_id"].notna() | \
        leads["lead_id"].isin(deals["lead_id"].dropna())
    outcome = np.where(converted, 1.0, np.where(leads["status"].isin(OPEN_LEAD_STATUSES), np.nan, 0.0))
    return leads.assign(outcome=outcome, day=pd.to_datetime(leads["created_at"]).dt.normalize())


def out_of_time_baseline(leads):
    """The source baseline on the out-of-time folds, worked out here: closed leads cut into five
    blocks of equal counts by creation day; fold k learns source rates from blocks < k."""
    closed = leads[leads["outcome"].notna()].copy()
    ordinal = closed["day"].to_numpy(dtype="datetime64[D]").astype("int64")
    cuts = np.quantile(ordinal, np.linspace(0, 1, TIME_BLOCKS + 1)[1:-1])
    closed["block"] = np.searchsorted(cuts, ordinal, side="right")
    closed["source"] = closed["source"].fillna("(empty)")
    tested = []
    for block in range(1, TIME_BLOCKS):
        train, test = closed[closed["block"] < block], closed[closed["block"] == block].copy()
        base = train["outcome"].mean()
        groups = train.groupby("source")["outcome"].agg(["sum", "count"])
        rates = (groups["sum"] + SMOOTHING * base) / (groups["count"] + SMOOTHING)
        test["baseline"] = test["source"].map(rates).fillna(base)
        tested.append(test)
    return pd.concat(tested)


@pytest.fixture(scope="module")
def scored(sample_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scoring")
    _, kpis = execute_notebook("07_scoring", {"data_dir": str(sample_dir), "output_dir": str(folder)}, folder)
    scores = pd.read_csv(folder / "scores.csv", dtype={"record_id": str, "rep_id": str})
    return kpis, scores


def test_open_records_are_the_ones_scored(scored, sample_dir):
    kpis, scores = scored
    leads = lead_outcomes(sample_dir)
    deals = pd.read_csv(sample_dir / "opportunities.csv", dtype=str)
    open_leads = set(leads.loc[leads["outcome"].isna(), "lead_id"])
    open_deals = set(deals.loc[~deals["stage"].isin(CLOSED_STAGES), "opportunity_id"])
    assert kpis["scored_leads"] == len(open_leads) > 0
    assert kpis["scored_deals"] == len(open_deals) > 0
    assert set(scores.loc[(scores["record_type"] == "lead") & scores["outcome"].isna(), "record_id"]) == open_leads
    assert set(scores.loc[(scores["record_type"] == "deal") & scores["outcome"].isna(), "record_id"]) == open_deals


def test_lead_score_is_tested_out_of_time_against_the_source_baseline(scored, sample_dir):
    kpis, scores = scored
    tested = out_of_time_baseline(lead_outcomes(sample_dir))
    assert kpis["lead_score_out_of_time"] == 1 and kpis["lead_score_folds"] == TIME_BLOCKS - 1
    assert kpis["lead_score_tested"] == len(tested)
    assert kpis["lead_base_rate"] == pytest.approx(tested["outcome"].mean())
    assert kpis["lead_score_baseline_auc"] == pytest.approx(roc_auc_score(tested["outcome"], tested["baseline"]))
    # scores.csv's out-of-sample lead rows are exactly the tested leads, with the CSV's outcomes.
    out_of_sample = scores[(scores["record_type"] == "lead") & scores["out_of_sample"]].set_index("record_id")
    assert set(out_of_sample.index) == set(tested["lead_id"])
    truth = tested.set_index("lead_id")["outcome"].reindex(out_of_sample.index)
    assert (out_of_sample["outcome"] == truth).all()


def test_reported_aucs_are_those_of_the_out_of_sample_rows_of_scores_csv(scored, sample_dir):
    kpis, scores = scored
    leads = lead_outcomes(sample_dir).set_index("lead_id")["outcome"]
    deals = pd.read_csv(sample_dir / "opportunities.csv", dtype=str).set_index("opportunity_id")["stage"]
    lead_rows = scores[(scores["record_type"] == "lead") & scores["out_of_sample"]]
    deal_rows = scores[(scores["record_type"] == "deal") & scores["out_of_sample"]]
    won = (deals.reindex(deal_rows["record_id"]) == "Closed Won").astype(float).to_numpy()
    # scores.csv keeps 4 decimals: ties it makes move the AUC by less than a thousandth.
    assert kpis["lead_score_auc"] == pytest.approx(roc_auc_score(leads[lead_rows["record_id"]], lead_rows["score"]),
                                                   abs=1e-3)
    assert kpis["deal_score_auc"] == pytest.approx(roc_auc_score(won, deal_rows["score"]), abs=1e-3)
    assert kpis["deal_score_tested"] == len(deal_rows)
    top = lead_rows[lead_rows["decile"] == 10]
    assert kpis["lead_score_top_decile_rate"] == pytest.approx(leads[top["record_id"]].mean())
    # The sample's score beats a coin and its source baseline; a coin would be 0.5.
    assert 0.6 < kpis["lead_score_auc"] < 0.95 and kpis["lead_score_auc"] > kpis["lead_score_baseline_auc"]


def test_fields_written_at_closing_are_flagged(scored, sample_dir):
    kpis, _ = scored
    deals = pd.read_csv(sample_dir / "opportunities.csv", dtype=str)
    is_open = ~deals["stage"].isin(CLOSED_STAGES)
    # In the sample a loss reason is written when a deal is lost, never while it is open, and the
    # CRM's probability is set to 0 or 1 at closing: both give the outcome away.
    assert deals.loc[is_open, "lost_reason"].isna().all() and deals.loc[~is_open, "lost_reason"].notna().any()
    assert set(deals.loc[~is_open, "probability"].astype(float)) <= {0.0, 1.0}
    suspects = kpis["leakage_suspects"]
    assert {"deals: lost reason", "deals: CRM probability"} <= set(suspects)
    assert suspects["deals: CRM probability"] == pytest.approx(1.0)
