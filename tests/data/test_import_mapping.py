"""Custom mapping for an unfamiliar layout (the worked example of docs/importing.md), mapping
errors, atomic output, never writing into the source, and the import cache."""

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from salesnb.data.dataset import open_dataset
from salesnb.data.importing import ImportFailedError, MappingError, ValueProblemsError, import_dataset, import_to_cache
from salesnb.data.importing.mapping import mapping_from_dict

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
CUSTOM = EXPORTS / "custom_layout"
CUSTOM_MAPPING = EXPORTS / "custom_mapping.yaml"


def read(out, table):
    frame = pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    return frame.astype(object).where(frame != "", None)


def snapshot(folder):
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in sorted(folder.iterdir())}


def test_custom_layout_worked_example(tmp_path):
    before = snapshot(CUSTOM)
    written = import_dataset(CUSTOM, tmp_path / "out", mapping=CUSTOM_MAPPING)
    assert written == ["accounts", "opportunities", "reps"]
    deals = read(tmp_path / "out", "opportunities")
    assert deals.to_dict("list") == {
        "opportunity_id": ["A-0001", "A-0002", "A-0003", "A-0004"],
        "account_id": ["brasserie-lefevre", "muller-sohne", "l-atelier-d-anne", "brasserie-lefevre"],
        "rep_id": ["S01", "S02", "S01", "S02"],
        # "website" and "Website" tie 1:1: the first in sort order wins; "-" is a placeholder for missing
        "source": ["Trade fair", "Website", "Website", None],
        "type": ["New business"] * 4,
        "created_at": ["2024-01-05", "2024-01-08", "2024-02-02", "2024-02-12"],  # 05.01.2024 day-first
        "close_date": ["2024-01-31", "2024-02-15", "2024-03-28", "2024-04-30"],
        "stage": ["Won", "Lost", "Demo", "Intro"],  # Signed, dropped, "2 - Demo", "1 - Intro"
        "amount": ["12500.0", "3200.0", "7750.5", None],  # "12.500,00 €" with decimal ","
        "currency": ["EUR"] * 4,
    }
    assert read(tmp_path / "out", "reps").to_dict("list") == {
        "rep_id": ["S01", "S02"], "rep_name": ["Inès Dubois", "Karl Weiß"], "team": ["West", "East"],
        "hire_date": ["2022-03-01", "2023-09-15"]}
    assert read(tmp_path / "out", "accounts")["account_name"].tolist() == [
        "Brasserie Lefèvre", "L'Atelier d'Anne", "Müller & Söhne"]
    dataset = open_dataset(tmp_path / "out", tmp_path / "out" / "playbook.yaml", use_cache=False)
    # Clean but for deal A-0004, an open deal the export left without an amount (a warning).
    assert [(f.check, f.severity, f.count) for f in dataset.findings] == [("missing_amount", "warning", 1)]
    assert dataset.playbook.currency == "EUR" and dataset.playbook.qualified_stage == "Demo"
    assert snapshot(CUSTOM) == before  # the export folder is untouched


def test_unknown_stage_values_are_listed(tmp_path):
    mapping = mapping_from_dict({
        "date_order": "day_first", "decimal": ",",
        "stages": [{"name": "Intro", "probability": 0.1, "from": ["1 - Intro"]},
                   {"name": "Won", "probability": 1, "outcome": "won", "from": ["Signed"]},
                   {"name": "Lost", "probability": 0, "outcome": "lost", "from": ["Dropped"]}],
        "tables": {"opportunities": {"source": "pipeline_dump.csv", "columns": {
            "opportunity_id": "Ref", "created_at": "Opened", "close_date": "Decision due", "stage": "Phase",
            "amount": "Worth"}}},
    })
    with pytest.raises(ValueProblemsError) as caught:
        import_dataset(CUSTOM, tmp_path / "out", mapping=mapping)
    assert caught.value.problems == [
        "opportunities.stage (from pipeline_dump.csv): 1 row(s) have a stage the mapping does not list: "
        "'2 - Demo' (1). Add each under 'stages' in the mapping (as a stage, or in the 'from' list of the stage it means)."
    ]


