"""The sample data generator: deterministic, complete, valid and shaped like a real CRM.

The small sample is generated once per session (``sample_dir`` in conftest.py, seed 42)
and read back here as raw text with plain pandas, independently of the generator's code.
"""

from __future__ import annotations

import pandas as pd
import pytest

from salesnb import open_dataset
from salesnb.data.model import TABLE_NAMES, TABLES
from salesnb.data.playbook import load_playbook
from salesnb.data.sample import CURRENCY_TABLES, generate_sample
from salesnb.data.validate import errors
from salesnb.errors import SalesnbError

SNAPSHOT = "2025-12-31"
FIRST_DAY = "2024-01-01"
HTML_ACCOUNT = '<b>Acme</b> & Sons "Ltd"'
# The tables of the default sample: the rate table only comes with --currencies
# (tests/data/test_currency.py), and orders are then in the playbook currency, without the column.
TABLE_NAMES = tuple(name for name in TABLE_NAMES if name not in CURRENCY_TABLES)


def model_columns(name: str) -> list[str]:
    return [column for column in TABLES[name].column_names if (name, column) != ("orders", "currency")]


@pytest.fixture(scope="module")
def raw(sample_dir) -> dict[str, pd.DataFrame]:
    """Every table as the text in its CSV file ('' for an empty cell)."""
    return {
        name: pd.read_csv(sample_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in TABLE_NAMES
    }


@pytest.fixture(scope="module")
def history_sorted(raw) -> pd.DataFrame:
    # Timestamps are YYYY-MM-DD HH:MM:SS, so text order is time order.
    return raw["opportunity_history"].sort_values(["opportunity_id", "changed_at"], kind="stable")


def _closed(opportunities: pd.DataFrame) -> pd.Series:
    return opportunities["stage"].isin(["Closed Won", "Closed Lost"])


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files(sample_dir, tmp_path):
    written = generate_sample(tmp_path, seed=42, scale="small")
    assert sorted(written) == sorted(TABLE_NAMES)
    for name in TABLE_NAMES:
        first = (sample_dir / f"{name}.csv").read_bytes()
        second = (tmp_path / f"{name}.csv").read_bytes()
        assert first == second, f"{name}.csv differs between two runs with seed 42"


def test_another_seed_gives_other_data(sample_dir, tmp_path):
    generate_sample(tmp_path, seed=7, scale="small")
    for name in ("opportunities", "leads", "activities", "orders"):
        assert (sample_dir / f"{name}.csv").read_bytes() != (tmp_path / f"{name}.csv").read_bytes(), name


def test_unknown_scale_or_format_is_a_clear_error(tmp_path):
    with pytest.raises(SalesnbError, match="small, medium, large"):
        generate_sample(tmp_path, scale="huge")
    with pytest.raises(SalesnbError, match="csv or parquet"):
        generate_sample(tmp_path, file_format="xlsx")
    assert list(tmp_path.iterdir()) == []


def test_parquet_output_loads_and_replaces_the_csv_copy(tmp_path):
    # A stale CSV of a table must not survive beside the new Parquet file.
    (tmp_path / "reps.csv").write_text("rep_id,rep_name\nX,stale\n")
    generate_sample(tmp_path, seed=42, scale="small", file_format="parquet")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(f"{name}.parquet" for name in TABLE_NAMES)
    dataset = open_dataset(tmp_path)
    assert errors(dataset.findings) == []
    assert "X" not in set(dataset.table("reps").execute()["rep_id"])


# ----------------------------------------------------------------------------- the model


def test_every_table_has_exactly_the_model_columns(raw):
    for name in TABLE_NAMES:
        assert list(raw[name].columns) == model_columns(name), name
        assert len(raw[name]) > 0, name


def test_small_scale_has_the_documented_size(raw):
    sellers = raw["reps"][raw["reps"]["team"] != "Sales Leadership"]
    assert 15 <= len(sellers) <= 25
    assert 500 <= len(raw["accounts"]) <= 700
    assert 7_000 <= len(raw["leads"]) <= 9_000
    assert 1_500 <= len(raw["opportunities"]) <= 2_600
    assert 18_000 <= len(raw["activities"]) <= 35_000


def test_passes_validation_and_snapshot_is_fixed(sample_dir, raw):
    dataset = open_dataset(sample_dir, strict=False)
    # The one finding is pipeline hygiene, as in a real CRM: open deals whose expected close date
    # passed before the snapshot, counted here in plain pandas.
    deals = raw["opportunities"]
    overdue = deals[~deals["stage"].str.startswith("Closed") & (deals["close_date"].astype(str) < SNAPSHOT)]
    assert [(finding.check, finding.count) for finding in dataset.findings] == [("open_past_close_date", len(overdue))]
    assert str(dataset.as_of) == SNAPSHOT


def test_stages_are_the_playbook_stages(raw, history_sorted):
    playbook = load_playbook()
    assert set(raw["opportunities"]["stage"]) == set(playbook.stage_names)  # every stage in use
    assert set(history_sorted["stage"]) <= set(playbook.stage_names)


def test_dates_and_timestamps_are_iso_text(raw):
    date, stamp = r"^\d{4}-\d{2}-\d{2}$", r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
    for name in TABLE_NAMES:
        for column in TABLES[name].columns:
            if column.type not in ("date", "timestamp"):
                continue
            values = raw[name][column.name]
            values = values[values != ""]
            pattern = date if column.type == "date" else stamp
            assert values.str.match(pattern).all(), f"{name}.{column.name}"


def test_events_lie_within_the_two_years(raw):
    # Every recorded event is in 2024-01-01 .. 2025-12-31; only plans may lie beyond the
    # snapshot: open deals' expected close dates, and the next quarter's quotas (set ahead,
    # for the pipeline review's coverage), no further.
    events = {
        "leads": ["created_at", "first_response_at", "mql_at", "sql_at", "converted_at"],
        "opportunities": ["created_at"], "opportunity_history": ["changed_at"],
        "activities": ["occurred_at"], "orders": ["ordered_at"], "marketing_spend": ["month"],
    }
    quotas = raw["quotas"]
    assert quotas["period_start"].min() >= FIRST_DAY and quotas["period_end"].max() == "2026-03-31"
    for name, columns in events.items():
        for column in columns:
            days = raw[name][column].str[:10]
            days = days[days != ""]
            assert days.min() >= FIRST_DAY and days.max() <= SNAPSHOT, f"{name}.{column}"
    opportunities = raw["opportunities"]
    closed = opportunities[_closed(opportunities)]
    assert closed["close_date"].max() <= SNAPSHOT
    # About two years: something happens in the first and in the last week.
    created = raw["leads"]["created_at"].str[:10]
    assert created.min() <= "2024-01-07" and created.max() >= "2025-12-24"


# ----------------------------------------------------------------------------- integrity


def test_every_reference_points_at_an_existing_row(raw):
    checked = 0
    for name in TABLE_NAMES:
        for column in TABLES[name].columns:
            if not column.references:
                continue
            target = TABLES[column.references]
            values = raw[name][column.name]
            values = set(values[values != ""])
            missing = values - set(raw[column.references][target.key])
            assert not missing, f"{name}.{column.name}: {sorted(missing)[:3]} not in {column.references}"
            checked += 1
    assert checked >= 12
    managers = set(raw["reps"]["manager_id"]) - {""}
    assert managers and managers <= set(raw["reps"]["rep_id"])


def test_converted_leads_and_their_deals_point_at_each_other(raw):
    leads, opportunities = raw["leads"], raw["opportunities"]
    converted = leads[leads["status"] == "Converted"]
    assert len(converted) > 0
    assert (converted["opportunity_id"] != "").all() and (converted["converted_at"] != "").all()
    assert (leads.loc[leads["status"] != "Converted", "opportunity_id"] == "").all()
    deals = opportunities.set_index("opportunity_id").loc[converted["opportunity_id"]]
    assert list(deals["lead_id"]) == list(converted["lead_id"])
    assert list(deals["source"]) == list(converted["source"])
    assert list(deals["created_at"]) == list(converted["converted_at"].str[:10])
    # Some deals come without a lead (outbound prospecting, expansion, renewal).
    assert (opportunities["lead_id"] == "").sum() > 0
    assert {"New Business", "Expansion", "Renewal"} == set(opportunities["type"])


def test_history_last_state_equals_current_state(raw, history_sorted):
    opportunities = raw["opportunities"].set_index("opportunity_id")
    last = history_sorted.groupby("opportunity_id").tail(1).set_index("opportunity_id")
    assert set(last.index) == set(opportunities.index)
    last = last.loc[opportunities.index]
    assert (last["stage"] == opportunities["stage"]).all()
    assert (last["close_date"] == opportunities["close_date"]).all()
    assert (last["amount"] == opportunities["amount"]).all()  # both empty on amount-less lost deals


def test_history_starts_at_creation_in_an_open_stage(raw, history_sorted):
    opportunities = raw["opportunities"].set_index("opportunity_id")
    first = history_sorted.groupby("opportunity_id").head(1).set_index("opportunity_id").loc[opportunities.index]
    assert (first["changed_at"].str[:10] == opportunities["created_at"]).all()
    open_stages = load_playbook().open_stages
    assert first["stage"].isin(open_stages).all()
    # Timestamps within a deal strictly increase.
    same_deal = history_sorted["opportunity_id"].eq(history_sorted["opportunity_id"].shift())
    assert (history_sorted["changed_at"] > history_sorted["changed_at"].shift())[same_deal].all()


def test_lost_deals_show_the_open_stage_they_were_lost_at(raw, history_sorted):
    lost_ids = set(raw["opportunities"].query("stage == 'Closed Lost'")["opportunity_id"])
    lost_history = history_sorted[history_sorted["opportunity_id"].isin(lost_ids)]
    before_last = lost_history.groupby("opportunity_id").nth(-2)
    assert len(before_last) == len(lost_ids)
    assert before_last["stage"].isin(load_playbook().open_stages).all()
    assert before_last["stage"].nunique() >= 4  # lost at several different stages


# ----------------------------------------------------------------------------- realism


def test_win_rate_is_realistic_and_differs_by_segment(raw):
    opportunities = raw["opportunities"].merge(raw["accounts"][["account_id", "segment"]], on="account_id")
    closed = opportunities[_closed(opportunities)]
    won = closed["stage"] == "Closed Won"
    assert 0.20 <= won.mean() <= 0.30
    by_segment = won.groupby(closed["segment"]).mean()
    assert by_segment["Enterprise"] < by_segment["SMB"]


def test_enterprise_cycles_are_longer(raw):
    opportunities = raw["opportunities"].merge(raw["accounts"][["account_id", "segment"]], on="account_id")
    won = opportunities[opportunities["stage"] == "Closed Won"]
    cycle = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["created_at"])).dt.days
    median = cycle.groupby(won["segment"]).median()
    assert 30 <= median["SMB"] < median["Mid-Market"] < median["Enterprise"] <= 120


