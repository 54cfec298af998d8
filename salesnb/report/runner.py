"""The one runner: validate the data, execute every report notebook, render shareable HTML.

A run is an immutable product of (notebooks, parameters, data). It writes one folder::

    reports/2026-11-27T14-05-03/
        00_data_health.ipynb   executed notebook, the record of the run
        00_data_health.html    the shareable report (no code, images inlined, works offline)
        ...
        index.html             every report with its status, headline tiles and trends since the last run
        summary.html           the findings and headline tiles of every report on one page
        metrics.json           notebook name -> the KPIs it recorded (salesnb.report.kpis.record)
        run.log                what ran, with which parameters, how long, errors, data findings
        status.json            machine-readable: state, ok, failed notebooks, timings, data date
        team-enterprise/ ...   with --each team: the same files for each team's pack

Safe under a scheduler: one run at a time per reports folder (:mod:`salesnb.report.lock`);
``status.json`` says ``running`` until the run's last write, so a killed run is never taken
for a finished one (:mod:`salesnb.report.runs`); a notebook over its time limit is stopped
and marked failed while the others go on; Ctrl-C or SIGTERM stops every kernel and leaves
the folder marked incomplete. ``reports/latest`` moves only after a finished, fully
successful run of every notebook.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import salesnb
from salesnb.errors import SalesnbError, printable

# jsonschema (which nbformat imports to check notebooks) imports the optional rfc3987_syntax
# when installed: it builds a grammar at import, 2-4 s per runner process, for a URL format
# check notebook files never use. Marking it absent makes that optional import fail fast.
if "rfc3987_syntax" not in sys.modules and "jsonschema" not in sys.modules:
    sys.modules["rfc3987_syntax"] = None
from salesnb.report import pages, runs, trends
from salesnb.report.kpis import KPI_OUTPUT_TAG, read_findings, read_headline, read_recorded
from salesnb.report.lock import DEFAULT_LOCK_WAIT_SECONDS, reports_lock
from salesnb.report.packs import Pack, declared_parameters, plan_packs
from salesnb.report.runs import LATEST_LINK, RunWriteError, update_latest, write_error_in, write_text  # noqa: F401

PROJECT_ROOT = Path(salesnb.__file__).resolve().parents[1]
# Looked up at call time (not bound as argument defaults) so tests can point them elsewhere.
DEFAULT_NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DEFAULT_REPORTS_DIR = PROJECT_ROOT / "reports"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
REPORT_TEMPLATE = "salesnb_report"
KERNEL_NAME = "python3"
# Cells papermill and the notebook author tag as parameters: literals, nothing to show.
PARAMETER_CELL_TAGS = {"parameters", "injected-parameters"}
TIMED_OUT = "TimeoutError"


class RunInterrupted(SalesnbError):
    """The run was stopped by Ctrl-C (SIGINT) or SIGTERM; its folder is marked incomplete."""

    def __init__(self, message: str, exit_code: int):
        self.exit_code = exit_code
        super().__init__(message)


@dataclass
class NotebookResult:
    """How one notebook went: ``status`` is ``ok`` or ``failed``."""

    name: str
    status: str = "pending"
    duration: float = 0.0
    notebook_path: Path | None = None
    html_path: Path | None = None
    kpis: dict = field(default_factory=dict)
    title: str | None = None  # the notebook's first heading
    headline: dict | None = None  # the tiles the report shows first (kpis.headline)
    findings: list = field(default_factory=list)  # the findings lists it showed (kpis.findings)
    error_name: str | None = None
    error_message: str | None = None
    pack: Pack | None = None  # with --each: the team/rep/segment this copy ran for
    kernel_messages: list[str] = field(default_factory=list)  # the kernel's stderr, for run.log

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def error(self) -> str | None:
        """``ErrorName: message`` for a failed notebook, else None."""
        if self.error_name is None:
            return None
        return f"{self.error_name}: {self.error_message}" if self.error_message else self.error_name


@dataclass
class RunResult:
    run_dir: Path
    index_path: Path
    metrics_path: Path
    log_path: Path
    results: list[NotebookResult]
    parameters: dict
    latest_updated: bool = False
    status_path: Path | None = None
    summary_path: Path | None = None
    packs: list[Pack] = field(default_factory=list)
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


# ----------------------------------------------------------------------------- choosing notebooks


def find_notebooks(notebooks_dir: Path, only: list[str] | str | None = None) -> list[Path]:
    """The report notebooks to run, sorted by name; ``only`` selects by name (file stem)."""
    available = sorted(path for path in Path(notebooks_dir).glob("*.ipynb") if path.is_file())
    if not available:
        raise SalesnbError(f"No notebooks (*.ipynb) found in {notebooks_dir}.")
    if not only:
        return available
    wanted = [only] if isinstance(only, str) else list(only)
    by_name = {path.stem: path for path in available}
    # Accept "02_conversion.ipynb" too: people paste file names.
    wanted = [name[: -len(".ipynb")] if name.endswith(".ipynb") else name for name in wanted]
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise SalesnbError(
            f"Unknown notebook(s) {', '.join(repr(name) for name in unknown)} for --only; "
            f"the notebooks are: {', '.join(by_name)}."
        )
    return [by_name[name] for name in sorted(set(wanted))]


# ----------------------------------------------------------------------------- HTML


def notebook_title(notebook, fallback: str) -> str:
    """The first Markdown heading of the notebook, else its name."""
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped.startswith("#"):
                title = stripped.lstrip("#").strip()
                if title:
                    return title
    return fallback


_QUIET_NBCONVERT_LOG = logging.getLogger("salesnb.report.runner.nbconvert")
_QUIET_NBCONVERT_LOG.setLevel(logging.ERROR)
_EXPORT_LOCK = threading.Lock()  # nbconvert's exporters and template cache are not thread-safe


def _html_exporter():
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    # TagRemovePreprocessor is one of the exporter's default preprocessors, off until enabled.
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = PARAMETER_CELL_TAGS
    # The KPI display item is for metrics.json, not for readers.
    config.TagRemovePreprocessor.remove_single_output_tags = {KPI_OUTPUT_TAG}
    exporter = HTMLExporter(
        config=config,
        template_name=REPORT_TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        # nbconvert warns about every chart without alt text: noise in a scheduled run's output.
        log=_QUIET_NBCONVERT_LOG,
    )
    return exporter


def render_html(notebook_path: Path, html_path: Path, name: str, *, back_link: str | None = "index.html",
                run_note: str | None = None, base_dir: Path | None = None) -> Path:
    """Render an executed notebook as one self-contained, offline HTML page without code."""
    import nbformat

    notebook = nbformat.read(str(notebook_path), as_version=4)
    title = notebook_title(notebook, name)
    notebook.metadata["title"] = f"{title} · salesnb"
    resources = {
        "metadata": {"name": title, "path": str(base_dir or notebook_path.parent)},
        "salesnb_back_link": back_link,
        "salesnb_summary_link": "summary.html" if back_link else None,
        "salesnb_run_note": run_note,
        "salesnb_print_css": pages.print_css(),
    }
    with _EXPORT_LOCK:
        body, _ = _html_exporter().from_notebook_node(notebook, resources=resources)
    return write_text(html_path, body)


def _error_page(html_path: Path, name: str, error_name: str, error_message: str) -> Path:
    """A page for a notebook that left no executed notebook to render (e.g. the kernel died)."""
    return write_text(
        html_path,
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(name)} · salesnb (failed)</title></head>"
        "<body style='font-family:sans-serif;max-width:900px;margin:2em auto;'>"
        f"<h1>{html.escape(name)}</h1><p><a href='index.html'>&larr; All reports of this run</a></p>"
        "<div style='background:#fef2f2;border-left:4px solid #b91c1c;padding:8px 12px;'>"
        f"<strong>{html.escape(error_name)}</strong>: <pre style='white-space:pre-wrap'>{html.escape(error_message)}</pre>"
        "</div></body></html>\n",
    )


# ----------------------------------------------------------------------------- executing


class _Progress:
    """``[2/3] 02_conversion ... ok (14.2 s)`` lines; safe to call from worker threads."""

    def __init__(self, total: int):
        from rich.console import Console

        self.total = total
        self.done = 0
        self.lock = threading.Lock()
        # stderr: stdout stays for the result line a script may capture.
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)

    def say(self, line: str) -> None:
        with self.lock:
            self.console.print(line, markup=False)

    def started(self, name: str) -> None:
        with self.lock:
            self.console.print(f"running {name} ...", style="dim", markup=False)

    def finished(self, result: NotebookResult) -> None:
        with self.lock:
            self.done += 1
            line = f"[{self.done}/{self.total}] {_label(result)} ... {result.status} ({result.duration:.1f} s)"
            if result.error:
                line += f"\n      {result.error.splitlines()[0] if result.error.splitlines() else result.error}"
            # The error can quote the data: control characters are shown, never sent to the terminal.
            self.console.print(printable(line), style="green" if result.ok else "bold red", markup=False)


def _label(result: NotebookResult) -> str:
    return result.name + (f" [{result.pack.label}]" if result.pack else "")


class KernelWatch:
    """One notebook's kernel, reachable from other threads: a time limit or an interrupt
    stops it by killing its process group, and nbclient then ends that notebook."""

    def __init__(self):
        self.manager = None
        self.expired = False
        self.stopped = False
        self._lock = threading.Lock()
        # The kernel's own stderr (ipykernel's log lines and shutdown noise): kept out of
        # the run's terminal and cron mail; a failed notebook's lines go into run.log.
        self.stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")

    def kernel_messages(self) -> list[str]:
        """What the kernel process wrote to stderr, without ipykernel's routine warnings."""
        self.stderr.flush()
        self.stderr.seek(0)
        lines = [line.rstrip() for line in self.stderr.read().splitlines() if line.strip()]
        self.stderr.close()
        return [line for line in lines if "running over TCP without encryption" not in line]

    def started(self, manager) -> None:
        with self._lock:
            self.manager = manager
            stop_now = self.expired or self.stopped
        if stop_now:
            self.kill()

    def expire(self) -> None:
        self.expired = True
        self.kill()

    def stop(self) -> None:
        self.stopped = True
        self.kill()

    def kill(self) -> None:
        with self._lock:
            provisioner = getattr(self.manager, "provisioner", None)
        pid, pgid = getattr(provisioner, "pid", None), getattr(provisioner, "pgid", None)
        with contextlib.suppress(OSError):
            if pgid:
                os.killpg(pgid, signal.SIGKILL)  # the kernel and anything it started
            elif pid:
                os.kill(pid, signal.SIGKILL)

    def kernel_manager_class(self):
        """An AsyncKernelManager that reports itself to this watch once its kernel runs."""
        from jupyter_client.manager import AsyncKernelManager

        watch = self

        class RunKernelManager(AsyncKernelManager):
            async def _async_launch_kernel(self, kernel_cmd, **kwargs):
                kwargs["stdout"] = kwargs["stderr"] = watch.stderr
                return await super()._async_launch_kernel(kernel_cmd, **kwargs)

            async def _async_post_start_kernel(self, **kwargs):
                await super()._async_post_start_kernel(**kwargs)
                watch.started(self)

            async def _async_interrupt_kernel(self):
                # jupyter_client sends SIGINT before every shutdown request; a kernel that is
                # between messages logs "KeyboardInterrupt caught in kernel" as an ERROR on the
                # run's terminal. A finished notebook has nothing to interrupt.
                if self.shutting_down:
                    return
                await super()._async_interrupt_kernel()

        return RunKernelManager


