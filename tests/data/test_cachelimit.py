"""The cache's size: SALESNB_CACHE_LIMIT, least recently used entries and imports removed first,
never one in use (used in the last day) and never anything the kit did not name."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from salesnb.data import cachelimit
from salesnb.data.dataset import open_dataset
from salesnb.errors import ConfigError
from tests.cache_fixtures import cache_entries
from tests.robustness_fixtures import OPPORTUNITIES, replace_cell, validate, write_dataset

NOW = 1_800_000_000.0  # a fixed "now" for prune(): the ages below are exact
DAY = 24 * 3600


def kit_folder(parent: Path, number: int, kilobytes: int, days_old: float) -> Path:
    """A folder named as the kit names entries, holding ``kilobytes`` KB in two files (one in a
    subfolder, as kept tables are), last used ``days_old`` days before NOW."""
    folder = parent / f"{number:024x}"
    (folder / "derived").mkdir(parents=True)
    (folder / "deals.parquet").write_bytes(b"x" * (kilobytes * 1000 - 100))
    (folder / "derived" / "kept.parquet").write_bytes(b"y" * 100)
    stamp = NOW - days_old * DAY
    os.utime(folder, (stamp, stamp))
    return folder


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    root.mkdir()
    monkeypatch.setenv("SALESNB_CACHE_DIR", str(root))
    return root


@pytest.mark.parametrize("text, expected", [
    ("10GB", 10 * 10**9), ("500MB", 500 * 10**6), ("1.5GiB", int(1.5 * 2**30)), (" 2 gb ", 2 * 10**9),
    ("750kb", 750_000), ("0", 0), ("none", None), ("Unlimited", None),
])
def test_the_limit_is_a_size_or_none(monkeypatch, text, expected):
    monkeypatch.setenv("SALESNB_CACHE_LIMIT", text)
    assert cachelimit.cache_limit() == expected


def test_the_default_limit_is_ten_gigabytes(monkeypatch):
    monkeypatch.delenv("SALESNB_CACHE_LIMIT", raising=False)
    assert cachelimit.cache_limit() == 10 * 10**9


@pytest.mark.parametrize("text", ["10", "ten GB", "-1GB", "10 GBs", "1e9B"])
def test_a_mistyped_limit_is_one_clear_message(monkeypatch, text):
    monkeypatch.setenv("SALESNB_CACHE_LIMIT", text)
    with pytest.raises(ConfigError) as raised:
        cachelimit.cache_limit()
    message = str(raised.value)
    assert "SALESNB_CACHE_LIMIT" in message and repr(text) in message and "10GB" in message


def test_least_recently_used_go_first_until_under_the_limit(cache):
    # 100 KB each, 400 KB in all; a 250 KB limit removes the two used longest ago, not the third.
    # Named so that the names' order is not the order of use.
    oldest = kit_folder(cache, 8, 100, days_old=9)
    older = kit_folder(cache / "imports", 3, 100, days_old=5)  # an import counts alike
    old = kit_folder(cache, 1, 100, days_old=3)
    recent = kit_folder(cache, 5, 100, days_old=2)
    pruned = cachelimit.prune(250_000, now=NOW)
    assert [folder.name for folder in pruned.removed] == [oldest.name, older.name]
    assert pruned.freed_bytes == 200_000 and not pruned.over_limit
    assert not oldest.exists() and not older.exists() and old.is_dir() and recent.is_dir()


def test_under_the_limit_nothing_goes(cache):
    folders = [kit_folder(cache, number, 100, days_old=30 + number) for number in range(3)]
    assert cachelimit.prune(300_000, now=NOW).removed == ()
    assert all(folder.is_dir() for folder in folders)


def test_no_limit_keeps_everything(cache):
    folders = [kit_folder(cache, number, 100, days_old=400) for number in range(3)]
    assert cachelimit.prune(None, now=NOW).removed == ()
    assert all(folder.is_dir() for folder in folders)


def test_a_folder_used_in_the_last_day_is_never_removed(cache):
    # Over the limit with only recent folders: all stay, and the cache says it is still over.
    just_used = kit_folder(cache, 1, 100, days_old=0.99)
    now_used = kit_folder(cache, 2, 100, days_old=0)
    day_old = kit_folder(cache, 3, 100, days_old=1.01)
    pruned = cachelimit.prune(0, now=NOW)
    assert [folder.name for folder in pruned.removed] == [day_old.name]
    assert just_used.is_dir() and now_used.is_dir() and pruned.over_limit


def test_the_folder_just_written_is_kept_whatever_its_time(cache):
    # An entry built from files copied with their old times (cp -p) can look old: it stays.
    written = kit_folder(cache, 1, 100, days_old=50)
    other = kit_folder(cache, 2, 100, days_old=10)
    pruned = cachelimit.prune(0, keep=written, now=NOW)
    assert pruned.removed == (other,) and written.is_dir()


def test_only_the_kits_own_folders_are_touched(cache):
    spill = cache / "duckdb-spill"
    spill.mkdir()
    (spill / "block").write_bytes(b"z" * 500_000)
    user_folder = cache / "my-notes"  # not a name the kit gives
    user_folder.mkdir()
    (user_folder / "notes.txt").write_text("keep me")
    short_name = cache / ("a" * 23)
    short_name.mkdir()
    stray_file = cache / ("b" * 24)  # a file with an entry's name
    stray_file.write_text("a file")
    for path in (spill, user_folder, short_name, stray_file):
        os.utime(path, (NOW - 99 * DAY, NOW - 99 * DAY))
    entry = kit_folder(cache, 7, 100, days_old=40)
    pruned = cachelimit.prune(0, now=NOW)
    assert pruned.removed == (entry,)
    assert spill.is_dir() and user_folder.is_dir() and short_name.is_dir() and stray_file.is_file()


def test_the_size_counts_every_file_below_the_folder(cache):
    # The older entry holds 900 B on top and 299,100 B in its kept tables' subfolder: 300 KB.
    # With the other (100 KB), 400 KB against a 150 KB limit: the older goes. Counting only the
    # files on top would see 100.8 KB in all, under the limit, and remove nothing.
    mostly_kept_tables = kit_folder(cache, 1, 1, days_old=9)
    (mostly_kept_tables / "derived" / "kept.parquet").write_bytes(b"y" * 299_100)
    os.utime(mostly_kept_tables, (NOW - 9 * DAY, NOW - 9 * DAY))
    second = kit_folder(cache, 2, 100, days_old=5)
    pruned = cachelimit.prune(150_000, now=NOW)
    assert pruned.removed == (mostly_kept_tables,) and second.is_dir() and pruned.freed_bytes == 300_000


def test_leftovers_of_killed_processes_go_after_a_day(cache):
    (cache / "imports").mkdir()
    stale = [cache / ".building-abc", cache / ".broken-def", cache / "imports" / f".{'c' * 24}.importing-x1",
             cache / "imports" / f".{'d' * 24}.old-x2"]
    fresh = cache / ".building-now"  # another process is building this entry right now
    for path in [*stale, fresh]:
        path.mkdir()
        (path / "part.parquet").write_bytes(b"p")
    for path in stale:
        os.utime(path, (NOW - 2 * DAY, NOW - 2 * DAY))
    os.utime(fresh, (NOW - 60, NOW - 60))
    cachelimit.prune(None, now=NOW)  # leftovers go even with no limit
    assert not any(path.exists() for path in stale) and fresh.is_dir()


# ----------------------------------------------------------------------------- through open_dataset


def backdate(folder: Path, days: float) -> None:
    stamp = time.time() - days * DAY
    os.utime(folder, (stamp, stamp))


def test_a_new_entry_removes_the_one_unused_for_days_and_it_is_rebuilt_when_asked(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SALESNB_CACHE_LIMIT", "1KB")  # smaller than one entry: only what is in use stays
    monday = write_dataset(tmp_path / "monday")
    tuesday = write_dataset(tmp_path / "tuesday", opportunities=replace_cell(OPPORTUNITIES, "O4", "amount", "4100"))
    assert open_dataset(monday).table("opportunities").count().execute() == 5
    [monday_entry] = cache_entries(cache)
    backdate(monday_entry, 3)
    tuesday_data = open_dataset(tuesday)  # a new entry: Monday's, unused for 3 days, goes
    [tuesday_entry] = cache_entries(cache)
    assert tuesday_entry != monday_entry and not monday_entry.exists()
    assert float(tuesday_data.table("opportunities").amount.sum().execute()) == 9200.0
    # Monday's data again: built again, same rows; Tuesday's entry was used just now, so it stays.
    again = open_dataset(monday)
    assert float(again.table("opportunities").amount.sum().execute()) == 9100.0
    assert sorted(cache_entries(cache)) == sorted([monday_entry, tuesday_entry])


def test_opening_an_entry_marks_it_used(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SALESNB_CACHE_LIMIT", "1KB")
    data = write_dataset(tmp_path / "data")
    open_dataset(data)
    [entry] = cache_entries(cache)
    backdate(entry, 3)
    open_dataset(data)  # read from the cache: now in use again
    assert time.time() - entry.stat().st_mtime < 3600
    other = write_dataset(tmp_path / "other", opportunities=replace_cell(OPPORTUNITIES, "O1", "amount", "1300"))
    open_dataset(other)
    assert entry.is_dir()  # used today: a new entry does not remove it, over the limit or not


def test_a_mistyped_limit_stops_validate_before_the_build_and_with_a_cache_entry_too(tmp_path, cache, monkeypatch):
    data = write_dataset(tmp_path / "data")
    monkeypatch.setenv("SALESNB_CACHE_LIMIT", "10 gigs")
    outcome = validate(data)
    assert outcome.code == 2 and "Traceback" not in outcome.text
    assert "SALESNB_CACHE_LIMIT must be a size such as 10GB" in outcome.text, outcome.text
    assert cache_entries(cache) == []
    monkeypatch.setenv("SALESNB_CACHE_LIMIT", "10GB")
    assert validate(data).code == 0
    monkeypatch.setenv("SALESNB_CACHE_LIMIT", "10 gigs")  # the entry is there now: said all the same
    outcome = validate(data)
    assert outcome.code == 2 and "SALESNB_CACHE_LIMIT must be a size such as 10GB" in outcome.text, outcome.text


def test_imports_are_marked_used_and_a_new_one_removes_one_unused_for_days(tmp_path, cache, monkeypatch):
    import shutil

    from salesnb.data.importing import import_to_cache

    exports = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
    mapping = exports / "custom_mapping.yaml"
    monkeypatch.setenv("SALESNB_CACHE_LIMIT", "1KB")
    source = tmp_path / "exports"
    shutil.copytree(exports / "custom_layout", source)
    first = import_to_cache(source, mapping=mapping)
    backdate(first, 3)
    assert import_to_cache(source, mapping=mapping) == first  # reused: in use again
    assert time.time() - first.stat().st_mtime < 3600
    backdate(first, 3)
    open_dataset(first, strict=False)  # a run's kernels open the import folder: in use again too
    assert time.time() - first.stat().st_mtime < 3600
    backdate(first, 3)
    [entry] = cache_entries(cache)
    backdate(entry, 3)
    dump = source / "pipeline_dump.csv"
    dump.write_bytes(dump.read_bytes().replace(b"12.500,00", b"13.500,00"))  # the next export
    second = import_to_cache(source, mapping=mapping)
    assert second != first and second.is_dir() and not first.exists()


def test_a_session_that_keeps_querying_keeps_its_entry_marked_used(tmp_path, cache, monkeypatch):
    # A notebook opened yesterday and still in use: its queries mark the entry, at most every ten
    # minutes (one file-time update, not one per query).
    from salesnb.data import querycache

    clock = [1000.0]
    monkeypatch.setattr(querycache.time, "monotonic", lambda: clock[0])
    dataset = open_dataset(write_dataset(tmp_path / "data"))
    [entry] = cache_entries(cache)
    backdate(entry, 2)
    clock[0] += querycache.MARK_USED_EVERY_SECONDS  # opening marked it; ten minutes later:
    dataset.table("opportunities").count().execute()
    assert time.time() - entry.stat().st_mtime < 3600
    backdate(entry, 2)
    clock[0] += querycache.MARK_USED_EVERY_SECONDS - 1
    dataset.table("reps").count().execute()  # within ten minutes of the last mark: not again
    assert time.time() - entry.stat().st_mtime > DAY
    clock[0] += 1
    dataset.table("quotas").count().execute()
    assert time.time() - entry.stat().st_mtime < 3600


def test_an_entry_removed_under_an_open_dataset_is_said_as_such(tmp_path, cache):
    import shutil

    from salesnb.errors import CacheError

    dataset = open_dataset(write_dataset(tmp_path / "data"))
    assert dataset.table("opportunities").count().execute() == 5
    shutil.rmtree(dataset.cache_entry)  # removed while the notebook was left open
    with pytest.raises(CacheError) as raised:
        dataset.table("leads").count().execute()
    message = str(raised.value)
    assert str(dataset.cache_entry) in message and "SALESNB_CACHE_LIMIT" in message and "Open the data again" in message
    assert open_dataset(tmp_path / "data").table("leads").count().execute() == 4  # opened again: rebuilt