def test_lost_deals_have_reasons_and_some_no_amount(raw):
    lost = raw["opportunities"].query("stage == 'Closed Lost'")
    won = raw["opportunities"].query("stage == 'Closed Won'")
    assert (won["amount"] != "").all() and (won["lost_reason"] == "").all()
    assert 0 < (lost["amount"] == "").mean() < 0.5
    assert {"Price", "Competitor", "No decision", "Timing", "Budget"} <= set(lost["lost_reason"])


def test_open_deals_span_the_open_stages_with_overdue_and_slipped_ones(raw, history_sorted):
    opportunities = raw["opportunities"]
    open_deals = opportunities[~_closed(opportunities)]
    assert set(open_deals["stage"]) == set(load_playbook().open_stages)
    assert (open_deals["close_date"] < SNAPSHOT).sum() > 0  # overdue
    # Slipped: the expected close date moved later at least once in the history.
    close = pd.to_datetime(history_sorted["close_date"])
    later = close.gt(close.groupby(history_sorted["opportunity_id"]).shift())
    slipped = set(history_sorted.loc[later, "opportunity_id"])
    assert len(slipped) > 50
    assert len(slipped & set(open_deals["opportunity_id"])) > 0


def test_some_open_deals_are_stale(raw):
    opportunities, activities = raw["opportunities"], raw["activities"]
    open_ids = opportunities.loc[~_closed(opportunities), "opportunity_id"]
    last_touch = activities[activities["opportunity_id"] != ""].groupby("opportunity_id")["occurred_at"].max()
    last_touch = last_touch.reindex(open_ids).str[:10]
    stale = last_touch.isna() | (last_touch < "2025-12-01")  # more than 30 days before the snapshot
    assert 0.05 < stale.mean() < 0.6


