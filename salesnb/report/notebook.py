"""What every report notebook does first: open the data, fix the period, show the header.

A notebook's first code cell after ``parameters`` is::

    report = salesnb.report.notebook.start("Conversion", data_dir, config_path, period_start, period_end)

and each section that needs an optional table asks ``report.requires("leads", ...)``,
which shows what is missing and what it would enable instead of failing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from IPython.display import display

from salesnb.data import currency, validate
from salesnb.data.dataset import Dataset, open_dataset
from salesnb.data.formats import plural
from salesnb.data.model import TABLES
from salesnb.data.periods import Period, is_all, is_coming, parse_date, period_for_short_data
from salesnb.data.playbook import Playbook
from salesnb.data.selection import EVERYTHING, Selection, as_selection
from salesnb.data.validate import warnings
from salesnb.report import display as show
from salesnb.report import kpis, plots
from salesnb.report.configuration import report_period


@dataclass
class Report:
    title: str
    dataset: Dataset
    period: Period
    filters: dict = field(default_factory=dict)  # e.g. {"team": "Enterprise"}: only the filters that are set
    where: Selection = EVERYTHING  # the same filters as the selection every metric takes

    @property
    def playbook(self):
        return self.dataset.playbook

    @property
    def currency(self) -> str:
        return self.dataset.playbook.currency

    def requires(self, *tables: str, section: str) -> bool:
        """True if every table is present; otherwise show which are missing and return False."""
        missing = [name for name in tables if not self.dataset.has(name)]
        if not missing:
            return True
        for name in missing:
            gains = TABLES[name].enables
            show_text = (f"{section} needs the '{name}' table, which this dataset does not have. "
                         f"Add {name}.csv or {name}.parquet to the data folder (see docs/data-model.md)")
            show_text += f"; it enables: {gains}." if gains else "."
            display(show.notice(show_text, "warning"))
            # The run's summary says it under the report's title when the report has nothing else to show.
            kpis.needs(show_text, section=section)
        return False

    @property
    def dated(self) -> bool:
        """Whether the report's data carries dates (see :meth:`requires_dates`)."""
        return self.period.dated

    def requires_dates(self, section: str, table: str | None = None) -> bool:
        """True if the data carries dates (and ``table``, when given, its own: leads their
        ``created_at``); otherwise show that ``section`` needs dates and return False. Data
        without dates loads, and each report runs what needs none (docs/metrics.md, *Data
        without dates*)."""
        if self.period.dated and (table is None or not self.dataset.has(table) or _has_dates(self.dataset, table)):
            return True
        whose = f"the {table} table has" if table and self.period.dated else "the data has"
        display(show.notice(f"{section} needs dates, and {whose} none: it is not shown. What needs no dates (win "
                            "rates, loss reasons, scoring, conversion by source or attribute) is in the conversion "
                            "(02) and scoring (07) reports.", "warning"))
        return False


def _has_dates(dataset: Dataset, table: str) -> bool:
    """Whether the column that places ``table``'s rows in time holds any date."""
    from salesnb.data.validate import EVENT_DATE_COLUMNS

    column = EVENT_DATE_COLUMNS[table][0]
    return dataset.memo(("has dates", table),
                        lambda: int(dataset.table(table)[column].count().execute()) > 0)


