"""Exports without a unique ID (generated IDs, the error on a repeated ID) and won / closed
flag columns instead of a stage, on tiny exports written here; expected values by hand."""

from pathlib import Path

import pandas as pd
import pytest

from salesnb.data.importing import MappingError, ValueProblemsError, import_dataset
from salesnb.data.importing.mapping import mapping_from_dict

STAGES = [{"name": "Open", "probability": 0.5}, {"name": "Won", "probability": 1.0, "outcome": "won"},
          {"name": "Lost", "probability": 0.0, "outcome": "lost"}]


def read(out: Path, table: str) -> pd.DataFrame:
    frame = pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)
    return frame.astype(object).where(frame != "", None)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


PEOPLE = ("ID,Created,Stage\n"
          "P1,2024-01-05,Won\n"
          "P2,2024-01-06,Lost\n"
          "P1,2024-02-01,Open\n"   # P1 applied again
          "P1,2024-03-01,Lost\n")  # and again


def test_a_repeated_mapped_id_says_how_many_and_names_the_way_out(tmp_path):
    source = write(tmp_path / "in", "people.csv", PEOPLE)
    mapping = mapping_from_dict({"stages": STAGES, "tables": {"opportunities": {
        "columns": {"opportunity_id": "ID", "created_at": "Created", "stage": "Stage"}}}})
    with pytest.raises(ValueProblemsError) as error:
        import_dataset(source, tmp_path / "out", mapping=mapping)
    message = str(error.value)
    # P1 is on rows 2, 4 and 5 (the header is row 1): 3 rows, 1 ID repeating
    assert ("opportunities.opportunity_id (from people.csv): 3 rows share their ID with another row (1 IDs repeat), "
            "e.g. 'P1' on 3 rows (rows 2, 4, 5).") in message
    assert "map it where it belongs (e.g. account_id) and set 'generate_ids: true' under tables.opportunities" in message
    assert not (tmp_path / "out").exists()


