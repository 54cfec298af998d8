"""docs/analysis.md lists every public metric as the code declares it: it cannot drift."""

from salesnb.report import reference


def test_docs_analysis_lists_every_public_metric_as_the_code_has_it():
    text = reference.DOCUMENT.read_text(encoding="utf-8")
    assert text == reference.with_reference(text), (
        "docs/analysis.md is out of date: run `.venv/bin/python -m salesnb.report.reference`")


def test_the_reference_names_each_metric_with_its_signature():
    generated = reference.api_reference()
    assert "### `salesnb.metrics.conversion`" in generated
    assert "- `win_rates(dataset, period=None, by=None, *, where)`: Win rate by count and by value" in generated