def start(title: str, data_dir, config_path=None, period_start=None, period_end=None, *,
          period=None, strict: bool = True, filters: dict | None = None, where=None, backend: str | None = None,
          default_period: str | None = None, period_label: str | None = None) -> Report:
    """Open the dataset, resolve the reporting period and show the report header.

    ``backend`` (a URL string such as ``"pyspark"`` or ``"duckdb:///crm.duckdb"``, the
    notebooks' ``backend`` parameter) reads the tables where they live instead of ``data_dir``.
    ``period`` is the notebook's ``period`` parameter: any form of
    :func:`salesnb.data.periods.parse_period` (a rule such as ``last_12_months`` or
    ``fiscal_quarter``, ``2025Q3``, ``2025-07``, two dates); ``period_start``/``period_end``,
    when given, override it (a scheduled run passes the dates it resolved). ``default_period``
    is the rule used when neither is given (None: ``parse_period``'s default, the last twelve
    months). The period is resolved by :func:`salesnb.report.configuration.report_period`, as
    a run resolves it for its index. ``period_label`` (a run's ``period_label`` parameter)
    says how the run chose the period; the header shows it beside the dates.

    ``where`` (a :class:`Selection`) or ``filters`` (``{"team": team, "segment": segment}``,
    None values left out) say which deals, leads and reps the report is about; the report's
    ``where`` is the selection every metric then takes.

    The header states the period, the data's snapshot date, the selection, the reporting
    currency (and, with deals or orders in other currencies, one line saying they were
    converted and with which rates) and, in a banner, every data-quality warning the validator
    found.
    """
    filters = {name: value for name, value in (filters or {}).items() if value not in (None, "")}
    where = as_selection(where).but(**filters) if filters else as_selection(where)
    dataset = open_dataset(data_dir, config_path, strict=strict, backend=backend)
    rule = period if period not in (None, "") else default_period
    explicit = period_start not in (None, "") or period_end not in (None, "")
    period = report_period(dataset, rule, period_start, period_end)
    # A file of less than a year gets the data's own months (periods.period_for_short_data): say so.
    chosen = dataset.dated and period == period_for_short_data(dataset.span, dataset.as_of)
    data_date = f"data as of <strong>{dataset.as_of:%d %b %Y}</strong>" if dataset.dated else \
        "<strong>data without dates</strong>"
    header = (
        f"<p style='color:#4b5563'>Period <strong>{show.text(period_label or period.label())}</strong>"
        f"{' (chosen from the data)' if chosen and 'chosen from the data' not in (period_label or '') else ''} · "
        f"{data_date} · "
        + "".join(f"{show.text(name)} <strong>{show.text(' or '.join(values))}</strong> · " for name, values in where.items()) +
        f"currency {show.text(dataset.playbook.currency)} · "
        f"tables: {show.text(', '.join(dataset.table_names))}</p>"
    )
    display(show.kit_html(header + print_header(title, period, where)))
    if chosen:
        display(show.notice(
            f"The period was chosen from the data: it holds less than twelve months ({dataset.span.label()}), so "
            f"the report covers all of it, {period.label()}, instead of the last twelve full months (which would leave "
            "its latest rows out). Give period_start and period_end, or a period, to report on other dates.", "info"))
    converted = currency.conversion_note(dataset)
    if converted:  # several currencies: say that amounts were converted, and with which rates
        display(show.kit_html(f"<p style='color:#4b5563'>{show.text(converted)}</p>"))
    plots.set_category_values(dataset.category_values())
    for finding in warnings(dataset.findings):
        display(show.notice(f"Data quality: {readable_message(finding, dataset.playbook)}", "warning"))
    if not dataset.dated:
        display(show.notice(UNDATED_NOTE, "info"))
        return Report(title, dataset, period, filters, where)
    asked = (period_start, period_end) if explicit else ((rule, rule) if is_all(rule) else (None, None))
    clamped = _clamp_note(*asked, period, dataset)
    if clamped:
        display(show.notice(clamped, "info"))
    if not is_coming(period, dataset.as_of) and not _anything_in(dataset, period):
        display(show.notice(
            f"Nothing in the data falls in this period ({period.label()}): no deal was created or closed, "
            f"no lead was created and no order placed. The data runs up to {dataset.as_of:%d %b %Y}; check period_start "
            "and period_end.", "warning"))
    return Report(title, dataset, period, filters, where)


def print_header(title: str, period: Period, where: Selection = EVERYTHING) -> str:
    """A ``<style>`` putting the report's name, selection and period at the head of every
    printed page (a page margin box of ``@page``; the page number is in ``print.css``)."""
    words = " · ".join([title, *(f"{name} {' or '.join(values)}" for name, values in where.items()), period.label()])
    return (f"<style>@media print {{ @page {{ @top-left {{ content: {show.css_string(words)}; "
            "font: 8pt sans-serif; color: #4b5563; } } }</style>")


