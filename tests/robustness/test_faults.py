"""Faults during a run: killed (SIGKILL, SIGINT), full or read-only disk, racing runs, a stale
lock, retention beside an incomplete run, a hanging notebook, plan mistakes, ``latest`` as a
real folder, ``--out`` inside the data folder.

Each case asserts the exit code, that the message names the option or path and what to do,
that no traceback is printed, and that no input file changed. The runs use the tiny
notebooks of tests/fixtures/fault_notebooks (``00_quick`` finishes at once, ``01_sleep``
sleeps ``SALESNB_TEST_SLEEP`` seconds); killed runs are real processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from salesnb import cli
from salesnb.report import configuration, rendering, runner, runs
from salesnb.report.lock import LOCK_BUSY_EXIT_CODE
from tests.run_fixtures import RUN_PARAMETERS, tree_hashes, write_dataset, write_notebook

ROOT = Path(__file__).resolve().parents[2]
FAULT_NOTEBOOKS = ROOT / "tests" / "fixtures" / "fault_notebooks"
# The CLI in a process of its own, with the fault notebooks as "the kit's notebooks".
CLI_SCRIPT = (
    "import sys; from pathlib import Path; from salesnb import cli; from salesnb.report import configuration; "
    f"configuration.DEFAULT_NOTEBOOKS_DIR = Path({str(FAULT_NOTEBOOKS)!r}); sys.exit(cli.main(sys.argv[1:]))"
)


@pytest.fixture
def data(tmp_path):
    return write_dataset(tmp_path / "data")


@pytest.fixture
def fault_notebooks(monkeypatch):
    monkeypatch.setattr(configuration, "DEFAULT_NOTEBOOKS_DIR", FAULT_NOTEBOOKS)
    monkeypatch.setenv("SALESNB_TEST_SLEEP", "0")


def start_cli(args: list[str], *, sleep: float = 0, new_session: bool = False) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SALESNB_TEST_SLEEP": str(sleep)}
    return subprocess.Popen([sys.executable, "-c", CLI_SCRIPT, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=new_session)


def wait_for_kernel(reports: Path, process: subprocess.Popen, name: str = "01_sleep", limit: float = 120) -> Path:
    """The running run's folder, once its notebook ``name`` has a kernel executing it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for folder in runs.list_runs(reports):
            if folder.state == runs.RUNNING and (folder.path / f"{name}.ipynb").is_file():
                return folder.path  # papermill writes the output notebook once the kernel runs
        time.sleep(0.3)
    process.kill()
    raise AssertionError(f"no kernel for {name} started: {process.communicate()}")


def assert_clean_failure(output: str, *expected: str) -> None:
    assert "Traceback" not in output, output
    for text in expected:
        assert text in output, f"{text!r} not in {output!r}"


