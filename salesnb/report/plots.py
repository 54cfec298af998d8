"""The one plotting style: readable charts with labelled, formatted axes.

Never sets a matplotlib backend: the notebook's inline backend is what puts figures into
the executed notebook, and so into the HTML report (Agg silently drops them).

A category value (a source, a team) has one colour in every chart of a run: each report
calls :func:`set_category_values` with the values in the data (``notebook.start`` does),
and colours are dealt in the values' sorted order, so two charts showing different
subsets of sources still colour "Webinar" alike. Labels from the data are cut at
``MAX_LABEL_LENGTH`` characters with an ellipsis.

Charts are read on a phone too: the report template shows them at least 640 px wide in a
frame that scrolls sideways, so the type here is sized to stay legible at that width (tick
labels 11 pt in a 9-inch figure: about 10 px on the phone).
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np
import pandas as pd
import seaborn as sns
from adjustText import adjust_text
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from salesnb.data.formats import compact, currency_symbol, shorten

PALETTE = "deep"
FIGSIZE = (9, 4)
MAX_LABEL_LENGTH = 40
# Room kept between a wrapped title or axis label and the figure's edge, in inches.
EDGE_MARGIN_INCHES = 0.1
MAX_FIT_PASSES = 4

# column (e.g. "source") -> value -> colour, fixed from the data by set_category_values.
_category_colours: dict[str, dict[str, tuple]] = {}


def set_category_values(values_by_column: dict[str, list]) -> None:
    """Fix one colour per value for every chart that follows: for each category column, its
    values in sorted order take the palette's colours in turn."""
    palette = sns.color_palette(PALETTE)
    _category_colours.clear()
    for column, values in values_by_column.items():
        ordered = sorted({str(value) for value in values if value is not None})
        _category_colours[column] = {value: palette[index % len(palette)] for index, value in enumerate(ordered)}


def category_colours(column: str, values: list) -> list[tuple]:
    """The colour of each value of ``column``: the one fixed from the data, else (a value the
    data did not list) the next palette colours in sorted order."""
    palette = sns.color_palette(PALETTE)
    known = _category_colours.get(column, {})
    others = sorted({str(value) for value in values} - set(known))
    extra = {value: palette[(len(known) + index) % len(palette)] for index, value in enumerate(others)}
    return [known.get(str(value)) or extra[str(value)] for value in values]


def _labels(values) -> list[str]:
    return [shorten(str(value), MAX_LABEL_LENGTH) for value in values]