# What a row of each table is, as people say it ("deal O000595").
ROW_NOUNS = {"opportunities": "deal", "opportunity_history": "deal", "leads": "lead", "accounts": "account",
             "reps": "rep", "activities": "activity", "orders": "order", "quotas": "quota of rep",
             "marketing_spend": "spend of"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$")


def readable_row(table: str, row: dict, playbook: Playbook | None = None) -> str:
    """One example row of a data-quality finding as people read it: ``deal O000595
    (Qualification, expected 14 Nov 2024)``, not ``(opportunity_id='O000595', ...)``.

    The row's ID first, named after the table; then the stage as it is, dates as "14 Nov
    2024" after a word saying which date it is (an open deal's close date is "expected"),
    and any other value after its column's name."""
    spec = TABLES.get(table)
    key = spec.key if spec and spec.key in row else next(iter(row), None)
    head = f"{ROW_NOUNS.get(table, 'row')} {row[key]}" if key is not None else ROW_NOUNS.get(table, "row")
    parts = []
    open_deal = playbook is not None and row.get("stage") in playbook.open_stages
    for column, value in row.items():
        if column == key:
            continue
        words = column.replace("_", " ")
        if value is None:
            parts.append(f"no {words}")
        elif column == "stage":
            parts.append(str(value))
        elif isinstance(value, str) and _ISO_DATE.match(value):
            day = dt.datetime.fromisoformat(value)
            word = {"close_date": "expected" if open_deal else "closed", "created_at": "created"}.get(column, words)
            parts.append(f"{word} {day:%d %b %Y}")
        else:
            parts.append(f"{words} {value}")
    return head + (f" ({', '.join(parts)})" if parts else "")


def readable_message(finding: validate.Finding, playbook: Playbook | None = None) -> str:
    """A data-quality finding's message with its example rows and counts written for people
    (:func:`readable_row`; "1 row", "73 rows"): the banner at the top of a report."""
    message = finding.message
    described = validate._describe_examples(finding.examples) if finding.examples else ""
    if described and described in message:
        message = message.replace(described, "; ".join(readable_row(finding.table, row, playbook)
                                                      for row in finding.examples))
    message = re.sub(r"\b(\d[\d,]*) row\(s\)", lambda match: plural(int(match[1].replace(",", "")), "row"), message)
    # "1 row have a date ..." -> "1 row has a date ...".
    return re.sub(r"\b1 row (have|are|were)\b", lambda match: "1 row " + SINGULAR_VERBS[match[1]], message)


SINGULAR_VERBS = {"have": "has", "are": "is", "were": "was"}


# What the header says on data without dates (docs/metrics.md, *Data without dates*).
UNDATED_NOTE = ("The data has no dates (no deal, lead, activity or order carries one), so this report covers every "
                "row: win rates and loss reasons are over all closed deals, scores and conversion by source or "
                "attribute over all leads and deals. What places rows in time (trends, comparisons with an earlier "
                "period, the sales cycle, deal age, the forecast) needs dates, and each such section says so.")


def _anything_in(dataset: Dataset, period: Period) -> bool:
    """Whether any deal was created or closed, any lead created or any order placed in the period."""
    checks = []
    if dataset.has("opportunities"):
        deals = dataset.table("opportunities")
        checks.append(deals.filter(deals.created_at.between(period.start, period.end)
                                   | deals.close_date.between(period.start, period.end)))
    if dataset.has("leads"):
        leads = dataset.table("leads")
        checks.append(leads.filter(leads.created_at.date().between(period.start, period.end)))
    if dataset.has("orders"):
        orders = dataset.table("orders")
        checks.append(orders.filter(orders.ordered_at.between(period.start, period.end)))
    return any(int(check.count().execute()) for check in checks) if checks else True


def _clamp_note(period_start, period_end, period: Period, dataset: Dataset) -> str | None:
    """What the header says when the period is the data's span ('all') or was cut back to it."""
    if is_all(period_start) or is_all(period_end):
        return (f"Period 'all': the data's own span, {dataset.span.label()}. Comparisons with the previous "
                "period are empty: there is no data before it.")
    asked = (parse_date(period_start, "period_start"), parse_date(period_end, "period_end"))
    if (asked[0] and asked[0] < period.start) or (asked[1] and asked[1] > period.end):
        return (f"The period asked for ({asked[0] or period.start:%d %b %Y} – {asked[1] or period.end:%d %b %Y}) "
                f"is far wider than the data ({dataset.span.label()}); the report covers {period.label()}, so "
                "months and charts follow the data. No deal or lead falls in the part left out.")
    return None