def run_cli(capsys, *args) -> tuple[int, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# ----------------------------------------------------------------------------- killed runs


@pytest.mark.notebook
def test_sigkill_leaves_latest_then_stale_lock_is_taken_over_and_retention_keeps_the_incomplete_run(
        tmp_path, data, fault_notebooks, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "README.md").write_text("committed; never deleted\n")
    before = tree_hashes(data)

    code, output = run_cli(capsys, "run", "--data", str(data), "--reports-dir", str(reports))
    assert code == 0, output
    good = runs.latest_target(reports)

    killed = start_cli(["run", "--data", str(data), "--reports-dir", str(reports)], sleep=600)
    killed_dir = wait_for_kernel(reports, killed)
    killed.send_signal(signal.SIGKILL)  # as the OOM killer or `kill -9` would
    killed.wait(timeout=30)
    assert runs.latest_target(reports) == good  # latest still on the previous good run
    assert runs.state_of(runs.read_status(killed_dir)) == runs.INCOMPLETE
    assert not (killed_dir / "index.html").exists()
    assert not list(reports.glob(".latest-*"))

    # The next run takes the stale lock over (and says so), then keeps one finished run:
    # the older finished run goes, the incomplete one stays for inspection, README.md stays.
    code, output = run_cli(capsys, "run", "--data", str(data), "--reports-dir", str(reports), "--keep", "1")
    assert code == 0, output
    assert_clean_failure(output, "took over a stale lock", f"process {killed.pid}", "that process is gone")
    newest = runs.latest_target(reports)
    assert newest not in (good, killed_dir)
    assert not good.exists() and killed_dir.is_dir() and (reports / "README.md").is_file()
    assert sorted(path.name for path in reports.iterdir() if not path.name.startswith(".")) == sorted(
        ["README.md", "latest", killed_dir.name, newest.name])
    assert tree_hashes(data) == before


@pytest.mark.notebook
def test_sigint_to_the_process_group_stops_cleanly(tmp_path, data):
    reports = tmp_path / "reports"
    before = tree_hashes(data)
    process = start_cli(["run", "--data", str(data), "--reports-dir", str(reports)], sleep=600, new_session=True)
    run_dir = wait_for_kernel(reports, process)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole group
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert_clean_failure(err, "Interrupted (SIGINT)", "marked incomplete", str(run_dir))
    assert "KeyboardInterrupt" not in err and "zmq" not in err.lower()
    assert runs.read_status(run_dir)["state"] == runs.ABORTED
    assert runs.latest_target(reports) is None
    assert tree_hashes(data) == before


# ----------------------------------------------------------------------------- racing runs


@pytest.mark.notebook
def test_racing_runs_wait_or_give_up_with_their_own_exit_code_and_never_interleave(tmp_path, data, fault_notebooks,
                                                                                   capsys):
    reports = tmp_path / "reports"
    first = start_cli(["run", "--data", str(data), "--reports-dir", str(reports)], sleep=8)
    first_dir = wait_for_kernel(reports, first)

    code, output = run_cli(capsys, "run", "--data", str(data), "--reports-dir", str(reports), "--lock-wait", "1")
    assert code == LOCK_BUSY_EXIT_CODE == 75
    assert_clean_failure(output, f"Another salesnb run is writing to {reports.resolve()}", f"run {first_dir.name}",
                         f"process {first.pid}", "--lock-wait", "did not start")

    # A patient run waits for the first one to finish, then runs: one after the other.
    code, output = run_cli(capsys, "run", "--data", str(data), "--reports-dir", str(reports), "--lock-wait", "300")
    assert code == 0, output
    assert "waiting up to 300 s" in output
    assert first.wait(timeout=120) == 0
    finished = [folder for folder in runs.list_runs(reports) if folder.state == runs.FINISHED]
    assert len(finished) == 2
    assert finished[0].status["finished"] <= finished[1].status["started"]  # never interleaved


# ----------------------------------------------------------------------------- hanging notebook


@pytest.mark.notebook
def test_a_hanging_notebook_is_stopped_and_the_others_go_on(tmp_path, data, fault_notebooks, monkeypatch, capsys):
    monkeypatch.setenv("SALESNB_TEST_SLEEP", "600")
    out = tmp_path / "run"
    code, output = run_cli(capsys, "run", "--data", str(data), "--out", str(out), "--timeout", "30")
    assert code == 1
    assert_clean_failure(output, "01_sleep ... failed", "timed out after 30 s")
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "finished" and not status["ok"]
    assert [(item["name"], item["error"].split(":")[0]) for item in status["failed"]] == [("01_sleep", "TimeoutError")]
    assert {item["name"]: item["status"] for item in status["notebooks"]} == {"00_quick": "ok", "01_sleep": "failed"}
    assert "timed out after 30 s" in (out / "index.html").read_text()


# ----------------------------------------------------------------------------- disk faults


def _mount_tmpfs(folder: Path, options: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    return result.returncode == 0


@contextlib.contextmanager
def small_disk(folder: Path, size: str):
    mounted = _mount_tmpfs(folder, f"size={size}")
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.notebook
def test_a_full_disk_stops_the_run_with_nothing_half_written(tmp_path, data, fault_notebooks, monkeypatch, capsys):
    before = tree_hashes(data)
    disk = tmp_path / "disk"
    with small_disk(disk, "160k") as mounted:
        if not mounted:  # not root, or no tmpfs: the same failure, mocked where reports are written
            real = rendering.write_text

            def full(path, text):
                if Path(path).suffix == ".html":
                    raise runs.RunWriteError(path, OSError(28, "No space left on device"))
                return real(path, text)

            monkeypatch.setattr(rendering, "write_text", full)
        out = disk / "run"
        code, output = run_cli(capsys, "run", "--data", str(data), "--out", str(out))
        assert code == 2
        assert_clean_failure(output, "No space left on device", "the disk is full", "marked incomplete")
        assert runs.state_of(runs.read_status(out)) in (runs.INCOMPLETE, None)  # never "finished"
        for page in out.glob("*.html"):
            assert page.stat().st_size > 0, f"{page.name} was left half-written"
        assert not list(out.glob(".*.tmp-*"))
    assert tree_hashes(data) == before


def test_a_read_only_out_location_is_a_clear_error(tmp_path, data, fault_notebooks, monkeypatch, capsys):
    locked = tmp_path / "read-only"
    mounted = _mount_tmpfs(locked, "ro,size=64k")
    try:
        if not mounted:
            if os.geteuid() != 0:
                locked.chmod(0o500)
            else:  # root without mount rights: the same error, from the folder creation
                def refuse(self, *args, **kwargs):
                    raise PermissionError(13, "Permission denied", str(self))

                monkeypatch.setattr(Path, "mkdir", refuse)
        code, output = run_cli(capsys, "run", "--data", str(data), "--out", str(locked / "run"))
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(locked)], check=False)
    assert code == 2
    assert_clean_failure(output, f"Could not write {locked / 'run'}", "choose a folder you can write to")


