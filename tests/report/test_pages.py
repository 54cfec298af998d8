"""The run's summary page: what it says under each report's title (issue 23)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

from salesnb.report import pages
from salesnb.report.configuration import ReportPeriod

PERIOD = ReportPeriod(dt.date(2025, 1, 1), dt.date(2025, 12, 31), "01 Jan 2025 – 31 Dec 2025")
NEEDS = {"title": "This whole report", "sentences": [], "needs": True,
         "nothing_found": "This whole report needs the 'leads' table, which this dataset does not have."}


def _item(name, title, findings=(), headline=None):
    return SimpleNamespace(name=name, title=title, pack=None, headline=headline, kpis={}, findings=list(findings),
                           status="ok", ok=True, html_path=Path(f"{name}.html"), error_name=None, error_message=None,
                           duration=1.0, period=PERIOD)


def _summary(tmp_path, *items) -> str:
    result = SimpleNamespace(run_dir=tmp_path, packs=[], results=list(items))
    pages.write_run_pages(result, pages.RunPage(run_name="run", started=dt.datetime(2026, 1, 5, 6, 30),
                                                data_name="deals", playbook="default playbook",
                                                period=PERIOD.label, warnings=["w1", "w2"], currency="USD"))
    return (tmp_path / "summary.html").read_text()


def test_a_report_the_data_cannot_feed_says_what_it_needs(tmp_path):
    headline = {"currency": "USD", "tiles": [{"label": "Deals created", "value": 12, "kind": "count"}]}
    html = _summary(tmp_path, _item("01_lead_generation", "Lead generation", [NEEDS]),
                    _item("02_conversion", "Conversion", [NEEDS | {"title": "Time in stage"}], headline),
                    _item("04_productivity", "People"))
    lead, conversion, people = html.split('<section class="report">')[1:]
    assert "This whole report needs the &#39;leads&#39; table" in lead
    # A report with tiles shows them; what a section of it lacks is on its own page.
    assert "Deals created" in conversion and "needs" not in conversion
    assert "recorded no headline numbers or findings" in people
    # Plurals as people write them; the page's printed head names the period.
    assert "2 data quality warnings" in html and "warning(s)" not in html
    assert '@top-left { content: "Summary · 01 Jan 2025 – 31 Dec 2025";' in html


def test_the_summary_prints_the_strongest_findings_and_says_how_many_more(tmp_path):
    # Six findings: all six on screen, the first three in print and "and 3 more in the report".
    sentences = [f"Finding {number}." for number in range(1, 7)]
    group = {"title": "6 findings", "sentences": sentences, "nothing_found": "Nothing moved."}
    short = {"title": "2 findings", "sentences": sentences[:2], "nothing_found": "Nothing moved."}
    html = _summary(tmp_path, _item("03_pipeline_review", "Pipeline review", [group]),
                    _item("02_conversion", "Conversion", [short]))
    review, conversion = html.split('<section class="report">')[1:]
    assert all(f"Finding {number}." in review for number in range(1, 7))
    assert review.count('class="screen-only"') == 3 and '<li class="screen-only">Finding 4.' in review
    assert '<li class="print-only">and 3 more in the report</li>' in review
    assert "screen-only" not in conversion and "print-only" not in conversion
    assert ".screen-only { display: none; }" in html and ".print-only { display: none; }" in html
