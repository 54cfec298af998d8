"""Every report on the multi-currency sample (``salesnb sample --currencies``: deals, their
history and orders in USD, EUR and GBP, a monthly rate table): each notebook runs, says in its
header that amounts were converted, and records the KPIs an independent pandas conversion
gives.

The conversion here is plain pandas (``merge_asof`` on the rate table), written from the rule
in docs/metrics.md (*Currencies*): won and lost deals at their close date's rate, open deals at
the data date's, orders at their order date's. The converted CSVs are written to a folder, and
each report's own independent computation (``expected_kpis`` of its test module, plain pandas
on CSV files) runs on that folder: the report on the multi-currency data must record what the
same report's definitions give on the converted data. The pipeline review looks back, so its
waterfall (over a month end: a rate change) and its naive backtest convert each past date's
pipeline at that date's rate, here too.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from tests.notebook_runner import assert_kpis_match, execute_notebook
from tests.notebooks import (
    test_notebook_accounts as accounts_test,
    test_notebook_conversion as conversion_test,
    test_notebook_lead_generation as leads_test,
    test_notebook_pipeline_review as pipeline_test,
    test_notebook_productivity as people_test,
)

pytestmark = pytest.mark.notebook

WON, LOST = pipeline_test.WON, pipeline_test.LOST
# The pipeline review's waterfall from here: across the November -> December rate change.
COMPARE_FROM = "2025-11-20"


def rates(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "exchange_rates.csv", parse_dates=["valid_from"]).sort_values("valid_from")


def rate_on(table: pd.DataFrame, currency: pd.Series, day) -> pd.Series:
    """Each row's rate to USD on ``day`` (a date, or one per row): the latest valid_from on or
    before it; 1 for USD."""
    frame = pd.DataFrame({"currency": currency.to_numpy(), "day": pd.to_datetime(pd.Series(day, index=currency.index))
                          .to_numpy(), "row": np.arange(len(currency))}).sort_values("day")
    merged = pd.merge_asof(frame, table, left_on="day", right_on="valid_from", by="currency").sort_values("row")
    return pd.Series(np.where(merged["currency"].to_numpy() == "USD", 1.0, merged["rate"].to_numpy()),
                     index=currency.index)


def data_date(folder) -> pd.Timestamp:
    deals = pd.read_csv(folder / "opportunities.csv", parse_dates=["created_at", "close_date"])
    history = pd.read_csv(folder / "opportunity_history.csv", parse_dates=["changed_at"])
    leads = pd.read_csv(folder / "leads.csv", parse_dates=["created_at"])
    closed = deals[deals["stage"].isin([WON, LOST])]
    return max(deals["created_at"].max(), closed["close_date"].max(), history["changed_at"].max().normalize(),
               leads["created_at"].max().normalize())


def converted_deals(folder) -> pd.DataFrame:
    """The deals with ``amount`` in USD (won and lost: close date's rate; open: the data date's),
    ``original`` and ``currency`` as written, and ``rate``."""
    deals = pd.read_csv(folder / "opportunities.csv", dtype={"opportunity_id": str, "rep_id": str},
                        parse_dates=["created_at", "close_date"])
    closed = deals["stage"].isin([WON, LOST])
    day = deals["close_date"].where(closed, data_date(folder))
    rate = rate_on(rates(folder), deals["currency"], day)
    return deals.assign(original=deals["amount"], rate=rate, amount=deals["amount"] * rate)


@pytest.fixture(scope="module")
def converted_folder(currency_sample_dir, tmp_path_factory):
    """The multi-currency sample converted to USD with pandas, as CSV files in the sample's
    layout (no rate table; history left as written: the reports below read only its dates
    and stages, and the pipeline review's look-back is converted date by date)."""
    folder = tmp_path_factory.mktemp("converted")
    for path in currency_sample_dir.glob("*.csv"):
        if path.stem != "exchange_rates":
            shutil.copy(path, folder / path.name)
    deals = pd.read_csv(currency_sample_dir / "opportunities.csv", dtype=str, keep_default_na=False)
    amounts = converted_deals(currency_sample_dir).set_index("opportunity_id")["amount"]
    deals["amount"] = deals["opportunity_id"].map(amounts).map(lambda value: "" if pd.isna(value) else repr(value))
    deals["currency"] = "USD"
    deals.to_csv(folder / "opportunities.csv", index=False)
    orders = pd.read_csv(currency_sample_dir / "orders.csv", dtype=str, keep_default_na=False)
    rate = rate_on(rates(currency_sample_dir), orders["currency"], pd.to_datetime(orders["ordered_at"]))
    orders["amount"] = (orders["amount"].astype(float) * rate).map(repr)
    orders.drop(columns="currency").to_csv(folder / "orders.csv", index=False)
    return folder


def shown(notebook) -> str:
    return "".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                   for output in cell.get("outputs", []))


