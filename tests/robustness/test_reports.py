"""Shared reports: hostile or huge text from the data stays bounded and literal, and no page
carries the server's data path."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.robustness_fixtures import salesnb, untouched

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LONG_REASON = "Price " + "x" * 100_000


def test_no_notebook_has_an_empty_recorded_numbers_section():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        assert not any("Recorded numbers" in "".join(cell["source"]) for cell in cells), path.name


@pytest.mark.notebook
def test_a_huge_loss_reason_is_cut_and_no_page_shows_the_data_path(sample_dir, tmp_path):
    # Before: a 100,000-character loss reason went whole into the tables and chart labels.
    data = tmp_path / "crm-export"
    shutil.copytree(sample_dir, data)
    deals = pd.read_csv(data / "opportunities.csv", dtype=str, keep_default_na=False)
    lost = deals.index[deals["stage"] == "Closed Lost"][-40:]  # the latest: inside the default period
    deals.loc[lost, "lost_reason"] = LONG_REASON
    deals.to_csv(data / "opportunities.csv", index=False)
    out = tmp_path / "run"
    with untouched(data):
        outcome = salesnb("run", "--data", data, "--only", "02_conversion", "--out", out)
    assert outcome.code == 0 and "Traceback" not in outcome.text, outcome.text
    page = (out / "02_conversion.html").read_text()
    # The loss reasons chart labels the bar "Price xxx…" (40 characters): before, the label made
    # the chart a 2.1 MB image and the page 2.7 MB (02_conversion took 192 s instead of 42 s).
    images = re.findall(r'src="data:image/png;base64,([^"]*)"', page)
    assert images and max(map(len, images)) < 300_000
    assert "x" * 1_000 not in page
    for shared in (out / "02_conversion.html", out / "index.html"):
        assert str(data.resolve()) not in shared.read_text(), shared.name  # the folder's name at most