def apply_style() -> None:
    """Seaborn's whitegrid theme with sizes that stay readable in an HTML report."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={
        "figure.figsize": FIGSIZE, "figure.dpi": 100, "axes.titlesize": 13, "axes.titleweight": "bold",
        "axes.labelsize": 12, "xtick.labelsize": 11, "ytick.labelsize": 11, "legend.fontsize": 10,
        "axes.spines.top": False, "axes.spines.right": False,
        # Labels come from the data: "$20k_$30k" must print as written, not as math (or crash).
        "text.parse_math": False,
    })


def currency_axis(ax, currency: str = "USD", axis: str = "y") -> None:
    symbol = currency_symbol(currency)
    formatter = ticker.FuncFormatter(lambda value, _: compact(value, symbol))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


class PercentTicks(ticker.PercentFormatter):
    """Shares (0..1) labelled in percent with as few decimals as the ticks need: "5%", and a
    tick at 2.5% as "2.5%" (labelled with no decimals, it read "2%", and 12.5% read "12%")."""

    def __init__(self):
        super().__init__(xmax=1.0, decimals=0)

    def set_locs(self, locs):
        super().set_locs(locs)
        percents = [100 * float(value) for value in locs]
        self.decimals = next((decimals for decimals in range(3)
                              if all(abs(round(value, decimals) - value) < 1e-6 for value in percents)), 3)


def percent_axis(ax, axis: str = "y", limit_to_one: bool = True) -> None:
    """Percent ticks at whole percents where the range allows (steps of 1, 2 or 5 times a power
    of ten, not matplotlib's 2.5: "2.5%, 5.0%, 7.5%" reads worse than "2%, 4%, 6%")."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(ticker.MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))
    target.set_major_formatter(PercentTicks())
    if limit_to_one:
        (ax.set_ylim if axis == "y" else ax.set_xlim)(0, 1.05)


def count_axis(ax, axis: str = "y") -> None:
    """Counts and days: whole-number ticks (a tick at 2.5 would be printed as "2")."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(ticker.MaxNLocator(integer=True))
    target.set_major_formatter(ticker.FuncFormatter(lambda value, _: compact(value)))


def new_figure(title: str, xlabel: str, ylabel: str, figsize=FIGSIZE):
    """A figure with one axes, its title and both axis labels set (units in the labels)."""
    apply_style()
    figure, ax = plt.subplots(figsize=figsize)
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return figure, ax


def finish(figure) -> None:
    """Lay out and show the figure, then close it so it is not drawn twice.

    A title or axis label too long for the figure is wrapped onto lines that fit, and the
    layout done again (:func:`fit_texts`)."""
    figure.tight_layout()
    # Again until nothing more needs wrapping: a title on more lines leaves shorter axes, whose
    # y label may then need wrapping, which moves the axes (and a title set at their left) right.
    # Each pass only wraps further, so a few passes settle it.
    for _ in range(MAX_FIT_PASSES):
        if not fit_texts(figure):
            break
        figure.tight_layout()
    plt.show()
    plt.close(figure)


def fit_texts(figure) -> bool:
    """Wrap each title and axis label that reaches past the figure's edge onto lines that fit
    (at spaces, ``EDGE_MARGIN_INCHES`` from the edge); returns whether any text changed.

    Why: ``tight_layout`` moves the axes to make room for the texts around them, but cannot
    shorten a text longer than the figure: a long title (06_plan's "Simulated gap, 01 Apr 2026
    – 30 Jun 2026 (2,000 simulations of the open pipeline)"), or a y-axis label taller than
    a short chart's axes. Such a chart was cut off at the edge or, saved with the inline
    backend's tight bounding box, wider than the others and so shown smaller in the report.
    Not matplotlib's own ``wrap=True``: it wraps only as it draws, after the layout and the
    inline backend's tight bounding box have measured the text unwrapped (its documentation
    says so), so the chart would keep its room for one long line.
    """
    renderer = figure.canvas.get_renderer()
    wrapped = False
    for ax in figure.axes:
        titles = {ax.get_title(loc) for loc in ("left", "center", "right")} - {""}
        texts = [child for child in ax.get_children() if isinstance(child, Text) and child.get_text() in titles]
        for text in [*texts, ax.xaxis.label, ax.yaxis.label]:
            wrapped = _wrap_to_fit(text, figure, renderer) or wrapped
    return wrapped


def _wrap_to_fit(text: Text, figure, renderer) -> bool:
    """Wrap ``text`` at spaces until it lies inside the figure along its reading direction
    (across for a title, up for a rotated y label); a single word is left as it is."""
    vertical = round(text.get_rotation()) % 180 == 90
    margin = EDGE_MARGIN_INCHES * figure.dpi
    low, high = margin, (figure.bbox.height if vertical else figure.bbox.width) - margin

    def extent() -> tuple[float, float]:
        box = text.get_window_extent(renderer)
        return (box.y0, box.y1) if vertical else (box.x0, box.x1)

    def inside() -> bool:
        start, end = extent()
        return low <= start and end <= high

    before = text.get_text()
    original = " ".join(before.split())
    if not before or inside():
        return False
    start, end = extent()
    length = (end - start) or 1
    # Fewer characters per line until the text fits (or its longest word sets the width),
    # from about the share of its characters that fit on one line.
    first = min(len(original) - 1, int(len(original) * (high - low) / length) + 2)
    for width in range(first, max(map(len, original.split())) - 1, -1):
        text.set_text(textwrap.fill(original, width, break_long_words=False, break_on_hyphens=False))
        if inside():
            break
    return text.get_text() != before  # a single word, or already as narrow as it goes: nothing to redo


def _format_axis(ax, kind: str, currency: str, axis: str) -> None:
    if kind == "percent":
        percent_axis(ax, axis=axis)
    elif kind == "currency":
        currency_axis(ax, currency, axis=axis)
    else:
        count_axis(ax, axis=axis)


def bar_chart(frame, category: str, value: str, *, title: str, category_label: str, value_label: str,
              kind: str = "count", currency: str = "USD", labels: list[str] | None = None,
              horizontal: bool = True, max_bars: int = 15):
    """Bars of ``value`` per ``category`` (top ``max_bars`` in the frame's order).

    ``kind`` formats the value axis: ``count``, ``percent`` (0..1) or ``currency``.
    ``labels`` are printed at the end of each bar (e.g. "31% (n=42)").
    """
    shown = frame.head(max_bars)
    height = max(3.0, 0.38 * len(shown) + 1.2) if horizontal else FIGSIZE[1]
    figure, ax = new_figure(title, value_label if horizontal else category_label,
                            category_label if horizontal else value_label, figsize=(FIGSIZE[0], height))
    names = _labels(shown[category])
    values = shown[value].astype(float).fillna(0).tolist()
    # Bars at positions, labels set on the ticks: two names cut to the same text stay two bars.
    positions = list(range(len(names)))
    if horizontal:
        bars = ax.barh(positions, values[::-1], color=sns.color_palette(PALETTE)[0])
        ax.set_yticks(positions, names[::-1])
        _format_axis(ax, kind, currency, "x")
        if kind == "percent":
            ax.set_xlim(0, min(1.05, max(values, default=0) * 1.3) or 1.0)
    else:
        bars = ax.bar(positions, values, color=sns.color_palette(PALETTE)[0])
        ax.set_xticks(positions, names)
        _format_axis(ax, kind, currency, "y")
        if kind == "percent":
            ax.set_ylim(0, min(1.05, max(values, default=0) * 1.3) or 1.0)
        ax.tick_params(axis="x", rotation=30)
    if labels is not None:
        ax.bar_label(bars, labels=(labels[: len(shown)][::-1] if horizontal else labels[: len(shown)]),
                     padding=3, fontsize=9)
        if horizontal and kind != "percent":
            ax.set_xlim(0, max(values, default=0) * 1.35 or 1)
    finish(figure)


def line_chart(frame, x: str, values: list[str] | str, *, title: str, xlabel: str, ylabel: str,
               kind: str = "count", currency: str = "USD", series_labels: list[str] | None = None,
               reference: tuple[float, str] | None = None):
    """One line per column in ``values`` over ``x`` (e.g. months), with markers.

    ``reference``: (value, label) of a dashed horizontal line, e.g. a target; percent
    charts then also reach above it.
    """
    values = [values] if isinstance(values, str) else values
    figure, ax = new_figure(title, xlabel, ylabel)
    for index, column in enumerate(values):
        label = series_labels[index] if series_labels else column
        ax.plot(frame[x], frame[column], marker="o", label=label)
    _format_axis(ax, kind, currency, "y")
    highest = max(float(frame[values].max().max() or 0), reference[0] if reference else 0)
    if kind == "percent":
        ax.set_ylim(0, max(0.1, highest * 1.3) if reference else min(1.05, max(0.1, highest * 1.3)))
    if reference:
        ax.axhline(reference[0], color="#6b7280", linestyle="--", linewidth=1, label=reference[1])
    if len(values) > 1 or reference:
        ax.legend(frameon=False)
    if pd.api.types.is_integer_dtype(frame[x]):
        count_axis(ax, "x")  # e.g. months since hire: whole numbers
    else:
        figure.autofmt_xdate()
    finish(figure)


def interval_chart(frame, category: str, value: str, low: str, high: str, *, title: str, category_label: str,
                   value_label: str, kind: str = "percent", currency: str = "USD", reference: str | None = None,
                   reference_label: str | None = None, max_rows: int = 20):
    """A dot per ``category`` (in the frame's order, top down) at ``value`` with a bar from
    ``low`` to ``high`` (an interval), and optionally a tick at each row's ``reference``
    column (e.g. its team's rate): overlapping bars are differences that may be noise."""
    shown = frame.head(max_rows)
    height = max(3.0, 0.38 * len(shown) + 1.2)
    figure, ax = new_figure(title, value_label, category_label, figsize=(FIGSIZE[0], height))
    positions = list(range(len(shown)))[::-1]
    centre = shown[value].astype(float).to_numpy()
    errors = [centre - shown[low].astype(float).to_numpy(), shown[high].astype(float).to_numpy() - centre]
    ax.errorbar(centre, positions, xerr=errors, fmt="o", color=sns.color_palette(PALETTE)[0], ecolor="#9ca3af",
                elinewidth=3, capsize=0, label=f"{value_label.split(' (')[0]} with 95% interval")
    if reference:
        ax.scatter(shown[reference].astype(float), positions, marker="|", s=250, color="#b45309",
                   label=reference_label or reference, zorder=3)
    ax.set_yticks(positions, shown[category].astype(str).tolist())
    _format_axis(ax, kind, currency, "x")
    if kind == "percent":
        ax.set_xlim(0, min(1.05, max(0.1, float(shown[high].max() or 0) * 1.1)))
    # Above the plot, under the title: inside it would cover a row's interval.
    ax.set_title(title, loc="left", pad=28)
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, fontsize=9)
    finish(figure)


# The scatter's point labels are moved apart (adjustText) for at most this many steps, so the
# same data always gives the same picture (its default stops after a second of work).
LABEL_ADJUST_STEPS = 400
# The points the names are kept clear of: all of them up to this many, beyond it the most
# outlying ones. adjustText compares every name with every point at each step (and pairs the
# points themselves once), so its time grows faster than the points: one chart took 20 s at
# 1,800 points and 137 s at 5,000 (a large sales force's reps, issue 22). The names sit at the
# most outlying points, so those are the ones a name can land on; in a cloud that dense, the
# middle is covered wherever a name lands.
MAX_LABEL_OBSTACLES = 200


def scatter_chart(frame, x: str, y: str, label: str, *, title: str, xlabel: str, ylabel: str,
                  x_kind: str = "count", y_kind: str = "percent", currency: str = "USD", max_labels: int = 15):
    """One point per row (e.g. a rep) at (``x``, ``y``): how two measures relate.

    Points are named by ``label``; with more than ``max_labels`` points only the ones
    furthest from the middle (in standard deviations from the medians) are named, so the
    names stay readable and the outliers, the ones worth a question, are the named ones.
    No two names overlap: they are moved apart (adjustText, with a thin line to a name's
    point when it moved away from it), and a name that still overlaps a more outlying one
    is left out. Names keep clear of the points too: of every point up to
    ``MAX_LABEL_OBSTACLES``, of the most outlying ones beyond.
    """
    figure = scatter_figure(frame, x, y, label, title=title, xlabel=xlabel, ylabel=ylabel, x_kind=x_kind,
                            y_kind=y_kind, currency=currency, max_labels=max_labels)
    finish(figure)


def scatter_figure(frame, x: str, y: str, label: str, *, title: str, xlabel: str, ylabel: str,
                   x_kind: str = "count", y_kind: str = "percent", currency: str = "USD", max_labels: int = 15):
    """The figure of :func:`scatter_chart`, laid out and not yet shown."""
    figure, ax = new_figure(title, xlabel, ylabel)
    xs, ys = frame[x].astype(float), frame[y].astype(float)
    ax.scatter(xs, ys, color=sns.color_palette(PALETTE)[0], zorder=3)
    _format_axis(ax, x_kind, currency, "x")
    _format_axis(ax, y_kind, currency, "y")
    if y_kind == "percent":
        ax.set_ylim(0, min(1.05, max(0.1, float(frame[y].max() or 0) * 1.25)))
    if x_kind != "percent":
        ax.set_xlim(0, max(1.0, float(frame[x].max() or 0) * 1.15))
    spread = ((xs - xs.median()) / (xs.std() or 1)) ** 2 + ((ys - ys.median()) / (ys.std() or 1)) ** 2
    outlying = spread.sort_values(ascending=False, kind="stable").index
    named = list(outlying[:max_labels])  # most outlying first
    avoided = slice(None) if len(frame) <= MAX_LABEL_OBSTACLES else outlying[:MAX_LABEL_OBSTACLES]
    texts = [ax.text(xs[index], ys[index], shorten(str(frame.loc[index, label]), MAX_LABEL_LENGTH), fontsize=9)
             for index in named]
    figure.tight_layout()
    if texts:
        adjust_text(texts, x=xs.loc[avoided].to_numpy(), y=ys.loc[avoided].to_numpy(), ax=ax,
                    iter_lim=LABEL_ADJUST_STEPS, expand=(1.1, 1.3), ensure_inside_axes=True)
        kept = _without_overlaps(figure, texts)
        for index, text in zip(named, texts):
            if text in kept:
                # A name moved away from its point is tied to it by a thin line.
                ax.add_patch(FancyArrowPatch(posA=text.get_position(), posB=(xs[index], ys[index]), patchA=text,
                                             arrowstyle="-", color="#9ca3af", linewidth=0.6, shrinkB=3, zorder=2))
    return figure


def _without_overlaps(figure, texts: list) -> list:
    """The texts that overlap no text kept before them (in order: the most outlying point's
    name first); the others are removed from the figure."""
    renderer = figure.canvas.get_renderer()
    kept, boxes = [], []
    for text in texts:
        box = text.get_window_extent(renderer=renderer)
        if any(box.overlaps(other) for other in boxes):
            text.remove()
            continue
        kept.append(text)
        boxes.append(box)
    return kept


def stacked_bar_chart(frame, x: str, series: str, value: str, *, title: str, xlabel: str, ylabel: str,
                      kind: str = "count", currency: str = "USD"):
    """Bars per ``x`` (months) stacked by ``series`` (e.g. source), from a long frame.

    Missing combinations count as 0; series are stacked in name order, so the same data
    gives the same picture.
    """
    stacked = frame.pivot_table(index=x, columns=series, values=value, aggfunc="sum", fill_value=0)
    figure, ax = new_figure(title, xlabel, ylabel)
    labels = stacked.index.strftime("%b %Y") if hasattr(stacked.index, "strftime") else stacked.index.astype(str)
    bottom = None
    names = sorted(stacked.columns, key=str)
    for name, colour, label in zip(names, category_colours(series, names), _labels(names)):
        ax.bar(labels, stacked[name], bottom=bottom, label=label, color=colour)
        bottom = stacked[name] if bottom is None else bottom + stacked[name]
    _format_axis(ax, kind, currency, "y")
    ax.tick_params(axis="x", rotation=45)
    # Beside the plot, not over it: inside, the legend hides the tallest months' bars.
    ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), reverse=True)
    finish(figure)


def grouped_bar_chart(frame, category: str, values: list[str], *, title: str, category_label: str, value_label: str,
                      series_labels: list[str] | None = None, kind: str = "count", currency: str = "USD"):
    """Vertical bars of several ``values`` side by side per ``category`` (e.g. predicted and
    actual purchases per frequency bucket, or three weightings per stage), in the frame's
    order; ``series_labels`` name the values in the legend (default: the column names)."""
    figure, ax = new_figure(title, category_label, value_label)
    positions = range(len(frame))
    width = 0.8 / len(values)
    palette = sns.color_palette(PALETTE)
    for index, column in enumerate(values):
        offsets = [position - 0.4 + width * (index + 0.5) for position in positions]
        ax.bar(offsets, frame[column].astype(float).fillna(0), width=width,
               label=series_labels[index] if series_labels else column, color=palette[index % len(palette)])
    ax.set_xticks(list(positions), _labels(frame[category]))
    _format_axis(ax, kind, currency, "y")
    if kind == "percent":
        ax.set_ylim(0, min(1.05, max(0.1, float(frame[values].max().max() or 0) * 1.25)))
    ax.legend(frameon=False)
    finish(figure)


def cohort_heatmap(frame, row: str, column: str, value: str, *, title: str, xlabel: str, ylabel: str,
                   row_format: str = "%b %Y", vmax: float | None = None):
    """A cohort grid of ``value`` (a share, 0..1 or above) by ``row`` (cohort) x ``column``
    (periods since the start) from a long frame, each cell coloured and labelled in percent;
    empty cells (not observed) stay blank. The first column is each cohort's reference (100%
    by definition), so the colour scale comes from the other cells: darkest at ``vmax``,
    by default their 95th percentile (higher cells saturate)."""
    grid = frame.pivot_table(index=row, columns=column, values=value, aggfunc="first", dropna=False)
    labels = grid.index.strftime(row_format) if hasattr(grid.index, "strftime") else grid.index.astype(str)
    height = max(3.0, 0.32 * len(grid) + 1.6)
    width = max(FIGSIZE[0], 0.42 * len(grid.columns) + 2.5)
    figure, ax = new_figure(title, xlabel, ylabel, figsize=(width, height))
    annotations = grid.map(lambda share: "" if share != share else f"{share:.0%}")
    if vmax is None:
        later = grid.iloc[:, 1:].to_numpy(dtype=float)
        vmax = max(0.05, float(np.nanpercentile(later, 95))) if np.isfinite(later).any() else 1.0
    sns.heatmap(grid, ax=ax, cmap="Blues", vmin=0, vmax=vmax, annot=annotations, fmt="",
                annot_kws={"fontsize": 7}, linewidths=0.5, linecolor="white", yticklabels=labels,
                cbar_kws={"format": PercentTicks(), "shrink": 0.8})
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="y", rotation=0)
    finish(figure)


