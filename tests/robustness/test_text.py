"""Hostile text from the data: never drives the terminal, never runs in a report, never turns
into LaTeX, never makes a table or chart megabytes long."""

from __future__ import annotations

import re

import matplotlib
import nbformat
import pandas as pd
import pytest

from salesnb.report import display as show
from salesnb.report import plots, runner
from tests.robustness_fixtures import OPPORTUNITIES, assert_refused, replace_cell, validate, write_dataset

# Clear the screen, set the window title, ring the bell; an 8-bit CSI too.
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x9b31m"
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_control_characters_from_the_data_are_escaped_in_every_terminal_message(tmp_path):
    # Before: printed raw; the terminal cleared the screen and set its title.
    deals = replace_cell(OPPORTUNITIES, "O4", "stage", f"Evil{ESCAPES}")
    deals = replace_cell(deals, "O5", "opportunity_id", f"O5{ESCAPES}")
    outcome = validate(write_dataset(tmp_path, opportunities=deals))
    assert_refused(outcome, 1, "opportunities.stage", r"Evil\x1b[2J\x1b]0;pwned\x07\x9b31m")
    assert not RAW_CONTROL.search(outcome.text)


def test_control_characters_in_an_error_message_are_escaped(tmp_path):
    # A SalesnbError quoting a value: a stage name written with YAML escapes (\e is ESC, \a BEL).
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text('currency: USD\nstages: [{name: "A\\e[2J\\e]0;pwned\\a", probability: 2}]\n')
    outcome = validate(write_dataset(tmp_path / "data"), "--config", playbook)
    assert_refused(outcome, 2, "Playbook config", r"\x1b[2J")
    assert not RAW_CONTROL.search(outcome.text)


DOLLARS = "Cost per lead $1,457 on 222 leads is 16.3x the $89 of Webinar"


@pytest.mark.parametrize("output", [
    pytest.param(lambda: show.table(pd.DataFrame({"finding": [DOLLARS]})), id="table"),
    pytest.param(lambda: show.bullets([DOLLARS], title="Findings"), id="bullets"),
    pytest.param(lambda: show.notice(DOLLARS), id="notice"),
    pytest.param(lambda: show.left_out(2, 9, "deals", f"cost {DOLLARS}"), id="left-out"),
    pytest.param(lambda: show.kpi_tiles([("Cost $ per $ lead", 1457.0, "currency")]), id="tiles"),
    pytest.param(lambda: show.kit_html(f"<p>{show.text(DOLLARS)}</p>"), id="header"),
])
def test_html_outputs_keep_dollars_literal_in_jupyterlab(output):
    # Before: JupyterLab's MathJax typeset "$1,457 on 222 leads is 16.3x the $" as LaTeX.
    # JupyterLab 4 skips elements with class mathjax_ignore (its MathJax's ignoreHtmlClass);
    # tex2jax_ignore is the same for MathJax 2 (classic notebook, nbconvert).
    html = output().data
    assert html.startswith('<div class="mathjax_ignore tex2jax_ignore">') and html.endswith("</div>")


def test_long_text_is_cut_with_an_ellipsis_in_tables():
    # Before: a 100,000-character loss reason went into the table whole (a 3.4 MB report).
    reason = "Price " + "x" * 100_000
    html = show.table(pd.DataFrame({"reason": [reason, "Timing"], "deals": [3, 2]})).data
    assert len(html) < 5_000
    # 119 characters ("Price " and 113 x) and the ellipsis: MAX_TEXT_LENGTH = 120 in all.
    assert "Price " + "x" * 113 + "…</td>" in html and "Timing" in html


@pytest.fixture
def drawn(monkeypatch):
    """Figures that plots.finish would show, kept for inspection."""
    matplotlib.use("Agg", force=True)
    figures = []
    monkeypatch.setattr(plots.plt, "show", lambda: figures.append(plots.plt.gcf()))
    monkeypatch.setattr(plots.plt, "close", lambda figure=None: None)
    return figures


def test_long_labels_are_cut_in_charts_and_bars_stay_apart(drawn):
    long_reason = "No budget " + "y" * 100_000
    frame = pd.DataFrame({"reason": [long_reason, long_reason + "z", "Price"], "share": [0.5, 0.3, 0.2]})
    plots.bar_chart(frame, "reason", "share", title="Lost by reason", category_label="Reason",
                    value_label="Share of lost deals (%)", kind="percent")
    [figure] = drawn
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert max(map(len, labels)) == plots.MAX_LABEL_LENGTH and labels[0] == "Price"
    assert len(figure.axes[0].patches) == 3  # two reasons cut to the same text are two bars


def test_a_category_value_has_one_colour_in_every_chart(drawn):
    # Before: colours were dealt per chart, so Webinar was blue in one chart and orange in the next.
    plots.set_category_values({"source": ["Webinar", "Outbound", "Referral", "Event"]})
    months = pd.to_datetime(["2025-01-01", "2025-02-01"])
    volume = pd.DataFrame({"month": list(months) * 3, "source": ["Event"] * 2 + ["Outbound"] * 2 + ["Webinar"] * 2,
                           "leads": [1, 2, 3, 4, 5, 6]})
    pipeline = pd.DataFrame({"month": list(months), "source": ["Webinar", "Webinar"], "pipeline": [10.0, 20.0]})
    plots.stacked_bar_chart(volume, "month", "source", "leads", title="Leads", xlabel="Month", ylabel="Leads")
    plots.stacked_bar_chart(pipeline, "month", "source", "pipeline", title="Pipeline", xlabel="Month",
                            ylabel="Pipeline ($)", kind="currency")

    def colours(figure):
        legend = figure.axes[0].get_legend()
        return {text.get_text(): tuple(handle.get_facecolor()) for text, handle in
                zip(legend.get_texts(), legend.legend_handles)}

    first, second = (colours(figure) for figure in drawn)
    assert second["Webinar"] == first["Webinar"]
    # Sorted values of the data take the palette in turn: Event, Outbound, Referral, Webinar.
    palette = plots.sns.color_palette(plots.PALETTE)
    assert first["Webinar"][:3] == pytest.approx(palette[3]) and first["Event"][:3] == pytest.approx(palette[0])


def test_report_top_strip_is_in_the_report_font_not_serif(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title: a question")])
    path = tmp_path / "report.ipynb"
    nbformat.write(notebook, str(path))
    html = runner.render_html(path, tmp_path / "report.html", "report", run_note="run x · period y").read_text()
    [rule] = re.findall(r"\.salesnb-run-note \{[^}]*\}", html)
    assert "font-family" in rule and "sans-serif" in rule


def test_a_huge_value_is_cut_in_terminal_messages(tmp_path):
    deals = replace_cell(OPPORTUNITIES, "O4", "stage", "Verbal " + "y" * 100_000)
    outcome = validate(write_dataset(tmp_path, opportunities=deals))
    assert_refused(outcome, 1, "opportunities.stage", "'Verbal " + "y" * 72 + "…'")
    assert len(outcome.text) < 2_000
