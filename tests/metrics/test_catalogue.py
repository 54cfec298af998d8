"""The catalogue of metrics: one entry per number, each documented where the formulas are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesnb.metrics import catalogue
from salesnb.metrics.catalogue import CatalogueError, Measure

METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_every_quantity_is_documented_in_docs_metrics():
    text = METRICS_DOC.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', text))
    problems = []
    for entry in catalogue.entries():
        if not entry.is_quantity:
            continue
        if entry.section not in anchors:
            problems.append(f"{entry.name}: section {entry.section!r} has no <a id=...> anchor in docs/metrics.md")
        if f"`{entry.name}`" not in text:
            problems.append(f"{entry.name}: not named (as `{entry.name}`) in docs/metrics.md")
    assert problems == []


def test_labels_units_and_patterns():
    assert catalogue.measure("won_amount").unit == "currency"
    assert catalogue.label_of("won_amount") == "Won amount"
    assert catalogue.label_of("not_declared_here") == "Not declared here"
    previous = catalogue.measure("won_amount_previous")  # a measure in the period before
    assert (previous.label, previous.unit) == ("Won amount, previous period", "currency")
    assert catalogue.lookup("nothing_previous") is None
    pattern = Measure("*_per_test_week", "{} per week", "number", "A pattern.", section="deals-and-outcomes")
    assert pattern.for_name("calls_per_test_week").label == "Calls per week"


def test_a_name_means_one_thing_everywhere():
    catalogue.declare(Measure("won", "Won", "count", "Deals won (closed in a won stage) in the period.",
                              section="deals-and-outcomes", higher_is_better=True))  # the same again: harmless
    with pytest.raises(CatalogueError, match="declared twice"):
        catalogue.declare(Measure("won", "Won deals", "count", "Something else.", section="deals-and-outcomes"))
    with pytest.raises(CatalogueError, match="needs the docs/metrics.md section"):
        Measure("x_rate", "X rate", "percent", "No section.")
    with pytest.raises(CatalogueError, match="not in the catalogue"):
        catalogue.measure("no_such_metric_anywhere")
