"""The reports folder without kernels: run states, retention, the lock, trends, period rules,
packs, and a --each run with papermill replaced by a stand-in."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import subprocess
import sys

import pytest

from salesnb.data.periods import Period, period_from_rule
from salesnb.errors import SalesnbError
from salesnb.report import lock, runs, trends


def make_run(reports, name, state, *, pid=None, started=None, **extra):
    folder = reports / name
    folder.mkdir(parents=True)
    status = {"run": name, "state": state, "pid": pid, "started": started or name, **extra}
    (folder / "status.json").write_text(json.dumps(status))
    return folder


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_states_finished_running_and_incomplete(tmp_path):
    finished = make_run(tmp_path, "a", "finished")
    alive = make_run(tmp_path, "b", "running", pid=os.getpid())
    killed = make_run(tmp_path, "c", "running", pid=dead_pid())
    aborted = make_run(tmp_path, "d", "aborted")
    (tmp_path / "e").mkdir()  # no status.json: not a run
    states = {run.path.name: run.state for run in runs.list_runs(tmp_path)}
    assert states == {"a": "finished", "b": "running", "c": "incomplete", "d": "incomplete"}
    assert {finished, alive, killed, aborted}


def test_retention_deletes_only_old_finished_runs(tmp_path):
    # Oldest first: f1 f2 (latest) f3 [k killed] [r running] f4 f5 (current). keep 2:
    # finished runs f1..f5; the 2 newest (f4, f5) stay; of f1, f2, f3, f2 is latest -> stays.
    for name in ("f1", "f2", "f3"):
        make_run(tmp_path, name, "finished")
    make_run(tmp_path, "k", "running", pid=dead_pid(), started="f3x")
    make_run(tmp_path, "r", "running", pid=os.getpid(), started="f3y")
    make_run(tmp_path, "f4", "finished")
    current = make_run(tmp_path, "f5", "finished")
    (tmp_path / "README.md").write_text("committed")
    runs.update_latest(tmp_path, tmp_path / "f2")
    removed = runs.apply_retention(tmp_path, 2, current=current)
    assert sorted(path.name for path in removed) == ["f1", "f3"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["README.md", "f2", "f4", "f5", "k", "latest", "r"]
    assert runs.apply_retention(tmp_path, None) == []  # no limit: nothing deleted


def test_update_latest_refuses_a_real_folder_and_leaves_no_temporary_link(tmp_path):
    run = make_run(tmp_path, "r1", "finished")
    (tmp_path / "latest").mkdir()
    with pytest.raises(SalesnbError, match="is a real folder"):
        runs.update_latest(tmp_path, run)
    assert not list(tmp_path.glob(".latest-*"))


def test_write_text_is_all_or_nothing(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("the old page")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(runs.RunWriteError, match="No space left on device; the disk is full"):
        runs.write_text(target, "a new page")
    assert target.read_text() == "the old page"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.html"]


def test_lock_busy_then_stale_lock_taken_over(tmp_path):
    said = []
    with lock.reports_lock(tmp_path, wait_seconds=0, run_name="first", say=said.append):
        # A second holder (another open file: flock is per open file) gives up at once.
        with pytest.raises(lock.LockBusyError) as raised:
            with lock.reports_lock(tmp_path, wait_seconds=0.2, say=said.append):
                pass
        assert raised.value.exit_code == 75
        assert "run first (process" in str(raised.value) and "--lock-wait" in str(raised.value)
    assert (tmp_path / runs.LOCK_FILE).read_text() == ""  # released cleanly
    assert not any("took over" in line for line in said)
    # A killed holder leaves its name in the file while the lock itself is free.
    (tmp_path / runs.LOCK_FILE).write_text(json.dumps({"pid": 4242, "run": "killed-run", "since": "yesterday"}))
    with lock.reports_lock(tmp_path, wait_seconds=0, say=said.append):
        with open(tmp_path / runs.LOCK_FILE) as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert any("took over a stale lock" in line and "run killed-run (process 4242" in line for line in said)


# ----------------------------------------------------------------------------- period rules

AS_OF = dt.date(2025, 11, 19)  # a Wednesday in the middle of November


@pytest.mark.parametrize(("rule", "fiscal_start", "expected"), [
    # The last complete month before 19 Nov is October.
    ("last_full_month", 1, (dt.date(2025, 10, 1), dt.date(2025, 10, 31))),
    # Calendar Q4 starts 1 Oct; with a fiscal year from February, the quarter is Nov-Jan.
    ("quarter_to_date", 1, (dt.date(2025, 10, 1), AS_OF)),
    ("quarter_to_date", 2, (dt.date(2025, 11, 1), AS_OF)),
    # Twelve full months up to the last complete month: Nov 2024 - Oct 2025.
    ("last_12_months", 1, (dt.date(2024, 11, 1), dt.date(2025, 10, 31))),
    ("all", 1, (dt.date(2023, 3, 4), AS_OF)),
])
def test_period_rules_by_hand(rule, fiscal_start, expected):
    assert period_from_rule(rule, AS_OF, fiscal_start, first_date=dt.date(2023, 3, 4)) == Period(*expected)


def test_last_full_month_on_a_month_end_is_that_month():
    assert period_from_rule("last_full_month", dt.date(2025, 11, 30)) == Period(dt.date(2025, 11, 1), dt.date(2025, 11, 30))


def test_unknown_period_rule():
    with pytest.raises(SalesnbError, match="Unknown period rule 'last_week'; use one of last_full_month"):
        period_from_rule("last_week", AS_OF)


# ----------------------------------------------------------------------------- trends


def status(rule="last_full_month", playbook="p1", win_rate=0.25, deals=120, cycle=None, started="2026-11-23T06:30:00"):
    return {
        "run": started, "started": started, "series": "s", "period": {"rule": rule}, "playbook": {"sha256": playbook},
        "notebooks": [{"name": "02_conversion", "folder": "", "html": "02_conversion.html", "title": "Conversion",
                       "pack": None, "headline": {"currency": "USD", "tiles": [
                           {"label": "Win rate", "value": win_rate, "kind": "percent"},
                           {"label": "Deals created", "value": deals, "kind": "count"},
                           {"label": "Cycle", "value": cycle, "kind": "days"}]}}],
    }


def test_trends_points_for_rates_percent_for_counts_and_biggest_moves_first():
    comparison = trends.compare(status(win_rate=0.268, deals=150, started="2026-11-30T06:30:00"), status())
    # Win rate 25.0% -> 26.8%: +1.8 points; deals 120 -> 150: +25%; the cycle is not measured.
    assert comparison.previous_date == "23 Nov 2026 06:30" and comparison.reason is None
    assert comparison.trend("", "02_conversion", "Win rate") == trends.Trend("▲ +1.8 pts", "25.0%", "▲", pytest.approx(1.8))
    assert comparison.trend("", "02_conversion", "Deals created").text == "▲ +25%"
    # The cycle is "–" in both runs.
    assert comparison.trend("", "02_conversion", "Cycle").text == "not measured in either run"
    # Ranked by how unusual: +1.8 pts is 1.8 / 5 = 0.36; 120 -> 150 deals is ln 1.25 / ln 1.5 = 0.55
    # (its Poisson z, 30 / sqrt(270) / 2 = 0.91, is larger).
    assert [(move.label, move.change, move.href) for move in comparison.moves] == [
        ("Deals created", "▲ +25%", "02_conversion.html"), ("Win rate", "▲ +1.8 pts", "02_conversion.html")]
    assert [move.unusual for move in comparison.moves] == [pytest.approx(0.5503, abs=1e-4), pytest.approx(0.36)]


def test_trends_say_which_run_did_not_measure_a_tile():
    assert trends.compare(status(cycle=30.0), status()).trend("", "02_conversion", "Cycle").text == \
        "not measured in the last run"
    assert trends.compare(status(), status(cycle=30.0)).trend("", "02_conversion", "Cycle").text == \
        "not measured in this run"


def test_a_rate_up_20_points_is_not_crowded_out_by_a_small_count_up_160_percent():
    """One small team's won deals 5 -> 13 (+160%) against a win rate 25% -> 45% (+20 points)."""
    def run(win_rate, won, started):
        return {"run": started, "started": started, "series": "s", "period": {"rule": "last_full_month"},
                "playbook": {"sha256": "p"}, "notebooks": [
                    {"name": "02_conversion", "folder": "", "html": "02_conversion.html", "title": "Conversion",
                     "headline": {"tiles": [{"label": "Win rate", "value": win_rate, "kind": "percent"}]}},
                    {"name": "02_conversion", "folder": "team-smb", "html": "02_conversion.html", "title": "Conversion",
                     "pack": "SMB", "headline": {"tiles": [{"label": "Won", "value": won, "kind": "count"}]}}]}

    moves = trends.compare(run(0.45, 13, "2026-11-30T06:30:00"), run(0.25, 5, "2026-11-23T06:30:00")).moves
    # Before, moves were ranked by the number shown: 160 (percent) over 20 (points).
    assert [(move.label, move.change) for move in moves] == [("Win rate", "▲ +20.0 pts"), ("Won", "▲ +160%")]
    # 20 / 5 = 4.0; the count: min(ln 2.6 / ln 1.5 = 2.36, 8 / sqrt(18) / 2 = 0.94).
    assert [move.unusual for move in moves] == [pytest.approx(4.0), pytest.approx(0.9428, abs=1e-4)]