# ----------------------------------------------------------------------------- where runs go


def test_latest_as_a_real_folder_stops_the_run_before_anything_runs(tmp_path, data, fault_notebooks, monkeypatch,
                                                                     capsys):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("a notebook ran"))
    reports = tmp_path / "reports"
    (reports / "latest").mkdir(parents=True)
    (reports / "latest" / "old.html").write_text("someone's copy")
    code, output = run_cli(capsys, "run", "--data", str(data), "--reports-dir", str(reports))
    assert code == 2
    assert_clean_failure(output, f"{reports.resolve() / 'latest'} is a real folder", "Rename or move it away")
    assert sorted(path.name for path in reports.iterdir()) == ["latest"]  # no run folder, no stray link
    assert (reports / "latest" / "old.html").read_text() == "someone's copy"


@pytest.mark.parametrize("option", ["--out", "--reports-dir"])
def test_runs_are_never_written_into_the_data_folder(tmp_path, data, fault_notebooks, option, monkeypatch, capsys):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("a notebook ran"))
    before = tree_hashes(data)
    code, output = run_cli(capsys, "run", "--data", str(data), option, str(data / "reports"))
    assert code == 2
    assert_clean_failure(output, f"{data / 'reports'} is inside the data folder", "never writes into your data",
                         "Choose a folder outside it")
    assert tree_hashes(data) == before and not (data / "reports").exists()


# ----------------------------------------------------------------------------- plan mistakes

PLAN_MISTAKES = {
    "unknown key": ("data: DATA\nperiode: last_full_month\n", ["unknown key 'periode'", "did you mean 'period'"]),
    "missing data folder": ("data: nowhere\n", ["data: folder", "nowhere does not exist"]),
    "missing playbook": ("data: DATA\nplaybook: missing.yaml\n", ["playbook: file", "missing.yaml does not exist"]),
    "bad period rule": ("data: DATA\nperiod: last_month\n", ["period 'last_month' is not a period rule",
                                                            "did you mean", "last_full_month: the last complete"]),
    "bad period date": ("data: DATA\nperiod: {start: 2026-13-01, end: 2026-12-31}\n",
                        ["period start must be a date written as YYYY-MM-DD", "not '2026-13-01'"]),
    "start after end": ("data: DATA\nperiod: {start: 2026-03-01, end: 2026-01-31}\n",
                        ["period start 2026-03-01 is after period end 2026-01-31", "swap them"]),
    "preset and mapping": ("data: {export: DATA, preset: salesforce, mapping: m.yaml}\n",
                           ["exactly one of preset", "mapping"]),
    "unknown preset": ("data: {export: DATA, preset: salesfroce}\n", ["unknown preset 'salesfroce'", "did you mean"]),
    "not a database url": ("data: {url: 'http://crm', preset: hubspot}\n", ["is not a database URL"]),
    "unknown notebook": ("data: DATA\nnotebooks: [02_conversoin]\n", ["unknown notebook '02_conversoin'"]),
    "unknown filter": ("data: DATA\neach: teams\n", ["each: unknown filter 'teams' (did you mean 'team'?)",
                                                     "team, rep, segment, source, product, region"]),
    "keep zero": ("data: DATA\nkeep: 0\n", ["keep must be 1 or more (a whole number", "not 0"]),
    "timeout text": ("data: DATA\ntimeout_seconds: soon\n", ["timeout_seconds must be above 0", "not 'soon'"]),
    "timeout nan": ("data: DATA\ntimeout_seconds: .nan\n", ["timeout_seconds: nan is not a finite number"]),
    "reports in data": ("data: DATA\nreports: DATA/reports\n", ["is inside the data folder"]),
    "not yaml": ("data: [unclosed\n", ["is not valid YAML"]),
    "not a mapping": ("- data\n", ["must be a mapping of settings"]),
}