@pytest.mark.parametrize("raw,message", [
    ({"tables": {"deals": {"columns": {"opportunity_id": "x"}}}},
     "mapping: unknown table 'deals'; the tables are opportunities, opportunity_history, reps, quotas, accounts, "
     "leads, activities, orders, marketing_spend, exchange_rates. Did you mean 'opportunities'? (see docs/importing.md)."),
    ({"tables": {"opportunities": {"columns": {"oportunity_id": "x"}}}},
     "Did you mean 'opportunity_id'?"),
    ({"date_order": "dmy", "tables": {"opportunities": {"columns": {"opportunity_id": "x"}}}},
     "date_order must be month_first (US: 03/04/2024 is 4 March) or day_first"),
    ({"stages": [{"name": "Open", "probability": 0.2}],
      "tables": {"opportunities": {"columns": {"opportunity_id": "x"}}}},
     "its stages do not make a valid playbook: Playbook config mapping: exactly one stage must have 'outcome: won'."),
])
def test_mapping_errors(raw, message):
    with pytest.raises(MappingError) as caught:
        mapping_from_dict(raw)
    assert message in str(caught.value)


def test_missing_mapping_file():
    with pytest.raises(MappingError, match="Mapping file nowhere.yaml does not exist"):
        import_dataset(CUSTOM, "out", mapping="nowhere.yaml")


def test_neither_mapping_nor_preset():
    with pytest.raises(MappingError, match="Say how to read the export: --preset hubspot|pipedrive|salesforce"):
        import_dataset(CUSTOM, "out")


def test_never_writes_into_the_source_folder(tmp_path):
    source = tmp_path / "exports"
    shutil.copytree(CUSTOM, source)
    with pytest.raises(ImportFailedError, match="is inside the export folder"):
        import_dataset(source, source / "dataset", mapping=CUSTOM_MAPPING)
    assert sorted(path.name for path in source.iterdir()) == ["pipeline_dump.csv", "team.tsv"]


def test_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ImportFailedError, match="already exists and holds other files"):
        import_dataset(CUSTOM, out, mapping=CUSTOM_MAPPING)
    assert (out / "notes.txt").read_text() == "mine"


def test_failed_reimport_keeps_the_previous_dataset_and_leaves_no_temp_folder(tmp_path):
    out = tmp_path / "out"
    import_dataset(CUSTOM, out, mapping=CUSTOM_MAPPING)
    before = snapshot(out)
    broken = tmp_path / "broken"
    shutil.copytree(CUSTOM, broken)
    (broken / "pipeline_dump.csv").write_text("Ref;Opened;Decision due;Phase;Worth;Salesperson;Client;Channel\n"
                                              "A-1;someday;31.01.2024;Signed;1;S01;X;Web\n", encoding="utf-8")
    with pytest.raises(ValueProblemsError):
        import_dataset(broken, out, mapping=CUSTOM_MAPPING)
    assert snapshot(out) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken", "out"]


def test_reimport_replaces_an_earlier_import(tmp_path):
    out = tmp_path / "out"
    import_dataset(CUSTOM, out, mapping=CUSTOM_MAPPING)
    (out / "accounts.csv").unlink()
    assert import_dataset(CUSTOM, out, mapping=CUSTOM_MAPPING) == ["accounts", "opportunities", "reps"]
    assert (out / "accounts.csv").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


