"""The pipeline waterfall: how the open pipeline due in a period moved between two dates.

``start + new + pulled in - pushed out - won - lost + amount changes = end``, over the deals
due in the target period, from :func:`salesnb.metrics.snapshots.pipeline_as_of` at both
dates. Every deal lands in exactly one way in (start, new or pulled in) and one way out
(end, pushed out, won or lost), with fixed precedence, so the totals always reconcile.

With deals in several currencies each date values its pipeline at that date's rates, so a
rate change between the dates is its own bar, ``currency effect``, instead of hiding in the
amount changes (``+ currency effect`` in the equation; see :func:`waterfall`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd

from salesnb.data import currency
from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period, parse_date
from salesnb.data.selection import Selection
from salesnb.errors import SalesnbError
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import LOST, OPEN, WON, amounts_recorded
from salesnb.metrics.scope import metric
from salesnb.metrics.snapshots import pipeline_as_of
from salesnb.metrics.totals import exact_sum

# The bars, in the order of the equation; the sign each adds to the start.
BUCKETS = {"start": 1, "new": 1, "pulled_in": 1, "pushed_out": -1, "won": -1, "lost": -1, "amount_change": 1, "end": 1}
# With deals in several currencies: the bars with the currency effect before the end.
CURRENCY_BUCKETS = {**{name: sign for name, sign in BUCKETS.items() if name != "end"}, "currency_effect": 1, "end": 1}
LABELS = {"start": "Start", "new": "New", "pulled_in": "Pulled in", "pushed_out": "Pushed out", "won": "Won",
          "lost": "Lost", "amount_change": "Amount changes", "currency_effect": "Currency effect", "end": "End"}
# The default comparison: the pipeline a week before the data's date (the weekly review).
DEFAULT_COMPARE_DAYS = 7
# Two sums of the same amounts differ only by float rounding (cents) if they reconcile.
TOLERANCE = 0.005

declare(
    Measure("waterfall", "Pipeline waterfall", "currency", "The pipeline due in the period from the compare-from "
            "date to the data's date, by bar: start, new, pulled in, pushed out, won, lost, amount changes, end.",
            section="waterfall"),
    Measure("waterfall_step", "Step", "text", "A bar of the waterfall (start, new, pulled in, pushed out, won, "
            "lost, amount changes, end)."),
    Measure("came_in", "Came in", "text", "How the deal entered the pipeline due in the period: start, new or "
            "pulled in."),
    Measure("left", "Left", "text", "How the deal left it: won, lost, pushed out, or still due at the end."),
    Measure("amount_in", "Amount in", "currency", "The deal's amount when it came in.", section="waterfall"),
    Measure("amount_out", "Amount out", "currency", "The deal's amount when it left (or at the end).",
            section="waterfall"),
    Measure("amount_change", "Amount change", "currency", "amount out − amount in (with several currencies: at "
            "the compare-from date's rate).", section="waterfall"),
    Measure("currency_effect", "Currency effect", "currency", "With deals in several currencies: amount out at "
            "the rate it leaves at − amount out at the compare-from date's rate.", section="waterfall"),
    Measure("stage_then_and_now", "Stage (then → now)", "text", "The deal's stage on both dates."),
    Measure("close_date_then_and_now", "Close date (then → now)", "text", "The deal's expected close date on both "
            "dates."),
)


@dataclass
class Waterfall:
    """``totals``: bucket -> amount (BUCKETS order; the signs are in BUCKETS; with deals in
    several currencies, ``currencies`` is True and the buckets are CURRENCY_BUCKETS, with
    ``currency_effect``); ``counts``: bucket -> deals; ``deals``: one row per deal that moved,
    with how it came in, how it left, its amount change (and currency effect); ``check``: the equation and the two independent pipeline
    totals it must match; ``left_out``: deals whose state on a date is unknown;
    ``without_amount``: deals counted at 0 where an amount is missing. ``measured`` is
    False (with ``reason``; totals and counts None, no deals) when the data cannot tell the
    pipeline on the start date: no ``opportunity_history``."""

    period: Period
    start_date: dt.date
    end_date: dt.date
    totals: dict
    counts: dict
    deals: pd.DataFrame
    check: dict
    left_out: int
    considered: int
    without_amount: int
    measured: bool = True
    reason: str | None = None
    currencies: bool = False  # deals in several currencies: the currency effect is a bar

    @property
    def buckets(self) -> dict:
        """The bars and their signs: :data:`BUCKETS`, or :data:`CURRENCY_BUCKETS` with several currencies."""
        return CURRENCY_BUCKETS if self.currencies else BUCKETS

    @property
    def reconciles(self) -> bool:
        return self.check["reconciles"]

    @property
    def amounts_measured(self) -> bool:
        """Whether the bars have amounts (False without history or without any deal amount)."""
        return self.totals["start"] is not None

    def table(self) -> pd.DataFrame:
        """The bars as a table: waterfall_step, deals, amount (signed as it adds to the start;
        empty when amounts are not measured). The won and lost bars say since when ("Won since
        24 Dec"): they count the two dates' window, not the period so far, and would otherwise
        read as contradicting a "won so far in the period" beside them."""
        def step(name: str) -> str:
            return f"{LABELS[name]} since {self.start_date:%d %b}" if name in ("won", "lost") else LABELS[name]

        rows = [{"waterfall_step": step(name), "deals": self.counts[name],
                 "amount": None if self.totals[name] is None else
                 self.totals[name] * (1 if name in ("start", "end") else sign)} for name, sign in self.buckets.items()]
        return pd.DataFrame(rows)

    def check_note(self) -> str:
        """The reconciliation check as a sentence for the page ("–" where amounts are not measured)."""
        def number(value):
            return "–" if value is None else f"{value:,.0f}"
        check = self.check
        effect = " ± currency effect" if self.currencies else ""
        return (f"Check: start {number(check['pipeline_start'])} + new + pulled in − pushed out − won − lost ± amount "
                f"changes{effect} = {number(check['computed_end'])}; pipeline due at the end "
                f"{number(check['pipeline_end'])}: "
                + ("reconciles exactly." if self.reconciles else "DOES NOT RECONCILE: please report this."))


def compare_date(compare_from, as_of: dt.date) -> dt.date:
    """The waterfall's start date: ``compare_from`` (a date or YYYY-MM-DD), by default seven
    days before ``as_of`` (the end date, normally the data's date: last week's review)."""
    date = parse_date(compare_from, "compare_from")
    if date is None:
        return as_of - dt.timedelta(days=DEFAULT_COMPARE_DAYS)
    if date >= as_of:
        raise SalesnbError(f"compare_from {date} must be before the end date {as_of} (by default the data's date): "
                           "the waterfall compares an earlier date with a later one.")
    return date


@metric(default_period="fiscal_quarter")
def waterfall(dataset: Dataset, period: Period | None = None, *, where: Selection, start_date=None,
              end_date=None) -> Waterfall:
    """How the open pipeline due in the period moved from ``start_date`` to ``end_date``.

    ``period`` defaults to the fiscal quarter open at the data's date. Every selection
    dimension applies (by the deal's current owner, account, source and product).

    A deal is *due* on a date when it is open then with an expected close date in the
    period. The deals considered are those due on either date, and those won between the
    dates with a close date in the period (pulled in, or new, and won). A deal lost between
    the dates that was not due at start_date was not in this period's pipeline (e.g. an
    overdue deal closed out) and is not part of it. Each deal gets one way in and one way
    out, in this order:

    - in: **start** (due at start_date, at its amount then) > **new** (created after
      start_date, at its amount at end_date) > **pulled in** (open at start_date but not
      due, at its amount then: the close date moved into the period, from later or earlier);
    - out: **won** / **lost** (closed after start_date) > **end** (due at end_date) >
      **pushed out** (still open, close date moved out of the period or removed), at its
      amount at end_date;
    - **amount change** = amount out - amount in.

    With deals in several currencies (``salesnb.data.currency``) each date's amounts are at
    that date's rates (a deal closed by then: at its close date's), and the change of a deal
    present at start_date splits in two:

    - **amount change** = amount out at start_date's rate - amount in (what the CRM changed);
    - **currency effect** = amount out - amount out at start_date's rate (what the rates
      changed); a new deal has none (it enters and leaves at the same rate).

    So for each deal: in + amount change (+ currency effect) - out = 0, or = its end amount
    when it is still due, and the totals satisfy start + new + pulled in - pushed out - won -
    lost + amount change (+ currency effect) = end exactly. A missing amount counts as 0 at that date, except that a closed
    deal without an amount leaves at its amount on the way in (CRMs often blank the
    amount of lost deals: that is a loss, not an amount change). Deals whose state is
    unknown at a date are left out (counted). ``end_date`` (a date or YYYY-MM-DD) defaults to
    the data's date, ``start_date`` to seven days before the end (:func:`compare_date`). Without
    ``opportunity_history`` the result is not measured (``measured`` False, with the reason).
    """
    end_date = parse_date(end_date, "end_date") or dataset.as_of
    start_date = compare_date(start_date, end_date)
    if start_date < dataset.as_of and not dataset.has("opportunity_history"):
        # Without history the pipeline of an earlier date is unknown: not measured, never today's.
        empty = {name: None for name in BUCKETS}
        return Waterfall(period, start_date, end_date, empty, dict(empty), pd.DataFrame(), {"reconciles": None}, 0, 0,
                         0, measured=False, reason="the pipeline on an earlier date is rebuilt from the "
                         "'opportunity_history' table, which this data does not have")
    currencies = currency.is_converted(dataset)
    # Cached: the classification below reads the two dates' states several times.
    states = pipeline_as_of(dataset, [start_date, end_date], where=where).cache()
    before = states.filter(states.as_of_date == start_date).select(
        "opportunity_id", stage_before="stage", amount_before="amount", close_before="close_date",
        outcome_before="outcome", known_before="state_known", original_before="amount_original",
        rate_before="exchange_rate")
    after = states.filter(states.as_of_date == end_date)
    joined = after.left_join(before, "opportunity_id").drop("opportunity_id_right")
    existed = joined.outcome_before.notnull()
    due_before = existed & (joined.outcome_before == OPEN) & _in(joined.close_before, period)
    due_after = (joined.outcome == OPEN) & _in(joined.close_date, period)
    closed = joined.outcome != OPEN
    closed_since = closed & (~existed | (joined.outcome_before == OPEN))
    won_in_period = closed_since & (joined.outcome == WON) & _in(joined.close_date, period)
    new = ~due_before & (~existed | (joined.outcome_before != OPEN))
    amount_in = ibis.cases((new, joined.amount), else_=joined.amount_before)
    original_in = ibis.cases((new, joined.amount_original), else_=joined.original_before)
    # A closed deal without an amount leaves at its amount on the way in (at the rate it leaves at).
    amount_out = ibis.cases((closed, joined.amount.fill_null((original_in * joined.exchange_rate).fill_null(0))),
                            else_=joined.amount).fill_null(0)
    original_out = ibis.cases((closed, joined.amount_original.fill_null(original_in)), else_=joined.amount_original)
    # The amount out at the start date's rate: what the deal would leave at had no rate moved
    # (one currency: the amount out itself, so the currency effect is 0).
    out_at_start_rate = ibis.cases((new, amount_out), else_=original_out * joined.rate_before).fill_null(amount_out)
    # One projection, then one filter: cheap to compile, and run once per waterfall.
    moved = joined.select(
        "opportunity_id", "rep_id", "rep_name", "team", "stage_before", "stage", "close_before", "close_date",
        way_in=ibis.cases((due_before, "start"), (new, "new"), else_="pulled_in"),
        way_out=ibis.cases((joined.outcome == WON, "won"), (joined.outcome == LOST, "lost"), (due_after, "end"),
                           else_="pushed_out"),
        amount_in=amount_in.fill_null(0), amount_out=amount_out,
        amount_change=out_at_start_rate - amount_in.fill_null(0), currency_effect=amount_out - out_at_start_rate,
        missing_amount=amount_in.isnull() | (~closed & joined.amount.isnull()),
        known=joined.state_known & joined.known_before.fill_null(True),
        considered=due_before | due_after | won_in_period,
    )
    moved = moved.filter(moved.considered).drop("considered").order_by(["way_out", "way_in", "opportunity_id"]).execute()
    moved = moved[["opportunity_id", "rep_id", "rep_name", "team", "way_in", "way_out", "amount_in", "amount_change",
                   "currency_effect", "amount_out", "stage_before", "stage", "close_before", "close_date",
                   "missing_amount", "known"]]
    # Deals whose state on a date is unknown cannot be placed: counted, left out.
    left_out = int((~moved["known"]).sum())
    moved = moved[moved["known"]].drop(columns="known").reset_index(drop=True)

    totals, counts = {}, {}
    for name in ("start", "new", "pulled_in"):
        rows = moved[moved["way_in"] == name]
        totals[name], counts[name] = float(rows["amount_in"].sum()), len(rows)
    for name in ("won", "lost", "pushed_out", "end"):
        rows = moved[moved["way_out"] == name]
        totals[name], counts[name] = float(rows["amount_out"].sum()), len(rows)
    for name in ("amount_change", "currency_effect"):
        changed = moved[moved[name] != 0]
        totals[name], counts[name] = float(changed[name].sum()), len(changed)
    buckets = CURRENCY_BUCKETS if currencies else BUCKETS
    if not currencies:
        moved = moved.drop(columns="currency_effect")
    totals = {name: totals[name] for name in buckets}
    counts = {name: counts[name] for name in buckets}
    check = _check(states, period, start_date, end_date, totals, buckets)
    if not amounts_recorded(dataset):
        # No deal has an amount: the bars are counts only; amounts are not measured, not 0.
        totals = {name: None for name in buckets}
        moved[[column for column in ("amount_in", "amount_change", "currency_effect", "amount_out")
               if column in moved]] = float("nan")
        end = sum(counts[name] * sign for name, sign in buckets.items()
                  if name not in ("end", "amount_change", "currency_effect"))
        check = {"computed_end": None, "pipeline_start": None, "pipeline_end": None, "reconciles": end == counts["end"]}
    return Waterfall(period, start_date, end_date, totals, counts, moved, check, left_out, len(moved) + left_out,
                     int(moved["missing_amount"].sum()), currencies=currencies)


def _in(date, period: Period):
    """The date lies in the period (False when there is no date)."""
    return date.between(period.start, period.end).fill_null(False)


def _check(states, period: Period, start_date, end_date, totals: dict, buckets: dict) -> dict:
    """The equation, and start and end against the pipeline due in the period summed
    directly from the states on each date (a deal lost or counted twice would show), over
    the same deals: those whose state is known on both dates."""
    unknown = states.filter(~states.state_known).select("opportunity_id").distinct()
    due = states.filter((states.outcome == OPEN) & states.close_date.between(period.start, period.end))
    due = due.anti_join(unknown, "opportunity_id")
    sums = due.group_by("as_of_date").aggregate(amount=exact_sum(due.amount)).execute()
    by_date = {pd.Timestamp(date).date(): float(amount or 0) for date, amount in zip(sums["as_of_date"], sums["amount"])}
    pipeline_start, pipeline_end = by_date.get(start_date, 0.0), by_date.get(end_date, 0.0)
    computed_end = sum(totals[name] * sign for name, sign in buckets.items() if name != "end")
    return {
        "computed_end": computed_end, "pipeline_start": pipeline_start, "pipeline_end": pipeline_end,
        "reconciles": abs(computed_end - totals["end"]) < TOLERANCE
        and abs(pipeline_start - totals["start"]) < TOLERANCE and abs(pipeline_end - totals["end"]) < TOLERANCE,
    }


def deals_behind_bars(result: Waterfall) -> pd.DataFrame:
    """The deals behind the bars: every deal that moved (came in other than at the start,
    left other than at the end, changed amount or, with several currencies, value by a rate
    change), largest movement first, with its stage
    and expected close date on both dates ("before → after")."""
    deals = result.deals
    effect = deals["currency_effect"] if "currency_effect" in deals else pd.Series(0.0, index=deals.index)
    moved = deals[(deals["way_in"] != "start") | (deals["way_out"] != "end") | (deals["amount_change"] != 0)
                  | (effect != 0)]

    def then_and_now(before, after):
        def text(value):
            return "–" if value is None or pd.isna(value) else (
                f"{pd.Timestamp(value):%Y-%m-%d}" if not isinstance(value, str) else value)
        return [text(old) if text(old) == text(new) else f"{text(old)} → {text(new)}" for old, new in zip(before, after)]

    moved = moved.assign(
        came_in=moved["way_in"].map(LABELS), left=moved["way_out"].map(LABELS),
        stage_then_and_now=then_and_now(moved["stage_before"], moved["stage"]),
        close_date_then_and_now=then_and_now(moved["close_before"], moved["close_date"]),
        size=moved[["amount_in", "amount_out"]].abs().max(axis=1))
    moved = moved.sort_values(["size", "opportunity_id"], ascending=[False, True])
    amounts = ["amount_in", "amount_change", *(["currency_effect"] if result.currencies else []), "amount_out"]
    return moved[["opportunity_id", "rep_name", "came_in", "left", *amounts,
                  "stage_then_and_now", "close_date_then_and_now"]].reset_index(drop=True)