@dataclass
class _Job:
    """One notebook to execute into one folder (the run folder, or a pack's subfolder)."""

    path: Path
    folder: Path
    parameters: dict
    pack: Pack | None = None


class _Execution:
    """What every notebook of a run shares: notebooks folder, time limit, progress, stop switch."""

    def __init__(self, notebooks_dir: Path, progress: _Progress, run_note: str, timeout: float | None, run_dir: Path):
        self.notebooks_dir, self.progress, self.run_note = notebooks_dir, progress, run_note
        self.timeout, self.run_dir = timeout, run_dir
        self.abort = threading.Event()
        self.watches: set[KernelWatch] = set()
        self.lock = threading.Lock()

    def stop_all(self) -> None:
        self.abort.set()
        with self.lock:
            watches = list(self.watches)
        for watch in watches:
            watch.stop()

    def run(self, job: _Job) -> NotebookResult:
        import nbformat
        import papermill
        from papermill.exceptions import PapermillExecutionError

        result = NotebookResult(name=job.path.stem, pack=job.pack)
        result.notebook_path = job.folder / f"{job.path.stem}.ipynb"
        result.html_path = job.folder / f"{job.path.stem}.html"
        if self.abort.is_set():
            result.status, result.error_name = "failed", "not run: the run was stopped"
            return result
        self.progress.started(_label(result))
        watch = KernelWatch()
        with self.lock:
            self.watches.add(watch)
        timer = threading.Timer(self.timeout, watch.expire) if self.timeout else None
        began = time.monotonic()
        try:
            if timer:
                timer.daemon = True
                timer.start()
            papermill.execute_notebook(
                str(job.path), str(result.notebook_path), parameters=job.parameters,
                cwd=str(self.notebooks_dir), kernel_name=KERNEL_NAME, progress_bar=False,
                kernel_manager_class=watch.kernel_manager_class(),
                # Once the last cell's outputs are in, the kernel has nothing left to do: end it
                # at once. A polite shutdown request races with ipykernel closing its sockets and
                # prints a ZMQ traceback from the kernel now and then.
                shutdown_kernel="immediate",
            )
            result.status = "ok"
        except PapermillExecutionError as error:
            result.status = "failed"
            result.error_name, result.error_message = error.ename, str(error.evalue)
        except Exception as error:  # kernel died, notebook unreadable...: fail this one, run the rest
            fault = write_error_in(error)
            if fault is not None:
                raise RunWriteError(fault.filename or result.notebook_path, fault, self.run_dir) from None
            result.status = "failed"
            result.error_name, result.error_message = type(error).__name__, str(error)
        finally:
            if timer:
                timer.cancel()
            with self.lock:
                self.watches.discard(watch)
        result.duration = time.monotonic() - began
        result.kernel_messages = watch.kernel_messages()
        if watch.stopped:
            return result  # the run is being stopped: no page to render
        if watch.expired:
            result.status = "failed"
            result.error_name = TIMED_OUT
            result.error_message = (f"timed out after {self.timeout:g} s (the per-notebook time limit: --timeout, "
                                    "or timeout_seconds: in the plan); the kernel was stopped and the other "
                                    "notebooks went on")
        self._render(result, job, nbformat)
        self.progress.finished(result)
        return result

    def _render(self, result: NotebookResult, job: _Job, nbformat) -> None:
        back_note = self.run_note + (f" · {job.pack.label}" if job.pack else "")
        if not result.notebook_path.is_file():
            _error_page(result.html_path, result.name, result.error_name or "Error", result.error_message or "")
            return
        try:
            executed = nbformat.read(str(result.notebook_path), as_version=4)
            result.kpis = read_recorded(executed)
            result.headline = read_headline(executed)
            result.findings = read_findings(executed)
            result.title = notebook_title(executed, result.name)
            render_html(result.notebook_path, result.html_path, result.name, run_note=back_note,
                        base_dir=self.notebooks_dir)
        except RunWriteError as error:
            raise RunWriteError(error.path, error.error, self.run_dir) from None
        except Exception as error:
            if result.ok:
                result.status = "failed"
                result.error_name, result.error_message = type(error).__name__, f"rendering the report failed: {error}"
            _error_page(result.html_path, result.name, result.error_name or type(error).__name__,
                        (result.error_message or "") + "\n\n" + traceback.format_exc())


