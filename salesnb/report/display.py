"""The one place tables and text from the data are shown in a notebook or report.

Text from a CRM (rep and account names, loss reasons, sources) is untrusted: nothing in
it may execute in a shared HTML report. pandas' ``Styler`` does not escape by default, and
a later ``.format()`` without ``escape=`` switches escaping off again, so every table goes
through :func:`table`, which escapes cells and headers in its single ``format`` call and
returns the finished HTML (a Styler handed back could still be re-formatted).

Every HTML output is wrapped by :func:`kit_html` in the classes MathJax skips: JupyterLab
typesets ``$...$`` in HTML outputs, so "cost per lead $1,457 on 222 leads is 16.3x $89"
would render as LaTeX. Long text is cut with an ellipsis (``formats.shorten``): one
100,000-character loss reason must not make a table (or a report) megabytes long.

Tables are read on a phone and on paper too: each sits in a frame that scrolls sideways
(class ``salesnb-table-frame``; the report template gives it a sticky first column and a
shadow at the edge while there is more to see), numbers and dates never break over lines,
and a table too wide for a portrait page is marked ``salesnb-wide`` so that it prints on a
landscape page (``templates/print.css``).
"""

from __future__ import annotations

import html
import itertools
import os

import pandas as pd
from IPython.display import HTML

# plural: also for notebooks, as show.plural(count, "finding").
from salesnb.data.formats import FORMATS, column_decimals, format_value, plural, plurals_written_out, shorten, tile_value  # noqa: F401
from salesnb.metrics import catalogue, scope

DEFAULT_MAX_ROWS = 25
# Text cells longer than this are cut with an ellipsis (the frame keeps the full text).
MAX_TEXT_LENGTH = 120
# JupyterLab 4's MathJax skips elements with class "mathjax_ignore" (its default
# ignoreHtmlClass); "tex2jax_ignore" is the same for MathJax 2 (classic notebook, nbconvert).
NO_MATH_CLASSES = "mathjax_ignore tex2jax_ignore"

# A table whose cells need more than this many characters side by side (numbers and dates
# whole, headers and text cells at their longest word) does not fit a portrait A4 or Letter
# page at the print size (8 pt, about 4.4 pt a character over 186 mm): it prints landscape.
PORTRAIT_CHARACTERS = 110
# Text cells wrap on paper; they are counted at most this wide.
WRAPPED_TEXT_CHARACTERS = 16
# Classes of the frame around every table (the report template and print.css style them).
TABLE_FRAME_CLASS = "salesnb-table-frame"
WIDE_TABLE_CLASS = "salesnb-wide"

# Styler ids are random by default; numbering tables in the order a notebook shows them
# makes the same run give the same HTML.
_table_numbers = itertools.count(1)

TABLE_CSS = [
    {"selector": "", "props": "border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0;"},
    {"selector": "th", "props": "background: #f3f4f6; text-align: left; padding: 4px 10px; border-bottom: 1px solid #d1d5db;"},
    # No text-align here: this rule would outrank the per-cell alignment set in table().
    {"selector": "td", "props": "padding: 3px 10px; border-bottom: 1px solid #eee;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; font-weight: 600; padding: 4px 0;"},
]


def kit_html(markup: str) -> HTML:
    """HTML the kit built (every value from the data already escaped), shown with ``$`` literal:
    wrapped in the classes MathJax ignores."""
    return HTML(f'<div class="{NO_MATH_CLASSES}">{markup}</div>')