def share_curve(frame, x: str, y: str, *, title: str, xlabel: str, ylabel: str, marks: list[tuple] | None = None):
    """A cumulative share curve (e.g. Pareto: share of customers -> share of revenue), both
    axes in percent, with the diagonal of an even split; ``marks`` are (x, y, label) points."""
    figure, ax = new_figure(title, xlabel, ylabel)
    ax.plot([0, *frame[x].astype(float)], [0, *frame[y].astype(float)], label="actual")
    ax.plot([0, 1], [0, 1], linestyle="--", color="#9ca3af", label="even split")
    for mark_x, mark_y, label in marks or []:
        ax.scatter([mark_x], [mark_y], zorder=3)
        ax.annotate(label, (mark_x, mark_y), textcoords="offset points", xytext=(8, -12), fontsize=9)
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    ax.legend(frameon=False, loc="lower right")
    finish(figure)


def waterfall_chart(steps: list[str], amounts: list[float], *, title: str, value_label: str, currency: str = "USD"):
    """A waterfall: the first and last steps are totals from 0, the ones between float up
    (positive) or down (negative) from the running total; each bar is labelled with its amount."""
    figure, ax = new_figure(title, "", value_label)
    palette = sns.color_palette(PALETTE)
    running, bottoms, heights, colours = 0.0, [], [], []
    for index, amount in enumerate(amounts):
        total = index in (0, len(amounts) - 1)
        bottom = 0.0 if total else (running if amount >= 0 else running + amount)
        bottoms.append(bottom)
        heights.append(abs(amount) if not total else amount)
        colours.append(palette[7] if total else (palette[2] if amount >= 0 else palette[3]))
        running = amount if total else running + amount
    bars = ax.bar(steps, heights, bottom=bottoms, color=colours)
    symbol = currency_symbol(currency)
    labels = [("+" if amount > 0 and 0 < index < len(amounts) - 1 else "-" if amount < 0 else "") + compact(abs(amount), symbol)
              for index, amount in enumerate(amounts)]
    ax.bar_label(bars, labels=labels, padding=3, fontsize=9)
    currency_axis(ax, currency)
    ax.set_ylim(0, max(bottom + height for bottom, height in zip(bottoms, heights)) * 1.15 or 1)
    finish(figure)


