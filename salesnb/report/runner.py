"""The one runner: validate the data, execute every report notebook, render shareable HTML.

A run is an immutable product of (notebooks, parameters, data). It writes one folder::

    reports/2026-11-27T14-05-03/
        00_data_health.ipynb   executed notebook, the record of the run
        00_data_health.html    the shareable report (no code, images inlined, works offline)
        ...
        index.html             every report with its status, duration and headline KPIs
        metrics.json           notebook name -> the KPIs it recorded (salesnb.report.kpis.record)
        run.log                what ran, with which parameters, how long, errors, data findings

``reports/latest`` is moved to the new folder only once the whole run has finished and
every notebook succeeded, so it always points at a complete, good run.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import os
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import salesnb
from salesnb.errors import SalesnbError
from salesnb.report.kpis import KPI_OUTPUT_TAG, read_findings, read_headline, read_recorded

PROJECT_ROOT = Path(salesnb.__file__).resolve().parents[1]
# Looked up at call time (not bound as argument defaults) so tests can point them elsewhere.
DEFAULT_NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DEFAULT_REPORTS_DIR = PROJECT_ROOT / "reports"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
REPORT_TEMPLATE = "salesnb_report"
LATEST_LINK = "latest"
KERNEL_NAME = "python3"
# Cells papermill and the notebook author tag as parameters: literals, nothing to show.
PARAMETER_CELL_TAGS = {"parameters", "injected-parameters"}


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

    @property
    def ok(self) -> bool:
        """True when every notebook succeeded."""
        return all(result.ok for result in self.results)

    @property
    def metrics(self) -> dict:
        return {result.name: result.kpis for result in self.results}

    def result(self, name: str) -> NotebookResult:
        for result in self.results:
            if result.name == name:
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


# ----------------------------------------------------------------------------- run folder


def _timestamp(now: dt.datetime) -> str:
    return now.strftime("%Y-%m-%dT%H-%M-%S")


def _new_run_dir(reports_dir: Path, now: dt.datetime) -> Path:
    """``reports/<timestamp>``, with a suffix when two runs start in the same second."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    base = _timestamp(now)
    for attempt in range(1, 1000):
        candidate = reports_dir / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            candidate.mkdir()  # atomic: two runners never share a folder
            return candidate
        except FileExistsError:
            continue
    raise SalesnbError(f"Could not create a new run folder in {reports_dir}; clean out old runs.")


def _prepare_out_dir(out: Path) -> Path:
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise SalesnbError(f"--out {out} is a file; give a folder for the run.")
    if out.is_dir() and any(out.iterdir()):
        # A run folder is the record of one run: never mix two runs' files.
        raise SalesnbError(f"--out {out} is not empty; give a new or empty folder (runs are never overwritten).")
    out.mkdir(parents=True, exist_ok=True)
    return out


def update_latest(reports_dir: Path, run_dir: Path) -> Path:
    """Point ``reports_dir/latest`` at ``run_dir`` (a relative link), atomically."""
    link = reports_dir / LATEST_LINK
    temporary = reports_dir / f".{LATEST_LINK}-{os.getpid()}-{threading.get_ident()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    target = os.path.relpath(run_dir.resolve(), reports_dir.resolve())
    temporary.symlink_to(target, target_is_directory=True)
    # os.replace renames over the old link in one step: readers never see it missing.
    os.replace(temporary, link)
    return link


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
        "salesnb_run_note": run_note,
    }
    with _EXPORT_LOCK:
        body, _ = _html_exporter().from_notebook_node(notebook, resources=resources)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def _error_page(html_path: Path, name: str, error_name: str, error_message: str) -> Path:
    """A page for a notebook that left no executed notebook to render (e.g. the kernel died)."""
    html_path.write_text(
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(name)} · salesnb (failed)</title></head>"
        "<body style='font-family:sans-serif;max-width:900px;margin:2em auto;'>"
        f"<h1>{html.escape(name)}</h1><p><a href='index.html'>&larr; All reports of this run</a></p>"
        "<div style='background:#fef2f2;border-left:4px solid #b91c1c;padding:8px 12px;'>"
        f"<strong>{html.escape(error_name)}</strong>: <pre style='white-space:pre-wrap'>{html.escape(error_message)}</pre>"
        "</div></body></html>\n",
        encoding="utf-8",
    )
    return html_path


# ----------------------------------------------------------------------------- KPI formatting


# KPI names that hold money; shown with the playbook's currency symbol in the index.
CURRENCY_WORDS = ("amount", "cost", "spend", "velocity", "revenue", "pipeline_value", "quota")


