"""Readers: CSV delimiters and encodings, CRLF, quoted newlines, Excel sheets, Parquet,
DuckDB and SQLite tables. Each test writes a tiny export and checks the exact cells read."""

import sqlite3

import duckdb
import pandas as pd
import pytest

from salesnb.data.importing import SourceError, import_dataset
from salesnb.data.importing.mapping import mapping_from_dict
from salesnb.data.importing.readers import read_csv, read_excel, read_file

ROWS = [["007", "José", "1,5"], ["010", "Zoë", "2"]]


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed(tmp_path, delimiter):
    lines = [delimiter.join(["id", "name", "value"])] + [delimiter.join(f'"{cell}"' if "," in cell else cell for cell in row)
                                                          for row in ROWS]
    frame = read_csv(_write(tmp_path / "x.csv", "\n".join(lines) + "\n"))
    assert list(frame.columns) == ["id", "name", "value"]
    assert frame.values.tolist() == ROWS  # "007" keeps its zeros: cells stay text


@pytest.mark.parametrize("encoding,bom", [("utf-8", ""), ("utf-8", "\ufeff"), ("cp1252", ""), ("latin-1", "")])
def test_csv_encodings(tmp_path, encoding, bom):
    frame = read_csv(_write(tmp_path / "x.csv", bom + "id,name\n1,José Müller\n2,Zoë d'Arc\n", encoding))
    assert list(frame.columns) == ["id", "name"]  # no BOM left in the first header
    assert frame["name"].tolist() == ["José Müller", "Zoë d'Arc"]


def test_cp1252_curly_apostrophe_is_not_latin1_garbage(tmp_path):
    # 0x92 is ’ in cp1252 but a control character in latin-1: cp1252 is tried first.
    frame = read_csv(_write(tmp_path / "x.csv", "name\nO’Brien\n", "cp1252"))
    assert frame["name"].tolist() == ["O’Brien"]


def test_crlf_and_quoted_newlines(tmp_path):
    text = 'id,reason\r\n1,"Too expensive,\r\nsee notes"\r\n2,Timing\r\n'
    frame = read_csv(_write(tmp_path / "x.csv", text))
    assert frame["id"].tolist() == ["1", "2"]
    assert frame["reason"].tolist() == ["Too expensive,\r\nsee notes", "Timing"]


def test_trailing_empty_columns_are_dropped(tmp_path):
    frame = read_file(_write(tmp_path / "x.csv", "id,name,,\n1,a,,\n2,b,,\n"))
    assert list(frame.columns) == ["id", "name"]


def test_ragged_csv_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="x.csv is not a well-formed CSV file"):
        read_csv(_write(tmp_path / "x.csv", 'id,name\n1,"unclosed\n'))


