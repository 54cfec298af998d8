"""Charts: the scatter's point names never overlap (issue 23: Camille Novak, Yuki Moreau and
Priya Lefèvre were printed over each other); every chart lies inside its figure, however long
its title and axis labels (issue 22: three charts of the sample run reached past theirs)."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pandas as pd
import pytest

from salesnb.report import plots


def _boxes(figure):
    renderer = figure.canvas.get_renderer()
    return {text.get_text(): text.get_window_extent(renderer=renderer) for text in figure.axes[0].texts}


def test_scatter_names_never_overlap():
    # Three reps within a hair of each other (as in 04_productivity's sample) and others around.
    frame = pd.DataFrame({
        "rep_name": ["Camille Novak", "Yuki Moreau", "Priya Lefèvre", "Léa O'Connor", "José Álvarez", "Mei Cohen"],
        "activities_per_rep_week": [9.4, 9.3, 10.9, 7.8, 61.0, 35.3],
        "win_rate": [0.18, 0.172, 0.175, 0.09, 0.315, 0.245],
    })
    figure = plots.scatter_figure(frame, "activities_per_rep_week", "win_rate", "rep_name", title="t", xlabel="x",
                                  ylabel="y", x_kind="number")
    boxes = _boxes(figure)
    assert set(boxes) == set(frame["rep_name"])  # here every name finds a place
    assert not [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2) if box_a.overlaps(box_b)]
    # The same data gives the same picture.
    again = plots.scatter_figure(frame, "activities_per_rep_week", "win_rate", "rep_name", title="t", xlabel="x",
                                 ylabel="y", x_kind="number")
    assert {name: tuple(box.bounds) for name, box in _boxes(again).items()} == \
        {name: tuple(box.bounds) for name, box in boxes.items()}


def test_names_that_cannot_be_placed_apart_are_left_out():
    # Twelve reps at the very same point: at most a few names fit around it; none overlaps.
    frame = pd.DataFrame({"rep_name": [f"Rep number {index}" for index in range(12)], "x": [5.0] * 12, "y": [0.2] * 12})
    figure = plots.scatter_figure(frame, "x", "y", "rep_name", title="t", xlabel="x", ylabel="y")
    boxes = list(_boxes(figure).values())
    assert boxes and not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def _points_kept_clear_of(monkeypatch, frame: pd.DataFrame) -> set[tuple[float, float]]:
    """The (x, y) points scatter_figure asks adjustText to keep the names clear of."""
    seen = {}

    def record(texts, x=None, y=None, **options):
        seen["points"] = set(zip(np.asarray(x).tolist(), np.asarray(y).tolist()))

    monkeypatch.setattr(plots, "adjust_text", record)
    plots.scatter_figure(frame, "x", "y", "rep_name", title="t", xlabel="x", ylabel="y", x_kind="number")
    plots.plt.close("all")
    return seen["points"]


def test_names_keep_clear_of_every_point_of_a_team(monkeypatch):
    rng, reps = np.random.default_rng(7), plots.MAX_LABEL_OBSTACLES
    frame = pd.DataFrame({"rep_name": [f"Rep {index}" for index in range(reps)],
                          "x": rng.gamma(5, 4, reps), "y": rng.beta(3, 7, reps)})
    assert _points_kept_clear_of(monkeypatch, frame) == set(zip(frame["x"], frame["y"]))


def test_names_of_a_large_sales_force_keep_clear_of_the_outlying_points_only(monkeypatch):
    # 1,000 reps in a dense middle (10 to 20 activities a week, 20 to 40% won) and 30 far out,
    # on a ring around it. Naming 1,800 reps' chart took 20 s when the names were kept clear of
    # every point; the names sit at the outlying points, so those are the ones kept clear of.
    rng = np.random.default_rng(7)
    middle = pd.DataFrame({"x": rng.uniform(10, 20, 1000), "y": rng.uniform(0.2, 0.4, 1000)})
    angles = np.linspace(0, 2 * np.pi, 30, endpoint=False)
    ring = pd.DataFrame({"x": 15 + 12 * np.cos(angles), "y": 0.3 + 0.25 * np.sin(angles)})
    frame = pd.concat([middle, ring], ignore_index=True)
    frame["rep_name"] = [f"Rep {index}" for index in range(len(frame))]
    kept_clear_of = _points_kept_clear_of(monkeypatch, frame)
    assert len(kept_clear_of) == plots.MAX_LABEL_OBSTACLES
    assert set(zip(ring["x"], ring["y"])) <= kept_clear_of  # every outlying point, named or not
    # The others are the middle's points furthest from its centre, never one near it.
    middle_kept = [(x, y) for x, y in kept_clear_of if 10 <= x <= 20 and 0.2 <= y <= 0.4]
    assert len(middle_kept) == plots.MAX_LABEL_OBSTACLES - 30
    assert not [(x, y) for x, y in middle_kept if abs(x - 15) < 1 and abs(y - 0.3) < 0.02]


@pytest.fixture
def drawn(monkeypatch):
    """Figures that plots.finish would show, kept for inspection."""
    matplotlib.use("Agg", force=True)
    figures, close = [], plots.plt.close
    monkeypatch.setattr(plots.plt, "show", lambda: figures.append(plots.plt.gcf()))
    monkeypatch.setattr(plots.plt, "close", lambda figure=None: None)
    yield figures
    for figure in figures:
        close(figure)


def _outside(figure) -> dict[str, float]:
    """How far (pixels) everything drawn reaches past each edge of the figure; 0 inside."""
    box = figure.get_tightbbox(figure.canvas.get_renderer()).transformed(figure.dpi_scale_trans)
    return {"left": max(0.0, -box.x0), "bottom": max(0.0, -box.y0), "right": max(0.0, box.x1 - figure.bbox.width),
            "top": max(0.0, box.y1 - figure.bbox.height)}


# 06_plan's two titles that reached 0.32 and 0.42 in past the right edge, and 01's y-axis label,
# which reached 0.26 in past the top of its four-inch chart.
LONG_TITLE = "Simulated gap, 01 Apr 2026 – 30 Jun 2026 (2,000 simulations of the open pipeline)"
LONGER_TITLE = "What each month's new deals win inside Apr–Jun 2026 (label: share of their value) " * 2
LONG_LABEL = "Share of leads reaching an opportunity (%)"

MONTHS = pd.date_range("2026-01-01", periods=6, freq="MS")
CHARTS = {
    "bar, vertical": lambda title, label: plots.bar_chart(
        pd.DataFrame({"bucket": ["< 1 h", "1–4 h", "4–24 h", "1–3 d", "> 3 d", "never answered"],
                      "rate": [0.23, 0.17, 0.2, 0.08, 0.11, 0.0]}), "bucket", "rate", title=title,
        category_label="First response", value_label=label, kind="percent", horizontal=False,
        labels=["23% (n=1,322)", "17% (n=1,270)", "20% (n=1,089)", "8% (n=300)", "11% (n=217)", "0% (n=473)"]),
    "bar, horizontal": lambda title, label: plots.bar_chart(
        pd.DataFrame({"rep": ["Ana", "Bo"], "open": [13, 2]}), "rep", "open", title=title, category_label=label,
        value_label="Open deals", labels=["13 open, team median 2.5 (overloaded)", "2 open"]),
    "line": lambda title, label: plots.line_chart(
        pd.DataFrame({"month": MONTHS, "won": [1, 3, 2, 5, 4, 6]}), "month", "won", title=title, xlabel="Month",
        ylabel=label),
    "interval": lambda title, label: plots.interval_chart(
        pd.DataFrame({"rep": ["Ana", "Bo"], "rate": [0.3, 0.2], "low": [0.2, 0.1], "high": [0.4, 0.3],
                      "team": [0.25, 0.25]}), "rep", "rate", "low", "high", title=title, category_label=label,
        value_label="Win rate (%)", reference="team", reference_label="Team rate"),
    "stacked": lambda title, label: plots.stacked_bar_chart(
        pd.DataFrame({"month": list(MONTHS) * 2, "source": ["Webinar"] * 6 + ["Referral"] * 6,
                      "leads": range(12)}), "month", "source", "leads", title=title, xlabel="Month", ylabel=label),
    "grouped": lambda title, label: plots.grouped_bar_chart(
        pd.DataFrame({"stage": ["Qualify", "Propose"], "a": [1, 2], "b": [2, 1]}), "stage", ["a", "b"], title=title,
        category_label="Stage", value_label=label),
    "waterfall": lambda title, label: plots.waterfall_chart(
        ["Start", "New", "Lost", "End"], [100.0, 40.0, -30.0, 110.0], title=title, value_label=label),
    "distribution": lambda title, label: plots.distribution_chart(
        np.linspace(-5e5, 5e5, 200), title=title, value_label=label, markers={"P10": -4e5, "P50": 0.0, "P90": 4e5}),
    "band": lambda title, label: plots.band_chart(
        pd.DataFrame({"period": ["Q1", "Q2"], "p10": [1.0, 2.0], "p50": [2.0, 3.0], "p90": [3.0, 4.0],
                      "actual": [2.5, 2.0]}), "period", "p10", "p50", "p90", points={"actual": "Actual"}, title=title,
        xlabel="Period", value_label=label, band_label="P10–P90"),
    "share curve": lambda title, label: plots.share_curve(
        pd.DataFrame({"x": [0.2, 0.5, 1.0], "y": [0.6, 0.9, 1.0]}), "x", "y", title=title, xlabel="Customers (%)",
        ylabel=label),
    "scatter": lambda title, label: plots.scatter_chart(
        pd.DataFrame({"rep": ["Ana", "Bo", "Cy"], "x": [1.0, 5.0, 9.0], "y": [0.1, 0.3, 0.2]}), "x", "y", "rep",
        title=title, xlabel="Activities per week", ylabel=label),
}


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize("title", [LONG_TITLE, LONGER_TITLE])
def test_every_chart_lies_inside_its_figure(drawn, chart, title):
    CHARTS[chart](title, LONG_LABEL)
    figure = drawn[-1]
    # Within a pixel: what reaches past the edge is cut off in a saved image.
    assert max(_outside(figure).values()) < 1.0, _outside(figure)
    # Wrapped at spaces, no word lost or cut.
    assert " ".join(figure.axes[0].get_title(loc="left").split()) == " ".join(title.split())


def test_a_title_and_a_label_too_long_are_wrapped_at_spaces(drawn):
    CHARTS["bar, vertical"](LONG_TITLE, LONG_LABEL)
    ax = drawn[-1].axes[0]
    title, label = ax.get_title(loc="left"), ax.get_ylabel()
    assert title.count("\n") == 1 and label.count("\n") == 1
    assert title.replace("\n", " ") == LONG_TITLE and label.replace("\n", " ") == LONG_LABEL


def test_texts_that_fit_are_left_as_written(drawn):
    CHARTS["bar, vertical"]("Opportunity rate", "Leads (%)")
    ax = drawn[-1].axes[0]
    assert (ax.get_title(loc="left"), ax.get_ylabel(), ax.get_xlabel()) == ("Opportunity rate", "Leads (%)",
                                                                              "First response")


@pytest.mark.filterwarnings("ignore:Tight layout not applied")
def test_a_single_word_too_long_is_left_whole(drawn):
    word = "x" * 200
    CHARTS["line"](word, "Won deals")
    assert drawn[-1].axes[0].get_title(loc="left") == word


def _tick_labels(axis) -> list[str]:
    axis.figure.canvas.draw()
    low, high = sorted(axis.get_view_interval())
    return [label.get_text() for label, value in zip(axis.get_ticklabels(), axis.get_ticklocs())
            if low - 1e-12 <= value <= high + 1e-12]


def test_percent_ticks_are_never_rounded_to_another_value(drawn):
    # 06_plan's simulated-gap chart: a 0 to 16% axis was ticked every 2.5% and labelled
    # "0%, 2%, 5%, 8%, 10%, 12%, 15%": three of its seven labels were wrong.
    figure, ax = plots.new_figure("t", "x", "y")
    ax.plot([0, 1], [0, 0.165])
    plots.percent_axis(ax, limit_to_one=False)
    assert _tick_labels(ax.yaxis) == ["0%", "5%", "10%", "15%"]
    # Ticks that are not whole percents keep the decimals they need.
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([0, 0.025, 0.05, 0.125]))
    assert _tick_labels(ax.yaxis) == ["0.0%", "2.5%", "5.0%", "12.5%"]
    ax.set_ylim(0, 0.004)
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=4, steps=[1, 2, 5, 10]))
    assert _tick_labels(ax.yaxis) == ["0.0%", "0.1%", "0.2%", "0.3%", "0.4%"]
    # Shares to 1: the usual 20% steps.
    figure, ax = plots.new_figure("t", "x", "y")
    ax.plot([0, 1], [0, 1])
    plots.percent_axis(ax)
    assert _tick_labels(ax.yaxis) == ["0%", "20%", "40%", "60%", "80%", "100%"]
