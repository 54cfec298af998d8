"""Every committed notebook keeps the house rules the runner and papermill rely on: no
outputs, one ``parameters`` cell of literal defaults each with a comment, no matplotlib
backend set (Agg would drop figures from reports), and every report passes the run's period
label to its header."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
ALL = sorted(NOTEBOOKS.rglob("*.ipynb"))
REPORTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_the_report_notebooks_are_found():
    assert len(REPORTS) >= 8 and all(path in ALL for path in REPORTS)


@pytest.mark.parametrize("path", ALL, ids=lambda path: path.stem)
def test_committed_without_outputs(path):
    code = [cell for cell in cells(path) if cell["cell_type"] == "code"]
    assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in code), path.name


@pytest.mark.parametrize("path", ALL, ids=lambda path: path.stem)
def test_one_parameters_cell_of_literals_each_with_a_comment(path):
    tagged = [cell for cell in cells(path) if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"
    source = "".join(tagged[0]["source"])
    for statement in ast.parse(source).body:
        assert isinstance(statement, ast.Assign), f"{path.name}: not an assignment: {ast.unparse(statement)}"
        ast.literal_eval(statement.value)  # raises on anything but a literal
        line = source.splitlines()[statement.end_lineno - 1]
        assert "#" in line, f"{path.name}: {ast.unparse(statement.targets[0])} has no comment"


@pytest.mark.parametrize("path", ALL, ids=lambda path: path.stem)
def test_no_matplotlib_backend_is_set(path):
    source = "\n".join("".join(cell["source"]) for cell in cells(path) if cell["cell_type"] == "code")
    assert "matplotlib.use(" not in source and "%matplotlib" not in source, path.name


@pytest.mark.parametrize("path", REPORTS, ids=lambda path: path.stem)
def test_reports_show_the_period_the_run_chose(path):
    source = "\n".join("".join(cell["source"]) for cell in cells(path))
    assert "period_label = None" in source and "period_label=period_label" in source, path.name