def run(name, folder, tmp_path, **parameters):
    notebook, recorded = execute_notebook(name, {"data_dir": str(folder), **parameters}, tmp_path)
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == []
    page = shown(notebook)
    assert "Amounts in EUR, GBP converted to USD at the rate of their date (exchange_rates 01 Jan 2024" in page
    return page, recorded


def test_data_health_shows_the_amounts_by_currency(currency_sample_dir, tmp_path):
    page, recorded = run("00_data_health", currency_sample_dir, tmp_path)
    assert (recorded["errors"], recorded["warnings"]) == (0, 1)
    deals = converted_deals(currency_sample_dir)
    expected = deals.groupby("currency")["amount"].sum().to_dict()
    assert set(recorded["amounts_by_currency"]) == {"EUR", "GBP", "USD"}
    assert recorded["amounts_by_currency"] == pytest.approx(expected, rel=1e-12)
    assert "Amounts by original currency" in page and "exchange_rates, 2024-01-01 to 2026-01-01" in page


def test_lead_generation(currency_sample_dir, converted_folder, tmp_path):
    _, recorded = run("01_lead_generation", currency_sample_dir, tmp_path, period_start=leads_test.PERIOD[0],
                      period_end=leads_test.PERIOD[1])
    assert_kpis_match(recorded, leads_test.expected_kpis(converted_folder, *leads_test.PERIOD))


def test_conversion(currency_sample_dir, converted_folder, tmp_path):
    _, recorded = run("02_conversion", currency_sample_dir, tmp_path, period_start=conversion_test.START,
                      period_end=conversion_test.END)
    expected = conversion_test.expected_kpis(converted_folder)
    for name in ["opportunities_created", "won", "lost"]:
        assert recorded[name] == expected[name], name
    for name in ["win_rate", "win_rate_by_value", "median_sales_cycle_days", "avg_won_amount", "sales_velocity_per_day"]:
        assert recorded[name] == pytest.approx(expected[name], rel=1e-9), name
    # Converted, the amounts are not the default sample's (which is in USD throughout).
    default = conversion_test.expected_kpis(currency_sample_dir)
    assert recorded["avg_won_amount"] != pytest.approx(default["avg_won_amount"], rel=1e-3)


def test_productivity(currency_sample_dir, converted_folder, tmp_path):
    _, recorded = run("04_productivity", currency_sample_dir, tmp_path, period_start=people_test.START,
                      period_end=people_test.END)
    assert_kpis_match(recorded, people_test.expected_kpis(converted_folder))


def test_accounts(currency_sample_dir, converted_folder, tmp_path):
    _, recorded = run("05_accounts", currency_sample_dir, tmp_path, **accounts_test.PARAMETERS)
    expected = accounts_test.expected_kpis(converted_folder)
    for name in accounts_test.EXACT:
        assert recorded[name] == expected[name], name
    assert recorded["rfm_segment_counts"] == expected["rfm_segment_counts"]
    for name in set(expected) - set(accounts_test.EXACT) - set(accounts_test.CLV_MODEL) - {"rfm_segment_counts"}:
        assert recorded[name] == pytest.approx(expected[name], rel=1e-9), name
    for name in accounts_test.CLV_MODEL:
        assert recorded[name] == pytest.approx(expected[name], rel=1e-3, abs=1e-3), name


# ----------------------------------------------------------------------------- the pipeline review


