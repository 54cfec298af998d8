"""Extra columns of the user's own kept as attributes (typed as numbers or categories, from a data
folder and from a mapping's ``attributes:``), and data without dates: it loads, what needs no
dates answers over every row, what needs dates says so."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesnb.data.dataset import open_dataset
from salesnb.data.importing import MappingError, import_dataset
from salesnb.errors import NeedsDatesError, SalesnbError
from salesnb.metrics import conversion
from salesnb.metrics.health import attributes_loaded

DATELESS = Path(__file__).resolve().parents[1] / "fixtures" / "dateless"


def write_leads(folder: Path, **extra) -> Path:
    folder.mkdir()
    frame = pd.DataFrame({"lead_id": ["L1", "L2", "L3", "L4"], "created_at": ["2025-01-0%d" % day for day in range(1, 5)],
                          "status": ["Converted", "Working", "Disqualified", "Working"], **extra})
    frame.to_csv(folder / "leads.csv", index=False)
    return folder


def test_extra_columns_of_a_folder_are_attributes_typed_by_their_values(tmp_path):
    folder = write_leads(tmp_path / "data", **{
        "Total Visits": ["12", "3.5", "", "nan"],  # every value a number (nan counts as empty)
        "Company Size": [" Large", "Small", "10", ""],  # one value is not a number: a category, trimmed
        "Never Filled": ["", "", "", ""],  # empty on every row: not an attribute
        "SOURCE": ["Web", "Web", "Ads", "Ads"],  # the model's source column in other letters: not an attribute
    })
    dataset = open_dataset(folder)
    assert dataset.attribute_kinds("leads") == {"Total Visits": "number", "Company Size": "category"}
    assert dataset.attribute_kinds("opportunities") == {}
    values = dataset.attributes("leads").execute().sort_values("lead_id")
    assert values["Total Visits"].tolist()[:2] == [12.0, 3.5] and values["Total Visits"].isna().sum() == 2
    assert values["Company Size"].tolist()[:3] == ["Large", "Small", "10"]
    # The canonical table is unchanged: attributes live beside it.
    assert "Total Visits" not in dataset.table("leads").columns
    loaded = attributes_loaded(dataset).set_index("attribute")
    assert loaded.loc["Total Visits", "filled"] == 2 and loaded.loc["Company Size", "distinct_values"] == 3


def _export(tmp_path) -> Path:
    source = tmp_path / "export"
    source.mkdir()
    pd.DataFrame({"Lead ID": ["1", "2", "3"], "Created": ["2025-01-01", "2025-01-02", "2025-01-03"],
                  "Status": ["Converted", "Working", "Disqualified"], "Company Size": ["Large", "Small", "Large"],
                  "Total Visits": ["4", "10", "0"], "Job Title": ["CFO", "=cmd|' /C calc'!A0", "CTO"]}
                 ).to_csv(source / "leads.csv", index=False)
    return source


def _mapping(tmp_path, **leads) -> Path:
    path = tmp_path / f"mapping-{len(list(tmp_path.glob('mapping-*')))}.yaml"
    path.write_text(yaml.safe_dump({"tables": {"leads": {
        "source": "leads.csv", "columns": {"lead_id": "Lead ID", "created_at": "Created", "status": "Status"}, **leads}}}))
    return path


def test_a_mapping_keeps_the_columns_it_lists_as_attributes(tmp_path):
    import_dataset(_export(tmp_path), tmp_path / "out", mapping=_mapping(tmp_path, attributes=["Company Size", "Total Visits"]))
    written = pd.read_csv(tmp_path / "out" / "leads.csv", dtype=str)
    assert {"Company Size", "Total Visits"} <= set(written.columns) and "Job Title" not in written.columns
    assert open_dataset(tmp_path / "out").attribute_kinds("leads") == {"Company Size": "category",
                                                                       "Total Visits": "number"}


def test_attributes_all_keeps_every_unread_column_and_neutralises_formulas(tmp_path):
    import_dataset(_export(tmp_path), tmp_path / "out", mapping=_mapping(tmp_path, attributes="all"))
    written = pd.read_csv(tmp_path / "out" / "leads.csv", dtype=str)
    assert {"Company Size", "Total Visits", "Job Title"} <= set(written.columns)
    assert "Lead ID" not in written.columns and "Status" not in written.columns  # read by the mapping
    # A cell that would run as a spreadsheet formula is written as text, never as a formula.
    assert not written["Job Title"].str.startswith("=").any()


def test_a_mapping_naming_a_missing_header_or_a_wrong_type_says_which(tmp_path):
    source = _export(tmp_path)
    with pytest.raises(SalesnbError, match="Company Sise.*Did you mean 'Company Size'"):
        import_dataset(source, tmp_path / "out", mapping=_mapping(tmp_path, attributes=["Company Sise"]))
    with pytest.raises(MappingError, match="must be 'number' or 'category'"):
        import_dataset(source, tmp_path / "out2", mapping=_mapping(tmp_path, attributes={"Total Visits": "integer"}))


def test_data_without_dates_loads_and_answers_what_needs_none():
    dataset = open_dataset(DATELESS)
    assert not dataset.dated
    with pytest.raises(NeedsDatesError, match="needs dates"):
        dataset.as_of
    deals = pd.read_csv(DATELESS / "opportunities.csv", dtype=str)
    won, lost = int((deals["stage"] == "Closed Won").sum()), int((deals["stage"] == "Closed Lost").sum())
    rates = conversion.win_rates(dataset)
    assert int(rates["won"].sum()) == won and int(rates["closed"].sum()) == won + lost
    assert rates["win_rate"].iloc[0] == pytest.approx(won / (won + lost))
    with pytest.raises(NeedsDatesError):
        conversion.win_rates(dataset, "2025Q1")
