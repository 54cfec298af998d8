"""The one plotting style: readable charts with labelled, formatted axes.

Never sets a matplotlib backend: the notebook's inline backend is what puts figures into
the executed notebook, and so into the HTML report (Agg silently drops them).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import seaborn as sns

from salesnb.display import currency_symbol

PALETTE = "deep"
FIGSIZE = (9, 4)


def apply_style() -> None:
    """Seaborn's whitegrid theme with sizes that stay readable in an HTML report."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={
        "figure.figsize": FIGSIZE, "figure.dpi": 100, "axes.titlesize": 13, "axes.titleweight": "bold",
        "axes.labelsize": 11, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10,
        "axes.spines.top": False, "axes.spines.right": False,
    })


def _compact(value: float, symbol: str = "") -> str:
    magnitude = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{symbol}{value / threshold:,.1f}{suffix}".replace(".0" + suffix, suffix)
    return f"{symbol}{value:,.0f}"


def currency_axis(ax, currency: str = "USD", axis: str = "y") -> None:
    symbol = currency_symbol(currency)
    formatter = ticker.FuncFormatter(lambda value, _: _compact(value, symbol))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def percent_axis(ax, axis: str = "y", limit_to_one: bool = True) -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(ticker.PercentFormatter(xmax=1.0, decimals=0))
    if limit_to_one:
        (ax.set_ylim if axis == "y" else ax.set_xlim)(0, 1.05)


def count_axis(ax, axis: str = "y") -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(ticker.FuncFormatter(lambda value, _: _compact(value)))


def new_figure(title: str, xlabel: str, ylabel: str, figsize=FIGSIZE):
    """A figure with one axes, its title and both axis labels set (units in the labels)."""
    apply_style()
    figure, ax = plt.subplots(figsize=figsize)
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return figure, ax


def finish(figure) -> None:
    """Lay out and show the figure, then close it so it is not drawn twice."""
    figure.tight_layout()
    plt.show()
    plt.close(figure)