def format_kpi(name: str, value, currency: str | None = None) -> str:
    """A KPI as index text: rates and shares as percents, money with the currency symbol,
    other numbers with thousands separators."""
    from salesnb.data.formats import format_value

    if isinstance(value, dict):
        return f"{len(value)} value" + ("" if len(value) == 1 else "s")
    if value is None:
        return "–"
    lowered = name.lower()
    if "rate" in lowered or "share" in lowered:
        return f"{value:.1%}"
    if currency and any(word in lowered for word in CURRENCY_WORDS):
        return format_value(value, "currency", currency)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def headline_tiles(headline: dict) -> list[tuple[str, str]]:
    """(label, formatted value) of each tile a report recorded with ``kpis.headline``, in its order."""
    from salesnb.data.formats import format_value

    currency = headline.get("currency") or "USD"
    return [(tile["label"], format_value(tile["value"], tile["kind"], currency)) for tile in headline.get("tiles", [])]


def headline_kpis(kpis: dict, currency: str | None = None) -> list[tuple[str, str]]:
    """(label, formatted value) for each KPI, scalars first, each group in name order: for a
    notebook that records KPIs but no headline tiles."""
    scalars = [(name, format_kpi(name, value, currency)) for name, value in sorted(kpis.items()) if not isinstance(value, dict)]
    maps = [(name, format_kpi(name, value)) for name, value in sorted(kpis.items()) if isinstance(value, dict)]
    return [(name.replace("_", " "), text) for name, text in scalars + maps]