def test_won_deals_have_more_meetings(raw):
    activities, opportunities = raw["activities"], raw["opportunities"]
    meetings = activities[activities["type"] == "meeting"].groupby("opportunity_id").size()
    per_stage = {
        stage: meetings.reindex(opportunities.loc[opportunities["stage"] == stage, "opportunity_id"]).fillna(0).mean()
        for stage in ("Closed Won", "Closed Lost")
    }
    assert per_stage["Closed Won"] > 2 * per_stage["Closed Lost"]
    assert {"call", "email", "meeting", "demo"} == set(activities["type"])


def test_some_leads_skip_mql_and_some_are_never_answered(raw):
    leads = raw["leads"]
    skipped = leads[(leads["mql_at"] == "") & (leads["sql_at"] != "")]
    assert len(skipped) > 100
    assert set(skipped["source"]) >= {"Referral", "Outbound"}
    never = leads[leads["first_response_at"] == ""]
    assert 0.03 < len(never) / len(leads) < 0.25
    assert (never["status"] != "Converted").all()
    assert {"New", "Working", "Converted", "Disqualified"} == set(leads["status"])
    # The backlog is real: open leads among the most recent ones.
    recent = leads[leads["created_at"] >= "2025-12-01"]
    assert recent["status"].isin(["New", "Working"]).mean() > 0.3


