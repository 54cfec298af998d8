"""The loader: CSV to typed tables, the Parquet cache, user files never modified, clear errors."""

import hashlib
import os

import pytest

from salesnb import open_dataset
from salesnb.errors import DatasetNotFoundError, DataValidationError
from tests.cache_fixtures import cache_entries

GOOD = """opportunity_id,created_at,close_date,stage,amount,rep_id
007,2025-01-05,2025-02-04,Closed Won,1000,R1
008,2025-01-10,2025-03-01,Closed Lost,,R1
009,2025-02-01,2025-05-01,Proposal,2500.5,R2
"""


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "opportunities.csv").write_text(GOOD)
    return tmp_path


def test_csv_is_typed_and_ids_keep_leading_zeros(folder):
    table = open_dataset(folder).table("opportunities").execute()
    assert list(table["opportunity_id"]) == ["007", "008", "009"]
    assert str(table["created_at"].iloc[0])[:10] == "2025-01-05"
    assert table["amount"].iloc[2] == pytest.approx(2500.5)
    assert table["amount"].isna().iloc[1]
    assert "lost_reason" in table.columns  # absent optional column present as NULL


def test_cache_is_reused_and_user_files_untouched(folder, tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(cache))
    before = _digest(folder)
    open_dataset(folder)
    entries = cache_entries(cache)
    assert len(entries) == 1 and (entries[0] / "opportunities.parquet").is_file()
    open_dataset(folder)
    assert cache_entries(cache) == entries  # same source: same cache entry
    assert _digest(folder) == before  # nothing written into the user's folder
    # A changed source gets a new conversion.
    path = folder / "opportunities.csv"
    path.write_text(GOOD + "010,2025-02-02,2025-02-20,Closed Won,10,R2\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert len(open_dataset(folder).table("opportunities").execute()) == 4
    assert len(cache_entries(cache)) == 2


def test_the_cache_entry_follows_the_playbooks_content_not_where_it_lies(folder, tmp_path_factory, monkeypatch):
    # The same playbook copied elsewhere (or the kit installed elsewhere) reuses the entry; a
    # changed playbook builds its own.
    from salesnb.data.playbook import DEFAULT_PLAYBOOK_PATH

    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(cache))
    text = DEFAULT_PLAYBOOK_PATH.read_text()
    first, second = tmp_path_factory.mktemp("here") / "playbook.yaml", tmp_path_factory.mktemp("there") / "copy.yaml"
    first.write_text(text)
    second.write_text(text)
    open_dataset(folder, config=first)
    entries = cache_entries(cache)
    open_dataset(folder, config=second)
    assert cache_entries(cache) == entries and len(entries) == 1
    second.write_text(text.replace("stale_deal_days: 30", "stale_deal_days: 31"))
    assert "stale_deal_days: 31" in second.read_text()
    open_dataset(folder, config=second)
    assert len(cache_entries(cache)) == 2


def test_unknown_stage_unparsable_date_and_duplicate_id(tmp_path):
    (tmp_path / "opportunities.csv").write_text(
        "opportunity_id,created_at,close_date,stage,amount\n"
        "1,2025-01-05,2025-02-04,Closed Won,100\n"
        "1,2025-01-06,2025-02-04,Closed Won,100\n"
        "2,31/02/2025,2025-02-04,Won It,100\n"
    )
    with pytest.raises(DataValidationError) as error:
        open_dataset(tmp_path)
    message = str(error.value)
    assert "opportunities.created_at: 1 row(s) have a date that cannot be read, e.g. (opportunity_id='2', created_at='31/02/2025')" in message
    assert "opportunities.stage: 1 row(s) have a stage the playbook does not know ('Won It' (1))" in message
    assert "opportunities.opportunity_id: 2 row(s) share an ID with another row" in message
    assert "Traceback" not in message


def test_missing_required_column_suggests_the_header(tmp_path):
    (tmp_path / "opportunities.csv").write_text("opportunity_id,created_at,close_date,Stage,amount\n1,2025-01-05,2025-02-04,Closed Won,1\n")
    with pytest.raises(DataValidationError, match="required column 'stage' is missing.*The file has 'Stage': rename it"):
        open_dataset(tmp_path)