def write_index(result: RunResult, index_path: Path, *, started: dt.datetime, data_dir: Path,
                config_path: Path | None, period_label: str, findings: list, currency: str | None = None) -> Path:
    """``index.html``: the run's table of contents, rendered with autoescaping on."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        # Notebook names, KPI names and error messages can carry CRM text: escape everything.
        autoescape=select_autoescape(default=True, default_for_string=True),
        keep_trailing_newline=True,
    )
    template = environment.get_template("index.html.j2")
    reports = []
    for item in result.results:
        reports.append({
            "name": item.name,
            "title": item.title or item.name.replace("_", " "),
            "href": item.html_path.name if item.html_path else None,
            "status": item.status,
            "error_name": item.error_name,
            "error_message": item.error_message,
            "duration": f"{item.duration:.1f} s",
            "kpis": headline_tiles(item.headline) if item.headline else headline_kpis(item.kpis, currency),
        })
    page = template.render(
        title="salesnb reports",
        run_time=started.strftime("%d %b %Y %H:%M:%S"),
        run_name=result.run_dir.name,
        # The folder's name only: the page is forwarded, and a server path is nobody's business.
        data_dir=Path(data_dir).name,
        config_path=str(config_path) if config_path else "default playbook",
        period=period_label,
        ok=result.ok,
        failed_count=sum(1 for item in result.results if not item.ok),
        reports=reports,
        warnings=[finding.message for finding in findings if finding.severity == "warning"],
        version=salesnb.__version__,
    )
    index_path.write_text(page, encoding="utf-8")
    return index_path


def write_metrics(result: RunResult, metrics_path: Path) -> Path:
    """``metrics.json``: name -> recorded KPIs; sorted keys so equal runs give equal files."""
    metrics_path.write_text(json.dumps(result.metrics, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                            encoding="utf-8")
    return metrics_path


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

    def started(self, name: str) -> None:
        with self.lock:
            self.console.print(f"running {name} ...", style="dim", markup=False)

    def finished(self, result: NotebookResult) -> None:
        with self.lock:
            self.done += 1
            line = f"[{self.done}/{self.total}] {result.name} ... {result.status} ({result.duration:.1f} s)"
            if result.error:
                line += f"\n      {result.error.splitlines()[0] if result.error.splitlines() else result.error}"
            self.console.print(line, style="green" if result.ok else "bold red", markup=False)


def _execute_one(input_path: Path, run_dir: Path, parameters: dict, notebooks_dir: Path,
                 progress: _Progress, run_note: str) -> NotebookResult:
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    result = NotebookResult(name=input_path.stem)
    result.notebook_path = run_dir / f"{input_path.stem}.ipynb"
    result.html_path = run_dir / f"{input_path.stem}.html"
    progress.started(result.name)
    began = time.monotonic()
    try:
        papermill.execute_notebook(
            str(input_path), str(result.notebook_path), parameters=parameters,
            cwd=str(notebooks_dir), kernel_name=KERNEL_NAME, progress_bar=False,
        )
        result.status = "ok"
    except PapermillExecutionError as error:
        result.status = "failed"
        result.error_name, result.error_message = error.ename, str(error.evalue)
    except Exception as error:  # kernel died, notebook unreadable...: fail this one, run the rest
        result.status = "failed"
        result.error_name, result.error_message = type(error).__name__, str(error)
    result.duration = time.monotonic() - began

    if result.notebook_path.is_file():
        try:
            executed = nbformat.read(str(result.notebook_path), as_version=4)
            result.kpis = read_recorded(executed)
            result.headline = read_headline(executed)
            result.findings = read_findings(executed)
            result.title = notebook_title(executed, result.name)
            render_html(result.notebook_path, result.html_path, result.name, run_note=run_note,
                        base_dir=notebooks_dir)
        except Exception as error:
            if result.ok:
                result.status = "failed"
                result.error_name, result.error_message = type(error).__name__, f"rendering the report failed: {error}"
            _error_page(result.html_path, result.name, result.error_name or type(error).__name__,
                        (result.error_message or "") + "\n\n" + traceback.format_exc())
    else:
        _error_page(result.html_path, result.name, result.error_name or "Error", result.error_message or "")
    progress.finished(result)
    return result


def _write_log(log_path: Path, result: RunResult, *, started: dt.datetime, finished: dt.datetime,
               data_dir: Path, config_path: Path | None, period_label: str, notebooks_dir: Path,
               findings: list, jobs: int) -> Path:
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
        "parameters " + json.dumps(result.parameters, sort_keys=True),
        "",
        f"data findings: {len(findings)}",
    ]
    lines += [f"  {finding.severity.upper():8} {finding.message}" for finding in findings]
    lines += ["", "notebooks:"]
    for item in result.results:
        lines.append(f"  {item.name:30} {item.status:7} {item.duration:8.1f} s")
        if item.error:
            lines += [f"      {line}" for line in item.error.splitlines()]
    log_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return log_path


def run_reports(data_dir, config=None, period_start=None, period_end=None, only=None, out=None,
                jobs: int = 1, notebooks_dir=None, reports_dir=None) -> RunResult:
    """Validate the data, execute the report notebooks with papermill and render HTML.

    Parameters
    ----------
    data_dir : folder with the CRM tables (see docs/data-model.md).
    config : playbook YAML path, or None for the kit's default playbook.
    period_start, period_end : the reporting period as ``YYYY-MM-DD`` (None: each notebook's default,
        the twelve full months up to the data's snapshot date).
    only : notebook name(s) (file stems, e.g. ``02_conversion``) to run instead of all.
    out : the run folder; default ``<reports_dir>/<timestamp>``. With ``out`` the ``latest``
        link is left alone.
    jobs : notebooks to execute at once (each runs in its own kernel process).
    notebooks_dir : where the notebooks are (default: the project's ``notebooks/``).
    reports_dir : where default run folders go (default: the project's ``reports/``).

    Returns
    -------
    RunResult, whose ``ok`` is False when any notebook failed. Invalid data raises
    :class:`salesnb.errors.DataValidationError` before anything runs.
    """
    from salesnb.data.dataset import open_dataset
    from salesnb.data.periods import resolve_period

    notebooks_dir = Path(notebooks_dir or DEFAULT_NOTEBOOKS_DIR).expanduser().resolve()
    reports_dir = Path(reports_dir or DEFAULT_REPORTS_DIR).expanduser().resolve()
    if jobs < 1:
        raise SalesnbError(f"--jobs must be 1 or more, not {jobs}.")
    inputs = find_notebooks(notebooks_dir, only)

    # Validate first: bad data stops the run before any kernel starts (and warms the cache).
    data_dir = Path(data_dir).expanduser().resolve()
    config_path = Path(config).expanduser().resolve() if config is not None else None
    dataset = open_dataset(data_dir, config_path)
    period = resolve_period(period_start, period_end, dataset.as_of)
    period_label = period.label() + ("" if period_start or period_end else " (default)")
    findings = list(dataset.findings)

    # JSON-native values only: papermill writes them into the notebook as literals.
    parameters = {
        "data_dir": str(data_dir),
        "config_path": str(config_path) if config_path else None,
        "period_start": str(period_start) if period_start else None,
        "period_end": str(period_end) if period_end else None,
    }

    started = dt.datetime.now()
    run_dir = _prepare_out_dir(Path(out)) if out is not None else _new_run_dir(reports_dir, started)
    run_note = f"run {run_dir.name} · period {period_label}"
    progress = _Progress(len(inputs))
    progress.console.print(f"salesnb: running {len(inputs)} notebook(s) into {run_dir}", markup=False)

    def execute(path: Path) -> NotebookResult:
        return _execute_one(path, run_dir, parameters, notebooks_dir, progress, run_note)

    if jobs == 1:
        results = [execute(path) for path in inputs]
    else:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="salesnb-run") as pool:
            results = list(pool.map(execute, inputs))  # map keeps the notebooks' order

    result = RunResult(
        run_dir=run_dir, index_path=run_dir / "index.html", metrics_path=run_dir / "metrics.json",
        log_path=run_dir / "run.log", results=results, parameters=parameters,
    )
    write_metrics(result, result.metrics_path)
    write_index(result, result.index_path, started=started, data_dir=data_dir, config_path=config_path,
                period_label=period_label, findings=findings, currency=dataset.playbook.currency)
    _write_log(result.log_path, result, started=started, finished=dt.datetime.now(), data_dir=data_dir,
               config_path=config_path, period_label=period_label, notebooks_dir=notebooks_dir,
               findings=findings, jobs=jobs)
    # Only a complete, fully successful default-location run becomes "latest".
    if out is None and result.ok:
        update_latest(reports_dir, run_dir)
        result.latest_updated = True
    summary = "all ok" if result.ok else f"{sum(not item.ok for item in results)} failed"
    progress.console.print(f"salesnb: {len(results)} notebook(s), {summary}.", markup=False)
    return result
