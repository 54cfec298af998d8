"""Three exports shaped like real CRM data (tests/fixtures/exports/real_*): each imports,
validates without errors, and gives numbers worked out by hand from the fixture files.

- real_crm_snapshot: 26 deals in four stages. Won CRM-01..08 (8, all with an amount), Lost
  CRM-09..14 (6: five at 0, one empty), Engaging CRM-15..20 (6: engage date, no close date,
  no value), Prospecting CRM-21..26 (6: no date, no value). Rep 'Dev Ito' (CRM-20) is not in
  the reps export.
- real_salesforce_b2b2c: 400 generated applications i = 0..399 plus one identical copy of
  row i=5. Outcome by i % 5: 0 won (80 + the copy = 81), 1-2 lost (160), 3-4 open (160);
  the person ID is i % 16 (16 people); created 2020-01-01 + i days; closed deals close
  20 + (i % 4) * 10 days later, open ones are expected 90 days later; i = 21 and 42 close 3
  days before creation, i = 100 (won) closes on 1998-03-14.
- real_marketing_funnel: 30 MQLs created every 12 days from 2024-06-03, 8 won deals (leads
  1, 5, ..., 29), no deal creation date, no amount, no lost or open deal.
"""

from pathlib import Path

import pandas as pd
import pytest

from salesnb.data.dataset import open_dataset
from salesnb.data.importing import import_dataset
from salesnb.data.periods import resolve_period
from salesnb.metrics import conversion, deals, leads

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"


def imported(tmp_path, name, out="out"):
    folder = tmp_path / out
    import_dataset(EXPORTS / name, folder, mapping=EXPORTS / name / "mapping.yaml")
    return folder


def checks(dataset):
    return {finding.check: finding.count for finding in dataset.findings}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    return open_dataset(imported(tmp_path_factory.mktemp("snapshot"), "real_crm_snapshot"))


@pytest.fixture(scope="module")
def b2b2c_folder(tmp_path_factory):
    return imported(tmp_path_factory.mktemp("b2b2c"), "real_salesforce_b2b2c")


@pytest.fixture(scope="module")
def funnel(tmp_path_factory):
    return open_dataset(imported(tmp_path_factory.mktemp("funnel"), "real_marketing_funnel"))


def test_crm_snapshot_validates_with_warnings_only(snapshot):
    assert checks(snapshot) == {
        "missing_amount": 12,           # the 12 open deals (won deals all have a value)
        "lost_amounts_zeroed": 6,       # 6 of 6 lost deals at 0 or empty, while 8 won deals have a value
        "unknown_reference": 1,         # CRM-20's rep Dev Ito
        "open_without_close_date": 12,  # every open deal
    }


def test_crm_snapshot_numbers(snapshot):
    period = resolve_period("all", "all", snapshot.as_of, span=snapshot.span)
    # first event: CRM-01 created 2024-01-08; last: CRM-14 lost on 2024-06-28
    assert (period.start.isoformat(), period.end.isoformat()) == ("2024-01-08", "2024-06-28")
    summary = conversion.summary(snapshot, period)
    # created: the 20 deals with an engage date (the 6 Prospecting deals have none)
    assert summary["opportunities_created"] == 20
    # win rate 8 / (8 + 6); by value not measured (lost deals zeroed)
    assert (summary["won"], summary["lost"]) == (8, 6)
    assert summary["win_rate"] == pytest.approx(8 / 14) and summary["win_rate_by_value"] is None
    # average won deal: (1100 + 4800 + 1050 + 55 + 5000 + 1000 + 4700 + 1200) / 8 = 18905 / 8
    assert summary["avg_won_amount"] == pytest.approx(18905 / 8)
    # cycles (days): 43, 35, 43, 25, 49, 49, 49, 49 -> sorted 25 35 43 43 49 49 49 49: median 46
    assert summary["median_sales_cycle_days"] == pytest.approx(46)
    missing = deals.missing_counts(snapshot, period)
    assert (missing["deals"], missing["without_created_at"], missing["open"], missing["open_without_amount"],
            missing["open_without_close_date"]) == (26, 6, 12, 12, 12)
    age = conversion.open_deal_age(snapshot).set_index("stage")
    # every open deal counts in its stage; none has a value: the pipeline value is not measured
    assert age["deals"].to_dict() == {"Prospecting": 6, "Engaging": 6}
    assert age["amount"].isna().all()