def test_faster_responses_convert_better(raw):
    leads = raw["leads"]
    answered = leads[leads["first_response_at"] != ""]
    hours = (pd.to_datetime(answered["first_response_at"]) - pd.to_datetime(answered["created_at"])).dt.total_seconds() / 3600
    converted = answered["status"] == "Converted"
    assert hours.median() < 24 and (hours > 72).sum() > 0  # most within hours, a tail of days
    assert converted[hours <= 1].mean() > converted[hours > 24].mean()


def test_lead_sources_differ_in_quality(raw):
    leads = raw["leads"]
    rate = (leads["status"] == "Converted").groupby(leads["source"]).mean()
    volume = leads["source"].value_counts()
    assert rate["Referral"] > rate["Website"] > rate["Paid Search"]
    assert volume["Website"] > volume["Referral"] and volume["Paid Search"] > volume["Events"]


def test_spend_only_for_paid_sources_with_one_expensive_campaign(raw):
    spend = raw["marketing_spend"].assign(amount=lambda frame: frame["amount"].astype(float))
    assert not {"Referral", "Outbound"} & set(spend["source"])
    assert (spend["month"].str[8:] == "01").all()
    per_campaign = spend.groupby("campaign")["amount"].sum().sort_values()
    assert per_campaign.iloc[-1] > 2 * per_campaign.iloc[-2]


def test_some_reps_are_ramping_with_lower_quotas(raw):
    reps = raw["reps"]
    sellers = reps[reps["team"] != "Sales Leadership"]
    assert {"SMB East", "SMB West", "Mid-Market", "Enterprise"} == set(sellers["team"])
    assert (sellers["manager_id"] != "").all()
    ramping = sellers[sellers["hire_date"] >= "2025-07-01"]
    assert len(ramping) >= 2
    quotas = raw["quotas"].assign(amount=lambda frame: frame["amount"].astype(float))
    last_quarter = quotas[quotas["period_start"] == "2025-10-01"].merge(sellers[["rep_id", "team", "hire_date"]])
    for _, rep in last_quarter[last_quarter["rep_id"].isin(ramping["rep_id"])].iterrows():
        full = last_quarter[(last_quarter["team"] == rep["team"]) & (last_quarter["hire_date"] < "2024-01-01")]
        assert rep["amount"] < full["amount"].max()
    # No quota before the quarter a rep was hired in.
    merged = quotas.merge(reps[["rep_id", "hire_date"]])
    assert (merged["period_end"] >= merged["hire_date"]).all()