@contextlib.contextmanager
def _stop_on_signals():
    """Ctrl-C (SIGINT) and SIGTERM raise :class:`RunInterrupted` in the main thread, where
    the run waits for its notebooks (they run in worker threads, which signals never reach,
    so no library prints a traceback from the middle of a kernel call)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum, frame):
        code = 130 if signum == signal.SIGINT else 143
        raise RunInterrupted(signal.Signals(signum).name, code)

    previous = {number: signal.signal(number, interrupted) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def default_jobs() -> int:
    """Notebooks run at once by default: one per core (each is its own kernel process, and a
    report's own work is mostly single-threaded Python and small queries)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _execute_all(jobs: list[_Job], execution: _Execution, workers: int) -> list[NotebookResult]:
    """Run the jobs on ``workers`` threads; on a stop (signal, disk fault) kill every kernel."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="salesnb-run")
    futures = [pool.submit(execution.run, job) for job in jobs]
    try:
        with _stop_on_signals():
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                for future in done:
                    future.result()  # a disk fault in a worker stops the run here
    except BaseException:
        # Second Ctrl-C while the kernels are being stopped: ignored, the cleanup is short.
        with _ignoring_signals():
            execution.stop_all()
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [future.result() for future in futures]


@contextlib.contextmanager
def _ignoring_signals():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


# ----------------------------------------------------------------------------- the run's own files


def _write_log(log_path: Path, result: RunResult, *, started: dt.datetime, finished: dt.datetime,
               data_dir: Path, config_path: Path | None, period_label: str, notebooks_dir: Path,
               findings: list, jobs: int, notes: list[str]) -> Path:
    lines = [
        f"salesnb {salesnb.__version__} run {result.run_dir.name}",
        f"started   {started.isoformat(timespec='seconds')}",
        f"finished  {finished.isoformat(timespec='seconds')}",
        f"status    {'ok' if result.ok else 'FAILED'}",
        f"data      {data_dir}",
        f"config    {config_path or 'default playbook'}",
        f"period    {period_label}",
        f"notebooks {notebooks_dir}",
        f"jobs      {jobs}",
        "parameters " + json_line(result.parameters),
        "",
        f"data findings: {len(findings)}",
    ]
    lines += [f"  {finding.severity.upper():8} {finding.message}" for finding in findings]
    lines += [""] + notes + ["", "notebooks:"]
    for item in result.results:
        lines.append(f"  {_label(item):40} {item.status:7} {item.duration:8.1f} s")
        if item.error:
            lines += [f"      {line}" for line in item.error.splitlines()]
        if item.kernel_messages and not item.ok:
            lines += ["      kernel stderr:"] + [f"        {line}" for line in item.kernel_messages[-40:]]
    return write_text(log_path, "\n".join(lines) + "\n")


def json_line(value) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _sha256(path: Path | None) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None


def _period_key(period_rule: str | None, period_start, period_end) -> str:
    """What a run's period follows, for comparing runs: a plan's rule, fixed dates, or the default."""
    if period_rule:
        return period_rule
    if period_start or period_end:
        return f"dates {period_start or '…'} to {period_end or '…'}"
    return "default (12 full months)"


def _series(data_label: str, notebooks: list[str], each: str | None) -> str:
    """Runs of the same plan: same data source, same notebooks, same fan-out."""
    return hashlib.sha256(json_line([data_label, sorted(notebooks), each]).encode()).hexdigest()[:16]


def _notebook_status(item: NotebookResult) -> dict:
    return {
        "name": item.name, "pack": item.pack.value if item.pack else None,
        "folder": item.pack.folder if item.pack else "",
        "status": item.status, "duration_seconds": round(item.duration, 1), "error": item.error,
        "html": item.html_path.name if item.html_path else None, "title": item.title,
        "headline": item.headline, "findings": item.findings,
    }


# ----------------------------------------------------------------------------- the run


def run_reports(data_dir=None, config=None, period_start=None, period_end=None, only=None, out=None,
                jobs: int | None = None, notebooks_dir=None, reports_dir=None, *, timeout: float | None = None,
                keep: int | None = None, each: str | None = None,
                lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS, period_rule: str | None = None,
                full_selection: bool | None = None, data_label: str | None = None,
                plan_name: str | None = None, backend: str | None = None) -> RunResult:
    """Validate the data, execute the report notebooks with papermill and render HTML.

    Parameters
    ----------
    data_dir : folder with the CRM tables (see docs/data-model.md).
    backend : instead of a folder, a backend URL (``pyspark``, ``duckdb:///crm.duckdb``,
        ``postgres://...``): the notebooks read, check and compute where the tables live
        (docs/scaling.md). Passed to the notebooks as their ``backend`` parameter.
    config : playbook YAML path, or None for the kit's default playbook.
    period_start, period_end : the reporting period as ``YYYY-MM-DD`` (None: each notebook's default,
        the twelve full months up to the data's snapshot date; ``"all"``: the data's own span).
    only : notebook name(s) (file stems, e.g. ``02_conversion``) to run instead of all.
    out : the run folder; default ``<reports_dir>/<timestamp>``. With ``out`` the ``latest``
        link and retention are left alone.
    jobs : notebooks to execute at once (each runs in its own kernel process); default
        :func:`default_jobs`, the number of cores.
    notebooks_dir : where the notebooks are (default: the project's ``notebooks/``).
    reports_dir : where default run folders go (default: the project's ``reports/``).
    timeout : per-notebook time limit in seconds; a notebook over it is stopped and failed.
    keep : keep this many finished runs in ``reports_dir`` (older ones are deleted); None keeps all.
    each : a filter parameter (``team``, ``rep``, ``segment``): run the notebooks that declare
        it once per value in the data too, each value into its own subfolder.
    lock_wait : seconds to wait for another run on the same reports folder.
    period_rule : the plan's period rule these dates came from (for comparing runs).
    full_selection : whether ``only`` is the complete set (a plan's notebook list); default:
        only a run without ``only`` is complete. Only a complete set moves ``latest``.
    data_label : how the data source is named for comparing runs (default: the folder).
    plan_name : the plan file's name, shown on the index.

    Returns
    -------
    RunResult, whose ``ok`` is False when any notebook failed. Invalid data raises
    :class:`salesnb.errors.DataValidationError` before anything runs; a full or read-only
    disk raises :class:`salesnb.report.runs.RunWriteError`; Ctrl-C or SIGTERM raise
    :class:`RunInterrupted`; another run holding the folder too long raises
    :class:`salesnb.report.lock.LockBusyError`.
    """
    from salesnb.data.backends import describe as describe_backend
    from salesnb.data.dataset import open_dataset
    from salesnb.data.periods import period_from_rule, resolve_period

    notebooks_dir = Path(notebooks_dir or DEFAULT_NOTEBOOKS_DIR).expanduser().resolve()
    reports_dir = Path(reports_dir or DEFAULT_REPORTS_DIR).expanduser().resolve()
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise SalesnbError(f"--jobs must be 1 or more, not {jobs}.")
    if timeout is not None and timeout <= 0:
        raise SalesnbError(f"--timeout must be a number of seconds above 0, not {timeout:g}.")
    if keep is not None and keep < 1:
        raise SalesnbError(f"--keep must be 1 or more (the runs to keep), not {keep}.")
    inputs = find_notebooks(notebooks_dir, only)
    complete_set = (not only) if full_selection is None else full_selection

    if backend:
        data_dir, data_label = None, data_label or describe_backend(backend)
    else:
        data_dir = Path(data_dir).expanduser().resolve()
        # The kit never writes into the user's data (a run folder there would also be read as data).
        runs.refuse_inside_data(Path(out) if out is not None else reports_dir,
                                data_dir, "--out" if out is not None else "The reports folder")
    if out is None:
        runs.check_latest(reports_dir)  # before hours of work, not after

    # Validate first: bad data stops the run before any kernel starts (and warms the cache).
    config_path = Path(config).expanduser().resolve() if config is not None else None
    dataset = open_dataset(data_dir, config_path, backend=backend)
    if period_start or period_end:
        period_rule = None  # dates given (e.g. on the command line) replace a plan's rule
    elif period_rule:
        # A plan's rule becomes concrete dates here: the notebooks receive plain dates.
        ruled = period_from_rule(period_rule, dataset.as_of, dataset.playbook.fiscal_year_start_month,
                                 dataset.first_date if period_rule == "all" else None)
        period_start, period_end = ruled.start.isoformat(), ruled.end.isoformat()
    period = resolve_period(period_start, period_end, dataset.as_of, span=dataset.span)
    period_label = period.label() + (f" ({period_rule.replace('_', ' ')})" if period_rule
                                     else "" if period_start or period_end else " (default)")
    findings = list(dataset.findings)
    packs = plan_packs(dataset, each) if each else []
    taking_part = [path for path in inputs if each and each in declared_parameters(path)]

    # JSON-native values only: papermill writes them into the notebook as literals.
    parameters = {
        "data_dir": str(data_dir) if data_dir else None,
        "config_path": str(config_path) if config_path else None,
        "period_start": str(period_start) if period_start else None,
        "period_end": str(period_end) if period_end else None,
    }
    if backend:
        parameters["backend"] = str(backend)
    progress = _Progress(len(inputs) + len(packs) * len(taking_part))
    folder_of_runs = reports_dir if out is None else Path(out).expanduser().resolve().parent
    lock = reports_lock(reports_dir, wait_seconds=lock_wait, say=progress.say) if out is None else contextlib.nullcontext(lambda run: None)
    with lock as record_holder:
        started = dt.datetime.now()
        run_dir = runs.prepare_out_dir(Path(out)) if out is not None else runs.new_run_dir(reports_dir, started)
        record_holder(run_dir.name)
        status_path = run_dir / runs.STATUS_FILE
        status = runs.starting_status(
            run_dir, started=started.isoformat(timespec="seconds"), salesnb=salesnb.__version__,
            scope="full" if complete_set else "partial", plan=plan_name,
            data={"name": Path(data_label or data_dir).name, "as_of": dataset.as_of.isoformat()},
            data_date=dataset.as_of.isoformat(),
            series=_series(data_label or str(data_dir), [path.stem for path in inputs], each),
            period={"rule": _period_key(period_rule, period_start, period_end), "start": period.start.isoformat(),
                    "end": period.end.isoformat(), "label": period_label},
            playbook={"name": config_path.name if config_path else "default playbook", "sha256": _sha256(config_path)},
            each=each, packs=[{"filter": pack.filter, "value": pack.value, "folder": pack.folder} for pack in packs],
        )
        try:
            runs.write_json(status_path, status)
        except RunWriteError:
            with contextlib.suppress(OSError):
                run_dir.rmdir()  # nothing else is in it yet
            raise
        # Each page's own header states its period (the pipeline review defaults to the open
        # fiscal quarter, the others to the last twelve months): the run's period here would
        # contradict it. The index and the summary state the run's period.
        run_note = f"run {run_dir.name}"
        progress.say(f"salesnb: running {progress.total} notebook(s) into {run_dir}")
        notes = []
        if each:
            skipped = [path.stem for path in inputs if path not in taking_part]
            for name in skipped:
                notes.append(f"{name} has no '{each}' parameter: it ran once, for the whole company, not per {each}.")
            for note in notes:
                progress.say(f"salesnb: {note}")
        job_list = [_Job(path, run_dir, parameters) for path in inputs]
        for pack in packs:
            runs.make_folder(run_dir / pack.folder, exist_ok=True)
            job_list += [_Job(path, run_dir / pack.folder, {**parameters, pack.filter: pack.value}, pack)
                         for path in taking_part]
        execution = _Execution(notebooks_dir, progress, run_note, timeout, run_dir)
        try:
            results = _execute_all(job_list, execution, jobs)
            result = RunResult(
                run_dir=run_dir, index_path=run_dir / "index.html", metrics_path=run_dir / "metrics.json",
                log_path=run_dir / "run.log", results=results, parameters=parameters, status_path=status_path,
                summary_path=run_dir / "summary.html", packs=packs,
            )
            finished = dt.datetime.now()
            status.update(
                ok=result.ok, finished=finished.isoformat(timespec="seconds"),
                duration_seconds=round((finished - started).total_seconds(), 1),
                notebooks=[_notebook_status(item) for item in results],
                failed=[{"name": item.name, "pack": item.pack.value if item.pack else None, "error": item.error}
                        for item in results if not item.ok],
                notes=notes,
            )
            previous = trends.previous_run(folder_of_runs, status, run_dir)
            context = pages.RunPage(
                run_name=run_dir.name, started=started, data_name=Path(data_label or data_dir).name,
                playbook=str(config_path) if config_path else "default playbook", period=period_label,
                warnings=[finding.message for finding in findings if finding.severity == "warning"],
                currency=dataset.playbook.currency, notes=notes, plan=plan_name,
                comparison=trends.compare(status, previous),
            )
            pages.write_run_pages(result, context)
            _write_log(result.log_path, result, started=started, finished=finished, data_dir=data_dir or data_label,
                       config_path=config_path, period_label=period_label, notebooks_dir=notebooks_dir,
                       findings=findings, jobs=jobs, notes=notes)
            # Only a finished, fully successful run of the complete set, in the reports folder, becomes latest.
            status.update(state=runs.FINISHED, latest=out is None and result.ok and complete_set)
            runs.write_json(status_path, status)  # the run's last word: from here on it is finished
        except (RunInterrupted, RunWriteError) as stop:
            status.update(state=runs.ABORTED, stopped_by=str(stop.__class__.__name__))
            with contextlib.suppress(OSError, SalesnbError):
                runs.write_json(status_path, status)
            if isinstance(stop, RunInterrupted):
                target = runs.latest_target(reports_dir)
                raise RunInterrupted(
                    f"Interrupted ({stop}): every notebook was stopped. The run folder {run_dir} is marked incomplete"
                    + (f"; reports/latest still points at {target.name}." if target and out is None else "."),
                    stop.exit_code) from None
            if stop.run_dir is not None:
                raise
            raise RunWriteError(stop.path, stop.error, run_dir) from None
        if status["latest"]:
            update_latest(reports_dir, run_dir)
            result.latest_updated = True
        if out is None:
            result.removed_runs = runs.apply_retention(reports_dir, keep, current=run_dir)
            for removed in result.removed_runs:
                progress.say(f"salesnb: deleted old run {removed.name} (keep {keep})")
    summary = "all ok" if result.ok else f"{sum(not item.ok for item in results)} failed"
    progress.say(f"salesnb: {len(results)} notebook(s), {summary}.")
    return result