def test_import_to_cache_reuses_until_the_export_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "exports"
    shutil.copytree(CUSTOM, source)
    first = import_to_cache(source, mapping=CUSTOM_MAPPING)
    assert first.parent == tmp_path / "cache" / "imports"
    marker = first / "opportunities.csv"
    stamp = marker.stat().st_mtime_ns
    assert import_to_cache(source, mapping=CUSTOM_MAPPING) == first
    assert marker.stat().st_mtime_ns == stamp  # reused, not rewritten
    dump = source / "pipeline_dump.csv"
    dump.write_bytes(dump.read_bytes().replace(b"12.500,00", b"13.500,00"))
    os.utime(dump, ns=(stamp + 10**9, stamp + 10**9))
    second = import_to_cache(source, mapping=CUSTOM_MAPPING)
    assert second != first
    assert read(second, "opportunities")["amount"].tolist()[0] == "13500.0"


def test_import_findings_and_playbook_for_the_loader(tmp_path):
    from salesnb.data.importing import import_findings, imported_playbook

    out = tmp_path / "out"
    import_dataset(EXPORTS / "messy_duplicates.csv", out, mapping=EXPORTS / "messy_mapping.yaml")
    [finding] = import_findings(out)  # "column not in export" notes are info, not banner warnings
    assert (finding.severity, finding.table, finding.check, finding.count) == (
        "warning", "opportunities", "duplicate_rows_dropped", 3)
    assert imported_playbook(out) == out / "playbook.yaml"
    assert import_findings(tmp_path) == [] and imported_playbook(tmp_path) is None


def _export(tmp_path) -> Path:
    export = tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_text("Ref,Opened,Phase,Lost Reasn\nA1,2024-01-05,Won,\nA2,2024-01-08,Lost,Price\n")
    return export


STAGES = [{"name": "Won", "probability": 1, "outcome": "won"}, {"name": "Lost", "probability": 0, "outcome": "lost"}]


def test_a_header_a_user_mapping_names_must_be_in_the_export(tmp_path):
    mapping = mapping_from_dict({"stages": STAGES, "tables": {"opportunities": {
        "source": "deals.csv", "columns": {"opportunity_id": "Ref", "created_at": "Opend", "stage": "Phase",
                                           "close_date": "Closed on"}}}})
    with pytest.raises(ValueProblemsError) as error:
        import_dataset(_export(tmp_path), tmp_path / "out", mapping=mapping)
    assert error.value.problems == [
        "opportunities.created_at: the mapping reads it from 'Opend', but deals.csv has no such column (the columns it "
        "does not read yet: Opened, Lost Reasn). Did you mean 'Opened'? Write 'Opened' for created_at in the mapping.",
        "opportunities.close_date: the mapping reads it from 'Closed on', but deals.csv has no such column (the "
        "columns it does not read yet: Opened, Lost Reasn). Fix the header name in the mapping, or leave close_date "
        "out of it if the export has no such column.",
    ]
    assert not (tmp_path / "out").exists()


def test_a_header_a_preset_names_may_be_missing_and_a_close_one_is_a_warning(tmp_path):
    mapping = mapping_from_dict({"stages": STAGES, "tables": {"opportunities": {
        "source": "deals.csv", "columns": {"opportunity_id": "Ref", "created_at": "Opened", "stage": "Phase",
                                           "lost_reason": "Lost Reason", "close_date": "Closed on"}}}})
    mapping.is_preset = True
    import_dataset(_export(tmp_path), tmp_path / "out", mapping=mapping)
    notes = {note["column"]: note for note in json.loads((tmp_path / "out" / "import_report.json").read_text())[
        "findings"]}
    assert notes["lost_reason"]["severity"] == "warning" and "Did you mean 'Lost Reasn'? Rename that header to " \
        "'Lost Reason' in the export, or copy the preset into a mapping that reads lost_reason from 'Lost Reasn'" in \
        notes["lost_reason"]["message"]
    assert notes["close_date"]["severity"] == "info"


def test_a_stage_probability_that_is_not_a_number_is_a_mapping_error():
    with pytest.raises(MappingError, match="stage 'Won' probability must be a number between 0 and 1, not 'high'"):
        mapping_from_dict({"stages": [{"name": "Won", "probability": "high", "outcome": "won"}],
                           "tables": {"opportunities": {"columns": {"opportunity_id": "Ref", "stage": "Phase"}}}})
