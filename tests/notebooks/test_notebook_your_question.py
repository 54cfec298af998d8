"""The worked notebook for an analyst's own questions runs on the sample, in the catalogue's
strict mode, and shows the numbers plain pandas gives for its first question."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.notebook_runner import execute_notebook

pytestmark = pytest.mark.notebook


def test_your_question_answers_three_questions_with_the_numbers_pandas_gives(sample_dir, tmp_path):
    notebook, recorded = execute_notebook("analysis/your_question", {"data_dir": str(sample_dir)}, tmp_path)
    html = "\n".join(output.get("data", {}).get("text/html", "") for cell in notebook.cells
                     for output in cell.get("outputs", []))
    images = sum("image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", []))
    assert images == 3 and recorded == {}

    # Question 1, independently: Enterprise accounts' deals closed in Q4 2025 (the sample's data
    # date is 31 Dec 2025, the last day of the quarter), won / (won + lost) by product.
    deals = pd.read_csv(sample_dir / "opportunities.csv", parse_dates=["close_date"])
    accounts = pd.read_csv(sample_dir / "accounts.csv")
    deals = deals.merge(accounts[["account_id", "segment"]], on="account_id", how="left")
    closed = deals[(deals["segment"] == "Enterprise") & deals["stage"].isin(["Closed Won", "Closed Lost"])
                   & deals["close_date"].between("2025-10-01", "2025-12-31")]
    rates = closed.groupby("product")["stage"].agg(lambda stages: (stages == "Closed Won").mean())
    assert len(rates) >= 3
    for product, rate in rates.items():
        assert f"{rate:.1%}" in html, (product, rate)
