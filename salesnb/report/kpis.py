"""Recording a notebook's headline numbers (KPIs) so the runner can collect them.

A notebook calls :func:`record` with numbers or maps of key to number. The values are
written into the notebook's output as a display item of the ``KPI_MIME_TYPE`` media
type; the runner reads them back from the executed notebook into ``metrics.json``, and
the HTML export drops that output (it is tagged ``KPI_OUTPUT_TAG``). Interactively in
JupyterLab the item shows nothing.
"""

from __future__ import annotations

import math
from numbers import Number

KPI_MIME_TYPE = "application/vnd.salesnb.report.kpis+json"
KPI_OUTPUT_TAG = "salesnb-kpis"


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
    from IPython.display import display

    cleaned = clean(values)
    display({KPI_MIME_TYPE: cleaned, "text/plain": ""}, raw=True, metadata={"tags": [KPI_OUTPUT_TAG]})


def read_recorded(notebook) -> dict:
    """KPIs recorded in an executed notebook (an ``nbformat`` node or a path), merged in order."""
    import nbformat

    if not hasattr(notebook, "cells"):
        notebook = nbformat.read(str(notebook), as_version=4)
    recorded: dict = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if KPI_MIME_TYPE in data:
                recorded.update(data[KPI_MIME_TYPE])
    return recorded