@pytest.mark.parametrize("mistake", sorted(PLAN_MISTAKES))
def test_each_plan_mistake_is_named_by_plan_check_and_by_run(tmp_path, data, mistake, fault_notebooks, monkeypatch,
                                                            capsys):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("a notebook ran"))
    text, expected = PLAN_MISTAKES[mistake]
    plan = tmp_path / "weekly.yaml"
    plan.write_text(text.replace("DATA", str(data)))
    before = tree_hashes(data)
    for args in (["plan", "check", str(plan)], ["run", "--plan", str(plan)]):
        code, output = run_cli(capsys, *args)
        assert code == 2, output
        assert_clean_failure(output, f"Run plan {plan}", *expected)
    assert tree_hashes(data) == before


def test_plan_check_on_a_missing_file_and_a_valid_plan(tmp_path, data, fault_notebooks, capsys):
    code, output = run_cli(capsys, "plan", "check", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert_clean_failure(output, "the plan file does not exist", "give the path of a YAML file")
    plan = tmp_path / "weekly.yaml"
    plan.write_text(f"data: {data}\nperiod: quarter_to_date\neach: team\nkeep: 4\ntimeout_seconds: 900\n")
    code, output = run_cli(capsys, "plan", "check", str(plan))
    assert code == 0, output
    assert "is valid" in output and "quarter_to_date" in output and "900 s per notebook" in output


# ----------------------------------------------------------------------------- where kernels start


def probe_notebooks(folder: Path, count: int, cells: int = 1) -> Path:
    """``count`` notebooks that import the package's data layer and record whether their
    kernel started in their own folder (a KPI of 1), then run ``cells - 1`` empty cells (as
    a report's many cells: papermill saves the executed notebook after each one)."""
    for number in range(count):
        write_notebook(folder, f"{number:02d}_probe", RUN_PARAMETERS,
                       ["import os\n"
                        "import salesnb.data.dataset  # fails when a folder named salesnb shadows the package\n"
                        "from salesnb.report import kpis\n"
                        f"kpis.record(in_own_folder=int(os.path.samefile(os.getcwd(), {str(folder)!r})))\n",
                        *["pass"] * (cells - 1)])
    return folder


# The CLI in a process of its own that counts every change of its working directory.
WATCHED_CLI = """\
import os, sys
from pathlib import Path
changes, real_chdir = [], os.chdir
def watched_chdir(path):
    if os.path.realpath(path) != os.path.realpath(os.getcwd()):
        changes.append(str(path))
    real_chdir(path)
os.chdir = watched_chdir
from salesnb import cli
from salesnb.report import configuration
configuration.DEFAULT_NOTEBOOKS_DIR = Path(sys.argv[1])
code = cli.main(sys.argv[2:])
print(f"working directory changes: {len(changes)}", file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.notebook
def test_parallel_notebooks_started_beside_a_salesnb_folder_import_the_installed_package(tmp_path):
    """Issue 21: ``cd ~/work && salesnb/.venv/bin/salesnb run --data salesnb/data/sample``, with
    the clone in ~/work/salesnb, failed a random notebook in 2 of 5 runs with "No module named
    'salesnb.data.dataset'". papermill's ``cwd=`` changes the working directory of the whole
    process, and papermill saves each executed notebook after every cell inside a ``chdir``
    back to the folder the run started in: a kernel started by one thread while another had
    moved the process started in ~/work, where the clone shadows the installed (editable)
    package. The failure itself comes at random; its cause, the runner process changing its
    working directory while notebooks start, is counted every time."""
    notebooks = probe_notebooks(tmp_path / "notebooks", 8, cells=20)
    work = tmp_path / "work"
    (work / "salesnb" / "data" / "sample").mkdir(parents=True)  # the clone's folders, no __init__.py
    write_dataset(work / "crm")
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    # -P keeps ~/work off the runner's own import path, as for the console script; the kernels
    # it starts get no -P. Relative paths, as typed in ~/work.
    done = subprocess.run([sys.executable, "-P", "-c", WATCHED_CLI, str(notebooks), "run", "--data", "crm",
                           "--out", "../run", "--jobs", "4"],
                          cwd=work, env=environment, capture_output=True, text=True, timeout=1200)
    assert "working directory changes: 0" in done.stderr, done.stderr
    assert "ModuleNotFoundError" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics == {f"{number:02d}_probe": {"in_own_folder": 1} for number in range(8)}


@pytest.mark.notebook
def test_a_salesnb_folder_beside_the_notebooks_does_not_shadow_the_package(tmp_path, data):
    notebooks = probe_notebooks(tmp_path / "notebooks", 1)
    (notebooks / "salesnb" / "data").mkdir(parents=True)  # e.g. notebooks kept in the folder that holds a clone
    result = runner.run_reports(data, notebooks_dir=notebooks, out=tmp_path / "run", jobs=1)
    [probe] = result.results
    assert probe.ok, probe.error
    assert probe.kpis == {"in_own_folder": 1}