def distribution_chart(values, *, title: str, value_label: str, markers: dict[str, float], currency: str = "USD",
                       bins: int = 40):
    """A histogram of simulated values (share of simulations per bin) with vertical lines
    at ``markers`` (label -> value, e.g. P10, P50, P90), labelled in the legend."""
    figure, ax = new_figure(title, value_label, "Share of simulations (%)")
    values = np.asarray(values, dtype=float)
    ax.hist(values, bins=bins, weights=np.full(len(values), 1 / max(len(values), 1)), color=sns.color_palette(PALETTE)[0],
            alpha=0.8)
    for index, (label, value) in enumerate(markers.items()):
        ax.axvline(value, color=sns.color_palette(PALETTE)[index + 1], linestyle="--", linewidth=1.5,
                   label=f"{label}: {compact(value, currency_symbol(currency))}")
    currency_axis(ax, currency, axis="x")
    percent_axis(ax, limit_to_one=False)
    ax.legend(frameon=False)
    finish(figure)


def band_chart(frame, x: str, low: str, middle: str, high: str, *, points: dict[str, str], title: str, xlabel: str,
               value_label: str, band_label: str, currency: str = "USD"):
    """Per ``x`` (e.g. backtest periods): a vertical band from ``low`` to ``high`` with a tick
    at ``middle``, and a marker per column in ``points`` (column -> legend label)."""
    figure, ax = new_figure(title, xlabel, value_label)
    palette = sns.color_palette(PALETTE)
    labels = frame[x].astype(str).tolist()
    ax.vlines(labels, frame[low].astype(float), frame[high].astype(float), color=palette[0], linewidth=10, alpha=0.35,
              label=band_label)
    ax.scatter(labels, frame[middle].astype(float), color=palette[0], marker="_", s=400, label="P50")
    for index, (column, label) in enumerate(points.items()):
        ax.scatter(labels, frame[column].astype(float), color=palette[index + 1], marker="o" if index == 0 else "D",
                   s=40, zorder=3, label=label)
    currency_axis(ax, currency)
    ax.set_ylim(bottom=0)
    # Below the axes: inside, the legend would hide the first period's band.
    ax.legend(frameon=False, ncols=2 + len(points), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    finish(figure)
