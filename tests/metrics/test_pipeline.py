"""The pipeline as of a date, the open pipeline now and calibrated probabilities, against
numbers worked out by hand on tests/pipeline_fixtures.py (as_of 2025-02-15)."""

import datetime as dt

import pandas as pd
import pytest

from salesnb import dataset_from_frames, select
from salesnb.errors import MissingTableError, SalesnbError
from salesnb.metrics import pipeline, snapshots
from tests.pipeline_fixtures import AS_OF, COMPARE_FROM, frames

D = dt.date


@pytest.fixture(scope="module")
def dataset():
    return dataset_from_frames(frames())


def states(dataset, *dates, **selected):
    frame = snapshots.pipeline_as_of(dataset, list(dates), where=select(**selected)).execute()
    frame["as_of_date"] = frame["as_of_date"].map(lambda value: value.date() if hasattr(value, "date") else value)
    return {(row.as_of_date, row.opportunity_id): row for row in frame.itertuples(index=False)}


def test_the_data_date_is_the_last_history_row(dataset):
    assert dataset.as_of == AS_OF


def test_state_between_history_rows_is_the_last_row_on_or_before_the_date(dataset):
    rows = states(dataset, D(2025, 2, 4), D(2025, 2, 5), D(2025, 2, 9), D(2025, 2, 10), D(2025, 2, 11), D(2025, 2, 12))
    # D1: Qualification 10,000 from 12-01, Proposal 12,000 from 02-05 10:00 (end of day counts).
    assert (rows[D(2025, 2, 4), "D1"].stage, rows[D(2025, 2, 4), "D1"].amount) == ("Qualification", 10000)
    assert (rows[D(2025, 2, 5), "D1"].stage, rows[D(2025, 2, 5), "D1"].amount) == ("Proposal", 12000)
    # D3's close date: 02-10 until 02-08, 03-10 until 02-12, then 04-20.
    assert str(rows[D(2025, 2, 11), "D3"].close_date)[:10] == "2025-03-10"
    assert str(rows[D(2025, 2, 12), "D3"].close_date)[:10] == "2025-04-20"
    # D2 is open (Negotiation) on 02-09 and won on 02-10.
    assert (rows[D(2025, 2, 9), "D2"].stage, rows[D(2025, 2, 9), "D2"].outcome) == ("Negotiation", "open")
    assert rows[D(2025, 2, 10), "D2"].outcome == "won"
    # D7's loss row has no amount: the state has none (not the earlier 4,000).
    assert rows[D(2025, 2, 9), "D7"].outcome == "lost" and pd.isna(rows[D(2025, 2, 9), "D7"].amount)


def test_a_deal_does_not_exist_before_it_was_created(dataset):
    rows = states(dataset, D(2024, 11, 30))
    assert {deal for _, deal in rows} == {"D2", "D6", "D8"}  # created 11-01, 10-01, 06-01


def test_same_timestamp_rows_end_with_the_close(dataset):
    # D11 has a Negotiation and a Closed Won row at 02-13 10:00 (the won row first in the file).
    assert states(dataset, D(2025, 2, 13))[D(2025, 2, 13), "D11"].stage == "Closed Won"


def test_deals_without_history_and_history_starting_late(dataset):
    rows = states(dataset, COMPARE_FROM)
    # D9 has no history row at all and is open: taken as it is now.
    assert (rows[COMPARE_FROM, "D9"].stage, rows[COMPARE_FROM, "D9"].state_known) == ("Discovery", True)
    # D10 was created 01-10 but its history starts 02-05: open, state unknown on 02-01.
    d10 = rows[COMPARE_FROM, "D10"]
    assert (d10.outcome, d10.state_known) == ("open", False) and pd.isna(d10.stage) and pd.isna(d10.amount)


def test_on_the_data_date_the_current_snapshot_is_the_answer(dataset):
    rows = states(dataset, AS_OF, D(2025, 3, 1))
    assert rows[AS_OF, "D5"].stage == "Discovery" and rows[D(2025, 3, 1), "D5"].stage == "Discovery"
    assert len([key for key in rows if key[0] == AS_OF]) == 12


def test_a_selection_keeps_its_deals(dataset):
    assert {deal for _, deal in states(dataset, COMPARE_FROM, team="Beta")} == {"D6", "D10", "D12"}
    assert {deal for _, deal in states(dataset, COMPARE_FROM, rep="Ann")} == {"D1", "D2", "D7", "D9"}
    # Referral: D2, D6, D9, D12; of Alpha's (R1, R2) only D2 and D9.
    assert {deal for _, deal in states(dataset, COMPARE_FROM, team="Alpha", source="Referral")} == {"D2", "D9"}
    with pytest.raises(SalesnbError, match="rep = 'R9' matches no data. The rep values are: Ann"):
        snapshots.pipeline_as_of(dataset, [COMPARE_FROM], where=select(rep="R9"))


