"""Every report runs (exit 0) on the three real-export shapes (tests/fixtures/exports/real_*)
and on an orders-only dataset, through the CLI as a user would; the KPIs the reports record
are checked against counts made here in plain pandas on the imported CSV files."""

import json
from pathlib import Path

import pandas as pd
import pytest

from salesnb.cli import main
from salesnb.data.importing import import_dataset
from tests.notebook_runner import execute_notebook

pytestmark = pytest.mark.notebook
EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"


def run_all(tmp_path, name, *period):
    data = tmp_path / "data"
    import_dataset(EXPORTS / name, data, mapping=EXPORTS / name / "mapping.yaml")
    out = tmp_path / "run"
    code = main(["run", "--data", str(data), "--config", str(data / "playbook.yaml"), *period, "--out", str(out)])
    assert code == 0  # every notebook ran
    return data, json.loads((out / "metrics.json").read_text())


def test_crm_snapshot(tmp_path):
    data, metrics = run_all(tmp_path, "real_crm_snapshot", "--period", "all")
    deals = pd.read_csv(data / "opportunities.csv")
    closed = deals[deals["stage"].isin(["Won", "Lost"])]
    won = deals[deals["stage"] == "Won"]
    conversion = metrics["02_conversion"]
    assert conversion["opportunities_created"] == deals["created_at"].notna().sum()  # 20 of 26
    assert (conversion["won"], conversion["lost"]) == (len(won), len(closed) - len(won))
    assert conversion["win_rate"] == pytest.approx(len(won) / len(closed))
    assert conversion["win_rate_by_value"] is None  # lost deals zeroed: not measured
    assert conversion["avg_won_amount"] == pytest.approx(won["amount"].mean())
    assert metrics["00_data_health"]["errors"] == 0


def test_salesforce_b2b2c_period_all_equals_the_exact_span(tmp_path):
    data, metrics = run_all(tmp_path / "all", "real_salesforce_b2b2c", "--period", "all")
    deals = pd.read_csv(data / "opportunities.csv", parse_dates=["created_at", "close_date"])
    # the span: first creation .. latest close of a closed deal (the 1998 close date is before it)
    closed = deals[deals["stage"].isin(["Enrolled", "Withdrawn"])]
    start, end = deals["created_at"].min(), closed["close_date"].max()
    in_span = closed[closed["close_date"].between(start, end)]
    conversion = metrics["02_conversion"]
    assert conversion["won"] == (in_span["stage"] == "Enrolled").sum()
    assert conversion["win_rate"] == pytest.approx((in_span["stage"] == "Enrolled").mean())
    assert conversion["win_rate_by_value"] is None and conversion["sales_velocity_per_day"] is None  # no amounts
    _, exact = run_all(tmp_path / "exact", "real_salesforce_b2b2c",
                       "--period-start", f"{start:%Y-%m-%d}", "--period-end", f"{end:%Y-%m-%d}")
    assert exact == metrics


def test_marketing_funnel(tmp_path):
    data, metrics = run_all(tmp_path, "real_marketing_funnel", "--period", "all")
    leads = pd.read_csv(data / "leads.csv", parse_dates=["created_at"])
    deals = pd.read_csv(data / "opportunities.csv", parse_dates=["close_date"])
    lead_kpis = metrics["01_lead_generation"]
    assert lead_kpis["leads_created"] == len(leads)
    # Lead -> won over the mature cohort months only: a month whose last day is at least 90 days
    # before the data date (the latest lead or close date); every deal of this export is won.
    as_of = max(leads["created_at"].max(), deals["close_date"].max()).normalize()
    month_end = leads["created_at"].dt.to_period("M").dt.end_time.dt.normalize()
    mature = leads[month_end + pd.Timedelta(days=90) <= as_of]
    assert 0 < len(mature) < len(leads)  # 23 of 30: the last months have not had time to close
    assert lead_kpis["lead_to_won_rate"] == pytest.approx(mature["lead_id"].isin(deals["lead_id"]).mean())
    conversion = metrics["02_conversion"]
    assert conversion["won"] == len(deals)
    # only won deals are recorded: no win rate, no creation dates, no amounts, no pipeline
    assert conversion["win_rate"] is None and conversion["opportunities_created"] is None
    assert conversion["avg_won_amount"] is None and conversion["sales_velocity_per_day"] is None
    assert conversion["stage_conversion"] == {}


def test_orders_only_dataset(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,account_id,ordered_at,amount\nO1,A1,2025-01-05,20\n"
                                         "O2,A1,2025-02-05,30\nO3,A2,2025-02-07,15\n")
    (tmp_path / "accounts.csv").write_text("account_id,account_name\nA1,Acme\nA2,Globex\n")
    notebook, kpis = execute_notebook("00_data_health", {"data_dir": str(tmp_path)}, tmp_path)
    assert kpis["rows_by_table"] == {"accounts": 2, "orders": 3} and kpis["errors"] == 0
    notebook, kpis = execute_notebook("02_conversion", {"data_dir": str(tmp_path)}, tmp_path)
    shown = json.dumps([output for cell in notebook.cells for output in cell.get("outputs", [])])
    assert "This whole report needs the &#x27;opportunities&#x27; table" in shown
    assert kpis == {}
    # The account report runs on three orders: a file shorter than the default twelve months
    # gets its own span as the period (5 Jan - 7 Feb 2025), so all three orders and both
    # customers count (20 + 30 + 15); too few customers for the CLV model.
    _, kpis = execute_notebook("05_accounts", {"data_dir": str(tmp_path)}, tmp_path)
    assert (kpis["customers"], kpis["orders"], kpis["revenue"]) == (2, 3, 65)
    assert kpis["top10_revenue_share"] == 1 and kpis["nrr"] is None and kpis["clv_holdout_error"] is None