def table(frame: pd.DataFrame, formats: dict[str, str] | None = None, *, caption: str | None = None,
          currency: str = "USD", max_rows: int = DEFAULT_MAX_ROWS, index: bool = False,
          labels: dict[str, str] | None = None, values_unit: str | None = None) -> HTML:
    """Render ``frame`` as an escaped, formatted HTML table.

    Each column's header and format come from the catalogue of metrics
    (:mod:`salesnb.metrics.catalogue`): ``win_rate`` is headed "Win rate" and shown as a
    percent, ``won_amount`` in the currency. Notebooks pass no formats.

    Parameters
    ----------
    frame : the data; text cells and headers are HTML-escaped.
    formats : column -> unit, for a frame built outside the metrics (the run's own pages);
        a catalogue entry is the normal way.
    caption : a title shown above the table.
    max_rows : longer tables are cut, with a note saying how many rows were left out.
    index : show the frame's index (default: hidden).
    labels : column -> header, where a view needs its own words ("Lost deals" for ``deals``).
    values_unit : the unit of columns named after data values (a pivot by source or month),
        which the catalogue cannot know.
    """
    formats = {column: unit for column, unit in _catalogue_units(frame, values_unit).items()} | dict(formats or {})
    labels = labels or {}
    # Headers from the catalogue ("win_rate" -> "Win rate"; "mql_rate" -> "MQL rate").
    headers = {column: labels.get(column) or catalogue.label_of(column) for column in frame.columns
               if isinstance(column, str)}
    formats = {headers.get(column, column): kind for column, kind in formats.items()}
    flags = [headers.get(column, column) for column, kind in formats.items() if kind == "flag"]
    shown = frame.head(max_rows).rename(columns=headers)
    # Long text (a pasted e-mail as a loss reason) cut in the cells; numbers untouched.
    text_cells = [column for column in shown.columns if shown[column].dtype == object
                  or pd.api.types.is_string_dtype(shown[column])]
    for column in set(flags) & set(shown.columns):
        shown[column] = shown[column].map({True: "yes", False: "no"}).astype(object)
    if text_cells:
        shown = shown.assign(**{column: shown[column].map(lambda value: shorten(value, MAX_TEXT_LENGTH))
                                for column in text_cells})
    note = ""
    if len(frame) > max_rows:
        note = f"<p><em>Showing the first {max_rows} of {len(frame):,} rows.</em></p>"

    # Dates without their midnight time; month starts (cohorts, spend months) as "Jan 2025".
    for column in shown.columns:
        if column not in formats and pd.api.types.is_datetime64_any_dtype(shown[column]):
            values = shown[column].dropna()
            formats[column] = "month" if len(values) and (values.dt.day == 1).all() and \
                (values.dt.normalize() == values).all() else "date"

    # One number of decimals per column, what its values deserve ("21.2", not "21.21").
    digits = {column: column_decimals(shown[column].tolist(), kind) for column, kind in formats.items()
              if column in shown.columns}

    def formatter(column, kind):
        return lambda value: format_value(value, kind, currency, digits.get(column))

    styler = shown.style.format(
        {column: formatter(column, kind) for column, kind in formats.items() if column in shown.columns},
        escape="html", na_rep="–",
    )
    # Headers come from the data too (e.g. a pivot by source): escape them as well.
    styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    styler = styler.set_table_styles(TABLE_CSS).set_uuid(f"salesnb{next(_table_numbers)}")
    # Numbers right-aligned so digits line up; text (names, reasons) stays left.
    numeric = [column for column in shown.columns
               if formats.get(column) in FORMATS or pd.api.types.is_numeric_dtype(shown[column])]
    text_columns = [column for column in shown.columns if column not in numeric]
    # Per-cell rules: they outrank the notebook theme's own td alignment. A number or a date
    # is never broken over lines ("2025-\n06-01" on paper, "$1,438,\n165" on a phone).
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right", "white-space": "nowrap"})
    if text_columns:
        styler = styler.set_properties(subset=text_columns, **{"text-align": "left"})
    dates = [column for column in text_columns if formats.get(column) in ("date", "month")]
    if dates:
        styler = styler.set_properties(subset=dates, **{"white-space": "nowrap"})
    if caption:
        styler = styler.set_caption(html.escape(plurals_written_out(caption)))  # "73 deal(s)" -> "73 deals"
    if not index:
        styler = styler.hide(axis="index")
    classes = TABLE_FRAME_CLASS + (f" {WIDE_TABLE_CLASS}" if _characters_wide(shown, formats, digits, currency, index)
                                   > PORTRAIT_CHARACTERS else "")
    # overflow-x inline too: in JupyterLab (no report template) a wide table still scrolls in its frame.
    return kit_html(f'<div class="{classes}" style="overflow-x:auto">{styler.to_html()}</div>{note}')