def test_a_rep_without_deals_is_an_empty_selection_not_an_error():
    # A manager in the reps table owns no deal: a pack for them (--each rep) is empty.
    tables = frames()
    tables["reps"] = pd.concat([tables["reps"], pd.DataFrame([("R4", "Di", "Alpha")], columns=["rep_id", "rep_name", "team"])])
    assert snapshots.pipeline_as_of(dataset_from_frames(tables), [COMPARE_FROM], where=select(rep="R4")).execute().empty


def test_a_past_date_needs_the_history():
    dataset = dataset_from_frames(frames(history=False))
    with pytest.raises(MissingTableError, match="opportunity_history"):
        snapshots.pipeline_as_of(dataset, [COMPARE_FROM])
    # Today's snapshot needs none.
    assert len(snapshots.pipeline_as_of(dataset, [AS_OF]).execute()) == 12


def test_pushes_and_stage_changes(dataset):
    rows = snapshots.deal_states(dataset).execute()
    pushes = rows[rows["pushed"]].groupby("opportunity_id").size().to_dict()
    # Only D3 moved its close date later while open (twice). D2's 02-03 row moved it earlier
    # (pulled in), and a close row after the expected date is a close, not a push.
    assert pushes == {"D3": 2}
    changes = rows[rows["stage_changed"]].groupby("opportunity_id").size()
    assert changes["D3"] == 1 and changes["D1"] == 2 and changes["D11"] == 3  # Qual, Nego, Won


def test_open_pipeline_weighted_three_ways(dataset):
    calibrated = pipeline.calibrated_probabilities(pipeline.stage_calibration(dataset))
    total = pipeline.open_pipeline(dataset, calibrated=calibrated).iloc[0]
    # Open now: D1 12,000, D3 8,000, D6 50,000, D10 9,000 (Proposal); D5 3,000, D9 6,000
    # (Discovery); D12 (Negotiation, no amount). Closed deals never count.
    assert (total["deals"], total["amount"], total["open_without_amount"]) == (7, 88000, 1)
    # Playbook: 79,000 x 0.5 + 9,000 x 0.3 = 42,200
    assert total["weighted_playbook"] == pytest.approx(42200)
    # CRM: D6 says 0.2 -> 12,000 x .5 + 8,000 x .5 + 50,000 x .2 + 9,000 x .5 + 2,700 = 27,200
    assert total["weighted_CRM"] == pytest.approx(27200)
    # Calibrated: Proposal keeps 0.5 (no closed deal was at it), Discovery 1/2 -> 39,500 + 4,500
    assert total["weighted_calibrated"] == pytest.approx(44000)


def test_open_pipeline_by_stage_month_and_team(dataset):
    by_stage = pipeline.open_pipeline(dataset, by="stage").set_index("stage")
    assert by_stage.loc["Proposal", "deals"] == 4 and by_stage.loc["Prospecting", "deals"] == 0
    assert by_stage["weighted_calibrated"].isna().all()  # nothing calibrated passed in
    by_month = pipeline.open_pipeline(dataset, by="close_month")
    assert by_month["close_month"].dt.strftime("%Y-%m").tolist() == ["2024-12", "2025-03", "2025-04", "2025-06"]
    assert by_month["fiscal_quarter"].tolist() == ["FY2024 Q4", "FY2025 Q1", "FY2025 Q2", "FY2025 Q2"]
    assert by_month["deals"].tolist() == [1, 4, 1, 1]  # D6; D1, D5, D9, D10; D3; D12
    by_team = pipeline.open_pipeline(dataset, by="team").set_index("team")
    # Alpha: D1, D3, D9 = 26,000; Beta: D5, D6, D10, D12 = 62,000 (largest first).
    assert by_team["amount"].to_dict() == {"Beta": 62000, "Alpha": 26000}
    assert by_team.index.tolist() == ["Beta", "Alpha"]


def test_calibrated_probability_is_the_share_won_of_deals_that_were_at_the_stage(dataset):
    table = pipeline.stage_calibration(dataset).set_index("stage")
    # Closed in the year up to 02-15: D2 won (Disc, Nego), D4 lost (Disc), D7 lost (Qual),
    # D8 lost (Qual), D11 won (Qual, Nego). D2 skipped Qualification: it does not count there.
    assert table.loc["Qualification", ["closed", "won"]].tolist() == [3, 1]
    assert table.loc["Qualification", "calibrated_probability"] == pytest.approx(1 / 3)
    assert table.loc["Discovery", "calibrated_probability"] == pytest.approx(1 / 2)
    assert table.loc["Negotiation", "calibrated_probability"] == pytest.approx(1.0)
    assert table.loc["Proposal", "closed"] == 0 and table["calibrated_probability"].isna()["Proposal"]
    # The CRM column: mean over open deals at the stage (D6 0.2, three at the playbook's 0.5).
    assert table.loc["Proposal", "CRM_probability"] == pytest.approx((0.2 + 0.5 * 3) / 4)
    assert not table["ranked"].any()  # n below min_deals_for_ranking (10) everywhere
    # Where nothing was at the stage, the calibrated weighting keeps the playbook's probability.
    assert pipeline.calibrated_probabilities(table.reset_index())["Proposal"] == 0.5