def test_generated_ids_are_stable_and_the_repeated_column_is_kept(tmp_path):
    source = write(tmp_path / "in", "people.csv", PEOPLE + "P1,2024-03-01,Lost\n")  # an identical row
    raw = {"stages": STAGES, "tables": {"opportunities": {
        "generate_ids": True, "columns": {"account_id": "ID", "created_at": "Created", "stage": "Stage"}}}}
    import_dataset(source, tmp_path / "first", mapping=mapping_from_dict(raw))
    import_dataset(source, tmp_path / "second", mapping=mapping_from_dict(raw))
    first, second = read(tmp_path / "first", "opportunities"), read(tmp_path / "second", "opportunities")
    assert first["opportunity_id"].tolist() == second["opportunity_id"].tolist()  # same export, same IDs
    ids = first["opportunity_id"].tolist()
    # 5 rows kept (the identical pair is two rows: two events), 5 distinct IDs; the copy gets "-2"
    assert len(ids) == 5 and len(set(ids)) == 5 and ids[4] == ids[3] + "-2"
    assert first["account_id"].tolist() == ["P1", "P2", "P1", "P1", "P1"]
    # reordering the export's distinct rows does not change any row's ID
    lines = PEOPLE.splitlines()
    write(tmp_path / "shuffled", "people.csv", "\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    import_dataset(tmp_path / "shuffled" / "people.csv", tmp_path / "third", mapping=mapping_from_dict(raw))
    third = read(tmp_path / "third", "opportunities")
    assert dict(zip(third["created_at"], third["opportunity_id"])) == dict(zip(first["created_at"][:4], ids[:4]))
    report = (tmp_path / "first" / "import_report.json").read_text()
    assert '"check": "identical_rows_kept"' in report and '"count": 1' in report


def test_generated_order_ids_keep_two_identical_purchases(tmp_path):
    source = write(tmp_path / "in", "orders.csv",
                   "Customer,Date,Total\nC1,2024-05-01,20\nC1,2024-05-01,20\nC1,2024-05-01,35\nC2,2024-05-02,10\n")
    mapping = mapping_from_dict({"tables": {"orders": {
        "generate_ids": True, "columns": {"account_id": "Customer", "ordered_at": "Date", "amount": "Total"}}}})
    import_dataset(source, tmp_path / "out", mapping=mapping)
    orders = read(tmp_path / "out", "orders")
    # 4 purchases, 3 of them by C1 on one day (two identical): 4 orders, 4 IDs
    assert len(orders) == 4 and orders["order_id"].nunique() == 4
    assert orders["amount"].tolist() == ["20.0", "20.0", "35.0", "10.0"]


def test_orders_without_an_order_id_point_at_generated_ids(tmp_path):
    source = write(tmp_path / "in", "orders.csv", "Customer,Date,Total\nC1,2024-05-01,20\n")
    mapping = mapping_from_dict({"tables": {"orders": {
        "columns": {"account_id": "Customer", "ordered_at": "Date", "amount": "Total"}}}})
    with pytest.raises(ValueProblemsError, match=r"orders.order_id: the mapping reads no order_id .* set "
                                                 r"'generate_ids: true' under tables.orders"):
        import_dataset(source, tmp_path / "out", mapping=mapping)


def test_generate_ids_and_a_mapped_id_are_one_too_many():
    with pytest.raises(MappingError, match="generate_ids gives each row a generated opportunity_id"):
        mapping_from_dict({"tables": {"opportunities": {"generate_ids": True, "columns": {"opportunity_id": "ID"}}}})


FLAGS = ("Deal,Stage,Is Won,Is Closed\n"
         "1,,TRUE,TRUE\n"        # won
         "2,,false,true\n"       # closed, not won: lost
         "3,Open,0,0\n"          # not closed: open, in the stage its Stage column names
         "4,,No,YES\n"           # lost
         "5,,1,1\n"              # won
         "6,,no,no\n"            # open, no stage named: the first open stage
         "7,Won,FALSE,FALSE\n")  # open although its stage column says Won: the flags decide


def test_won_and_closed_flags_in_any_spelling(tmp_path):
    source = write(tmp_path / "in", "deals.csv", FLAGS)
    mapping = mapping_from_dict({"stages": STAGES, "tables": {"opportunities": {
        "flags": {"won": "Is Won", "closed": "Is Closed"}, "columns": {"opportunity_id": "Deal", "stage": "Stage"}}}})
    import_dataset(source, tmp_path / "out", mapping=mapping)
    assert read(tmp_path / "out", "opportunities")["stage"].tolist() == ["Won", "Lost", "Open", "Lost", "Won", "Open", "Open"]


def test_flags_without_a_stage_column_and_unreadable_flags(tmp_path):
    source = write(tmp_path / "in", "deals.csv", "Deal,Is Won,Is Closed\n1,TRUE,TRUE\n2,maybe,TRUE\n")
    mapping = mapping_from_dict({"stages": STAGES, "tables": {"opportunities": {
        "flags": {"won": "Is Won", "closed": "Is Closed"}, "columns": {"opportunity_id": "Deal"}}}})
    with pytest.raises(ValueProblemsError, match=r"column 'Is Won'\): 1 value\(s\) are not TRUE/FALSE, 1/0 or yes/no: "
                                                 r"row 3 \(Deal='2'\): 'maybe'"):
        import_dataset(source, tmp_path / "out", mapping=mapping)


def test_salesforce_preset_reads_checkbox_columns(tmp_path):
    source = write(tmp_path / "in", "report.csv",
                   "Opportunity ID,Stage,Won,Closed,Created Date,Close Date\n"
                   "006A,Closed Won,TRUE,TRUE,1/15/2024,3/4/2024\n"
                   "006B,Negotiation/Review,FALSE,TRUE,1/20/2024,3/5/2024\n"   # closed, not won: lost
                   "006C,Prospecting,FALSE,FALSE,2/1/2024,6/30/2024\n")
    import_dataset(source, tmp_path / "out", preset="salesforce")
    assert read(tmp_path / "out", "opportunities")["stage"].tolist() == ["Closed Won", "Closed Lost", "Prospecting"]


def test_a_won_only_mapping_writes_a_playbook_that_loads(tmp_path):
    from salesnb.data.dataset import open_dataset

    source = write(tmp_path / "in", "won.csv", "Deal,Won on\nD1,2024-03-01\nD2,2024-04-01\n")
    mapping = mapping_from_dict({"stages": [{"name": "Won", "probability": 1.0, "outcome": "won"}], "tables": {
        "opportunities": {"columns": {"opportunity_id": "Deal", "close_date": "Won on"}, "constants": {"stage": "Won"}}}})
    import_dataset(source, tmp_path / "out", mapping=mapping)
    dataset = open_dataset(tmp_path / "out", use_cache=False)  # the playbook.yaml the import wrote
    assert dataset.playbook.stage_names == ["Won"] and dataset.playbook.open_stages == []