def test_missing_folder_and_folder_without_tables(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        open_dataset(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetNotFoundError, match=r"has none of the kit's tables \(it has: notes.txt\)"):
        open_dataset(tmp_path)


def test_leads_only_dataset_loads_and_deal_analyses_say_what_is_missing(tmp_path):
    from salesnb.errors import MissingTableError

    (tmp_path / "leads.csv").write_text("lead_id,created_at,source\nL1,2025-01-05 10:00:00,Web\n")
    dataset = open_dataset(tmp_path)
    assert dataset.table_names == ["leads"] and dataset.as_of.isoformat() == "2025-01-05"
    assert dataset.table_or_empty("opportunities").count().execute() == 0
    with pytest.raises(MissingTableError, match="no 'opportunities' table"):
        dataset.table("opportunities")


def test_a_currency_without_rates_is_an_error(tmp_path):
    # Amounts in several currencies are converted (tests/data/test_currency.py), never added as
    # they are: without a rate for EUR the data is refused, saying where a rate goes.
    (tmp_path / "opportunities.csv").write_text(
        "opportunity_id,created_at,close_date,stage,amount,currency\n"
        "1,2025-01-05,2025-02-04,Closed Won,100,USD\n2,2025-01-05,2025-02-04,Closed Won,100,EUR\n"
    )
    with pytest.raises(DataValidationError, match="'EUR', a currency the data has no exchange rate for"):
        open_dataset(tmp_path)


def test_a_future_activity_does_not_move_the_data_date():
    import pandas as pd

    from salesnb import dataset_from_frames
    from tests.deal_fixtures import frames

    activities = pd.DataFrame({
        "activity_id": ["A1", "A2"], "type": ["call", "meeting"],
        "occurred_at": ["2025-03-01 10:00:00", "2026-12-03 09:00:00"],  # a meeting booked ahead
    })
    dataset = dataset_from_frames({**frames(), "activities": activities})
    # Latest deal event: O6 closed 2025-04-10; the booked meeting does not count.
    assert dataset.as_of.isoformat() == "2025-04-10"
    warnings = [f for f in dataset.findings if f.check == "after_data_date"]
    assert len(warnings) == 1 and warnings[0].count == 1
    assert "activities.occurred_at: 1 row(s) are dated after the data date 2025-04-10" in warnings[0].message
    assert "activity_id='A2'" in warnings[0].message


def test_a_table_with_a_header_and_no_rows_is_an_error_not_an_empty_report(tmp_path):
    # Before issue 13 this ran every report with all-zero numbers (or, later, said "no dated rows").
    (tmp_path / "opportunities.csv").write_text("opportunity_id,created_at,close_date,stage,amount\n")
    with pytest.raises(DataValidationError, match="opportunities: the file has a header but no rows"):
        open_dataset(tmp_path)


def test_parquet_dates_stored_as_numbers_are_an_error_not_silently_empty(tmp_path):
    import pandas as pd

    pd.DataFrame({
        "opportunity_id": ["1", "2"], "created_at": [20250105, 20250110],  # yyyymmdd as integers
        "close_date": pd.to_datetime(["2025-02-04", "2025-03-01"]), "stage": ["Closed Won", "Closed Lost"],
        "amount": [100.0, 50.0],
    }).to_parquet(tmp_path / "opportunities.parquet")
    with pytest.raises(DataValidationError,
                       match=r"opportunities.created_at: 2 row\(s\) have a date that cannot be read, e.g. \(opportunity_id='1', created_at='20250105'\)"):
        open_dataset(tmp_path)


def test_won_and_open_deals_without_amount_are_a_warning(tmp_path):
    (tmp_path / "opportunities.csv").write_text(
        "opportunity_id,created_at,close_date,stage,amount\n"
        "1,2025-01-05,2025-02-04,Closed Won,\n"      # won, no amount: warned
        "2,2025-01-05,2025-02-04,Closed Lost,\n"     # lost, no amount: normal
        "3,2025-01-05,2025-05-04,Proposal,\n"        # open, no amount: warned
        "4,2025-01-05,2025-02-04,Closed Won,100\n"
    )
    dataset = open_dataset(tmp_path)
    [warning] = [f for f in dataset.findings if f.check == "missing_amount"]
    assert warning.severity == "warning" and warning.count == 2
    assert "opportunity_id='1'" in warning.message and "opportunity_id='3'" in warning.message


def test_a_row_with_extra_fields_is_named_by_its_line(tmp_path):
    (tmp_path / "opportunities.csv").write_text(
        "opportunity_id,created_at,close_date,stage,amount\n"
        "1,2025-01-05,2025-02-04,Closed Won,100\n"
        "2,2025-01-05,2025-02-04,Closed Won,100,EXTRA,MORE\n"
    )
    with pytest.raises(DatasetNotFoundError, match="line 3 has 7 fields where the header has 5"):
        open_dataset(tmp_path)


def test_a_second_open_of_unchanged_files_reuses_the_data_date_and_its_checks(folder, monkeypatch):
    # GOOD's latest dated event is the close of deal 008 on 2025-03-01 (009's close date
    # 2025-05-01 is a plan: open deals do not date the data); an activity on 2025-06-01
    # comes after it and is warned.
    (folder / "activities.csv").write_text("activity_id,type,occurred_at\nA1,call,2025-06-01 10:00:00\n")
    first = open_dataset(folder)
    warned = [finding.message for finding in first.findings if finding.check == "after_data_date"]
    assert first.as_of.isoformat() == "2025-03-01" and len(warned) == 1

    from salesnb.data.dataset import Dataset

    def no_queries(self):
        raise AssertionError("the data date's checks ran again on unchanged files")

    monkeypatch.setattr(Dataset, "events_after_as_of", no_queries)
    second = open_dataset(folder)
    assert second.as_of == first.as_of
    assert [finding.message for finding in second.findings if finding.check == "after_data_date"] == warned


def test_a_second_open_reads_the_first_date_and_the_category_values_from_the_cache(folder, tmp_path_factory,
                                                                                   monkeypatch):
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    (folder / "reps.csv").write_text("rep_id,rep_name,team\nR1,Ann,East\nR2,Bo,West\n")
    (folder / "leads.csv").write_text("lead_id,created_at,source\nL1,2024-12-20 09:00:00,Webinar\n"
                                      "L2,2025-01-02 09:00:00,Referral\nL3,2025-01-03 09:00:00,\n")
    first = open_dataset(folder)
    # Worked out by hand from the files: the lead of 2024-12-20 is the first dated event; the
    # deals' stages, the reps' teams and the leads' sources (the empty one is no value).
    assert first.first_date.isoformat() == "2024-12-20"
    values = first.category_values()
    assert values["stage"] == ["Closed Lost", "Closed Won", "Proposal"]
    assert values["team"] == ["East", "West"] and values["source"] == ["Referral", "Webinar"]

    from salesnb.data import cache
    from salesnb.data.dataset import Dataset

    def no_queries(self):
        raise AssertionError("the first date was worked out again on unchanged files")

    monkeypatch.setattr(Dataset, "_first_date", no_queries)
    monkeypatch.setattr(Dataset, "table_names", property(lambda self: pytest.fail("category values queried again")))
    second = open_dataset(folder)
    assert second.first_date == first.first_date and second.category_values() == values
    # What is read is the entry's own file: changed there, the next opening reads the change.
    cache.write_fact(second.cache_entry, "first_date", "2024-12-01")
    assert open_dataset(folder).first_date.isoformat() == "2024-12-01"


def test_an_unreadable_fact_is_worked_out_again(folder, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    entry = open_dataset(folder).cache_entry
    (entry / "facts").mkdir(exist_ok=True)
    (entry / "facts" / "first_date.json").write_text('{"value": "not a date"')  # cut short
    (entry / "facts" / "category_values.json").write_text('{"value": ["a list, not columns"]}')
    dataset = open_dataset(folder)
    assert dataset.first_date.isoformat() == "2025-01-05"
    assert dataset.category_values()["stage"] == ["Closed Lost", "Closed Won", "Proposal"]
    from salesnb.data import cache

    assert cache.read_fact(entry, "first_date") == "2025-01-05"  # and kept again, whole


def test_facts_are_not_kept_without_a_cache_entry_or_where_the_cache_cannot_be_written(tmp_path):
    from salesnb.data import cache

    assert cache.read_fact(None, "first_date") is None
    cache.write_fact(None, "first_date", "2025-01-01")  # data from frames or a warehouse: nothing to keep
    cache.write_fact(tmp_path / "no-such-entry", "first_date", "2025-01-01")
    assert not (tmp_path / "no-such-entry").exists()
    (tmp_path / "facts").write_text("a file where the folder should be")  # as a read-only cache fails
    cache.write_fact(tmp_path, "first_date", "2025-01-01")
    assert cache.read_fact(tmp_path, "first_date") is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["facts"]  # no staging file left behind


def _deals(created, closed, stage="Closed Won"):
    import pandas as pd

    return pd.DataFrame({"opportunity_id": [f"D{index:02d}" for index in range(len(created))], "created_at": created,
                         "close_date": closed, "stage": [stage] * len(created), "amount": ["100"] * len(created)})


def test_the_data_date_leaves_out_a_few_dates_far_after_all_the_others():
    from salesnb import dataset_from_frames

    # 20 deals created 2025-01-01 .. 2025-01-20 and won 30 days later; two won "2052" (typos).
    created = [f"2025-01-{day:02d}" for day in range(1, 21)]
    closed = [f"2025-02-{day:02d}" for day in range(1, 19)] + ["2052-06-24", "2052-06-25"]
    dataset = dataset_from_frames({"opportunities": _deals(created, closed)})
    assert dataset.as_of.isoformat() == "2025-02-18"  # D17: the latest close that is not a typo
    [late] = [finding for finding in dataset.findings if finding.check == "far_after_data_date"]
    assert (late.column, late.count, late.severity) == ("close_date", 2, "warning")
    assert late.examples == [{"opportunity_id": "D18", "close_date": "2052-06-24"},
                             {"opportunity_id": "D19", "close_date": "2052-06-25"}]


def test_sparse_data_keeps_its_latest_date():
    from salesnb import dataset_from_frames

    # A deal every 13 months (2010 .. 2025): a gap of 13 months is this data's normal spacing.
    months = [pd_month(index * 13) for index in range(16)]
    dataset = dataset_from_frames({"opportunities": _deals(months, months)})
    assert dataset.as_of.isoformat() == months[-1]
    assert not [finding for finding in dataset.findings if finding.check == "far_after_data_date"]


def pd_month(offset: int) -> str:
    import pandas as pd

    return (pd.Timestamp("2010-01-01") + pd.DateOffset(months=offset)).date().isoformat()


def test_small_data_keeps_a_late_date_but_never_one_past_2199():
    from salesnb import dataset_from_frames

    # 3 deals (6 events): too few to tell a typo from the data, so 2052 stays the data date...
    created, closed = ["2025-01-05", "2025-01-06", "2025-01-07"], ["2025-02-01", "2025-02-02", "2052-06-24"]
    assert dataset_from_frames({"opportunities": _deals(created, closed)}).as_of.isoformat() == "2052-06-24"
    # ...but 9999-12-31 (a placeholder) is never one: no period can be reported around it.
    closed[-1] = "9999-12-31"
    assert dataset_from_frames({"opportunities": _deals(created, closed)}).as_of.isoformat() == "2025-02-02"


def test_outliers_at_the_end_counts_events_and_compares_gaps_with_the_spacing():
    import datetime as dt

    from salesnb.data.dataset import _outliers_at_the_end

    day = dt.date.fromisoformat
    # Daily data from 2025-01-01 (151 days) and one event in 2052: a gap of 27 years.
    latest = [(day("2052-06-24"), 1), (day("2025-05-31"), 3), (day("2025-05-30"), 2)]
    assert _outliers_at_the_end(latest, 3, day("2025-01-01"), 152) == 1
    assert _outliers_at_the_end(latest, 0, day("2025-01-01"), 152) == 0  # "a few" is none here
    # Two typo days together, then the data: both are left out (3 events <= 3).
    latest = [(day("2052-06-25"), 1), (day("2052-06-24"), 2), (day("2025-05-31"), 3), (day("2025-05-30"), 1)]
    assert _outliers_at_the_end(latest, 3, day("2025-01-01"), 153) == 2
    # A gap of 400 days in data whose days are 100 days apart on average: 400 < 10 x 100.
    latest = [(day("2025-05-31"), 1), (day("2024-04-26"), 1), (day("2024-01-17"), 1)]
    assert _outliers_at_the_end(latest, 3, day("2015-01-01"), 34) == 0
