"""What a notebook records for the runner: KPIs, headline tiles and findings, round trip
through the outputs of an executed notebook (no kernel: display is captured)."""

from __future__ import annotations

import math

import IPython.display
import nbformat
import pytest

from salesnb.report import kpis


@pytest.fixture
def notebook_outputs(monkeypatch):
    """Capture what the kpis functions display, as outputs of one notebook cell."""
    outputs = []

    def capture(*objects, raw=False, metadata=None, **_):
        for item in objects:
            if raw:
                outputs.append(nbformat.v4.new_output("display_data", data=item, metadata=metadata or {}))
            else:
                outputs.append(nbformat.v4.new_output("display_data", data={"text/html": item.data}))

    monkeypatch.setattr(IPython.display, "display", capture)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    notebook.cells[0].outputs = outputs
    return notebook


def test_headline_shows_tiles_and_records_them_in_order(notebook_outputs):
    # Tiles by catalogue name: label, unit and direction come from the catalogue.
    kpis.headline([("won", 12, 10), ("win_rate", 0.25), ("win_rate_by_value", math.nan, None, "Won by value")],
                  currency="EUR")
    shown, recorded = notebook_outputs.cells[0].outputs
    assert "Win rate" in shown.data["text/html"] and "25.0%" in shown.data["text/html"]
    assert recorded.metadata["tags"] == [kpis.KPI_OUTPUT_TAG]  # left out of the HTML report
    assert kpis.read_headline(notebook_outputs) == {"currency": "EUR", "tiles": [
        {"name": "won", "label": "Won", "value": 12, "kind": "count", "previous": 10, "higher_is_better": True},
        {"name": "win_rate", "label": "Win rate", "value": 0.25, "kind": "percent", "previous": None,
         "higher_is_better": True},
        # not measured: null, never 0; a view's own label where it needs one
        {"name": "win_rate_by_value", "label": "Won by value", "value": None, "kind": "percent", "previous": None,
         "higher_is_better": True},
    ]}
    assert kpis.read_recorded(notebook_outputs) == {}  # tiles are not KPIs of metrics.json


def test_findings_recorded_with_the_message_when_nothing_moved(notebook_outputs):
    kpis.findings(["Source <b>Web</b>: leads rose 40%."], title="1 finding", nothing_found="Nothing moved.")
    kpis.findings([], title="0 findings", nothing_found="Nothing moved.")
    outputs = notebook_outputs.cells[0].outputs
    assert "&lt;b&gt;Web&lt;/b&gt;" in outputs[0].data["text/html"]  # escaped
    assert "Nothing moved." in outputs[2].data["text/html"]
    assert kpis.read_findings(notebook_outputs) == [
        {"title": "1 finding", "sentences": ["Source <b>Web</b>: leads rose 40%."], "nothing_found": "Nothing moved."},
        {"title": "0 findings", "sentences": [], "nothing_found": "Nothing moved."},
    ]


def test_no_headline_recorded_reads_as_none(notebook_outputs):
    kpis.record(won=3)
    assert kpis.read_headline(notebook_outputs) is None
    assert kpis.read_recorded(notebook_outputs) == {"won": 3}


def test_findings_titles_of_earlier_notebooks_lose_their_optional_plurals(notebook_outputs):
    kpis.findings(["A.", "B."], title="2 finding(s), this period", nothing_found="Nothing moved.")
    assert kpis.read_findings(notebook_outputs)[0]["title"] == "2 findings, this period"
    assert "finding(s)" not in notebook_outputs.cells[0].outputs[0].data["text/html"]
