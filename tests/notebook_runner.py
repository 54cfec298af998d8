"""Execute a report notebook with papermill, as the runner does, read its KPIs and compare
them with an independent computation."""

from __future__ import annotations

from pathlib import Path

import papermill
import pytest

from salesnb.report.kpis import read_recorded

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute_notebook(name: str, parameters: dict, tmp_path: Path):
    """Run ``notebooks/<name>.ipynb`` with ``parameters``; return (executed notebook, KPIs)."""
    output = Path(tmp_path) / f"{name}.executed.ipynb"
    notebook = papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"), str(output), parameters=parameters,
        cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False,
    )
    return notebook, read_recorded(notebook)


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
