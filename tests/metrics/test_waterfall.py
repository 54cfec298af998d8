"""The waterfall: each bucket worked out by hand on tests/pipeline_fixtures.py (Q1 2025,
02-01 -> 02-15), and exact reconciliation on the sample for every week of 2025 against an
independent pandas rebuild of the pipeline from the history file."""

import datetime as dt

import pandas as pd
import pytest

from salesnb import dataset_from_frames, open_dataset, select
from salesnb.data.periods import fiscal_quarter
from salesnb.errors import SalesnbError
from salesnb.metrics import waterfall
from tests.pipeline_fixtures import AS_OF, COMPARE_FROM, Q1, frames

D = dt.date


@pytest.fixture(scope="module")
def result():
    return waterfall.waterfall(dataset_from_frames(frames()), Q1, start_date=COMPARE_FROM)


def ways(result, deal):
    row = result.deals.set_index("opportunity_id").loc[deal]
    return row["way_in"], row["way_out"], row["amount_in"], row["amount_change"], row["amount_out"]


def test_start_is_what_was_due_in_the_period_on_the_first_date(result):
    # Due in Q1 on 02-01: D1 10,000, D3 8,000, D4 20,000, D7 4,000, D9 6,000 (no history: as
    # now), D11 2,000 = 50,000 in 6 deals. D6 (due 2024) and D8 (overdue) are not due in Q1.
    assert (result.totals["start"], result.counts["start"]) == (50000, 6)


def test_a_deal_pulled_in_and_then_won(result):
    # D2 was due 05-15 on 02-01, pulled into Q1 on 02-03 and won on 02-10.
    assert ways(result, "D2") == ("pulled_in", "won", 5000, 0, 5000)
    assert result.totals["pulled_in"] == 5000


def test_a_deal_pushed_twice_out_of_the_period(result):
    # D3: 02-10 -> 03-10 (still Q1) -> 04-20: one deal pushed out at 8,000, once.
    assert ways(result, "D3") == ("start", "pushed_out", 8000, 0, 8000)
    assert (result.totals["pushed_out"], result.counts["pushed_out"]) == (8000, 1)


def test_an_amount_change_on_a_deal_that_is_then_lost(result):
    # D4: 20,000 on 02-01, cut to 15,000 on 02-04, lost on 02-11 at 15,000.
    assert ways(result, "D4") == ("start", "lost", 20000, -5000, 15000)


def test_a_lost_deal_whose_amount_was_blanked_leaves_at_its_earlier_amount(result):
    # D7 lost on 02-09 with no amount: a 4,000 loss, not a -4,000 amount change.
    assert ways(result, "D7") == ("start", "lost", 4000, 0, 4000)
    assert (result.totals["lost"], result.counts["lost"]) == (19000, 2)


def test_new_won_and_end(result):
    assert ways(result, "D5") == ("new", "end", 3000, 0, 3000)
    assert ways(result, "D1") == ("start", "end", 10000, 2000, 12000)
    # D11 won 02-13 (the won row ties with a Negotiation row): won 2,000; D2 5,000.
    assert (result.totals["won"], result.counts["won"]) == (7000, 2)
    assert (result.totals["new"], result.totals["amount_change"]) == (3000, -3000)
    # End: D1 12,000 + D5 3,000 + D9 6,000.
    assert (result.totals["end"], result.counts["end"]) == (21000, 3)


def test_deals_outside_the_period_pipeline_are_not_in_the_waterfall(result):
    # D8, overdue since 2024 and closed out on 02-14, was never due in Q1; D6 and D12 are
    # due elsewhere. D10's state on 02-01 is unknown (history starts 02-05): left out, counted.
    assert not {"D6", "D8", "D12", "D10"} & set(result.deals["opportunity_id"])
    assert result.left_out == 1


def test_it_reconciles_exactly_and_says_so(result):
    # 50,000 + 3,000 + 5,000 - 8,000 - 7,000 - 19,000 - 3,000 = 21,000
    assert result.check["computed_end"] == pytest.approx(21000)
    assert result.check["pipeline_start"] == pytest.approx(50000)
    assert result.check["pipeline_end"] == pytest.approx(21000)
    assert result.reconciles
    assert result.table()["amount"].tolist() == [50000, 3000, 5000, -8000, -7000, -19000, -3000, 21000]
    # The won and lost bars count since the compare-from date (02-01), not the period so far.
    assert result.table()["waterfall_step"].tolist()[4:6] == ["Won since 01 Feb", "Lost since 01 Feb"]
    assert result.check_note() == ("Check: start 50,000 + new + pulled in − pushed out − won − lost ± amount changes = "
                                   "21,000; pipeline due at the end 21,000: reconciles exactly.")


def test_deals_behind_the_bars_leave_out_deals_that_did_not_move(result):
    behind = waterfall.deals_behind_bars(result)
    assert "D9" not in set(behind["opportunity_id"])  # due on both dates, same amount
    d3 = behind.set_index("opportunity_id").loc["D3"]
    assert d3["close_date_then_and_now"] == "2025-02-10 → 2025-04-20" and d3["stage_then_and_now"] == "Proposal"


