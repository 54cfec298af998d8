"""Charts: the scatter's point names never overlap (issue 23: Camille Novak, Yuki Moreau and
Priya Lefèvre were printed over each other)."""

from __future__ import annotations

import itertools

import pandas as pd

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
