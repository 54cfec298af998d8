"""Shared by the runner and fault tests: a five-deal dataset, and hashing a folder's files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

# Five deals in the default playbook's stages.
DEALS = pd.DataFrame({
    "opportunity_id": ["O1", "O2", "O3", "O4", "O5"],
    "created_at": ["2026-01-05", "2026-01-10", "2026-02-01", "2026-03-01", "2026-03-15"],
    "close_date": ["2026-02-10", "2026-03-01", "2026-04-15", "2026-06-30", "2026-05-20"],
    "stage": ["Closed Won", "Closed Lost", "Closed Won", "Proposal", "Closed Lost"],
    "amount": [1000, 500, 2500, 4000, 750],
    "source": ["Webinar", "Outbound", "Webinar", "Outbound", "Referral"],
    "lost_reason": [None, "Price", None, None, "No budget"],
})


def write_dataset(folder: Path, deals: pd.DataFrame = DEALS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    deals.to_csv(folder / "opportunities.csv", index=False)
    return folder


def tree_hashes(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``: to prove nothing was written."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(Path(folder).rglob("*")) if path.is_file()}


def write_notebook(folder: Path, name: str, parameters: str, code: str | list[str], title: str | None = None) -> Path:
    """A tiny report notebook: a heading, a ``parameters`` cell (``parameters`` is its source,
    one ``name = literal`` per line) and a code cell (or one per source in a list)."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    parameters_cell = nbformat.v4.new_code_cell(parameters)
    parameters_cell.metadata["tags"] = ["parameters"]
    cells = [nbformat.v4.new_code_cell(source) for source in ([code] if isinstance(code, str) else code)]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title or name}"), parameters_cell,
                                               *cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


RUN_PARAMETERS = ('data_dir = "../data/sample"  # the data folder\nconfig_path = None  # the playbook\n'
                  'period_start = None  # first day\nperiod_end = None  # last day\n')