def test_b2b2c_import_generates_stable_ids_and_reads_the_flags(tmp_path, b2b2c_folder):
    again = imported(tmp_path, "real_salesforce_b2b2c", "again")
    first = pd.read_csv(b2b2c_folder / "opportunities.csv", dtype=str)
    second = pd.read_csv(again / "opportunities.csv", dtype=str)
    assert first["opportunity_id"].tolist() == second["opportunity_id"].tolist()
    assert len(first) == 401 and first["opportunity_id"].nunique() == 401
    assert first["account_id"].nunique() == 16  # the person ID, kept as the account
    assert first["stage"].value_counts().to_dict() == {"Withdrawn": 160, "Applied": 160, "Enrolled": 81}
    # day-first created dates and Excel-serial close dates: row i=1 created 02/01/2020, closes 30 days later
    assert first.loc[1, ["created_at", "close_date"]].tolist() == ["2020-01-02", "2020-02-01"]
    assert "amount" not in first.columns


def test_b2b2c_validates_and_warns_about_its_defects(b2b2c_folder):
    dataset = open_dataset(b2b2c_folder)
    found = checks(dataset)
    assert found["no_amounts"] == 401
    assert found["close_before_creation"] == 3  # i = 21, 42 and 100: 3 of 401 = 0.7%, a warning
    assert found["outlying_date"] == 1          # the 1998 close date
    assert "open_past_close_date" in found


def test_b2b2c_numbers_over_all_equal_the_exact_span(b2b2c_folder):
    dataset = open_dataset(b2b2c_folder)
    everything = resolve_period("all", "all", dataset.as_of, span=dataset.span)
    # the span starts with the first creation (2020-01-01), not the 1998 outlier; it ends at the
    # latest close of a closed deal: i = 395 (won, 395 % 4 = 3) created 2021-01-30 closes 50 days later
    assert (everything.start.isoformat(), everything.end.isoformat()) == ("2020-01-01", "2021-03-21")
    exact = resolve_period("2020-01-01", "2021-03-21", dataset.as_of, span=dataset.span)
    assert conversion.summary(dataset, everything) == conversion.summary(dataset, exact)
    summary = conversion.summary(dataset, everything)
    # won in the span: 81 minus the 1998 one = 80; lost 160; created: all 401
    assert (summary["won"], summary["lost"], summary["opportunities_created"]) == (80, 160, 401)
    assert summary["win_rate"] == pytest.approx(80 / 240)
    assert summary["win_rate_by_value"] is None and summary["avg_won_amount"] is None


def test_marketing_funnel_numbers(funnel):
    assert funnel.playbook.stage_names == ["Won"]
    everything = resolve_period("all", "all", funnel.as_of, span=funnel.span)
    # first MQL 2024-06-03; last event: the won deal of lead 29 on 2025-06-19
    assert (everything.start.isoformat(), everything.end.isoformat()) == ("2024-06-03", "2025-06-19")
    row = leads.lead_conversion(funnel, everything).iloc[0]
    # 30 leads, every one an MQL; 8 linked to a won deal
    assert (row["leads"], row["reached_mql"], row["won_leads"]) == (30, 30, 8)
    assert row["won_rate"] == pytest.approx(8 / 30)
    assert pd.isna(row["won_amount_from_leads"])  # no deal amounts: won value not measured, not 0
    summary = conversion.summary(funnel, everything)
    assert summary["won"] == 8 and summary["win_rate"] is None and summary["opportunities_created"] is None
    wide = resolve_period("1990-01-01", "2099-12-31", funnel.as_of, span=funnel.span)
    assert (wide.start.isoformat(), wide.end.isoformat()) == ("2024-06-01", "2025-06-30")  # clamped to the data's months
    assert leads.lead_conversion(funnel, wide).iloc[0]["leads"] == 30


def test_orders_only_dataset_loads_and_validates(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,account_id,ordered_at,amount\nO1,A1,2025-01-05,20\nO2,A1,2025-02-05,30\n"
                                         "O3,A2,2025-02-07,15\n")
    (tmp_path / "accounts.csv").write_text("account_id,account_name\nA1,Acme\n")
    dataset = open_dataset(tmp_path)
    assert dataset.table_names == ["accounts", "orders"]
    assert dataset.as_of.isoformat() == "2025-02-07"  # the data date comes from the orders
    # A2 is referenced by an order but absent from accounts
    assert checks(dataset) == {"unknown_reference": 1}


def test_validate_summary_names_a_table_refused_for_a_missing_column(tmp_path, capsys):
    from salesnb.cli import main

    # a deal table without the stage column: one error, and the summary still names the table
    (tmp_path / "opportunities.csv").write_text("opportunity_id,created_at\nD1,2025-01-05\n")
    assert main(["validate", "--data", str(tmp_path)]) == 1
    assert "Checked opportunities: 1 error, 0 warnings." in capsys.readouterr().out
