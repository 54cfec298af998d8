"""Every report runs on partial data and says what is missing instead of failing."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from salesnb.report.runner import run_reports

pytestmark = pytest.mark.notebook


def _subset(sample_dir, tmp_path, *tables):
    folder = tmp_path / "data"
    folder.mkdir()
    for table in tables:
        shutil.copy(sample_dir / f"{table}.csv", folder / f"{table}.csv")
    return folder


def _page(result, name):
    return (result.run_dir / f"{name}.html").read_text()


def test_opportunities_only(sample_dir, tmp_path):
    result = run_reports(_subset(sample_dir, tmp_path, "opportunities"), out=tmp_path / "run", jobs=2)
    assert result.ok, [item.error for item in result.results]
    # Conversion works from the current stage alone; time in stage says it needs the history.
    assert result.result("02_conversion").kpis["won"] > 0
    assert "needs the &#x27;opportunity_history&#x27; table" in _page(result, "02_conversion") \
        or "needs the 'opportunity_history' table" in _page(result, "02_conversion")
    # The lead report names what is missing and records no lead numbers.
    assert "leads" in _page(result, "01_lead_generation")
    assert "leads_created" not in result.result("01_lead_generation").kpis
    # The people report works from the deal owners alone and names the tables it would use.
    people = result.result("04_productivity").kpis
    assert people["won_amount_by_rep"] and people["activities_per_rep_week"] is None
    assert people["company_quota_attainment"] is None and people["median_ramp_months"] is None
    page = _page(result, "04_productivity").replace("&#x27;", "'")
    assert "needs the 'activities' table" in page and "needs the 'quotas' table" in page


def test_leads_only(sample_dir, tmp_path):
    result = run_reports(_subset(sample_dir, tmp_path, "leads"), out=tmp_path / "run", jobs=2)
    assert result.ok, [item.error for item in result.results]
    lead_kpis = result.result("01_lead_generation").kpis
    # Volume and speed still work without deals (sample: about 8,000 leads over two years).
    assert lead_kpis["leads_created"] > 1000
    assert 0 < lead_kpis["share_responded_within_sla"] < 1
    assert result.result("02_conversion").kpis == {}
    assert "opportunities" in _page(result, "02_conversion")
    assert result.result("04_productivity").kpis == {}
    assert "opportunities" in _page(result, "04_productivity")
    # The account report says it needs orders and records nothing.
    assert result.result("05_accounts").kpis == {}
    assert "orders" in _page(result, "05_accounts")


def test_orders_only(sample_dir, tmp_path):
    # Orders and accounts, no deals: the account report and data health run, the deal and
    # lead reports say what they need.
    result = run_reports(_subset(sample_dir, tmp_path, "orders", "accounts"), out=tmp_path / "run", jobs=2)
    assert result.ok, [item.error for item in result.results]
    accounts = result.result("05_accounts").kpis
    assert accounts["customers"] > 100 and 0 < accounts["repeat_purchase_rate"] < 1
    assert result.result("02_conversion").kpis == {}
    assert "opportunities" in _page(result, "02_conversion")
    assert "leads" in _page(result, "01_lead_generation")
    assert result.result("04_productivity").kpis == {}
    assert "opportunities" in _page(result, "04_productivity")


@pytest.mark.parametrize("tables", [("opportunities",), ("leads",), ("orders", "accounts")], ids="+".join)
def test_scoring_on_partial_data(sample_dir, tmp_path, tables):
    # Each score is learned where its table is; the other says which table it needs.
    result = run_reports(_subset(sample_dir, tmp_path, *tables), out=tmp_path / "run", only=["07_scoring"], jobs=1)
    assert result.ok, [item.error for item in result.results]
    scoring = result.result("07_scoring").kpis
    page = _page(result, "07_scoring").replace("&#x27;", "'")
    if "leads" in tables:
        assert 0.5 < scoring["lead_score_auc"] < 1 and scoring["scored_leads"] > 0
    else:
        assert "lead_score_auc" not in scoring and "needs the 'leads' table" in page
    if "opportunities" in tables:
        # Without the stage history there is no stage baseline, and the page says so.
        assert 0.5 < scoring["deal_score_auc"] < 1 and scoring["deal_score_baseline_auc"] is None
        assert "needs the stage history" in page
    else:
        assert "deal_score_auc" not in scoring and "needs the 'opportunities' table" in page
    assert (result.run_dir / "scores.csv").exists() == bool({"leads", "opportunities"} & set(tables))


def test_dateless_data_runs_every_report_and_scoring_by_k_fold(tmp_path):
    # A lead-scoring extract and a win/loss table without a single date (tests/fixtures/dateless):
    # it loads, every report runs, what needs dates says so, and the scores are tested by k-fold.
    folder = Path(__file__).parents[1] / "fixtures" / "dateless"
    leads = pd.read_csv(folder / "leads.csv", dtype=str)
    deals = pd.read_csv(folder / "opportunities.csv", dtype=str)
    result = run_reports(folder, out=tmp_path / "run", jobs=2)
    assert result.ok, [(item.name, item.error) for item in result.results]
    scoring = result.result("07_scoring").kpis
    assert scoring["lead_score_out_of_time"] == 0 and scoring["lead_score_folds"] == 5
    # k-fold tests every closed lead and every closed deal once.
    assert scoring["lead_score_tested"] == int(leads["status"].isin(["Converted", "Disqualified"]).sum())
    assert scoring["deal_score_tested"] == int(deals["stage"].isin(["Closed Won", "Closed Lost"]).sum())
    assert scoring["scored_leads"] == int(leads["status"].isin(["New", "Working"]).sum())
    # The fixture's notes are written at closing: the guard names them.
    assert {"leads: Closing Note", "deals: Loss Note"} <= set(scoring["leakage_suspects"])
    conversion = result.result("02_conversion").kpis
    assert conversion["won"] == int((deals["stage"] == "Closed Won").sum())
    assert "needs dates" in _page(result, "02_conversion")