def expected_waterfall(folder, start_day, end_day, period_start, period_end) -> dict:
    """The waterfall's bars with each date's pipeline at that date's rates (docs/metrics.md,
    *Waterfall*): a deal present at the start splits its change into the amount change (at the
    start's rate) and the currency effect."""
    table = rates(folder)
    _, history = pipeline_test.read(folder)
    history = history.merge(pd.read_csv(folder / "opportunities.csv", dtype={"opportunity_id": str})
                            [["opportunity_id", "currency"]], on="opportunity_id")
    before = pipeline_test.state_on(history, start_day)
    before = before.assign(rate=rate_on(table, before["currency"], start_day).to_numpy())
    after = converted_deals(folder).set_index("opportunity_id")
    joined = after[["stage", "amount", "original", "rate", "close_date"]].merge(
        before[["stage", "amount", "rate", "close_date"]], how="left", left_index=True, right_index=True,
        suffixes=("", "_before"))
    existed = joined["stage_before"].notna()
    then = joined[["stage_before", "close_date_before"]].set_axis(["stage", "close_date"], axis=1)
    due_before = existed & pipeline_test.due_in(then, period_start, period_end)
    due_after = pipeline_test.due_in(joined, period_start, period_end)
    closed = joined["stage"].isin([WON, LOST])
    closed_since = closed & (~existed | joined["stage_before"].isin(pipeline_test.OPEN_STAGES))
    won_in_period = closed_since & (joined["stage"] == WON) & joined["close_date"].between(period_start, period_end)
    rows = joined[due_before | due_after | won_in_period].copy()
    due_before, due_after, closed = due_before[rows.index], due_after[rows.index], closed[rows.index]
    new = ~due_before & (rows["stage_before"].isna() | ~rows["stage_before"].isin(pipeline_test.OPEN_STAGES))
    original_in = rows["original"].where(new, rows["amount_before"])  # history amounts: as written
    amount_in = rows["amount"].where(new, rows["amount_before"] * rows["rate_before"])
    amount_out = rows["amount"].where(~closed, rows["amount"].fillna(original_in * rows["rate"])).fillna(0)
    original_out = rows["original"].where(~closed, rows["original"].fillna(original_in))
    at_start_rate = amount_out.where(new, (original_out * rows["rate_before"]).fillna(amount_out))
    way_out = np.select([rows["stage"] == WON, rows["stage"] == LOST, due_after], ["won", "lost", "end"], "pushed_out")
    return {
        "start": amount_in[due_before].fillna(0).sum(), "new": amount_in[new].fillna(0).sum(),
        "pulled_in": amount_in[~due_before & ~new].fillna(0).sum(),
        **{name: amount_out[way_out == name].sum() for name in ("won", "lost", "pushed_out", "end")},
        "amount_change": (at_start_rate - amount_in.fillna(0)).sum(),
        "currency_effect": (amount_out - at_start_rate).sum(),
    }


def naive_backtest_accuracy(folder, period_start) -> tuple[float, int]:
    """The naive forecast (already won + playbook-weighted pipeline due) at each past freeze
    date, its pipeline at the freeze date's rates, against the won amounts at their close
    dates' rates: the median accuracy over the default six quarters."""
    table = rates(folder)
    deals = converted_deals(folder)
    _, history = pipeline_test.read(folder)
    history = history.merge(deals[["opportunity_id", "currency"]], on="opportunity_id")
    accuracy, start = [], period_start
    data_start = min(deals["created_at"].min(), history["day"].min())
    for _ in range(6):
        start = start - pd.offsets.QuarterBegin(1, startingMonth=1)
        if start - pd.offsets.QuarterBegin(1, startingMonth=1) < data_start:
            break
        end = pipeline_test.quarter_of(start)[1]
        freeze = start - pd.Timedelta(days=1)
        frozen = pipeline_test.state_on(history, freeze)
        due = frozen[pipeline_test.due_in(frozen, start, end)]
        due_amount = due["amount"].fillna(0) * rate_on(table, due["currency"], freeze)
        naive = (due_amount * due["stage"].map(pipeline_test.PROBABILITY)).sum()
        actual = deals.loc[(deals["stage"] == WON) & deals["close_date"].between(start, end), "amount"].sum()
        accuracy.append(1 - abs(actual - naive) / actual)
    return float(np.median(accuracy)), len(accuracy)


def test_pipeline_review(currency_sample_dir, converted_folder, tmp_path):
    page, recorded = run("03_pipeline_review", currency_sample_dir, tmp_path, compare_from=COMPARE_FROM)
    expected = pipeline_test.expected_kpis(converted_folder)  # today's pipeline, coverage, hygiene
    pipeline_test.assert_matches(recorded, expected, [
        "open_pipeline_count", "open_pipeline_amount", "weighted_pipeline_amount", "weighted_pipeline_crm",
        "weighted_pipeline_calibrated", "stage_win_probability", "coverage_ratio", "stale_deals", "past_due_deals",
        "slipped_deals", "forecast_already_won",
    ])
    as_of = data_date(currency_sample_dir)
    period_start, period_end = pipeline_test.quarter_of(as_of + pd.Timedelta(days=1))
    waterfall = expected_waterfall(currency_sample_dir, pd.Timestamp(COMPARE_FROM), as_of, period_start, period_end)
    assert waterfall["currency_effect"] != pytest.approx(0, abs=1)  # the rates moved between the dates
    pipeline_test.assert_matches(recorded, {"waterfall": waterfall}, ["waterfall"])
    accuracy, periods = naive_backtest_accuracy(currency_sample_dir, period_start)
    assert periods >= 4
    assert recorded["naive_backtest_accuracy"] == pytest.approx(accuracy, rel=1e-9)
    assert "reconciles exactly" in page and "Currency effect" in page