def test_excel_sheet_selection(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
        pd.DataFrame({"id": ["007", "8"], "amount": [1234.5, 10]}).to_excel(writer, sheet_name="Deals", index=False)
    frame = read_excel(path, "Deals")
    assert frame["id"].tolist() == ["007", "8"]  # text cells stay text
    assert frame["amount"].tolist() == [1234.5, 10]
    assert list(read_excel(path).columns) == ["x"]  # first sheet by default
    with pytest.raises(SourceError, match=r"book.xlsx has no sheet 'Dealz'; its sheets are: 'Notes', 'Deals'"):
        read_excel(path, "Dealz")


def test_excel_sheets_holding_the_mapped_columns_are_read(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
        pd.DataFrame({"ID": ["1"], "Amount": [10]}).to_excel(writer, sheet_name="Jan", index=False)
        pd.DataFrame({"Summary": ["total"], "Amount": [30]}).to_excel(writer, sheet_name="Totals", index=False)
        pd.DataFrame({" amount ": [20], "id": ["2"]}).to_excel(writer, sheet_name="Feb", index=False)
    wanted = [["ID", "Deal ID"], ["Amount"]]
    # Jan and Feb have both mapped columns (in another order and case): read one after the other.
    frame = read_excel(path, wanted=wanted)
    assert frame.attrs["sheets"] == ["Jan", "Feb"]
    assert list(frame.columns) == ["ID", "Amount"] and frame.values.tolist() == [["1", 10], ["2", 20]]
    assert read_excel(path, wanted=[["nothing like it"]]).attrs["sheets"] == ["Notes"]  # none: the first


def test_a_formula_without_its_saved_result_is_named(tmp_path):
    from openpyxl import Workbook

    from salesnb.data.importing.readers import unsaved_formulas

    path = tmp_path / "book.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.title = "Deals"
    sheet.append(["id", "amount", "double"])
    sheet.append(["1", 10, "=B2*2"])  # openpyxl writes the formula and no result
    sheet.append(["2", 20, 40])
    book.save(path)
    assert unsaved_formulas(path, "Deals") == ["sheet 'Deals' cell C2 (=B2*2)"]
    with pytest.raises(SourceError, match=r"book.xlsx holds 1 formula\(s\) whose result was never saved"):
        read_excel(path)


MAPPING = {
    "stages": [{"name": "Open", "probability": 0.2}, {"name": "Won", "probability": 1, "outcome": "won"},
               {"name": "Lost", "probability": 0, "outcome": "lost"}],
    "tables": {"opportunities": {"source": "deals", "columns": {
        "opportunity_id": "id", "created_at": "created", "close_date": "closed", "stage": "stage", "amount": "amount"}}},
}
DEALS = pd.DataFrame({
    "id": ["007", "8"],
    "created": pd.to_datetime(["2024-01-02 10:00", "2024-01-03 00:00"]),
    "closed": pd.to_datetime(["2024-02-01", "2024-02-02"]).date,
    "stage": ["won", "Open"],
    "amount": [1234.5, None],
})
EXPECTED = [
    {"opportunity_id": "007", "created_at": "2024-01-02", "close_date": "2024-02-01", "stage": "Won", "amount": "1234.5"},
    {"opportunity_id": "8", "created_at": "2024-01-03", "close_date": "2024-02-02", "stage": "Open", "amount": None},
]


def _imported(out):
    frame = pd.read_csv(out / "opportunities.csv", dtype=str, keep_default_na=False)
    return [{key: (value or None) for key, value in row.items()} for row in frame.to_dict("records")]


def test_parquet_import(tmp_path):
    DEALS.to_parquet(tmp_path / "deals.parquet")
    mapping = mapping_from_dict({**MAPPING, "tables": {"opportunities": {**MAPPING["tables"]["opportunities"],
                                                                           "source": "deals.parquet"}}})
    import_dataset(tmp_path / "deals.parquet", tmp_path / "out", mapping=mapping)
    assert _imported(tmp_path / "out") == EXPECTED


def test_duckdb_import_reads_only(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.register("frame", DEALS)
        connection.execute("CREATE TABLE deals AS SELECT * FROM frame")
    before = path.read_bytes()
    written = import_dataset(f"duckdb:///{path}", tmp_path / "out", mapping=mapping_from_dict(MAPPING))
    assert written == ["opportunities"]
    assert _imported(tmp_path / "out") == EXPECTED
    assert path.read_bytes() == before  # the user's database is never written


def test_sqlite_import(tmp_path):
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE deals (id TEXT, created TEXT, closed TEXT, stage TEXT, amount REAL)")
        connection.executemany("INSERT INTO deals VALUES (?, ?, ?, ?, ?)", [
            ("007", "2024-01-02 10:00:00", "2024-02-01", "won", 1234.5),
            ("8", "2024-01-03", "2024-02-02", "Open", None),
        ])
    connection.close()
    import_dataset(f"sqlite:///{path}", tmp_path / "out", mapping=mapping_from_dict(MAPPING))
    assert _imported(tmp_path / "out") == EXPECTED


def test_database_errors_name_the_tables(tmp_path):
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE opps (id TEXT)")
    connection.close()
    with pytest.raises(SourceError, match=r"has no table 'deals'; it has: opps\. Set 'source' in the mapping"):
        import_dataset(f"sqlite:///{path}", tmp_path / "out", mapping=mapping_from_dict(MAPPING))
    with pytest.raises(SourceError, match="does not exist"):
        import_dataset(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path / "out2", mapping=mapping_from_dict(MAPPING))
    assert not (tmp_path / "missing.db").exists()  # not created by trying to open it
    assert not (tmp_path / "out").exists() and not (tmp_path / "out2").exists()


def test_excel_workbook_end_to_end(tmp_path):
    import datetime as dt

    path = tmp_path / "pipeline.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"readme": ["exported 2024-03-01"]}).to_excel(writer, sheet_name="About", index=False)
        pd.DataFrame({
            "id": [1234, "007"],                                  # a number cell and a text cell
            "created": [dt.datetime(2024, 1, 2, 15, 30), 45293.0],  # a date cell and a serial stored as a number
            "closed": ["2024-02-01", dt.date(2024, 2, 2)],
            "stage": ["WON", "open"],
            "amount": [1234.5, "$2,000"],
        }).to_excel(writer, sheet_name="Deals", index=False)
    raw = {**MAPPING, "tables": {"opportunities": {**MAPPING["tables"]["opportunities"], "sheet": "Deals"}}}
    import_dataset(path, tmp_path / "out", mapping=mapping_from_dict(raw))
    assert _imported(tmp_path / "out") == [
        {"opportunity_id": "1234", "created_at": "2024-01-02", "close_date": "2024-02-01", "stage": "Won",
         "amount": "1234.5"},
        # 45293 = 1899-12-30 + 45293 days = 2024-01-02
        {"opportunity_id": "007", "created_at": "2024-01-02", "close_date": "2024-02-02", "stage": "Open",
         "amount": "2000.0"},
    ]


def test_folder_with_several_monthly_files(tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    header = "id,created,closed,stage,amount\n"
    (exports / "deals_2024-01.csv").write_text(header + "1,2024-01-02,2024-02-01,Won,10\n", encoding="utf-8")
    (exports / "deals_2024-02.csv").write_text(header + "2,2024-02-02,2024-03-01,Lost,\n", encoding="utf-8")
    (exports / "notes.txt").write_text("not an export\n", encoding="utf-8")
    raw = {**MAPPING, "tables": {"opportunities": {**MAPPING["tables"]["opportunities"], "source": "deals_*.csv"}}}
    import_dataset(exports, tmp_path / "out", mapping=mapping_from_dict(raw))
    assert [row["opportunity_id"] for row in _imported(tmp_path / "out")] == ["1", "2"]
