"""Recording what a report found so the runner can collect it: KPIs, headline tiles, findings.

Three records, each written into the notebook's output as a display item of its own media
type and read back by the runner from the executed notebook. The HTML export drops these
items (they are tagged ``KPI_OUTPUT_TAG``); interactively in JupyterLab they show nothing.

- :func:`record`: numbers or maps of key to number, for ``metrics.json``;
- :func:`headline`: shows the report's headline tiles and records them (label, value,
  kind, previous value), so the run's index shows the same tiles, in the same order;
- :func:`findings`: shows the computed findings ("what moved most") and records the
  sentences for the run's one-page summary;
- :func:`needs`: records what a section of the report needs and the data lacks (a table),
  so that the summary says it under the report's title when the report has nothing else.
"""

from __future__ import annotations

import math
from numbers import Number

from salesnb.data.formats import plurals_written_out

KPI_MIME_TYPE = "application/vnd.salesnb.kpis+json"
KPI_OUTPUT_TAG = "salesnb-kpis"
HEADLINE_MIME_TYPE = "application/vnd.salesnb.headline+json"
FINDINGS_MIME_TYPE = "application/vnd.salesnb.findings+json"


def _clean_number(name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Number):
        try:
            value = float(value)  # numpy scalars
        except (TypeError, ValueError):
            raise TypeError(f"KPI {name!r} must be a number or a map of key to number, not {type(value).__name__}") from None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return None  # no data: JSON has no NaN
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def clean(values: dict) -> dict:
    """KPIs as JSON-native values: numbers (None where there is no data) or maps of str to number."""
    cleaned = {}
    for name, value in values.items():
        if isinstance(value, dict):
            cleaned[name] = {str(key): _clean_number(f"{name}[{key}]", item) for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))}
        elif hasattr(value, "to_dict") and not isinstance(value, Number):
            cleaned[name] = {str(key): _clean_number(f"{name}[{key}]", item) for key, item in sorted(value.to_dict().items(), key=lambda kv: str(kv[0]))}
        else:
            cleaned[name] = _clean_number(name, value)
    return cleaned


def record(**values) -> None:
    """Record KPIs for this notebook, e.g. ``record(win_rate=0.31, win_rate_by_rep={...})``.

    Returns None, so a cell ending with ``record(...)`` prints nothing into the report.
    """
    _record_output(KPI_MIME_TYPE, clean(values))


def _record_output(mime_type: str, payload) -> None:
    from IPython.display import display

    display({mime_type: payload, "text/plain": ""}, raw=True, metadata={"tags": [KPI_OUTPUT_TAG]})


def headline(tiles: list, currency: str = "USD") -> None:
    """Show the report's headline tiles and record them for the run's index and summary.

    ``tiles``: ``(name, value[, previous[, label]])``, ``name`` a catalogue entry
    (:mod:`salesnb.metrics.catalogue`), which gives the label, unit and direction
    (:func:`salesnb.report.display.tile_records`). A value of None or NaN is "not measured"
    and shows as "–".
    """
    from IPython.display import display

    from salesnb.report import display as show

    display(show.kpi_tiles(tiles, currency=currency))
    recorded = [{**tile, "value": _clean_number(tile["label"], tile["value"]),
                 "previous": _clean_number(tile["label"], tile["previous"])} for tile in show.tile_records(tiles)]
    _record_output(HEADLINE_MIME_TYPE, {"currency": currency, "tiles": recorded})


def findings(sentences: list[str], *, title: str, nothing_found: str) -> None:
    """Show computed findings as a bulleted list (or ``nothing_found`` when there are none)
    and record the sentences for the run's summary. Every sentence is escaped."""
    from IPython.display import display

    from salesnb.report import display as show

    sentences = [str(sentence) for sentence in sentences]
    title = plurals_written_out(title)  # "7 finding(s)" of earlier notebooks -> "7 findings"
    if sentences:
        display(show.bullets(sentences, title=title))
    else:
        display(show.notice(nothing_found, "info"))
    _record_output(FINDINGS_MIME_TYPE, {"title": title, "sentences": sentences, "nothing_found": nothing_found})


def needs(sentence: str, *, section: str) -> None:
    """Record (without showing: the notebook shows its own notice) that ``section`` of the
    report needs what the data lacks, e.g. "This whole report needs the 'leads' table ...".
    Recorded as a findings list of its own (``needs`` true, no sentences, the sentence as
    its ``nothing_found``), which the summary shows only when the report has no tiles or
    findings to show instead."""
    _record_output(FINDINGS_MIME_TYPE, {"title": section, "sentences": [], "nothing_found": str(sentence),
                                        "needs": True})


def _recorded(notebook, mime_type: str) -> list:
    """Every payload of ``mime_type`` in an executed notebook (an ``nbformat`` node or a path), in order."""
    import nbformat

    if not hasattr(notebook, "cells"):
        notebook = nbformat.read(str(notebook), as_version=4)
    return [output.get("data", {})[mime_type] for cell in notebook.cells for output in cell.get("outputs", [])
            if mime_type in output.get("data", {})]


def read_recorded(notebook) -> dict:
    """KPIs recorded in an executed notebook (an ``nbformat`` node or a path), merged in order."""
    recorded: dict = {}
    for payload in _recorded(notebook, KPI_MIME_TYPE):
        recorded.update(payload)
    return recorded


def read_headline(notebook) -> dict | None:
    """The headline tiles a notebook recorded (the last :func:`headline` call), or None."""
    payloads = _recorded(notebook, HEADLINE_MIME_TYPE)
    return payloads[-1] if payloads else None


def read_findings(notebook) -> list[dict]:
    """Every findings list a notebook recorded, in order."""
    return _recorded(notebook, FINDINGS_MIME_TYPE)