def test_calibration_at_a_past_date_sees_only_what_was_closed_then(dataset):
    # By 02-10 only D7 (lost 02-09, was at Qualification) and D2 (won 02-10, Discovery and
    # Negotiation) have closed; D4, D8 and D11 close later and do not count yet.
    table = pipeline.stage_calibration(dataset, as_of_date=D(2025, 2, 10)).set_index("stage")
    assert table["closed"].to_dict() == {"Prospecting": 0, "Qualification": 1, "Discovery": 1, "Proposal": 0,
                                         "Negotiation": 1}
    assert table["won"].to_dict() == {"Prospecting": 0, "Qualification": 0, "Discovery": 1, "Proposal": 0,
                                      "Negotiation": 1}


def test_without_history_nothing_is_calibrated():
    dataset = dataset_from_frames(frames(history=False))
    table = pipeline.stage_calibration(dataset)
    assert (table["closed"] == 0).all() and table["calibrated_probability"].isna().all()
    assert pipeline.calibrated_probabilities(table) is None
    assert pd.isna(pipeline.open_pipeline(dataset).iloc[0]["weighted_calibrated"])  # not measured, never 0


def test_amounts_are_not_measured_where_no_deal_has_one():
    # D12 (Negotiation) is the only deal at its stage and has no amount: its stage's amount
    # is unknown, not $0; a stage without deals is $0.
    by_stage = pipeline.open_pipeline(dataset_from_frames(frames()), by="stage").set_index("stage")
    assert pd.isna(by_stage.loc["Negotiation", "amount"]) and by_stage.loc["Negotiation", "deals"] == 1
    assert by_stage.loc["Prospecting", "amount"] == 0
    # An export without any amount: counts only, every amount not measured.
    tables = frames()
    tables["opportunities"] = tables["opportunities"].drop(columns=["amount"])
    tables["opportunity_history"] = tables["opportunity_history"].drop(columns=["amount"])
    total = pipeline.open_pipeline(dataset_from_frames(tables)).iloc[0]
    assert total["deals"] == 7 and pd.isna(total["amount"]) and pd.isna(total["weighted_playbook"])


# ----------------------------------------------------------------------------- a selection


def test_open_pipeline_of_a_source_and_by_source(dataset):
    web = pipeline.open_pipeline(dataset, where=select(source="Web")).iloc[0]
    # Open Web deals: D1 12,000, D3 8,000, D10 9,000 (Proposal, 0.5), D5 3,000 (Discovery, 0.3):
    # 29,000 x 0.5 + 3,000 x 0.3 = 15,400; none has a CRM probability, so the CRM's is the same.
    assert (web["deals"], web["amount"], web["open_without_amount"]) == (4, 32000, 0)
    assert (web["weighted_playbook"], web["weighted_CRM"]) == pytest.approx((15400, 15400))
    by_source = pipeline.open_pipeline(dataset, by="source").set_index("source")
    # Referral: D6 50,000, D9 6,000, D12 (no amount) = 56,000 in 3; Event has no open deal.
    assert by_source.index.tolist() == ["Referral", "Web"]
    assert by_source.loc["Referral", ["deals", "amount", "open_without_amount"]].tolist() == [3, 56000, 1]
    # Team Alpha and source Web: D1, D3 (Proposal) = 20,000, weighted 10,000.
    both = pipeline.open_pipeline(dataset, by="team", where=select(team="Alpha", source="Web"))
    assert both[["team", "deals", "amount", "weighted_playbook"]].values.tolist() == [["Alpha", 2, 20000, 10000]]


def test_calibration_of_a_source(dataset):
    table = pipeline.stage_calibration(dataset, where=select(source="Web")).set_index("stage")
    # Web deals closed in the year: D7 lost (was at Qualification), D11 won (Qualification,
    # Negotiation): Qualification 1 of 2, Negotiation 1 of 1, Discovery none.
    assert table.loc["Qualification", ["closed", "won"]].tolist() == [2, 1]
    assert table.loc["Negotiation", "calibrated_probability"] == 1.0
    assert table.loc["Discovery", "closed"] == 0
    # Open Web deals now: D1, D3, D10 at Proposal, D5 at Discovery.
    assert table["open_deals"].to_dict() == {"Prospecting": 0, "Qualification": 0, "Discovery": 1, "Proposal": 3,
                                             "Negotiation": 0}


def test_the_old_keywords_still_work_for_one_release(dataset):
    with pytest.warns(DeprecationWarning, match="where=salesnb.select"):
        old = pipeline.open_pipeline(dataset, team="Beta")
    assert old.equals(pipeline.open_pipeline(dataset, where=select(team="Beta")))