def test_most_reps_miss_their_quota_and_some_beat_it(raw):
    """Attainment per rep and quarter of 2025 (won amount closed in the quarter / quota)."""
    quotas = raw["quotas"].assign(amount=lambda frame: frame["amount"].astype(float))
    # The quarters of 2025 (the next quarter's quotas, set ahead, have nothing booked yet).
    quotas = quotas[quotas["period_start"].str[:4] == "2025"]
    won = raw["opportunities"][raw["opportunities"]["stage"] == "Closed Won"].assign(
        amount=lambda frame: frame["amount"].astype(float))
    booked = [won.loc[(won["rep_id"] == row.rep_id) & won["close_date"].between(row.period_start, row.period_end),
                      "amount"].sum() for row in quotas.itertuples()]
    attainment = pd.Series(booked, index=quotas.index) / quotas["amount"]
    assert 0.15 < (attainment >= 1).mean() < 0.5  # some beat it, most do not
    company = sum(booked) / quotas["amount"].sum()
    assert 0.7 < company < 1.0


def test_a_busy_rep_with_a_low_win_rate(raw):
    """Activity relates to outcomes, but not perfectly: in some team the established rep with
    the most activities per deal owned has the lowest win rate of the team's established reps."""
    reps = raw["reps"]
    established = reps[(reps["hire_date"] < FIRST_DAY) & (reps["team"] != "Sales Leadership")]
    deals = raw["opportunities"].merge(established[["rep_id", "team"]], on="rep_id")
    closed = deals[_closed(deals)]
    win_rate = (closed["stage"] == "Closed Won").groupby(closed["rep_id"]).mean()
    per_deal = raw["activities"][raw["activities"]["opportunity_id"] != ""].groupby("rep_id").size() \
        / deals.groupby("rep_id").size()
    found = []
    for team, members in established.groupby("team"):
        if len(members) >= 2:
            ids = members["rep_id"]
            found.append(per_deal[ids].idxmax() == win_rate[ids].idxmin())
    assert any(found)


def test_names_with_accents_apostrophes_and_markup(raw):
    names = set(raw["reps"]["rep_name"])
    assert {"Siobhán O'Brien", "José Núñez"} <= names
    accounts = raw["accounts"]
    assert (accounts["account_name"] == HTML_ACCOUNT).sum() == 1
    account_id = accounts.loc[accounts["account_name"] == HTML_ACCOUNT, "account_id"].iloc[0]
    assert (raw["opportunities"]["account_id"] == account_id).any()  # it shows up in deal lists


def test_orders_follow_won_deals_with_repeats_and_churn(raw):
    orders, opportunities = raw["orders"], raw["opportunities"]
    won = opportunities[opportunities["stage"] == "Closed Won"]
    booked = orders[orders["opportunity_id"] != ""].set_index("opportunity_id")
    assert set(booked.index) == set(won["opportunity_id"])
    won = won.set_index("opportunity_id")
    assert (booked["ordered_at"] == won.loc[booked.index, "close_date"]).all()
    assert (booked["amount"].astype(float) == won.loc[booked.index, "amount"].astype(float)).all()
    per_customer = orders.groupby("account_id").size()
    repeat_rate = (per_customer >= 2).mean()
    assert 0.3 < repeat_rate < 0.85
    # Churn: some early customers stop ordering well before the snapshot.
    first = orders.groupby("account_id")["ordered_at"].min()
    last = orders.groupby("account_id")["ordered_at"].max()
    early_repeaters = (first < "2024-07-01") & (per_customer >= 2)
    assert (last[early_repeaters] < "2025-07-01").sum() > 0


def test_leads_follow_the_seasons(raw):
    month = raw["leads"]["created_at"].str[5:7]
    per_month = month.value_counts()
    assert per_month["10"] > per_month["08"] and per_month["10"] > per_month["12"]


def test_crm_probability_is_a_share_mostly_the_playbook_default(raw):
    opportunities = raw["opportunities"].assign(probability=lambda frame: frame["probability"].astype(float))
    assert opportunities["probability"].between(0, 1).all()
    playbook = load_playbook()
    default = opportunities["stage"].map(playbook.probability)
    closed = _closed(opportunities)
    assert (opportunities.loc[closed, "probability"] == default[closed]).all()  # won 1, lost 0
    open_deals = ~closed
    overridden = (opportunities.loc[open_deals, "probability"] != default[open_deals]).mean()
    assert 0.05 < overridden < 0.35  # reps changed some, most keep the stage default


# ----------------------------------------------------------------------------- shards (large, xlarge)