def _characters_wide(shown: pd.DataFrame, formats: dict, digits: dict, currency: str, index: bool) -> int:
    """How many characters a table needs side by side on paper: per column, its longest
    header word, its widest number or date (never broken) or its text cells up to
    :data:`WRAPPED_TEXT_CHARACTERS` (they wrap), plus two for the cell's padding."""
    total = 0
    columns = [(str(column), shown[column]) for column in shown.columns]
    if index:
        columns.insert(0, ("", shown.index.to_series()))
    for header, values in columns:
        kind = formats.get(header)
        words = max((len(word) for word in header.split()), default=0)
        if kind is not None:
            cells = [1 if _missing(value) else len(format_value(value, kind, currency, digits.get(header)))
                     for value in values]
        else:
            cells = [min(len(str(value)), WRAPPED_TEXT_CHARACTERS) for value in values]
        total += max([words, *cells]) + 2
    return total


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# Tests set this so that a column shown without a catalogue entry fails the notebook.
STRICT_ENVIRONMENT_VARIABLE = "SALESNB_STRICT_CATALOGUE"


def _catalogue_units(frame: pd.DataFrame, values_unit: str | None) -> dict[str, str]:
    """Each column's unit from the catalogue; ``values_unit`` for the columns it does not
    know. Undeclared quantities are an error when :data:`STRICT_ENVIRONMENT_VARIABLE` is set."""
    units, undeclared = {}, []
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue  # dates: a day or a month, from the values (see table())
        found = catalogue.lookup(column) if isinstance(column, str) else None
        if found is not None:
            if found.unit != "text":
                units[column] = found.unit
        elif values_unit is not None:
            units[column] = values_unit
        else:
            undeclared.append(column)
    if undeclared and os.environ.get(STRICT_ENVIRONMENT_VARIABLE):
        raise catalogue.CatalogueError(
            f"Column(s) {', '.join(map(repr, undeclared))} shown without a catalogue entry: declare each in the "
            "metrics module that returns it (salesnb.metrics.catalogue.declare), or pass values_unit= for "
            "columns named after data values.")
    return units


def register_result_formatter(shell) -> None:
    """Show metric results (frames a public metric returned) through :func:`table` in
    IPython: labelled and formatted from the catalogue, every cell escaped. Other frames
    keep pandas' own display."""
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(pd.DataFrame, _result_html)


def _result_html(frame: pd.DataFrame) -> str | None:
    name = frame.attrs.get(scope.RESULT_ATTRIBUTE)
    if not name:
        return frame._repr_html_()
    currency = frame.attrs.get("currency", "USD")
    return table(frame, caption=f"{name} ({len(frame):,} rows)", currency=currency).data


def text(value) -> str:
    """Escape a piece of untrusted text for use inside HTML."""
    return html.escape(str(value))


def css_string(value) -> str:
    """``value`` as a quoted CSS string (e.g. the ``content`` of a printed page's header):
    quotes, backslashes and line ends escaped, and ``<`` too, so that text from the data (a
    team's name) can end neither the string nor the ``<style>`` element it is in."""
    escaped = (str(value).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
               .replace("\n", " ").replace("\r", " "))
    return f'"{escaped}"'