@pytest.mark.parametrize("value, previous, kind, expected", [
    (0.30, 0.25, "percent", 1.0),          # 5 points: notable
    (150_000, 100_000, "currency", 1.0),   # x1.5
    (100_000, 150_000, "currency", 1.0),   # ÷1.5, the same
    (300_000, 100_000, "currency", 2.7095),  # ln 3 / ln 1.5
    (50, 0, "currency", 1.0),              # from 0: no relative change to measure
    (-50, 100, "currency", 3.0),           # a sign change: |-150 / 100| / 0.5
    (1_300, 500, "count", 2.3566),         # ln 2.6 / ln 1.5, below its z 800 / sqrt(1800) / 2 = 9.4
    (3, 0, "count", 0.866),                # from none to 3: z = 3 / sqrt(3) / 2
])
def test_unusualness_by_hand(value, previous, kind, expected):
    assert trends.unusualness(value, previous, kind) == pytest.approx(expected, abs=1e-3)


def test_trends_not_compared_across_period_rules_or_playbooks():
    changed = trends.compare(status(rule="quarter_to_date", playbook="p2"), status())
    assert changed.reason == ("Not compared with the run of 23 Nov 2026 06:30: the period rule changed "
                              "(last_full_month → quarter_to_date); the playbook changed.")
    assert changed.trend("", "02_conversion", "Win rate").text.startswith("not compared: the period rule changed")
    assert changed.moves == []
    assert trends.compare(status(), None).reason.startswith("This is the first finished run")


def test_previous_run_skips_incomplete_and_other_series(tmp_path):
    make_run(tmp_path, "a", "finished", series="s", started="2026-11-16")
    make_run(tmp_path, "b", "finished", series="other", started="2026-11-20")
    make_run(tmp_path, "c", "running", pid=dead_pid(), series="s", started="2026-11-22")
    current = make_run(tmp_path, "d", "running", pid=os.getpid(), series="s", started="2026-11-23")
    assert trends.previous_run(tmp_path, {"series": "s"}, current)["run"] == "a"
