"""Rendering a run's notebooks: one self-contained HTML page each, without code.

:func:`render_result` reads what an executed notebook recorded (KPIs, headline tiles,
findings, its title) into its :class:`~salesnb.report.executing.NotebookResult` and renders
the page with nbconvert (``templates/salesnb_report``: JupyterLab's look, nothing fetched
from the network, the parameters cell and the KPI records left out). A notebook that left
nothing to render (its kernel died) gets the error page, ``templates/error_page.html.j2``.
"""

from __future__ import annotations

import logging
import threading
import traceback
from pathlib import Path

from salesnb.data.playbook import skip_slow_optional_imports

# jsonschema (which nbformat imports to check notebooks) would build rfc3987_syntax's grammar
# (2-4 s per runner process) for a URL format check notebook files never use: before nbformat.
skip_slow_optional_imports()

from salesnb.report import pages  # noqa: E402
from salesnb.report.kpis import KPI_OUTPUT_TAG, read_findings, read_headline, read_recorded  # noqa: E402
from salesnb.report.runs import RunWriteError, write_text  # noqa: E402

TEMPLATES_DIR = pages.TEMPLATES_DIR
REPORT_TEMPLATE = "salesnb_report"
# Cells papermill and the notebook author tag as parameters: literals, nothing to show.
PARAMETER_CELL_TAGS = {"parameters", "injected-parameters"}

_QUIET_NBCONVERT_LOG = logging.getLogger("salesnb.report.rendering.nbconvert")
_QUIET_NBCONVERT_LOG.setLevel(logging.ERROR)
_EXPORT_LOCK = threading.Lock()  # nbconvert's exporters and template cache are not thread-safe


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


def _html_exporter():
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    # TagRemovePreprocessor is one of the exporter's default preprocessors, off until enabled.
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = PARAMETER_CELL_TAGS
    # The KPI display item is for metrics.json, not for readers.
    config.TagRemovePreprocessor.remove_single_output_tags = {KPI_OUTPUT_TAG}
    return HTMLExporter(
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


def error_page(html_path: Path, name: str, error_name: str, error_message: str) -> Path:
    """The page of a notebook that left no executed notebook to render (e.g. the kernel died)."""
    page = pages.environment().get_template("error_page.html.j2").render(
        name=name, error_name=error_name, error_message=error_message, print_css=pages.print_css())
    return write_text(html_path, page)


def render_result(result, job, *, run_note: str, run_dir: Path) -> None:
    """Read what the executed notebook recorded into ``result`` and render its page; a
    rendering failure fails the notebook (with its error page), a disk fault stops the run."""
    import nbformat

    if not result.notebook_path.is_file():
        error_page(result.html_path, result.name, result.error_name or "Error", result.error_message or "")
        return
    try:
        executed = nbformat.read(str(result.notebook_path), as_version=4)
        result.kpis = read_recorded(executed)
        result.headline = read_headline(executed)
        result.findings = read_findings(executed)
        result.title = notebook_title(executed, result.name)
        render_html(result.notebook_path, result.html_path, result.name, base_dir=job.path.parent,
                    run_note=run_note + (f" · {job.pack.label}" if job.pack else ""))
    except RunWriteError as error:
        raise RunWriteError(error.path, error.error, run_dir) from None
    except Exception as error:
        if result.ok:
            result.status = "failed"
            result.error_name, result.error_message = type(error).__name__, f"rendering the report failed: {error}"
        error_page(result.html_path, result.name, result.error_name or type(error).__name__,
                   (result.error_message or "") + "\n\n" + traceback.format_exc())
