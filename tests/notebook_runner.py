"""Execute a report notebook with papermill, as the runner does, read its KPIs and compare
them with an independent computation."""

from __future__ import annotations

from pathlib import Path

import papermill
import pytest

from salesnb.metrics import catalogue
from salesnb.report.display import STRICT_ENVIRONMENT_VARIABLE
from salesnb.report.kpis import read_headline, read_recorded

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# Notebooks written in the catalogue's style: every column they show and every KPI and tile
# they record must have a catalogue entry (a table of an undeclared column fails the run).
CATALOGUED = {"analysis/your_question", "00_data_health", "01_lead_generation", "02_conversion", "03_pipeline_review",
              "04_productivity", "05_accounts", "06_plan", "07_scoring"}


def execute_notebook(name: str, parameters: dict, tmp_path: Path):
    """Run ``notebooks/<name>.ipynb`` with ``parameters``; return (executed notebook, KPIs).

    For the notebooks in :data:`CATALOGUED`, every recorded KPI and headline tile must be in
    the catalogue of metrics, and the kernel refuses tables of undeclared columns."""
    output = Path(tmp_path) / f"{Path(name).name}.executed.ipynb"
    with pytest.MonkeyPatch.context() as patch:
        if name in CATALOGUED:
            patch.setenv(STRICT_ENVIRONMENT_VARIABLE, "1")
        notebook = papermill.execute_notebook(
            str(NOTEBOOKS / f"{name}.ipynb"), str(output), parameters=parameters,
            cwd=str((NOTEBOOKS / name).parent), kernel_name="python3", progress_bar=False,
        )
    recorded = read_recorded(notebook)
    if name in CATALOGUED:
        assert_catalogued(recorded, read_headline(notebook))
    return notebook, recorded


def assert_catalogued(recorded: dict, headline: dict | None) -> None:
    """Every recorded KPI and every headline tile names a catalogue entry."""
    missing = sorted(name for name in recorded if catalogue.lookup(name) is None)
    tiles = (headline or {}).get("tiles", [])
    missing += sorted(f"tile {tile['label']!r}" for tile in tiles if not tile.get("name")
                      or catalogue.lookup(tile["name"]) is None)
    assert missing == [], f"recorded without a catalogue entry: {missing}"


def assert_kpis_match(recorded: dict, expected: dict):
    """Every expected KPI was recorded with the same value: numbers to 1e-9 relative, maps key
    by key with the same keys, None (not measured) as None."""
    assert set(expected) <= set(recorded), sorted(set(expected) - set(recorded))
    for name, value in expected.items():
        if isinstance(value, dict):
            assert set(recorded[name]) == set(value), name
            for key, item in value.items():
                assert recorded[name][key] == pytest.approx(item, rel=1e-9, abs=1e-12), f"{name}[{key}]"
        elif value is None:
            assert recorded[name] is None, name
        else:
            assert recorded[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
