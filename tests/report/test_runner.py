"""The runner: run folder, metrics.json, index.html, offline HTML without code, `latest`.

Notebook-executing tests use the tiny fake notebooks in tests/fixtures/notebooks:
``00_summary`` records KPIs, shows the deals table and draws a chart; ``01_broken`` records
one KPI and then raises a ValueError whose message carries the first deal's source.
Fast tests replace papermill with a stand-in that copies the notebook (no kernel).
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from salesnb import cli
from salesnb.errors import DataValidationError, SalesnbError
from salesnb.report import configuration, executing, pages, runner
from salesnb.report.kpis import FINDINGS_MIME_TYPE, KPI_MIME_TYPE, KPI_OUTPUT_TAG
from tests.run_fixtures import DEALS, RUN_PARAMETERS, write_dataset, write_notebook

FIXTURE_NOTEBOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
SCRIPT_PAYLOAD = "<script>alert(1)</script>"
IMAGE_PAYLOAD = "<img src=x onerror=alert(1)>"

def summary_kpis_by_pandas(deals: pd.DataFrame) -> dict:
    """What 00_summary must record, computed independently with plain pandas.

    For DEALS by hand: 5 deals; closed = O1, O2, O3, O5 = 4, won = O1, O3 = 2, win rate 2/4 = 0.5;
    total amount 1000+500+2500+4000+750 = 8750; by source Outbound 500+4000 = 4500,
    Referral 750, Webinar 1000+2500 = 3500.
    """
    closed = deals["stage"].isin(["Closed Won", "Closed Lost"])
    won = deals["stage"] == "Closed Won"
    return {
        "deal_count": len(deals),
        "win_rate": won.sum() / closed.sum(),
        "total_amount": deals["amount"].sum(),
        "amount_by_source": {str(key): value for key, value in deals.groupby("source")["amount"].sum().items()},
    }


def body_of(page: str) -> str:
    """The page without its <style> blocks (the inlined lab CSS mentions class names and URLs)."""
    return re.sub(r"<style.*?</style>", "", page, flags=re.DOTALL)


def assert_offline(page: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc=", page, flags=re.IGNORECASE), "a script is loaded from elsewhere"
    assert not re.search(r"<link[^>]*\bhref=[\"']?(https?:)?//", page, flags=re.IGNORECASE), "a stylesheet is fetched"
    assert 'src="http' not in page and "src='http" not in page
    assert "@import" not in body_of(page)


# ----------------------------------------------------------------------------- fast: no kernel


def test_format_kpi_reads_the_unit_from_the_catalogue_not_the_name():
    assert pages.format_kpi("win_rate", 0.25) == "25.0%"
    assert pages.format_kpi("won_amount", 1234567.4, "USD") == "$1,234,567"
    assert pages.format_kpi("won_amount", 1234567.4, "EUR") == "€1,234,567"
    assert pages.format_kpi("won", 4671) == "4,671"
    assert pages.format_kpi("win_rate", None) == "–"
    assert pages.format_kpi("win_rate_by_rep", {"Ann": 0.5, "Bob": 0.25, "Cy": 0.0}) == "3 values"
    assert pages.format_kpi("win_rate_by_rep", {"Ann": 0.5}) == "1 value"


def test_unknown_only_name_lists_the_available_notebooks(tmp_path):
    data = write_dataset(tmp_path / "data", DEALS)
    with pytest.raises(SalesnbError) as raised:
        runner.run_reports(data, only=["99_nope"], notebooks_dir=FIXTURE_NOTEBOOKS, out=tmp_path / "run")
    assert "99_nope" in str(raised.value)
    assert "00_summary, 01_broken" in str(raised.value)
    assert not (tmp_path / "run").exists()


def test_only_accepts_a_file_name_and_keeps_name_order():
    chosen = configuration.RunConfiguration(notebooks=["01_broken.ipynb", "00_summary"], notebooks_dir=FIXTURE_NOTEBOOKS)
    assert [notebook.name for notebook in chosen.notebook_specs()] == ["00_summary", "01_broken"]


def test_invalid_data_stops_before_anything_runs(tmp_path, monkeypatch, capsys):
    import papermill

    def must_not_run(*args, **kwargs):
        raise AssertionError("a notebook ran although the data is invalid")

    monkeypatch.setattr(papermill, "execute_notebook", must_not_run)
    bad = DEALS.copy()
    bad.loc[1, "stage"] = "Lost-ish"  # not a stage of the default playbook
    data = write_dataset(tmp_path / "data", bad)
    reports = tmp_path / "reports"

    with pytest.raises(DataValidationError) as raised:
        runner.run_reports(data, notebooks_dir=FIXTURE_NOTEBOOKS, reports_dir=reports)
    assert "Lost-ish" in str(raised.value)
    assert not reports.exists() or not any(reports.iterdir())

    monkeypatch.setattr(configuration, "DEFAULT_NOTEBOOKS_DIR", FIXTURE_NOTEBOOKS)
    monkeypatch.setattr(configuration, "DEFAULT_REPORTS_DIR", reports)
    code = cli.main(["run", "--data", str(data)])
    assert code == 2
    error_output = capsys.readouterr().err
    assert "Lost-ish" in error_output and "stage" in error_output
    assert "Traceback" not in error_output
    assert not reports.exists() or not any(reports.iterdir())


def test_unreadable_period_stops_before_anything_runs(tmp_path):
    data = write_dataset(tmp_path / "data", DEALS)
    reports = tmp_path / "reports"
    with pytest.raises(SalesnbError, match="period_start"):
        runner.run_reports(data, period_start="2026-13-45", notebooks_dir=FIXTURE_NOTEBOOKS, reports_dir=reports)
    assert not reports.exists()


def test_out_folder_that_holds_files_is_refused(tmp_path):
    data = write_dataset(tmp_path / "data", DEALS)
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("someone's file")
    with pytest.raises(SalesnbError, match="not empty"):
        runner.run_reports(data, notebooks_dir=FIXTURE_NOTEBOOKS, out=out)
    assert sorted(path.name for path in out.iterdir()) == ["keep.txt"]


# What FakePapermill's notebooks "found": one list with a finding, one with none.
FINDINGS = [(FINDINGS_MIME_TYPE, {"title": "Moved most", "sentences": ["Win rate fell 9 points (n = 40)."],
                                  "nothing_found": "Nothing moved beyond noise."}),
            (FINDINGS_MIME_TYPE, {"title": "Stalled deals", "sentences": [],
                                  "nothing_found": "No deal stalled."})]


class FakePapermill:
    """Stands in for papermill.execute_notebook: copies the notebook, adds a KPI output.

    Notebooks named ``*broken*`` "fail" as papermill does: the output notebook is written,
    then PapermillExecutionError is raised. ``seen_latest`` records where ``latest`` pointed
    while each notebook was running.
    """

    def __init__(self, reports_dir: Path):
        self.reports_dir = reports_dir
        self.seen_latest: list[str | None] = []
        self.parameters: list[dict] = []

    def __call__(self, input_path, output_path, parameters=None, cwd=None, kernel_name=None, progress_bar=True, **engine_options):
        from papermill.exceptions import PapermillExecutionError

        link = self.reports_dir / "latest"
        self.seen_latest.append(os.readlink(link) if link.is_symlink() else None)
        self.parameters.append(dict(parameters))
        notebook = nbformat.read(input_path, as_version=4)
        code_cell = next(cell for cell in notebook.cells if cell.cell_type == "code")
        code_cell.outputs = [nbformat.v4.new_output(
            "display_data", data={mime_type: payload, "text/plain": ""}, metadata={"tags": [KPI_OUTPUT_TAG]},
        ) for mime_type, payload in [(KPI_MIME_TYPE, {"rows": 5}), *FINDINGS]]
        nbformat.write(notebook, output_path)
        if "broken" in Path(input_path).stem:
            raise PapermillExecutionError(1, 1, "raise ValueError", "ValueError", "fake failure", [])
        return notebook


def test_latest_moves_only_after_a_complete_successful_default_run(tmp_path, monkeypatch):
    import papermill

    data = write_dataset(tmp_path / "data", DEALS)
    reports = tmp_path / "reports"
    fake = FakePapermill(reports)
    monkeypatch.setattr(papermill, "execute_notebook", fake)
    link = reports / "latest"

    # A plan whose notebook list is [00_summary] (its complete set): full_selection.
    first = runner.run_reports(data, only=["00_summary"], full_selection=True, notebooks_dir=FIXTURE_NOTEBOOKS,
                               reports_dir=reports)
    assert first.ok and first.run_dir.parent == reports
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))  # relative: the folder can move
    assert link.resolve() == first.run_dir.resolve()
    assert (link / "index.html").is_file()
    assert json.loads((first.run_dir / "metrics.json").read_text()) == {"00_summary": {"rows": 5}}

    # A run with a failing notebook does not become latest, not even during the run.
    second = runner.run_reports(data, notebooks_dir=FIXTURE_NOTEBOOKS, reports_dir=reports, jobs=2)
    assert not second.ok
    assert second.run_dir != first.run_dir  # same second: a suffixed folder, never shared
    assert link.resolve() == first.run_dir.resolve()
    assert fake.seen_latest[-2:] == [first.run_dir.name, first.run_dir.name]

    # --out runs leave latest alone, even when they succeed.
    third = runner.run_reports(data, only=["00_summary"], full_selection=True, notebooks_dir=FIXTURE_NOTEBOOKS,
                               reports_dir=reports, out=tmp_path / "elsewhere")
    assert third.ok and third.run_dir == (tmp_path / "elsewhere").resolve()
    assert link.resolve() == first.run_dir.resolve()

    # --only picks part of the notebooks: a successful partial run is not "latest" either.
    partial = runner.run_reports(data, only=["00_summary"], notebooks_dir=FIXTURE_NOTEBOOKS, reports_dir=reports)
    assert partial.ok and not partial.latest_updated
    assert link.resolve() == first.run_dir.resolve()
    assert json.loads((partial.run_dir / "status.json").read_text())["scope"] == "partial"

    fourth = runner.run_reports(data, only=["00_summary"], full_selection=True, notebooks_dir=FIXTURE_NOTEBOOKS,
                                reports_dir=reports)
    assert fake.seen_latest[-1] == first.run_dir.name  # still the old run while this one runs
    assert link.resolve() == fourth.run_dir.resolve()
    assert not list(reports.glob(".latest-*"))  # no temporary link left behind

    # Parameters are JSON-native, absolute, and only the four documented ones. The fixture
    # declares no period: the default rule, last_12_months, resolved once by the run. By hand:
    # the data's date is the latest close of a closed deal, 2026-05-20 (O5); twelve full months
    # (2025-05-01..2026-04-30) would leave O5's close out, and the data holds less than a year
    # (from O1, 2026-01-05): it is reported whole, from its first month to its date.
    assert fake.parameters[0] == {"data_dir": str(data.resolve()), "config_path": None,
                                  "period_start": "2026-01-01", "period_end": "2026-05-20"}


# ----------------------------------------------------------------------------- real notebooks


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("good-run")
    data = write_dataset(base / "data", DEALS)
    result = runner.run_reports(data, period_start="2026-01-01", period_end="2026-03-31", only=["00_summary"],
                                notebooks_dir=FIXTURE_NOTEBOOKS, out=base / "run")
    return data, result


@pytest.fixture(scope="module")
def failed_cli_run(tmp_path_factory):
    """Both fixture notebooks through the CLI, two at a time: returns (exit code, run folder)."""
    base = tmp_path_factory.mktemp("failed-run")
    data = write_dataset(base / "data", DEALS)
    out = base / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(configuration, "DEFAULT_NOTEBOOKS_DIR", FIXTURE_NOTEBOOKS)
        code = cli.main(["run", "--data", str(data), "--out", str(out), "--jobs", "2"])
    return code, out


@pytest.mark.notebook
def test_good_run_writes_every_file_and_the_recorded_kpis(good_run):
    data, result = good_run
    assert result.ok
    assert sorted(path.name for path in result.run_dir.iterdir()) == [
        "00_summary.html", "00_summary.ipynb", "index.html", "metrics.json", "run.log", "status.json", "summary.html",
    ]
    [summary] = result.results
    assert (summary.name, summary.status, summary.error) == ("00_summary", "ok", None)
    assert summary.html_path == result.run_dir / "00_summary.html"

    metrics = json.loads(result.metrics_path.read_text())
    expected = summary_kpis_by_pandas(DEALS)
    assert set(metrics) == {"00_summary"}
    assert metrics["00_summary"]["deal_count"] == expected["deal_count"]
    assert metrics["00_summary"]["win_rate"] == pytest.approx(expected["win_rate"])
    assert metrics["00_summary"]["total_amount"] == pytest.approx(expected["total_amount"])
    assert metrics["00_summary"]["amount_by_source"] == pytest.approx(expected["amount_by_source"])
    # Deterministic file format: sorted keys, indent 2.
    assert result.metrics_path.read_text() == json.dumps(metrics, indent=2, sort_keys=True) + "\n"

    log = result.log_path.read_text()
    assert "00_summary" in log and "ok" in log
    assert '"period_start": "2026-01-01"' in log and str(data.resolve()) in log


@pytest.mark.notebook
def test_report_html_is_offline_without_code_and_with_embedded_chart(good_run):
    data, result = good_run
    page = (result.run_dir / "00_summary.html").read_text()
    assert_offline(page)
    assert "<title>Fixture summary · salesnb</title>" in page
    assert re.search(r'<img[^>]*src="data:image/png;base64,', page), "the chart is not embedded"
    body = body_of(page)
    for code in ("kpis.record", "plt.subplots", "import salesnb", "data_dir =", str(data.resolve())):
        assert code not in body, f"code or parameters leaked into the report: {code!r}"
    # The KPI output is for metrics.json only, and `kpis.record(...)` ending a cell echoes nothing
    # (it returns None), so no KPI name shows in the body.
    assert KPI_MIME_TYPE not in page and "amount_by_source" not in body and "win_rate" not in body
    # The notebook received the period parameters (its header shows the period).
    assert "01 Jan 2026 – 31 Mar 2026" in body
    # The deals table is there, through display.table.
    assert "Webinar" in body and "No budget" in body


@pytest.mark.notebook
def test_index_lists_the_reports_with_formatted_headline_kpis(good_run):
    data, result = good_run
    index = result.index_path.read_text()
    assert_offline(index)
    assert "<script" not in index.lower()
    assert 'href="00_summary.html"' in index
    # The report's own headline tiles, with their labels, in its order, formatted by their kind.
    # By hand: 5 deals, win rate 2/4 = 50.0%, total amount $8,750; the cycle is not measured.
    row = re.search(r'href="00_summary.html".*?</tr>', index, flags=re.DOTALL).group(0)
    tiles = re.findall(r'<span class="label">(.*?)</span> <span class="value">(.*?)</span>', row)
    assert tiles == [("Deals", "5"), ("Win rate", "50.0%"), ("Total amount", "$8,750"), ("Cycle", "–")]
    assert "01 Jan 2026 – 31 Mar 2026" in index
    # The data folder by name only: the index is forwarded, the server's path stays private.
    assert f"<dd>{data.name}</dd>" in index and str(data.resolve()) not in index


@pytest.mark.notebook
def test_cli_exits_non_zero_when_a_notebook_fails(failed_cli_run):
    code, out = failed_cli_run
    assert code == 1
    assert (out / "index.html").is_file()


@pytest.mark.notebook
def test_a_failing_notebook_does_not_stop_the_others(failed_cli_run, good_run):
    code, out = failed_cli_run
    assert sorted(path.name for path in out.iterdir()) == [
        "00_summary.html", "00_summary.ipynb", "01_broken.html", "01_broken.ipynb",
        "index.html", "metrics.json", "run.log", "status.json", "summary.html",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    # The failed notebook keeps what it recorded before failing: len(DEALS) = 5.
    assert metrics["01_broken"] == {"deal_count_before_failure": len(DEALS)}
    # Same data, same notebook -> the same numbers as the good run, to the byte.
    _, good = good_run
    good_metrics = json.loads(good.metrics_path.read_text())
    assert json.dumps(metrics["00_summary"], sort_keys=True) == json.dumps(good_metrics["00_summary"], sort_keys=True)

    broken_page = (out / "01_broken.html").read_text()
    assert_offline(broken_page)
    assert "ValueError" in broken_page
    assert "deliberate failure for the runner tests, source Webinar" in broken_page

    index = (out / "index.html").read_text()
    row = re.search(r'href="01_broken.html".*?</tr>', index, flags=re.DOTALL).group(0)
    assert "failed" in row and "ValueError: deliberate failure for the runner tests, source Webinar" in row
    ok_row = re.search(r'href="00_summary.html".*?</tr>', index, flags=re.DOTALL).group(0)
    assert ">ok<" in ok_row

    log = (out / "run.log").read_text()
    assert "01_broken" in log and "failed" in log and "ValueError" in log
    assert not (out.parent / "latest").exists()


@pytest.mark.notebook
def test_untrusted_text_from_the_data_is_only_ever_escaped(tmp_path):
    hostile = DEALS.copy()
    hostile["source"] = [SCRIPT_PAYLOAD, IMAGE_PAYLOAD, "Webinar", "Outbound", "Referral"]
    hostile["lost_reason"] = [None, SCRIPT_PAYLOAD, None, None, IMAGE_PAYLOAD]
    data = write_dataset(tmp_path / "data", hostile)
    result = runner.run_reports(data, notebooks_dir=FIXTURE_NOTEBOOKS, out=tmp_path / "run", jobs=2)

    assert not result.ok  # 01_broken raises with the first deal's source in its message
    assert result.result("01_broken").error_message.endswith(SCRIPT_PAYLOAD)
    # The KPI map is keyed by the hostile sources; metrics.json keeps them as plain data.
    metrics = json.loads(result.metrics_path.read_text())
    assert SCRIPT_PAYLOAD in metrics["00_summary"]["amount_by_source"]

    pages = {path.name: path.read_text() for path in result.run_dir.glob("*.html")}
    assert set(pages) == {"00_summary.html", "01_broken.html", "index.html", "summary.html"}
    for name, page in pages.items():
        assert SCRIPT_PAYLOAD not in page, name
        assert IMAGE_PAYLOAD not in page, name
        assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", ""), name
        assert_offline(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["00_summary.html"]  # the table, escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages["00_summary.html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["01_broken.html"]  # the traceback, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["index.html"]  # the error message, escaped


def write_teams_dataset(folder: Path, teams: list[str]) -> Path:
    """DEALS owned by reps R1, R2, R1, R3, R2, and a reps table putting R1..R3 in ``teams``."""
    data = write_dataset(folder, DEALS.assign(rep_id=["R1", "R2", "R1", "R3", "R2"]))
    pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "rep_name": ["Ann", "Bo", "Cy"],
                  "team": teams}).to_csv(data / "reps.csv", index=False)
    return data


def test_each_team_runs_the_declaring_notebooks_once_per_team_into_safe_folders(tmp_path, monkeypatch):
    import papermill

    fault_notebooks = FIXTURE_NOTEBOOKS.parent / "fault_notebooks"  # 00_quick declares team, 01_sleep does not
    # Two teams, one named like a path: its folder must stay inside the run.
    data = write_teams_dataset(tmp_path / "data", ["East", "../West <b>", "East"])
    fake = FakePapermill(tmp_path / "reports")
    monkeypatch.setattr(papermill, "execute_notebook", fake)
    result = runner.run_reports(data, notebooks_dir=fault_notebooks, reports_dir=tmp_path / "reports", each="team")

    assert result.ok and result.latest_updated
    assert [(pack.value, pack.folder) for pack in result.packs] == [("../West <b>", "team-west-b"), ("East", "team-east")]
    # Company run: both notebooks without a team; packs: 00_quick only, with its team.
    ran = sorted((Path(run.notebook_path).relative_to(result.run_dir).as_posix(), run.pack.value if run.pack else None)
                 for run in result.results)
    assert ran == [("00_quick.ipynb", None), ("01_sleep.ipynb", None),
                   ("team-east/00_quick.ipynb", "East"), ("team-west-b/00_quick.ipynb", "../West <b>")]
    assert sorted(str(parameters.get("team")) for parameters in fake.parameters) == ["../West <b>", "East", "None", "None"]
    for pack in result.packs:
        assert sorted(path.name for path in (result.run_dir / pack.folder).iterdir()) == [
            "00_quick.html", "00_quick.ipynb", "index.html", "metrics.json", "summary.html"]
    index = result.index_path.read_text()
    assert 'href="team-east/index.html"' in index and "../West &lt;b&gt;" in index and "<b>" not in body_of(index)
    assert "01_sleep has no &#39;team&#39; parameter: it ran once, for the whole company" in index
    status = json.loads(result.status_path.read_text())
    assert [pack["folder"] for pack in status["packs"]] == ["team-west-b", "team-east"]
    assert status["state"] == "finished" and status["ok"] and status["latest"]


@pytest.mark.parametrize(("error", "deaths", "calls", "ok"), [
    ("Kernel died before replying to kernel_info", 1, 2, True),  # the port race: started again
    ("Kernel died before replying to kernel_info", 2, 2, False),  # dies again: failed, no third try
    ("Kernel didn't respond in 60 seconds", 1, 1, False),  # another failure: never run twice
])
def test_a_kernel_that_dies_as_it_starts_is_started_once_more(tmp_path, monkeypatch, capsys, error, deaths, calls,
                                                              ok):
    import papermill

    data = write_dataset(tmp_path / "data", DEALS)
    fake, seen = FakePapermill(tmp_path / "reports"), []

    def dying(input_path, output_path, **options):
        seen.append(Path(input_path).name)
        if len(seen) <= deaths:
            raise RuntimeError(error)
        return fake(input_path, output_path, **options)

    monkeypatch.setattr(papermill, "execute_notebook", dying)
    result = runner.run_reports(data, only=["00_summary"], notebooks_dir=FIXTURE_NOTEBOOKS, out=tmp_path / "run")
    assert seen == ["00_summary.ipynb"] * calls
    assert result.ok is ok
    if not ok:
        assert result.results[0].error == f"RuntimeError: {error}"
    restarted = "00_summary: its kernel died as it started; starting it again" in capsys.readouterr().err
    assert restarted is (calls == 2)


def test_a_backend_run_passes_the_url_to_the_notebooks_and_reads_no_folder(tmp_path, monkeypatch):
    import duckdb
    import papermill

    # The deals as a table of a DuckDB database file: a warehouse the runner reads in place.
    database = tmp_path / "crm.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.register("deals", DEALS)
        connection.execute("CREATE TABLE opportunities AS SELECT * FROM deals")
    fake = FakePapermill(tmp_path / "reports")
    monkeypatch.setattr(papermill, "execute_notebook", fake)
    url = f"duckdb://{database}"
    result = runner.run_reports(backend=url, only=["00_summary"], notebooks_dir=FIXTURE_NOTEBOOKS,
                                out=tmp_path / "run", jobs=1)
    assert result.ok
    # The default period of DEALS (less than a year of data): all of it (test above).
    assert fake.parameters == [{"data_dir": None, "backend": url, "config_path": None,
                                "period_start": "2026-01-01", "period_end": "2026-05-20"}]
    assert f"data      {url}" in result.log_path.read_text()
    # Either a folder or a backend, never both, from the command line.
    code = cli.main(["run", "--data", str(tmp_path), "--backend", url, "--out", str(tmp_path / "run2")])
    assert code == 2


def test_jobs_default_to_the_cores(tmp_path, monkeypatch):
    import papermill

    data = write_dataset(tmp_path / "data", DEALS)
    monkeypatch.setattr(papermill, "execute_notebook", FakePapermill(tmp_path / "reports"))
    monkeypatch.setattr(executing, "default_jobs", lambda: 3)
    result = runner.run_reports(data, only=["00_summary"], notebooks_dir=FIXTURE_NOTEBOOKS, out=tmp_path / "run")
    assert "jobs      3" in result.log_path.read_text()


def test_the_runner_process_skips_jsonschemas_slow_optional_import_and_still_checks_notebooks():
    import subprocess
    import sys

    # rfc3987_syntax builds a grammar on import (2-4 s per run); nbformat's checks never need it.
    # The runner first, as `salesnb run` imports it, then nbformat checking a notebook.
    code = ("import sys, salesnb.report.runner, nbformat\n"
            "nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')]))\n"
            "print(sys.modules.get('rfc3987_syntax', 'absent'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.stdout.strip() == "None"


# ----------------------------------------------------------------------------- periods, packs, words (no kernel)

# By hand for DEALS: the data's date is the latest close of a closed deal, 2026-05-20 (O5).
# last_12_months: twelve full months up to the last full month, 01 May 2025 - 30 Apr 2026;
# fiscal_quarter (fiscal year from January): the quarter open on 20 May 2026, 01 Apr - 30 Jun 2026.
# DEALS hold five months (2026-01-05 .. 2026-05-20): the twelve-month default reports them whole, and
# the label says so rather than "last 12 months".
DEFAULT_PERIOD = ("2026-01-01", "2026-05-20", "01 Jan 2026 – 20 May 2026 (chosen from the data, which holds less "
                 "than twelve months, the report's default)")
OPEN_QUARTER = ("2026-04-01", "2026-06-30", "01 Apr 2026 – 30 Jun 2026 (fiscal quarter, the report's default)")


@pytest.fixture
def two_reports(tmp_path):
    """A conversion-like notebook (last twelve months, takes team) and a pipeline-review-like one
    (the open fiscal quarter, takes team, shows the run's period label)."""
    folder = tmp_path / "notebooks"
    write_notebook(folder, "01_conversion", RUN_PARAMETERS + 'period = "last_12_months"  # default\n'
                   "team = None  # one team\n", "pass", title="Conversion")
    write_notebook(folder, "02_review", RUN_PARAMETERS + 'period = "fiscal_quarter"  # default\n'
                   "team = None  # one team\nperiod_label = None  # as the run states it\n", "pass",
                   title="Pipeline review")
    return folder


def fake_run(tmp_path, monkeypatch, notebooks, **settings):
    import papermill

    fake = FakePapermill(tmp_path / "reports")
    monkeypatch.setattr(papermill, "execute_notebook", fake)
    settings.setdefault("out", tmp_path / "run")
    return runner.run_reports(settings.pop("data", None) or write_dataset(tmp_path / "data", DEALS),
                              notebooks_dir=notebooks, **settings), fake


def test_each_report_gets_its_own_declared_period_resolved_once(tmp_path, monkeypatch, two_reports):
    result, fake = fake_run(tmp_path, monkeypatch, two_reports)
    by_name = {parameters.get("period_label", "01_conversion"): parameters for parameters in fake.parameters}
    conversion, review = by_name["01_conversion"], by_name[OPEN_QUARTER[2]]
    assert (conversion["period_start"], conversion["period_end"]) == DEFAULT_PERIOD[:2]
    assert "period_label" not in conversion  # only a notebook that declares it gets it
    assert (review["period_start"], review["period_end"]) == OPEN_QUARTER[:2]

    status = json.loads(result.status_path.read_text())
    periods = {item["name"]: item["period"] for item in status["notebooks"]}
    assert periods["01_conversion"] == dict(zip(("start", "end", "label"), DEFAULT_PERIOD))
    assert periods["02_review"] == dict(zip(("start", "end", "label"), OPEN_QUARTER))
    # A tie: the first report's period leads, and the label names the other report's own.
    assert status["period"] == {"rule": "each report's default", "start": "2026-01-01", "end": "2026-05-20",
                                "label": f"{DEFAULT_PERIOD[2]}; 02_review: {OPEN_QUARTER[2]}"}
    index = html.unescape(result.index_path.read_text())  # the apostrophes are escaped
    assert f"<dd>{DEFAULT_PERIOD[2]}; Pipeline review: {OPEN_QUARTER[2]}</dd>" in index
    assert f'<div class="quiet period">{OPEN_QUARTER[2]}</div>' in index  # under the report's title
    # The summary states each report's period beside its title (a compact print, issue 23).
    assert f'<span class="period">{OPEN_QUARTER[2]}</span>' in html.unescape(result.summary_path.read_text())


def test_a_run_of_only_the_review_states_the_open_quarter(tmp_path, monkeypatch, two_reports):
    result, _ = fake_run(tmp_path, monkeypatch, two_reports, only=["02_review"])
    status = json.loads(result.status_path.read_text())
    assert status["period"] == {"rule": "each report's default", "start": "2026-04-01", "end": "2026-06-30",
                                "label": OPEN_QUARTER[2]}
    for page in (result.index_path, result.summary_path):
        text = html.unescape(page.read_text())
        assert OPEN_QUARTER[2] in text and "last 12 months" not in text and "30 Apr 2026" not in text


def test_a_run_period_replaces_every_default_and_dates_go_down_as_given(tmp_path, monkeypatch, two_reports):
    result, fake = fake_run(tmp_path, monkeypatch, two_reports, period="2026Q1")
    assert {(item["period_start"], item["period_end"]) for item in fake.parameters} == {("2026-01-01", "2026-03-31")}
    assert json.loads(result.status_path.read_text())["period"]["label"] == "01 Jan 2026 – 31 Mar 2026 (2026Q1)"
    # One date only: the review runs to the end of that date's fiscal quarter, the other to the
    # end of the data's last full month; the notebooks receive the date as given.
    result, fake = fake_run(tmp_path / "again", monkeypatch, two_reports, period_start="2026-02-01",
                            data=write_dataset(tmp_path / "data", DEALS))
    assert [(item["period_start"], item["period_end"]) for item in fake.parameters] == [("2026-02-01", None)] * 2
    periods = {item["name"]: (item["period"]["start"], item["period"]["end"])
               for item in json.loads(result.status_path.read_text())["notebooks"]}
    assert periods == {"01_conversion": ("2026-02-01", "2026-04-30"), "02_review": ("2026-02-01", "2026-03-31")}


def test_each_skips_a_team_with_nothing_to_review_and_counts_the_reports(tmp_path, monkeypatch, two_reports, capsys):
    deals = DEALS.assign(rep_id=["R1", "R2", "R1", "R2", "R2"])
    data = write_dataset(tmp_path / "data", deals)
    # M1 manages: a team of one that owns no deal (and there are no leads or orders).
    pd.DataFrame({"rep_id": ["R1", "R2", "M1"], "rep_name": ["Ann", "Bo", "Mo"],
                  "team": ["East", "West", "Leadership"]}).to_csv(data / "reps.csv", index=False)
    result, fake = fake_run(tmp_path, monkeypatch, two_reports, each="team", data=data, out=None,
                            reports_dir=tmp_path / "reports")
    assert [(pack.value, pack.nothing_to_review) for pack in result.packs] == [
        ("East", False), ("Leadership", True), ("West", False)]
    assert sorted(str(item.get("team")) for item in fake.parameters) == ["East", "East", "None", "None", "West", "West"]
    assert not (result.run_dir / "team-leadership").exists()
    assert result.ok and result.latest_updated
    status = json.loads(result.status_path.read_text())
    assert {pack["value"]: (pack["folder"], pack["nothing_to_review"]) for pack in status["packs"]} == {
        "East": ("team-east", False), "Leadership": (None, True), "West": ("team-west", False)}
    row = re.search(r"<tr><td>Leadership</td>.*?</tr>", result.index_path.read_text(), flags=re.DOTALL).group(0)
    assert "nothing to review" in row and "href" not in row
    said = capsys.readouterr().err
    assert "running 2 notebooks, and 2 of them for each of 2 teams (6 reports), into" in said
    assert "team Leadership: nothing to review (no deal, lead or order), so no pack was made." in said
    assert "[6/6]" in said and "salesnb: 6 reports, all ok." in said


def test_each_fans_out_over_any_dimension_a_notebook_declares(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    write_notebook(folder, "01_by_source", RUN_PARAMETERS + "source = None  # one source\n", "pass")
    write_notebook(folder, "02_company", RUN_PARAMETERS, "pass")
    result, fake = fake_run(tmp_path, monkeypatch, folder, each="source")
    # DEALS' sources: Outbound, Referral, Webinar; each selects deals.
    assert [(pack.value, pack.folder) for pack in result.packs] == [
        ("Outbound", "source-outbound"), ("Referral", "source-referral"), ("Webinar", "source-webinar")]
    assert sorted(str(item.get("source")) for item in fake.parameters) == ["None", "None", "Outbound", "Referral",
                                                                           "Webinar"]


def test_status_json_keeps_nothing_found_only_where_nothing_was_found(tmp_path, monkeypatch, two_reports):
    result, _ = fake_run(tmp_path, monkeypatch, two_reports, only=["01_conversion"])
    [item] = json.loads(result.status_path.read_text())["notebooks"]
    assert item["findings"] == [{"title": "Moved most", "sentences": ["Win rate fell 9 points (n = 40)."]},
                                {"title": "Stalled deals", "sentences": [], "nothing_found": "No deal stalled."}]
    summary = result.summary_path.read_text()
    assert "Win rate fell 9 points" in summary and "No deal stalled." in summary
    assert "Nothing moved beyond noise." not in summary


def test_index_names_a_custom_playbook_by_file_name_and_plans_only_when_there_is_one(tmp_path, monkeypatch,
                                                                                     two_reports):
    import shutil

    from salesnb.data.playbook import DEFAULT_PLAYBOOK_PATH

    playbook = tmp_path / "private" / "acme-playbook.yaml"
    playbook.parent.mkdir()
    shutil.copy(DEFAULT_PLAYBOOK_PATH, playbook)
    result, _ = fake_run(tmp_path, monkeypatch, two_reports, config=playbook)
    index = result.index_path.read_text()
    assert "<dd>acme-playbook.yaml</dd>" in index and str(playbook.parent) not in index
    assert "first finished run with this data, these notebooks and this --each" in index
    assert "of the plan" not in index and "<dt>Plan</dt>" not in index

    plan = tmp_path / "weekly.yaml"
    plan.write_text(f"data: {tmp_path / 'data'}\nreports: {tmp_path / 'reports'}\n")
    monkeypatch.setattr(configuration, "DEFAULT_NOTEBOOKS_DIR", two_reports)
    assert cli.main(["run", "--plan", str(plan)]) == 0
    index = (tmp_path / "reports" / "latest" / "index.html").read_text()
    assert "<dt>Plan</dt><dd>weekly.yaml</dd>" in index
    assert "This is the first finished run of the plan weekly.yaml here" in index


def test_run_reports_reads_as_its_steps():
    import inspect

    assert len(inspect.getsource(runner.run_reports).splitlines()) < 60


@pytest.mark.notebook
def test_the_kernels_duckdb_spill_folders_are_removed_when_they_end(tmp_path, monkeypatch):
    # Kernels are ended at once (never politely), so DuckDB's clean-up at exit never runs in
    # them: before issue 21 every kernel left <temp dir>/process-<pid> until the next connection.
    spill = tmp_path / "spill"
    monkeypatch.setenv("SALESNB_TEMP_DIR", str(spill))
    notebooks = tmp_path / "notebooks"
    for name in ("00_spills", "01_spills"):
        write_notebook(notebooks, name, RUN_PARAMETERS,
                       "import os\nfrom salesnb.data.backends import duckdb_spill_dir\nfrom salesnb.report import kpis\n"
                       "folder = duckdb_spill_dir()\nfolder.mkdir(parents=True)\n"
                       "(folder / 'duckdb_temp_block-1.block').write_bytes(b'0' * 4096)  # as DuckDB spills\n"
                       "kpis.record(pid=os.getpid(), spilled=int(folder.is_dir()))\n")
    result = runner.run_reports(write_dataset(tmp_path / "data", DEALS), notebooks_dir=notebooks,
                                out=tmp_path / "run", jobs=2)
    assert result.ok, [item.error for item in result.results]
    kernels = [item.kpis["pid"] for item in result.results]
    assert [item.kpis["spilled"] for item in result.results] == [1, 1] and len(set(kernels)) == 2
    assert sorted(path.name for path in spill.iterdir()) == [], "a kernel's spill folder was left behind"


def test_a_period_without_data_is_said_on_the_terminal_and_in_status_not_all_ok(tmp_path, monkeypatch, two_reports,
                                                                                  capsys):
    # The five deals run from January to June 2026: 2019 holds none of them.
    result, _ = fake_run(tmp_path, monkeypatch, two_reports, period="2019")
    said = capsys.readouterr().err + capsys.readouterr().out
    status = json.loads(result.status_path.read_text())
    assert len(status["warnings"]) == 1
    assert status["warnings"][0].startswith("01_conversion, 02_review: The period 01 Jan 2019 – 31 Dec 2019 holds no "
                                            "deal of the data")
    assert "warning: 01_conversion, 02_review: The period 01 Jan 2019" in said
    assert "all ok" not in said and "a period holds no data" in said
    assert "holds no deal of the data" in html.unescape(result.index_path.read_text())
    # The default periods hold data: no warning.
    result, _ = fake_run(tmp_path / "again", monkeypatch, two_reports, data=write_dataset(tmp_path / "data", DEALS))
    assert json.loads(result.status_path.read_text())["warnings"] == []


def test_a_coming_period_holds_no_data_yet_and_is_no_warning(tmp_path, monkeypatch, two_reports):
    # Data date May 2026 (the last close). Q4 2026 is coming (a plan's next quarter): nothing has
    # happened in it yet, by nature. 2028 starts more than a year later: a typo, still warned.
    coming, _ = fake_run(tmp_path / "coming", monkeypatch, two_reports, period="2026Q4",
                         data=write_dataset(tmp_path / "data", DEALS))
    assert json.loads(coming.status_path.read_text())["warnings"] == []
    far, _ = fake_run(tmp_path / "far", monkeypatch, two_reports, period="2028",
                      data=write_dataset(tmp_path / "data", DEALS))
    assert "The period 01 Jan 2028 – 31 Dec 2028 holds no deal" in json.loads(far.status_path.read_text())["warnings"][0]


def test_a_notebook_that_writes_files_gets_the_run_folder_and_each_pack_its_own_folder(tmp_path, monkeypatch):
    # 07_scoring writes scores.csv into output_dir: the company run's into the run folder, each
    # team's into its pack's folder, so one team's scores never overwrite the company's.
    import papermill

    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks, "07_writes", RUN_PARAMETERS + 'team = None  # one team\n'
                   'output_dir = None  # where files go\n', "print(output_dir)")
    data = write_teams_dataset(tmp_path / "data", ["East", "West", "East"])
    fake = FakePapermill(tmp_path / "reports")
    monkeypatch.setattr(papermill, "execute_notebook", fake)
    result = runner.run_reports(data, notebooks_dir=notebooks, out=tmp_path / "run", each="team", jobs=1)

    assert result.ok
    given = sorted((parameters.get("team") or "", parameters["output_dir"]) for parameters in fake.parameters)
    run = result.run_dir.resolve()
    assert given == [("", str(run)), ("East", str(run / "team-east")), ("West", str(run / "team-west"))]


def test_notebooks_start_longest_first_by_the_previous_runs_durations(tmp_path, monkeypatch, two_reports):
    from salesnb.report.executing import NotebookJob

    # Hand-worked: with no previous run, the jobs' order; with one, the longest first; a job it
    # did not time (a new notebook, or a pack) before all of them; ties in the jobs' order.
    jobs = [NotebookJob(Path(f"{name}.ipynb"), tmp_path, {}) for name in ("00_a", "01_b", "02_c", "03_d")]
    assert runner.longest_first(jobs, None) == [0, 1, 2, 3]
    previous = {"notebooks": [{"name": "00_a", "pack": None, "duration_seconds": 5.0},
                              {"name": "01_b", "pack": None, "duration_seconds": 40.0},
                              {"name": "03_d", "pack": None, "duration_seconds": 5.0},
                              {"name": "01_b", "pack": "Team A", "duration_seconds": 90.0}]}
    assert runner.longest_first(jobs, previous) == [2, 1, 0, 3]

    # In a run: the second run of the same series starts the report the first one found slower.
    fake_run(tmp_path, monkeypatch, two_reports, out=tmp_path / "runs" / "first", jobs=1)
    status_path = tmp_path / "runs" / "first" / "status.json"
    status = json.loads(status_path.read_text())
    for item in status["notebooks"]:
        item["duration_seconds"] = {"01_conversion": 1.0, "02_review": 50.0}[item["name"]]
    status_path.write_text(json.dumps(status))
    result, fake = fake_run(tmp_path, monkeypatch, two_reports, out=tmp_path / "runs" / "second", jobs=1)
    assert [parameters.get("period_label", "01_conversion") for parameters in fake.parameters] == \
        [OPEN_QUARTER[2], "01_conversion"]  # 02_review first
    assert [item.name for item in result.results] == ["01_conversion", "02_review"]  # reported in name order


def test_a_new_series_starts_by_the_times_of_the_last_run_in_its_folder(tmp_path, monkeypatch, two_reports):
    """A scheduler that writes each day's export into a folder of its own starts a new series
    each day: its notebooks start by the last run's times in the folder, not by name."""
    first, _ = fake_run(tmp_path, monkeypatch, two_reports, out=tmp_path / "runs" / "monday", jobs=1,
                        data=write_dataset(tmp_path / "export-monday", DEALS))
    status = json.loads(first.status_path.read_text())
    for item in status["notebooks"]:
        item["duration_seconds"] = {"01_conversion": 1.0, "02_review": 50.0}[item["name"]]
    first.status_path.write_text(json.dumps(status))

    result, fake = fake_run(tmp_path, monkeypatch, two_reports, out=tmp_path / "runs" / "tuesday", jobs=1,
                            data=write_dataset(tmp_path / "export-tuesday", DEALS))
    assert json.loads(result.status_path.read_text())["series"] != status["series"]  # another series
    assert [parameters.get("period_label", "01_conversion") for parameters in fake.parameters] == \
        [OPEN_QUARTER[2], "01_conversion"]  # 02_review first, by Monday's times

    # With no earlier run in the folder at all: the notebooks' order.
    _, fake = fake_run(tmp_path, monkeypatch, two_reports, out=tmp_path / "elsewhere" / "first", jobs=1)
    assert [parameters.get("period_label", "01_conversion") for parameters in fake.parameters] == \
        ["01_conversion", OPEN_QUARTER[2]]


@pytest.mark.notebook
def test_a_notebook_out_of_memory_says_which_setting_to_change(tmp_path):
    """DuckDB's own advice (threads, insertion order) names settings the kit does not have:
    the run reports the kit's, as the commands do."""
    folder = tmp_path / "notebooks"
    write_notebook(folder, "01_heavy", RUN_PARAMETERS, (
        "import duckdb\nraise duckdb.OutOfMemoryException('Out of Memory Error: could not allocate block of size "
        "256.0 KiB (667.6 MiB/667.5 MiB used)\\n\\nPossible solutions:\\n* Reducing the number of threads')"))
    result = runner.run_reports(write_dataset(tmp_path / "data"), notebooks_dir=folder, out=tmp_path / "run", jobs=1)
    failed = result.result("01_heavy")
    assert failed.status == "failed" and failed.error_name == "OutOfMemoryException"
    assert failed.error_message == (
        "DuckDB ran out of memory at the notebook's memory limit (Out of Memory Error: could not allocate block of "
        "size 256.0 KiB (667.6 MiB/667.5 MiB used)). Raise the limit, e.g. SALESNB_MEMORY_LIMIT=2GB, or run fewer "
        "notebooks at once (--jobs); see docs/scaling.md. Nothing was written into your data folder.")
    assert "SALESNB_MEMORY_LIMIT=2GB" in (result.run_dir / "index.html").read_text()
