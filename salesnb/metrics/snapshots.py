"""The pipeline as it stood on any date: every deal's state rebuilt from its stage history.

:func:`pipeline_as_of` is the one building block for every view that looks back (the
waterfall, slips, calibration, the forecast's training data and the backtest): each deal's
stage, amount and expected close date at the end of a date, rebuilt from
``opportunity_history`` (each row is the deal's state from ``changed_at`` on). On or after
the data's date the current snapshot is the answer. Before it, without history, nothing
is known: the function raises :class:`~salesnb.errors.MissingTableError` (reports show
what is missing) instead of passing today's snapshot off as the past.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data import currency
from salesnb.data.dataset import Dataset
from salesnb.data.selection import Selection
from salesnb.errors import ExchangeRateError, SalesnbError
from salesnb.metrics.deals import OPEN, deals, outcome

# What pipeline_as_of returns for each (date, deal).
STATE_COLUMNS = ("as_of_date", "opportunity_id", "account_id", "rep_id", "rep_name", "team", "segment",
                 "created_at", "stage", "amount", "close_date", "outcome", "state_known", "amount_original",
                 "currency", "exchange_rate")


def _as_dates(dates) -> list[dt.date]:
    if isinstance(dates, (dt.date, str)) or not isinstance(dates, Iterable):
        dates = [dates]
    parsed = sorted({pd.Timestamp(date).date() for date in dates})
    if not parsed:
        raise SalesnbError("pipeline_as_of needs at least one date.")
    return parsed


def _stage_order(stage: ir.StringValue, playbook) -> ir.IntegerValue:
    """Open stages in process order, then the closed ones: on equal timestamps the close is last."""
    names = playbook.open_stages + playbook.closed_stages
    return ibis.cases(*[(stage == name, index) for index, name in enumerate(names)], else_=len(names)).cast("int64")


def history_order(history: ir.Table, playbook) -> list[ir.Value]:
    """The order of a deal's history rows, for every window over them: by ``changed_at``, and
    rows with the same ``changed_at`` open stages first in process order, then the close, then
    by expected close date and amount. The engine returns tied rows in any order (it differs
    from run to run, and with the order of the rows in the files), so without the tie-breakers
    the same data could give another stage sequence."""
    return [history.changed_at, _stage_order(history.stage, playbook), history.close_date, history.amount]


def deal_states(dataset: Dataset) -> ir.Table:
    """Every ``opportunity_history`` row, ordered within its deal, with:

    - ``day``: the date the state took effect; ``next_day``: the date the deal's next row took
      effect (NULL for its last row). The row is the deal's state at the end of day D when
      ``day <= D`` and (``next_day`` is NULL or ``next_day > D``);
    - ``previous_close_date``: the expected close date of the row before;
    - ``pushed``: the row moved the expected close date later while the deal stayed open
      (a slip). The close itself is not a push, even when it comes after the expected date;
    - ``stage_changed``: the row entered a stage (the deal's first row, or a stage other than
      the row before's).

    Rows with the same ``changed_at`` are ordered open stages first (in process order), then
    the close, so the same data always gives the same states.
    """
    return dataset.derived("deal_states", lambda: _deal_states(dataset))


def _deal_states(dataset: Dataset) -> ir.Table:
    history = dataset.table("opportunity_history", needed_for="the pipeline on a past date")
    history = history.filter(history.changed_at.notnull() & history.opportunity_id.notnull())
    history = history.mutate(day=history.changed_at.date())
    ordered = ibis.window(group_by="opportunity_id", order_by=history_order(history, dataset.playbook))
    history = history.mutate(next_day=history.day.lead().over(ordered), previous_stage=history.stage.lag().over(ordered),
                             previous_close_date=history.close_date.lag().over(ordered))
    pushed = history.stage.isin(dataset.playbook.open_stages) & (history.close_date > history.previous_close_date)
    stage_changed = history.previous_stage.isnull() | (history.stage != history.previous_stage)
    return history.mutate(pushed=pushed.fill_null(False), stage_changed=stage_changed).drop("previous_stage")


def pipeline_as_of(dataset: Dataset, dates, *, where: Selection | None = None) -> ir.Table:
    """Every deal's state at the end of each date: one row per (``as_of_date``, deal that existed then),
    for the deals of the selection ``where`` (:func:`salesnb.metrics.deals.deals`: by their
    current owner, team, segment, source, product and region).

    ``dates``: one date or several (dates, not a period: each is a day the pipeline is
    rebuilt on). A building block of the look-back views, not a metric: it returns an Ibis
    table to filter and aggregate further.

    Columns: ``as_of_date``, ``opportunity_id``, ``account_id``, ``rep_id``, ``rep_name``, ``team``,
    ``segment``, ``created_at``, ``stage``, ``amount``, ``close_date``, ``outcome`` (won, lost,
    open), ``state_known``, and ``amount_original``, ``currency``, ``exchange_rate``: ``amount``
    is in the playbook currency, ``amount_original`` x ``exchange_rate`` (the deal's amount in
    its ``currency``, at the rate valid on the as-of date for a deal open then, on its close
    date for a deal closed by then: ``salesnb.data.currency``; 1 for data in one currency).

    - On or after the data's date (``dataset.as_of``): the current snapshot.
    - Before it: the deal's last ``opportunity_history`` row dated on or before the date, as
      it is (a row without an amount means the deal had none then). A deal exists on a date
      when it was created on or before it, or has a history row by then.
    - A deal without any history row is taken as it is now when it is still open (no change
      was recorded), or when it was closed on or before the date. A deal that existed but
      has no state by then otherwise (history starting later, or closed after the date
      without history) is open with unknown stage, amount and close date:
      ``state_known`` is False, and each view counts it as left out.

    Owner, team, segment, creation date and currency are the deal's current ones. Needs
    ``opportunity_history`` for any date before the data's date. A deal in another currency
    whose amount needs a rate on a date before that currency's first rate raises
    :class:`~salesnb.errors.ExchangeRateError` (never a guessed rate, never a dropped deal).
    """
    dates = _as_dates(dates)
    selected = _with_currency(dataset, deals(dataset, where))
    now = [date for date in dates if date >= dataset.as_of]
    past = [date for date in dates if date < dataset.as_of]
    parts = []
    if now:
        current = selected.cross_join(_dates_table(selected, now))
        parts.append(current.mutate(state_known=ibis.literal(True)).select(*STATE_COLUMNS))
    if past:
        parts.append(_past_states(dataset, selected, past))
    return parts[0] if len(parts) == 1 else ibis.union(*parts)


# The rate of data in one currency. Written as a cast integer: Spark reads the SQL literal 1.0
# as DECIMAL(2, 1), and an amount times it then fails to come back as a float (the engines-agree
# tier); Ibis drops a cast of a float literal to float, not of an integer.
UNIT_RATE = ibis.literal(1).cast("float64")


def _with_currency(dataset: Dataset, table: ir.Table) -> ir.Table:
    """Deals with ``amount_original``, ``currency`` and ``exchange_rate``: as converted, or, for
    data in one currency, the amount itself at rate 1."""
    if currency.is_converted(dataset):
        return table
    return table.mutate(amount_original=table.amount, currency=ibis.literal(dataset.playbook.currency),
                        exchange_rate=UNIT_RATE)


def deal_timeline(dataset: Dataset) -> ir.Table:
    """Every deal's states as intervals of days: ``opportunity_id``, ``day`` (first day),
    ``next_day`` (first day of the next state, NULL for the last), ``stage``, ``amount``,
    ``close_date``, ``state_known``; the state at the end of day D is the row with
    ``day <= D < next_day``. Built once per dataset, so every date asked is one filter:

    - the history rows (:func:`deal_states`);
    - a deal created before its first history row: unknown from creation to that row;
    - a deal without history: as it is now from creation when still open; when closed,
      unknown from creation to its close date, closed from then on.
    """
    return dataset.derived("deal_timeline", lambda: _deal_timeline(dataset))


def _deal_timeline(dataset: Dataset) -> ir.Table:
    states = deal_states(dataset)
    # Amounts as written (the deal's currency), as in the history: converted on each date asked.
    current = deals(dataset)
    amount = current.amount_original if currency.is_converted(dataset) else current.amount
    current = current.select("opportunity_id", "created_at", "stage", "close_date", "outcome", amount=amount)
    first = states.group_by("opportunity_id").aggregate(first_day=states.day.min())
    current = current.left_join(first, "opportunity_id").drop("opportunity_id_right")
    columns = ("opportunity_id", "day", "next_day", "stage", "amount", "close_date", "state_known")
    unknown = dict(stage=ibis.null().cast("string"), amount=ibis.null().cast("float64"),
                   close_date=ibis.null().cast("date"), state_known=ibis.literal(False))
    no_date = ibis.null().cast("date")
    history = states.mutate(state_known=ibis.literal(True)).select(*columns)
    late = current.filter(current.first_day.notnull() & (current.created_at < current.first_day))
    before_history = late.mutate(day=late.created_at, next_day=late.first_day, **unknown).select(*columns)
    without = current.filter(current.first_day.isnull())
    still_open = without.filter((without.outcome == OPEN) & without.created_at.notnull())
    as_now = still_open.mutate(day=still_open.created_at, next_day=no_date, state_known=ibis.literal(True)).select(*columns)
    closed = without.filter(without.outcome != OPEN)
    opened = closed.filter(closed.created_at.notnull() & (closed.close_date.isnull() | (closed.created_at < closed.close_date)))
    until_close = opened.mutate(day=opened.created_at, next_day=opened.close_date, **unknown).select(*columns)
    closed = closed.filter(closed.close_date.notnull())
    after_close = closed.mutate(day=closed.close_date, next_day=no_date, state_known=ibis.literal(True)).select(*columns)
    return ibis.union(history, before_history, as_now, until_close, after_close)


def _dates_table(table: ir.Table, dates: list[dt.date]) -> ir.Table:
    """The dates as a one-column table (``as_of_date``), unnested from a literal on one row of
    ``table``: an in-memory table would not be registered by every backend when an
    expression using it is cached (Ibis 12 on PySpark). No row in ``table``: no dates, and
    nothing to date anyway."""
    return table.limit(1).select(as_of_date=ibis.literal(dates, type="array<date>").unnest())


def _past_states(dataset: Dataset, selected: ir.Table, dates: list[dt.date]) -> ir.Table:
    timeline = deal_timeline(dataset)
    rows = timeline.cross_join(_dates_table(timeline, dates))
    rows = rows.filter((rows.day <= rows.as_of_date) & (rows.next_day.isnull() | (rows.next_day > rows.as_of_date)))
    attributes = selected.select("opportunity_id", "account_id", "rep_id", "rep_name", "team", "segment", "created_at",
                                 "currency")
    joined = attributes.join(rows, "opportunity_id")
    outcome_then = ibis.cases((joined.stage.isnull(), OPEN), else_=outcome(joined.stage, dataset.playbook))
    joined = joined.mutate(outcome=outcome_then, amount_original=joined.amount)
    if not currency.is_converted(dataset):
        return joined.mutate(exchange_rate=UNIT_RATE).select(*STATE_COLUMNS)
    # A deal open on the date at that date's rate; one closed by then at its close date's.
    closed = (joined.outcome != OPEN) & joined.close_date.notnull()
    rate_date = ibis.cases((closed, joined.close_date), else_=joined.as_of_date)
    states = currency.convert_on(joined, rate_date, currency.rates_of(dataset), dataset.playbook).select(*STATE_COLUMNS)
    _check_rates(dataset, states, dates)
    return states


def _check_rates(dataset: Dataset, states: ir.Table, dates: list[dt.date]) -> None:
    """Raise :class:`ExchangeRateError` when a deal's amount needs a rate on a date before its
    currency's first rate. Only asked when some date lies before a first rate."""
    first_rates = [day for day in currency.first_rate_dates(dataset).values() if day is not None]
    if not first_rates or min(dates) >= max(first_rates):
        return
    missing = states.filter(states.amount_original.notnull() & states.exchange_rate.isnull())
    found = missing.group_by("currency").aggregate(
        deals=missing.opportunity_id.nunique(), first=missing.as_of_date.min(), last=missing.as_of_date.max(),
    ).order_by("currency").execute()
    if found.empty:
        return
    parts = [f"{int(row.deals):,} deal(s) in {row.currency} on {pd.Timestamp(row.first):%Y-%m-%d}"
             + ("" if row.first == row.last else f" to {pd.Timestamp(row.last):%Y-%m-%d}")
             for row in found.itertuples()]
    raise ExchangeRateError(
        "The pipeline on a past date needs exchange rates the data does not have: " + "; ".join(parts)
        + " (the dates asked, before each currency's first rate). Add rates from those dates on to the "
        "exchange_rates table, or ask for later dates: an amount is never converted at a guessed rate, nor left out.")
