"""The run's own pages: ``index.html`` (every report, its tiles and trends since the last
run), ``summary.html`` (findings and tiles of every report on one page) and ``metrics.json``.

Rendered with Jinja2 with autoescaping on: report titles, pack values, error messages and
findings carry CRM text. Every page is self-contained (inline CSS, no script, nothing from
the network) and shares one print stylesheet (``templates/print.css``) with the reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import salesnb
from salesnb.report import trends
from salesnb.report.display import css_string
from salesnb.report.runs import write_json, write_text

# Findings per report group the summary prints (the rest say "and N more in the report"): the
# strongest come first, and eight reports then fit two A4 or Letter pages (tests/browser).
PRINTED_FINDINGS = 3

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def print_css() -> str:
    """The print stylesheet every page of a run uses (reports, index, summary)."""
    return (TEMPLATES_DIR / "print.css").read_text(encoding="utf-8")


def format_kpi(name: str, value, currency: str | None = None) -> str:
    """A recorded KPI as index text, in the unit the catalogue of metrics declares for it
    (a map of values is "N values"; an undeclared name is written as a plain number)."""
    from salesnb.data.formats import format_value
    from salesnb.metrics import catalogue

    if isinstance(value, dict):
        return f"{len(value)} value" + ("" if len(value) == 1 else "s")
    if value is None:
        return "–"
    unit = catalogue.unit_of(name, default="number")
    return format_value(value, unit, currency or "USD")


def headline_tiles(headline: dict) -> list[tuple[str, str]]:
    """(label, formatted value) of each tile a report recorded with ``kpis.headline``, in its order."""
    from salesnb.data.formats import tile_value

    currency = headline.get("currency") or "USD"
    return [(tile["label"], tile_value(tile["value"], tile["kind"], currency)) for tile in headline.get("tiles", [])]


def headline_kpis(kpis: dict, currency: str | None = None) -> list[tuple[str, str]]:
    """(label, formatted value) for each KPI, scalars first, each group in name order: for a
    notebook that records KPIs but no headline tiles."""
    scalars = [(name, format_kpi(name, value, currency)) for name, value in sorted(kpis.items()) if not isinstance(value, dict)]
    maps = [(name, format_kpi(name, value)) for name, value in sorted(kpis.items()) if isinstance(value, dict)]
    from salesnb.metrics import catalogue

    return [(catalogue.label_of(name), text) for name, text in scalars + maps]


@dataclass
class RunPage:
    """What the index and summary say about the run as a whole."""

    run_name: str
    started: dt.datetime
    data_name: str  # the data folder's name only: the pages are forwarded
    playbook: str  # the playbook file's name only, for the same reason
    period: str  # the run's period(s), as status.json states them
    warnings: list[str]
    currency: str
    notes: list[str] = field(default_factory=list)
    plan: str | None = None
    comparison: trends.Comparison = field(default_factory=trends.Comparison)


@lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment of the run's pages (templates/), autoescaping everything."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        # Titles, pack values, error messages and findings can carry CRM text: escape everything.
        autoescape=select_autoescape(default=True, default_for_string=True),
        keep_trailing_newline=True,
    )


def period_text(results) -> str:
    """The period the reports cover: one label, or the most common one and each other report's own
    (the pipeline review covers the open fiscal quarter, the others the last twelve months)."""
    from salesnb.report.configuration import run_period

    _, text = run_period([(item.title or item.name, item.period) for item in results if item.period is not None])
    return text


def main_period(results) -> str:
    """The dates most of the reports cover, for the head of a printed page ("01 Jan 2025 – 31 Dec 2025")."""
    from salesnb.report.configuration import run_period

    main, _ = run_period([(item.title or item.name, item.period) for item in results if item.period is not None])
    if main is None:
        return ""
    if main.start is None or main.end is None:  # data without dates: "all rows (the data has no dates)"
        return main.label
    return f"{main.start:%d %b %Y} – {main.end:%d %b %Y}"


def _report_rows(results, page: RunPage, folder: str) -> list[dict]:
    rows = []
    several_periods = len({item.period for item in results}) > 1
    for item in results:
        tiles = []
        if item.headline:
            for label, value in headline_tiles(item.headline):
                trend = page.comparison.trend(folder, item.name, label)
                tiles.append({"label": label, "value": value, "trend": trend.text if trend else "",
                              "previous": trend.previous if trend else "", "direction": trend.direction if trend else ""})
        else:
            tiles = [{"label": label, "value": value, "trend": "", "previous": "", "direction": ""}
                     for label, value in headline_kpis(item.kpis, page.currency)]
        findings = [group for group in item.findings if not group.get("needs")]
        needs = [group["nothing_found"] for group in item.findings if group.get("needs")]
        rows.append({
            "name": item.name,
            "title": item.title or item.name.replace("_", " "),
            "href": item.html_path.name if item.html_path else None,
            "status": item.status,
            "error_name": item.error_name,
            "error_message": item.error_message,
            "duration": f"{item.duration:.1f} s",
            "tiles": tiles,
            "findings": findings,
            # What the data lacks, said under the title when the report has no tile or finding to show.
            "needs": needs if not tiles and not findings else [],
            "period": item.period.label if several_periods and item.period is not None else None,
        })
    return rows


def write_run_pages(result, page: RunPage) -> None:
    """metrics.json, index.html and summary.html for the run folder and each pack's folder."""
    templates = environment()
    groups = [(None, "", result.run_dir)] + [(pack, pack.folder, result.run_dir / pack.folder) for pack in result.packs]
    pack_rows = []
    for pack in result.packs:
        members = [item for item in result.results if item.pack == pack]
        pack_rows.append({"label": pack.value, "filter": pack.filter, "nothing_to_review": pack.nothing_to_review,
                          "href": None if pack.nothing_to_review else f"{pack.folder}/index.html",
                          "summary": None if pack.nothing_to_review else f"{pack.folder}/summary.html",
                          "ok": all(item.ok for item in members),
                          "failed": sum(not item.ok for item in members), "count": len(members)})
    groups = [(pack, folder, target) for pack, folder, target in groups if pack is None or not pack.nothing_to_review]
    for pack, folder, target in groups:
        members = [item for item in result.results if item.pack == pack]
        write_json(target / "metrics.json", {item.name: item.kpis for item in members})
        common = dict(
            title="salesnb reports" if pack is None else f"salesnb reports · {pack.filter} {pack.value}",
            run_time=page.started.strftime("%d %b %Y %H:%M"), run_name=page.run_name, data_dir=page.data_name,
            config_path=page.playbook, period=period_text(members) or page.period, plan=page.plan, pack=pack,
            up_link="../index.html" if pack is not None else None,
            reports=_report_rows(members, page, folder), warnings=page.warnings,
            notes=page.notes if pack is None else [], comparison=page.comparison,
            moves=page.comparison.biggest_moves(folder if pack is not None else None),
            ok=all(item.ok for item in members), failed_count=sum(not item.ok for item in members),
            print_css=print_css(), version=salesnb.__version__,
        )
        write_text(target / "index.html", templates.get_template("index.html.j2").render(
            packs=pack_rows if pack is None else [], **common))
        write_text(target / "summary.html", templates.get_template("summary.html.j2").render(
            print_heading=css_string(" · ".join(["Summary", *([f"{pack.filter} {pack.value}"] if pack else []),
                                                 main_period(members) or page.period])),
            print_findings=PRINTED_FINDINGS, **common))
