"""The one runner: validate the data, execute every report notebook, render shareable HTML.

A run is an immutable product of (notebooks, parameters, data). It writes one folder::

    reports/2026-11-27T14-05-03/
        00_data_health.ipynb   executed notebook, the record of the run
        00_data_health.html    the shareable report (no code, images inlined, works offline)
        ...
        index.html             every report with its status, period, headline tiles and trends since the last run
        summary.html           the findings and headline tiles of every report on one page
        metrics.json           notebook name -> the KPIs it recorded (salesnb.report.kpis.record)
        run.log                what ran, with which parameters, how long, errors, data findings
        status.json            machine-readable: state, ok, failed notebooks, timings, data date, periods
        team-enterprise/ ...   with --each team: the same files for each team's pack

:func:`run_reports` reads as its steps: the settings (:mod:`salesnb.report.configuration`),
:func:`prepare` (the data opened and checked, each notebook's period, the packs), then, holding
the reports folder (:mod:`salesnb.report.lock`), :func:`start` (the run folder, ``status.json``
``running``), :func:`plan_jobs`, :func:`execute` (kernels, time limits and signals in
:mod:`salesnb.report.executing`; each page rendered as its notebook ends by
:mod:`salesnb.report.rendering`), :func:`publish` (pages, ``run.log``, ``status.json``
``finished``) and :func:`move_latest_and_retain`.

Safe under a scheduler: ``status.json`` says ``running`` until the run's last write, so a
killed run is never taken for a finished one (:mod:`salesnb.report.runs`); Ctrl-C, SIGTERM or
a full disk leave the folder marked incomplete. ``reports/latest`` moves only after a
finished, fully successful run of the complete set of notebooks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import salesnb
from salesnb.data import backends
from salesnb.errors import SalesnbError
from salesnb.report import executing, pages, rendering, runs, trends
from salesnb.data.periods import Period, is_coming
from salesnb.report.configuration import PROJECT_ROOT, NotebookSpec, ReportPeriod, RunConfiguration, run_period  # noqa: F401
from salesnb.report.executing import NotebookJob, NotebookResult, RunInterrupted  # noqa: F401
from salesnb.report.lock import DEFAULT_LOCK_WAIT_SECONDS, reports_lock
from salesnb.report.packs import Pack, plan_packs
from salesnb.report.rendering import render_html  # noqa: F401
from salesnb.report.runs import RunWriteError


@dataclass
class RunResult:
    run_dir: Path
    index_path: Path
    metrics_path: Path
    log_path: Path
    results: list[NotebookResult]
    parameters: dict  # notebook name -> the parameters it ran with for the whole company
    latest_updated: bool = False
    status_path: Path | None = None
    summary_path: Path | None = None
    packs: list[Pack] = field(default_factory=list)  # with --each: every value, those with nothing to review too
    removed_runs: list[Path] = field(default_factory=list)  # deleted by retention

    @property
    def ok(self) -> bool:
        """True when every notebook (and every pack's) succeeded."""
        return all(result.ok for result in self.results)

    @property
    def company_results(self) -> list[NotebookResult]:
        return [result for result in self.results if result.pack is None]

    @property
    def metrics(self) -> dict:
        return {result.name: result.kpis for result in self.company_results}

    def result(self, name: str, pack: str | None = None) -> NotebookResult:
        for result in self.results:
            if result.name == name and (result.pack.value if result.pack else None) == pack:
                return result
        raise KeyError(name)


@dataclass
class PreparedRun:
    """A run ready to start: its settings, the data opened and checked, what each notebook covers."""

    configuration: RunConfiguration
    dataset: object
    data_dir: Path | None  # the folder the notebooks read (an export's import in the cache); None: a backend
    notebooks: list[NotebookSpec]
    periods: dict[str, ReportPeriod]  # notebook name -> the period it covers
    packs: list[Pack]
    notes: list[str]  # said on the terminal, the index and in run.log
    warnings: list[str] = field(default_factory=list)  # a period without data: on the terminal, status.json, the index

    def taking_part(self) -> list[NotebookSpec]:
        """The notebooks that run once per pack: those that declare the --each dimension."""
        each = self.configuration.each
        return [notebook for notebook in self.notebooks if each and notebook.declares(each)]

    def parameters(self, notebook: NotebookSpec, folder: Path | None = None) -> dict:
        """The notebook's parameters; ``folder``: the folder its job writes into (its ``output_dir``)."""
        return self.configuration.notebook_parameters(notebook, self.periods[notebook.name], self.data_dir, folder)


@dataclass
class StartedRun:
    """The run folder being written, and its ``status.json`` payload."""

    prepared: PreparedRun
    folder: Path
    started: dt.datetime
    status: dict

    @property
    def status_path(self) -> Path:
        return self.folder / runs.STATUS_FILE


# ----------------------------------------------------------------------------- the run


def run_reports(data_dir=None, config=None, period_start=None, period_end=None, only=None, out=None,
                jobs: int | None = None, notebooks_dir=None, reports_dir=None, *, timeout: float | None = None,
                keep: int | None = None, each: str | None = None, lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
                period: str | None = None, full_selection: bool | None = None, backend: str | None = None,
                preset: str | None = None, mapping=None, configuration: RunConfiguration | None = None) -> RunResult:
    """Validate the data, execute the report notebooks with papermill and render HTML.

    Parameters
    ----------
    data_dir : folder with the CRM tables (default the bundled sample); with ``preset`` or
        ``mapping``, an export imported on the fly. ``backend``: a URL to read tables in place instead.
    config : playbook YAML path, or None for the kit's default playbook.
    period : one period for every report, any form of :func:`salesnb.data.periods.parse_period`
        (``last_full_month``, ``2025Q3``, ...); ``period_start``/``period_end``: dates. Neither:
        each notebook's own default.
    only : notebook names to run instead of all; ``full_selection``: whether they are the
        complete set (a plan's list), which only such a run moves ``latest`` for.
    out : the run folder (``latest`` and retention are then left alone); default
        ``<reports_dir>/<timestamp>``. ``notebooks_dir``, ``reports_dir``: default the kit's.
    jobs : notebooks at once, each in its own kernel (default one per core); ``timeout``: the
        per-notebook limit in seconds; ``keep``: finished runs to keep; ``lock_wait``: seconds
        to wait for another run on the same reports folder.
    each : a dimension (team, rep, segment, source, product, region): the notebooks that
        declare it run once more per value in the data, into a folder each.
    configuration : all of the above as one :class:`RunConfiguration` (the others are then ignored).

    Returns
    -------
    RunResult, whose ``ok`` is False when any notebook failed. Raises, before anything runs,
    :class:`~salesnb.report.configuration.ConfigurationError` (settings) or
    :class:`~salesnb.errors.DataValidationError` (data); then :class:`~salesnb.report.runs.RunWriteError`
    (full or read-only disk), :class:`RunInterrupted` (Ctrl-C, SIGTERM) or
    :class:`~salesnb.report.lock.LockBusyError` (another run held the folder too long).
    """
    configuration = configuration or RunConfiguration(
        data=data_dir, backend=backend, preset=preset, mapping=mapping, playbook=config, notebooks=only,
        period=period, period_start=period_start, period_end=period_end, each=each, reports=reports_dir, out=out,
        keep=keep, timeout_seconds=timeout, lock_wait_seconds=lock_wait, jobs=jobs, notebooks_dir=notebooks_dir,
        complete=full_selection)
    prepared = prepare(configuration)
    progress = executing.Progress()
    with _holding_reports_folder(configuration, progress) as record_holder:
        run = start(prepared, record_holder)
        with _marked_incomplete_when_stopped(run):
            results = execute(plan_jobs(prepared, run.folder), run, progress)
            result = publish(run, results)
        move_latest_and_retain(run, result, progress)
    failed = sum(not item.ok for item in result.results)
    outcome = f"{failed} failed" if failed else "all ran, but a period holds no data (see above)" \
        if prepared.warnings else "all ok"
    progress.say(f"salesnb: {_count(len(result.results), 'report')}, {outcome}.")
    return result


# ----------------------------------------------------------------------------- the steps


def prepare(configuration: RunConfiguration) -> PreparedRun:
    """Everything a run needs before any kernel starts: the notebooks and what they declare,
    the data opened and checked (bad data stops the run here, and the cache is warm for the
    kernels), each notebook's period resolved once, the packs planned."""
    from salesnb.data.dataset import open_dataset

    notebooks = configuration.notebook_specs()
    if configuration.out is None:
        runs.check_latest(configuration.reports_dir)  # before hours of work, not after
    data_dir = configuration.data_dir
    if configuration.is_import:
        from salesnb.data.importing import import_to_cache

        data_dir = import_to_cache(configuration.data, mapping=configuration.mapping, preset=configuration.preset)
    dataset = open_dataset(data_dir, configuration.playbook, backend=configuration.backend)
    periods = {notebook.name: configuration.report_period(notebook, dataset) for notebook in notebooks}
    each = configuration.each
    packs = plan_packs(dataset, each) if each else []
    notes = [f"{notebook.name} has no '{each}' parameter: it ran once, for the whole company, not per {each}."
             for notebook in notebooks if each and not notebook.declares(each)]
    notes += [f"{pack.label}: nothing to review (no deal, lead or order), so no pack was made."
              for pack in packs if pack.nothing_to_review]
    return PreparedRun(configuration, dataset, data_dir, notebooks, periods, packs, notes,
                       _empty_periods(dataset, periods))


def _empty_periods(dataset, periods: dict[str, ReportPeriod]) -> list[str]:
    """One warning per period that holds no deal, lead or order of the data (a year typed 2052
    once moved the default period there and the run said "all ok"), naming its reports."""
    if not dataset.dated:
        return []  # data without dates: every report covers every row, no period can be empty
    reports: dict[tuple, list[str]] = {}
    for name, period in periods.items():
        reports.setdefault((period.start, period.end), []).append(name)
    warnings = []
    for (start, end), names in reports.items():
        if is_coming(Period(start, end), dataset.as_of):  # nothing can have happened in it yet
            continue
        message = dataset.empty_period_message(Period(start, end))
        if message:
            warnings.append(f"{', '.join(names)}: {message}")
    return warnings


def start(prepared: PreparedRun, record_holder) -> StartedRun:
    """The run folder, named in the lock file, with ``status.json`` saying ``running``."""
    configuration, dataset = prepared.configuration, prepared.dataset
    started = dt.datetime.now()
    folder = (runs.prepare_out_dir(configuration.out) if configuration.out is not None
              else runs.new_run_dir(configuration.reports_dir, started))
    record_holder(folder.name)
    main, label = run_period(list(prepared.periods.items()))
    status = runs.starting_status(
        folder, started=started.isoformat(timespec="seconds"), salesnb=salesnb.__version__,
        scope="full" if configuration.is_complete_set else "partial",
        plan=configuration.plan.name if configuration.plan else None,
        data={"name": Path(configuration.data_label).name, "as_of": dataset.as_of.isoformat() if dataset.dated else None},
        data_date=dataset.as_of.isoformat() if dataset.dated else None,
        series=_series(configuration.data_label, [notebook.name for notebook in prepared.notebooks], configuration.each),
        period={"rule": configuration.period_key, **main.as_status(), "label": label},
        playbook={"name": configuration.playbook.name if configuration.playbook else "default playbook",
                  "sha256": _sha256(configuration.playbook)},
        each=configuration.each,
        packs=[{"filter": pack.filter, "value": pack.value, "folder": None if pack.nothing_to_review else pack.folder,
                "nothing_to_review": pack.nothing_to_review} for pack in prepared.packs],
    )
    run = StartedRun(prepared, folder, started, status)
    try:
        runs.write_json(run.status_path, status)
    except RunWriteError:
        with contextlib.suppress(OSError):
            folder.rmdir()  # nothing else is in it yet
        raise
    return run


def plan_jobs(prepared: PreparedRun, run_dir: Path) -> list[NotebookJob]:
    """One job per notebook for the whole company, then one per pack for each notebook that takes part."""
    jobs = [NotebookJob(notebook.path, run_dir, prepared.parameters(notebook, run_dir), None,
                        prepared.periods[notebook.name]) for notebook in prepared.notebooks]
    for pack in prepared.packs:
        if pack.nothing_to_review:
            continue
        runs.make_folder(run_dir / pack.folder, exist_ok=True)
        jobs += [NotebookJob(notebook.path, run_dir / pack.folder,
                             {**prepared.parameters(notebook, run_dir / pack.folder), pack.filter: pack.value},
                             pack, prepared.periods[notebook.name]) for notebook in prepared.taking_part()]
    return jobs


def execute(jobs: list[NotebookJob], run: StartedRun, progress: executing.Progress) -> list[NotebookResult]:
    """Execute the jobs (:mod:`salesnb.report.executing`), rendering each page as its notebook ends."""
    progress.total = len(jobs)
    for line in [_running_line(run.prepared, len(jobs), run.folder), *run.prepared.notes]:
        progress.say(f"salesnb: {line}")
    for line in run.prepared.warnings:
        progress.say(f"salesnb: warning: {line}")
    execution = executing.Execution(
        timeout=run.prepared.configuration.timeout_seconds, progress=progress, run_dir=run.folder,
        after=lambda result, job: rendering.render_result(result, job, run_note=f"run {run.folder.name}",
                                                           run_dir=run.folder))
    workers = run.prepared.configuration.workers
    # The notebooks' times in the last run of this series, else of any run in the folder: a
    # scheduler that puts each day's export in a folder of its own starts a new series every
    # day, and from one day's export to the next the notebooks' relative times barely move; name
    # order (at `large` and `xlarge` the two longest, 06_plan and 07_scoring, last) is the last resort.
    folder = _folder_of_runs(run)
    earlier = (trends.previous_run(folder, run.status, run.folder)
               or trends.previous_run(folder, run.status, run.folder, any_series=True))
    # Each kernel sizes its DuckDB memory limit for the kernels running beside it (docs/scaling.md).
    with backends.kernels_at_once(min(workers, len(jobs))):
        return executing.execute_all(jobs, execution, workers, start_order=longest_first(jobs, earlier))


def longest_first(jobs: list[NotebookJob], previous: dict | None) -> list[int]:
    """The order to start the jobs in (their positions): the longest first, by their durations in
    an earlier finished run (``previous``, its status: the last of the same series, else the last
    in the folder); jobs it did not time first of all (they may be long), and ties in the jobs'
    order. Without an earlier run, the jobs' order. Why: with several notebooks at once the run
    ends with its last notebook, and a long one started last keeps the run going alone (on the
    large sample, 06_plan and 07_scoring are the longest and come last by name)."""
    durations = {(item.get("name"), item.get("pack")): item.get("duration_seconds")
                 for item in (previous or {}).get("notebooks", [])}

    def expected(index: int) -> float:
        job = jobs[index]
        seconds = durations.get((job.path.stem, job.pack.value if job.pack else None))
        return -float("inf") if seconds is None else -float(seconds)

    return sorted(range(len(jobs)), key=expected)


def _folder_of_runs(run: StartedRun) -> Path:
    """Where this run's earlier runs are: the reports folder, or the folder ``--out`` is in."""
    configuration = run.prepared.configuration
    return configuration.reports_dir if configuration.out is None else run.folder.parent


def publish(run: StartedRun, results: list[NotebookResult]) -> RunResult:
    """The run's pages, ``metrics.json`` and ``run.log``, then ``status.json`` ``finished``: its last word."""
    prepared, configuration = run.prepared, run.prepared.configuration
    result = RunResult(
        run_dir=run.folder, index_path=run.folder / "index.html", metrics_path=run.folder / "metrics.json",
        log_path=run.folder / "run.log", results=results, status_path=run.status_path,
        summary_path=run.folder / "summary.html", packs=prepared.packs,
        parameters={notebook.name: prepared.parameters(notebook, run.folder) for notebook in prepared.notebooks},
    )
    finished = dt.datetime.now()
    run.status.update(
        ok=result.ok, finished=finished.isoformat(timespec="seconds"),
        duration_seconds=round((finished - run.started).total_seconds(), 1),
        notebooks=[_notebook_status(item) for item in results],
        failed=[{"name": item.name, "pack": item.pack.value if item.pack else None, "error": item.error}
                for item in results if not item.ok],
        notes=prepared.notes, warnings=prepared.warnings,
    )
    previous = trends.previous_run(_folder_of_runs(run), run.status, run.folder)
    pages.write_run_pages(result, pages.RunPage(
        run_name=run.folder.name, started=run.started, data_name=Path(configuration.data_label).name,
        playbook=configuration.playbook.name if configuration.playbook else "default playbook",
        period=run.status["period"]["label"], currency=prepared.dataset.playbook.currency, notes=prepared.notes,
        warnings=prepared.warnings + [finding.message for finding in prepared.dataset.findings
                                      if finding.severity == "warning"],
        plan=configuration.plan.name if configuration.plan else None,
        comparison=trends.compare(run.status, previous)))
    _write_log(result, run, finished)
    # Only a finished, fully successful run of the complete set, in the reports folder, becomes latest.
    run.status.update(state=runs.FINISHED, latest=configuration.out is None and result.ok and configuration.is_complete_set)
    runs.write_json(run.status_path, run.status)
    return result


def move_latest_and_retain(run: StartedRun, result: RunResult, progress: executing.Progress) -> None:
    """``latest`` to this run when it may be (see :func:`publish`); old runs beyond ``keep`` deleted."""
    configuration = run.prepared.configuration
    if configuration.out is not None:
        return
    if run.status["latest"]:
        runs.update_latest(configuration.reports_dir, result.run_dir)
        result.latest_updated = True
    result.removed_runs = runs.apply_retention(configuration.reports_dir, configuration.keep, current=result.run_dir)
    for removed in result.removed_runs:
        progress.say(f"salesnb: deleted old run {removed.name} (keep {configuration.keep})")


# ----------------------------------------------------------------------------- around the steps


def _holding_reports_folder(configuration: RunConfiguration, progress: executing.Progress):
    """The reports folder's lock (one run at a time), or nothing for a run into ``--out``."""
    if configuration.out is not None:
        return contextlib.nullcontext(lambda run: None)
    return reports_lock(configuration.reports_dir, wait_seconds=configuration.lock_wait_seconds, say=progress.say)


@contextlib.contextmanager
def _marked_incomplete_when_stopped(run: StartedRun):
    """An interrupt or a disk fault marks the run ``aborted`` and says what happened to it."""
    try:
        yield
    except (RunInterrupted, RunWriteError) as stop:
        run.status.update(state=runs.ABORTED, stopped_by=str(stop.__class__.__name__))
        with contextlib.suppress(OSError, SalesnbError):
            runs.write_json(run.status_path, run.status)
        if isinstance(stop, RunInterrupted):
            configuration = run.prepared.configuration
            target = runs.latest_target(configuration.reports_dir)
            raise RunInterrupted(
                f"Interrupted ({stop}): every notebook was stopped. The run folder {run.folder} is marked incomplete"
                + (f"; reports/latest still points at {target.name}." if target and configuration.out is None else "."),
                stop.exit_code) from None
        if stop.run_dir is not None:
            raise
        raise RunWriteError(stop.path, stop.error, run.folder) from None


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def _running_line(prepared: PreparedRun, total: int, folder: Path) -> str:
    """``running 6 notebooks, and 3 of them for each of 4 teams (18 reports), into ...``."""
    line = f"running {_count(len(prepared.notebooks), 'notebook')}"
    made = [pack for pack in prepared.packs if not pack.nothing_to_review]
    if made:
        line += (f", and {len(prepared.taking_part())} of them for each of {_count(len(made), prepared.configuration.each)}"
                 f" ({_count(total, 'report')})")
    return f"{line}, into {folder}"


# ----------------------------------------------------------------------------- the run's own files


def _notebook_status(item: NotebookResult) -> dict:
    return {
        "name": item.name, "pack": item.pack.value if item.pack else None,
        "folder": item.pack.folder if item.pack else "",
        "status": item.status, "duration_seconds": round(item.duration, 1), "error": item.error,
        "html": item.html_path.name if item.html_path else None, "title": item.title,
        "period": item.period.as_status() if item.period else None,
        "headline": item.headline,
        # A findings list that found something carries no "nothing found" sentence beside it.
        "findings": [{key: value for key, value in group.items() if not (key == "nothing_found" and group.get("sentences"))}
                     for group in item.findings],
    }


def _write_log(result: RunResult, run: StartedRun, finished: dt.datetime) -> Path:
    prepared, configuration = run.prepared, run.prepared.configuration
    lines = [
        f"salesnb {salesnb.__version__} run {result.run_dir.name}",
        f"started   {run.started.isoformat(timespec='seconds')}",
        f"finished  {finished.isoformat(timespec='seconds')}",
        f"status    {'ok' if result.ok else 'FAILED'}",
        f"data      {prepared.data_dir or configuration.data_label}",
        f"config    {configuration.playbook or 'default playbook'}",
        f"period    {run.status['period']['label']}",
        f"notebooks {configuration.notebooks_folder}",
        f"jobs      {configuration.workers}",
        "",
        f"data findings: {len(prepared.dataset.findings)}",
    ]
    lines += [f"  {finding.severity.upper():8} {finding.message}" for finding in prepared.dataset.findings]
    lines += [""] + prepared.notes + ["", "notebooks:"]
    for item in result.results:
        parameters = prepared.parameters(_spec(prepared, item.name),
                                         run.folder / item.pack.folder if item.pack else run.folder)
        if item.pack:
            parameters[item.pack.filter] = item.pack.value
        lines.append(f"  {item.label:40} {item.status:7} {item.duration:8.1f} s")
        lines.append(f"      parameters {_json_line(parameters)}")
        if item.error:
            lines += [f"      {line}" for line in item.error.splitlines()]
        if item.kernel_messages and not item.ok:
            lines += ["      kernel stderr:"] + [f"        {line}" for line in item.kernel_messages[-40:]]
    return runs.write_text(result.log_path, "\n".join(lines) + "\n")


def _spec(prepared: PreparedRun, name: str) -> NotebookSpec:
    return next(notebook for notebook in prepared.notebooks if notebook.name == name)


def _json_line(value) -> str:
    return json.dumps(value, sort_keys=True)


def _sha256(path: Path | None) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None


def _series(data_label: str, notebooks: list[str], each: str | None) -> str:
    """Runs of the same plan: same data source, same notebooks, same fan-out."""
    return hashlib.sha256(_json_line([data_label, sorted(notebooks), each]).encode()).hexdigest()[:16]