def bullets(lines: list[str], title: str | None = None) -> HTML:
    """A bulleted list of sentences (e.g. computed findings); every line is escaped."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    heading = f"<p><strong>{html.escape(title)}</strong></p>" if title else ""
    return kit_html(f"{heading}<ul>{items}</ul>")


def notice(message: str, kind: str = "info") -> HTML:
    """A boxed note, e.g. a missing table or a data-quality warning; the message is escaped and
    its "N noun(s)" written out ("3 order(s)" -> "3 orders")."""
    colours = {"info": ("#eff6ff", "#1d4ed8"), "warning": ("#fffbeb", "#b45309"), "error": ("#fef2f2", "#b91c1c")}
    background, border = colours.get(kind, colours["info"])
    return kit_html(
        f'<div style="background:{background};border-left:4px solid {border};padding:8px 12px;margin:8px 0;">'
        f"{html.escape(plurals_written_out(message))}</div>"
    )


def left_out(count: int, total: int, noun: str, reason: str) -> HTML:
    """The note every view shows when it leaves rows out: "12 of 1,240 deals are left out of
    this view: they have no creation date." Returns empty HTML when nothing was left out
    (``display(None)`` would print "None" on the page), so a notebook can always call
    ``display(show.left_out(...))``.

    ``noun`` is plural ("deals", "leads"); ``reason`` completes "they ..." (e.g. "have no
    created_at"). Real data is partial: a number computed from fewer rows than the data
    holds says so on the page, never silently.
    """
    count, total = int(count or 0), int(total or 0)
    if count <= 0:
        return HTML("")
    return notice(f"{count:,} of {total:,} {noun} are left out of this view: they {reason}.", "info")


def _change(value, previous, kind: str) -> str:
    """The change against the previous period: points for rates, percent for the rest."""
    if value is None or previous is None or pd.isna(value) or pd.isna(previous):
        return ""
    if kind == "percent":
        return f"{(value - previous) * 100:+.1f} pts vs previous period"
    if previous == 0:
        return ""
    return f"{(value - previous) / abs(previous):+.0%} vs previous period"


def tile_records(tiles: list) -> list[dict]:
    """Tiles as records: ``name`` (the catalogue entry), ``label``, ``value``, ``kind`` (its
    unit), ``previous`` and ``higher_is_better``.

    A tile is ``(name, value)``, ``(name, value, previous)`` or ``(name, value, previous,
    label)``, with the label, unit and direction read from the catalogue (``label`` for a
    view's own words, e.g. "Forecast P50, Jan–Mar 2026"). The older ``(label, value, kind[,
    previous])`` form is still read, for notebooks of earlier releases.
    """
    records = []
    for tile in tiles:
        tile = tuple(tile)
        if len(tile) >= 3 and isinstance(tile[2], str) and catalogue.lookup(str(tile[0])) is None:
            label, value, kind = tile[:3]
            records.append({"name": None, "label": str(label), "value": value, "kind": kind,
                            "previous": tile[3] if len(tile) > 3 else None, "higher_is_better": None})
            continue
        name, value = tile[:2]
        entry = catalogue.measure(str(name))
        label = tile[3] if len(tile) > 3 and tile[3] else entry.label
        records.append({"name": str(name), "label": str(label), "value": value, "kind": entry.unit,
                        "previous": tile[2] if len(tile) > 2 else None, "higher_is_better": entry.higher_is_better})
    return records


# Tiles in a grid of columns at least this wide: seven or eight in a row at 1280 px, two on
# a 390 px phone (each half the width, not one per row), five or six on paper.
TILE_MIN_WIDTH = "150px"


def kpi_tiles(tiles: list, currency: str = "USD") -> HTML:
    """Headline numbers as a grid of tiles (:func:`tile_records` says how a tile is written)."""
    cells = []
    for tile in tile_records(tiles):
        label, value, kind, previous = tile["label"], tile["value"], tile["kind"], tile["previous"]
        change = _change(value, previous, kind)
        cells.append(
            '<div class="salesnb-tile" style="padding:8px 12px;border:1px solid #e5e7eb;border-radius:6px;'
            'break-inside:avoid;">'
            f'<div style="font-size:0.8em;color:#6b7280;">{html.escape(label)}</div>'
            f'<div class="salesnb-tile-value" style="font-size:1.5em;font-weight:600;white-space:nowrap;">'
            f'{html.escape(tile_value(value, kind, currency))}</div>'
            f'<div style="font-size:0.75em;color:#6b7280;">{html.escape(change)}</div></div>'
        )
    grid = (f"display:grid;grid-template-columns:repeat(auto-fill,minmax(min({TILE_MIN_WIDTH},calc(50% - 4px)),1fr));"
            "gap:8px;margin:4px 0;")
    return kit_html(f'<div class="salesnb-tiles" style="{grid}">{"".join(cells)}</div>')
