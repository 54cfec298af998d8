"""Execute a report notebook with papermill, as the runner does, and read its KPIs."""

from __future__ import annotations

from pathlib import Path

import papermill

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