@pytest.fixture(scope="module")
def sharded_sample(tmp_path_factory):
    """A three-shard scale of small shards, made the way large and xlarge are (one shard at
    a time, appended to the files)."""
    from salesnb.data import sample

    patch = pytest.MonkeyPatch()
    patch.setitem(sample.SCALES, "sharded_test", dict(reps=10, accounts=300, leads=2_000, outbound_deals=100, shards=3))
    folder = tmp_path_factory.mktemp("sharded")
    generate_sample(folder, seed=42, scale="sharded_test")
    again = tmp_path_factory.mktemp("sharded_again")
    generate_sample(again, seed=42, scale="sharded_test")
    yield folder, again
    patch.undo()


def test_sharded_scales_are_parquet_and_byte_identical(sharded_sample):
    folder, again = sharded_sample
    assert sorted(path.name for path in folder.iterdir()) == sorted(f"{name}.parquet" for name in TABLE_NAMES)
    for name in TABLE_NAMES:
        assert (folder / f"{name}.parquet").read_bytes() == (again / f"{name}.parquet").read_bytes(), name


def test_shards_have_their_own_ids_and_every_reference_resolves(sharded_sample):
    folder, _ = sharded_sample
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLE_NAMES}
    deals, reps = tables["opportunities"], tables["reps"]
    # Three shards of 10 reps and 4 managers each, IDs tagged with their shard.
    assert len(reps) == 3 * 14 and reps["rep_id"].is_unique
    assert sorted(reps["rep_id"].str[1:3].unique()) == ["00", "01", "02"]
    for name in ("opportunities", "leads", "accounts", "activities", "orders"):
        key = TABLES[name].key
        assert tables[name][key].is_unique, name
        assert tables[name][key].str.contains(r"^[A-Z]+0[0-2]-\d+$").all(), name
    assert deals["rep_id"].isin(reps["rep_id"]).all()
    assert deals["account_id"].isin(tables["accounts"]["account_id"]).all()
    linked = tables["leads"]["opportunity_id"].dropna()
    assert linked.isin(deals["opportunity_id"]).all()
    # A deal's rep, account and lead come from the deal's own shard.
    assert (deals["opportunity_id"].str[1:3] == deals["rep_id"].str[1:3]).all()
    # Spend: one row per month, source and campaign, the shards' spend added up.
    spend = tables["marketing_spend"]
    assert not spend.duplicated(["month", "source", "campaign"]).any()
    assert (spend["amount"] > 0).all()


def test_a_sharded_sample_passes_validation(sharded_sample):
    folder, _ = sharded_sample
    dataset = open_dataset(folder)
    assert errors(dataset.findings) == []
    assert dataset.as_of.isoformat() == SNAPSHOT


def test_a_sharded_scale_as_csv_has_one_header_and_every_shards_rows(sharded_sample, tmp_path):
    from salesnb.data import sample

    folder, _ = sharded_sample
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sample.SCALES, "sharded_test", dict(reps=10, accounts=300, leads=2_000, outbound_deals=100, shards=3))
        generate_sample(tmp_path, seed=42, scale="sharded_test", file_format="csv")
    for name in ("reps", "leads", "activities"):
        text = (tmp_path / f"{name}.csv").read_text(encoding="utf-8")
        header = ",".join(TABLES[name].column_names)
        assert text.count(header) == 1, name
        as_csv = pd.read_csv(tmp_path / f"{name}.csv", dtype=str, keep_default_na=False)
        assert len(as_csv) == len(pd.read_parquet(folder / f"{name}.parquet")), name
    assert not list(tmp_path.glob(".*.partial"))


def test_a_few_established_reps_have_given_notice(raw):
    # reps.left_on: only sellers hired more than a year before the snapshot, 14 to 60 days
    # after it (every rep of the sample works to the snapshot, so nobody left during the data).
    reps = raw["reps"]
    leaving = reps[reps["left_on"] != ""]
    managers = set(reps["manager_id"][reps["manager_id"] != ""])
    assert 1 <= len(leaving) <= 0.25 * len(reps) and not set(leaving["rep_id"]) & managers
    assert (leaving["hire_date"] < "2025-01-01").all()
    assert leaving["left_on"].min() >= "2026-01-14" and leaving["left_on"].max() <= "2026-03-01"
