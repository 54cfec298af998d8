"""Every report runs on partial data and says what is missing instead of failing."""

import json
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


def _plan_run(folder, tmp_path):
    result = run_reports(folder, out=tmp_path / "run", only=["06_plan"], jobs=1)
    assert result.ok, [item.error for item in result.results]
    # A coming period holds no order or lead yet: that is no reason to warn.
    assert json.loads(result.status_path.read_text())["warnings"] == []
    page = " ".join(_page(result, "06_plan").replace("&#x27;", "'").split())
    return result.result("06_plan").kpis, page


def test_plan_without_quotas_spend_orders_or_left_on(sample_dir, tmp_path):
    # Deals, their history, leads, accounts and reps without left_on: the plan runs on the
    # funnel and says what it assumes for what is missing.
    folder = _subset(sample_dir, tmp_path, "opportunities", "opportunity_history", "leads", "accounts")
    reps = (sample_dir / "reps.csv").read_text().splitlines()
    header = reps[0].split(",")
    assert header[-1] == "left_on"  # the sample writes it last: drop the column
    (folder / "reps.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in reps) + "\n", encoding="utf-8")
    plan, page = _plan_run(folder, tmp_path)
    # No quotas: last year's bookings (won deals only, no orders) x 1.2.
    assert plan["plan_target"] > 0 and "growth parameter; no target given and no quotas" in page
    assert plan["plan_expected_repeat_revenue"] is None and "the data has no 'orders' table" in page
    assert plan["plan_gap_p10"] <= plan["plan_gap_p50"] <= plan["plan_gap_p90"]
    assert plan["required_new_deals_per_month"] > 0 and plan["required_leads_per_month"]["total"] > 0
    assert plan["plan_lead_cost_per_month"] is None and "no 'marketing_spend' table" in page
    assert plan["plan_attrition_per_month"] is None and "attrition is not measured: the plan assumes nobody leaves" in page
    assert plan["required_hires"] and plan["plan_backtest_ratio"] is not None


def test_plan_on_opportunities_only(sample_dir, tmp_path):
    # No history: no open pipeline's part, so no gap and no backtest; no hire dates: no hires.
    plan, page = _plan_run(_subset(sample_dir, tmp_path, "opportunities"), tmp_path)
    assert plan["plan_target"] > 0
    assert plan["expected_from_open_pipeline"] is None and plan["plan_gap_p50"] is None
    assert plan["required_new_deals_per_month"] is None and plan["required_leads_per_month"] is None
    assert "needs the 'opportunity_history' table" in page and "needs the 'leads' table" in page
    assert plan["required_hires"] is None and "Hires are not measured" in page
    assert plan["plan_backtest_ratio"] is None and "Not enough history to check the plan" in page
    assert plan["current_new_deals_per_month"] > 0  # what can be answered still is


def test_plan_on_orders_only(sample_dir, tmp_path):
    # Orders and accounts, no deals: the plan is about order revenue; the deal steps say why not.
    plan, page = _plan_run(_subset(sample_dir, tmp_path, "orders", "accounts"), tmp_path)
    assert plan["plan_target"] > 0 and plan["plan_expected_repeat_revenue"] > 0
    assert plan["plan_gap"] == pytest.approx(plan["plan_target"] - plan["plan_booked_so_far"]
                                             - plan["plan_expected_repeat_revenue"])
    assert plan["required_new_deals_per_month"] is None and plan["required_hires"] is None
    assert set(plan["lever_impact"].values()) == {None}
    assert "needs the 'leads' table" in page and "Nothing in the data falls in this period" not in page


def test_plan_on_leads_only(sample_dir, tmp_path):
    # Leads without deals or orders: no target can be worked back to leads; the page says what to add.
    plan, page = _plan_run(_subset(sample_dir, tmp_path, "leads"), tmp_path)
    assert plan == {} and "needs the 'opportunities' table" in page
    assert "Nothing in the data falls in this period" not in page  # a coming period is empty by nature


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
    # A plan is worked back through time: it says so, records nothing and fails nothing.
    assert result.result("06_plan").kpis == {} and "needs dates" in _page(result, "06_plan")