def test_compare_date_defaults_to_a_week_before_the_data_date():
    assert waterfall.compare_date(None, AS_OF) == D(2025, 2, 8)
    assert waterfall.compare_date("2025-01-31", AS_OF) == D(2025, 1, 31)
    with pytest.raises(SalesnbError, match="must be before the end date 2025-02-15"):
        waterfall.compare_date("2025-03-01", AS_OF)


def test_by_default_the_fiscal_quarter_open_and_the_last_week():
    dataset = dataset_from_frames(frames())
    default = waterfall.waterfall(dataset)
    assert (default.period, default.start_date, default.end_date) == (Q1, D(2025, 2, 8), AS_OF)
    assert waterfall.waterfall(dataset, "2025Q1", start_date="2025-02-01").totals == \
        waterfall.waterfall(dataset, Q1, start_date=COMPARE_FROM).totals


def test_the_waterfall_of_one_source():
    result = waterfall.waterfall(dataset_from_frames(frames()), Q1, where=select(source="Web"), start_date=COMPARE_FROM)
    # Web: D1, D3, D5, D7, D10, D11. Start D1 10,000 + D3 8,000 + D7 4,000 + D11 2,000; new D5
    # 3,000; D3 pushed out; D11 won; D7 lost; D1 +2,000; end D1 12,000 + D5 3,000. D10 unknown on
    # 02-01: left out. 24,000 + 3,000 + 0 - 8,000 - 2,000 - 4,000 + 2,000 = 15,000.
    assert result.totals == {"start": 24000, "new": 3000, "pulled_in": 0, "pushed_out": 8000, "won": 2000,
                             "lost": 4000, "amount_change": 2000, "end": 15000}
    assert result.counts == {"start": 4, "new": 1, "pulled_in": 0, "pushed_out": 1, "won": 1, "lost": 1,
                             "amount_change": 1, "end": 2}
    assert result.reconciles and result.left_out == 1


# ----------------------------------------------------------------------------- the sample, every week


def pipeline_due(history: pd.DataFrame, date: dt.date, period) -> float:
    """Independent rebuild: each deal's last history row dated on or before ``date``; the
    open ones with a close date in the period, summed."""
    rows = history[history["day"] <= pd.Timestamp(date)].sort_values(["opportunity_id", "changed_at"])
    last = rows.groupby("opportunity_id").tail(1)
    due = last[~last["stage"].isin(["Closed Won", "Closed Lost"])
               & last["close_date"].between(pd.Timestamp(period.start), pd.Timestamp(period.end))]
    return float(due["amount"].sum())


def test_the_sample_reconciles_for_every_week_of_a_year(sample_dir):
    dataset = open_dataset(sample_dir)
    history = pd.read_csv(sample_dir / "opportunity_history.csv", parse_dates=["changed_at", "close_date"])
    history["day"] = history["changed_at"].dt.normalize()
    # Every deal of the sample has history from its creation, with distinct timestamps.
    assert not history.duplicated(["opportunity_id", "changed_at"]).any()
    mondays = pd.date_range("2025-01-06", periods=52, freq="7D").date
    for start in mondays:
        end = start + dt.timedelta(days=7)
        period = fiscal_quarter(end, 1)
        result = waterfall.waterfall(dataset, period, start_date=start, end_date=end)
        totals = result.totals
        equation = (totals["start"] + totals["new"] + totals["pulled_in"] - totals["pushed_out"] - totals["won"]
                    - totals["lost"] + totals["amount_change"])
        assert equation == pytest.approx(totals["end"], abs=0.005), start
        assert totals["start"] == pytest.approx(pipeline_due(history, start, period), abs=0.005), start
        assert totals["end"] == pytest.approx(pipeline_due(history, end, period), abs=0.005), start
        assert result.reconciles and result.left_out == 0, start


def test_without_any_amount_the_bars_are_counts_and_amounts_are_not_measured():
    tables = frames()
    tables["opportunities"] = tables["opportunities"].drop(columns=["amount"])
    tables["opportunity_history"] = tables["opportunity_history"].drop(columns=["amount"])
    result = waterfall.waterfall(dataset_from_frames(tables), Q1, start_date=COMPARE_FROM)
    # The same deals move the same ways: 6 + 1 + 1 - 1 - 2 - 2 = 3 still due at the end.
    assert result.counts == {"start": 6, "new": 1, "pulled_in": 1, "pushed_out": 1, "won": 2, "lost": 2,
                             "amount_change": 0, "end": 3}
    assert set(result.totals.values()) == {None} and result.reconciles
    assert result.table()["amount"].isna().all()
    assert result.check_note() == ("Check: start – + new + pulled in − pushed out − won − lost ± amount changes = –; "
                                   "pipeline due at the end –: reconciles exactly.")


def test_without_history_the_waterfall_is_not_measured():
    # Today's snapshot cannot tell the pipeline of 02-01: not measured, never today's as the past.
    result = waterfall.waterfall(dataset_from_frames(frames(history=False)), Q1, start_date=COMPARE_FROM)
    assert not result.measured and "opportunity_history" in result.reason
    assert set(result.totals.values()) == {None} and result.deals.empty
