"""Presets: a fixture export in each CRM's standard shape imports into a dataset that passes
validation with the playbook the import writes beside it."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesnb.data.dataset import open_dataset
from salesnb.data.importing import MappingError, import_dataset, preset_names

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"


def read(out, table):
    frame = pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    return frame.astype(object).where(frame != "", None)


def imported(tmp_path, preset, fixture):
    out = tmp_path / preset
    written = import_dataset(EXPORTS / fixture, out, preset=preset)
    dataset = open_dataset(out, use_cache=False)  # picks up the playbook.yaml the import wrote
    assert dataset.playbook.source_path == str(out / "playbook.yaml")
    # Valid with the preset's own playbook; the only notes are warnings: the import's own (a
    # table the export could not provide), deals the export left without an amount, and lost deals
    # without an amount while won deals have one (HubSpot's one lost deal has none).
    assert {finding.check for finding in dataset.findings} <= {"table_not_in_export", "missing_amount",
                                                               "lost_amounts_zeroed"}
    assert all(finding.severity == "warning" for finding in dataset.findings)
    return out, written


def test_presets_are_listed():
    assert preset_names() == ["hubspot", "pipedrive", "salesforce"]


def test_salesforce_report(tmp_path):
    # cp1252-encoded, CRLF, US dates, "$12,500.00", Probability (%) 0..100
    out, written = imported(tmp_path, "salesforce", "salesforce_opportunities.csv")
    assert written == ["accounts", "opportunities", "reps"]
    deals = read(out, "opportunities")
    assert deals["opportunity_id"].tolist() == ["0061x00000AbCdE", "0061x00000AbCdF", "0061x00000AbCdG", "0061x00000AbCdH"]
    assert deals["close_date"].tolist() == ["2024-03-04", "2024-02-29", "2024-06-30", "2024-07-15"]  # 3/4/2024 = 4 March
    assert deals["created_at"].tolist() == ["2024-01-15", "2024-01-05", "2024-03-01", "2024-03-20"]
    assert deals["amount"].tolist() == ["12500.0", "5000.0", "8000.0", None]
    assert deals["probability"].tolist() == ["1.0", "0.0", "0.9", "0.1"]  # 100, 0, 90, 10 / 100
    assert deals["stage"].tolist() == ["Closed Won", "Closed Lost", "Negotiation/Review", "Prospecting"]
    assert deals["rep_id"].tolist() == ["jose-garcia", "mary-o-brien", "jose-garcia", "mary-o-brien"]
    assert deals["lost_reason"].tolist() == [None, "Price", None, None]
    assert read(out, "reps").to_dict("list") == {"rep_id": ["jose-garcia", "mary-o-brien"],
                                                 "rep_name": ["José García", "Mary O'Brien"]}
    assert read(out, "accounts")["account_name"].tolist() == ["Acme Corp", "Globex", "Initech", "Umbrella Corp"]
    playbook = yaml.safe_load((out / "playbook.yaml").read_text())
    assert [stage["name"] for stage in playbook["stages"]] == [
        "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
        "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"]


def test_hubspot_deals(tmp_path):
    # UTF-8 with BOM; internal stage IDs and labels mixed; ISO date and timestamp values
    out, written = imported(tmp_path, "hubspot", "hubspot_deals.csv")
    assert written == ["opportunities", "reps"]  # no company column in this export: no accounts table
    deals = read(out, "opportunities")
    assert deals["opportunity_id"].tolist() == ["15234567890", "15234567891", "15234567892", "15234567893"]
    assert deals["stage"].tolist() == ["Appointment Scheduled", "Closed Won", "Closed Lost", "Contract Sent"]
    assert deals["close_date"].tolist() == ["2024-05-31", "2024-03-28", "2024-04-15", "2024-06-30"]
    assert deals["created_at"].tolist() == ["2024-04-02", "2024-01-10", "2024-02-20", "2024-03-05"]
    assert deals["amount"].tolist() == ["1200.0", "45000.0", None, "9800.0"]
    assert deals["lost_reason"].tolist() == [None, None, "Went with competitor", None]
    assert read(out, "reps")["rep_name"].tolist() == ["Li Wei", "Sam Taylor"]


def test_pipedrive_deals(tmp_path):
    # "Deal - " header prefix; Status won/lost/open decides closed deals; close date from won/lost time
    out, _ = imported(tmp_path, "pipedrive", "pipedrive_deals.csv")
    deals = read(out, "opportunities")
    assert deals["stage"].tolist() == ["Won", "Lost", "Demo Scheduled"]
    assert deals["close_date"].tolist() == ["2024-01-25", "2024-02-03", "2024-03-31"]
    assert deals["currency"].tolist() == ["EUR"] * 3
    assert yaml.safe_load((out / "playbook.yaml").read_text())["currency"] == "EUR"  # the export's one currency
    assert read(out, "accounts").to_dict("list") == {"account_id": ["koln-gmbh", "zurich-ag"],
                                                     "account_name": ["Köln GmbH", "Zürich AG"]}


def test_unknown_preset(tmp_path):
    with pytest.raises(MappingError, match="Unknown preset 'zoho'; the presets are hubspot, pipedrive, salesforce"):
        import_dataset(EXPORTS / "hubspot_deals.csv", tmp_path / "out", preset="zoho")


def test_wrong_preset_for_the_export_names_the_missing_column(tmp_path):
    with pytest.raises(MappingError) as caught:
        import_dataset(EXPORTS / "hubspot_deals.csv", tmp_path / "out", preset="salesforce")
    assert str(caught.value).startswith(
        "opportunities.opportunity_id: the mapping reads it from 'Opportunity ID' or 'Opportunity ID (18)' or "
        "'Opportunity ID 18', but hubspot_deals.csv has no such column (it has: Record ID, Deal Name,")
    assert not (tmp_path / "out").exists()


HUBSPOT_IN_CURRENCIES = """Record ID,Deal Stage,Amount,Amount in company currency,Currency,Close Date,Create Date,Deal owner
1,closedwon,1000,1080,EUR,2024-03-28,2024-01-10,Li Wei
2,closedwon,,635,GBP,2024-03-28,2024-01-10,Li Wei
3,contractsent,2000,2000,USD,2024-06-30,2024-03-05,Sam Taylor
"""


def test_hubspot_amount_in_company_currency_is_never_converted_twice(tmp_path):
    # Deal 1: Amount in its currency (EUR), kept with EUR for the kit's dated rates. Deal 2: only
    # HubSpot's company-currency amount (already converted): read in the playbook currency, its
    # GBP dropped, else the kit would convert 635 as pounds a second time.
    export = tmp_path / "deals.csv"
    export.write_text(HUBSPOT_IN_CURRENCIES, encoding="utf-8")
    out = tmp_path / "out"
    import_dataset(export, out, preset="hubspot")
    deals = read(out, "opportunities")
    assert deals["amount"].tolist() == ["1000.0", "635.0", "2000.0"]
    assert deals["currency"].tolist() == ["EUR", None, "USD"]
    findings = json.loads((out / "import_report.json").read_text(encoding="utf-8"))["findings"]
    assert [(finding["column"], finding["count"]) for finding in findings
            if finding["check"] == "amount_already_converted"] == [("currency", 1)]


def test_converted_amounts_must_be_columns_of_the_amount(tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("tables:\n  opportunities:\n    columns: {opportunity_id: ID, stage: Stage, amount: Amount}\n"
                       "    converted_amounts: [Amount in company currency]\n", encoding="utf-8")
    export = tmp_path / "deals.csv"
    export.write_text("ID,Stage,Amount\n1,Won,10\n", encoding="utf-8")
    with pytest.raises(MappingError, match="converted_amounts: 'Amount in company currency' must also be listed "
                                           "under columns: amount"):
        import_dataset(export, tmp_path / "out", mapping=mapping)
