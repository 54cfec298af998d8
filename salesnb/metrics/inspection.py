"""Inspection lists: the open deals to go through with each rep this week, and why.

Every deal open at the data's date (``as_of``) is checked once (:func:`inspect_open_deals`);
each list is the deals that fail one check, per rep:

- **stale**: no activity and no stage change for the playbook's ``stale_deal_days``;
- **past due**: expected close date before ``as_of``;
- **pushed twice or more**: expected close date moved later at least twice;
- **missing amount or close date**: nothing to weigh or to place in a period;
- **older than won deals**: open longer than 90% of the deals won in the last year took to win.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.selection import Selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import OPEN, WON, deals
from salesnb.metrics.scope import metric
from salesnb.metrics.snapshots import deal_states

# Won deals of this many days up to as_of give the cycle an open deal's age is compared with.
WON_CYCLE_WINDOW_DAYS = 365
WON_CYCLE_QUANTILE = 0.9
LISTS = {
    "stale": "Stale: no activity and no stage change for {stale_days} days or more",
    "past_due": "Past due: expected close date already passed",
    "pushed_twice": "Pushed two or more times: expected close date moved later at least twice",
    "missing_amount_or_close_date": "Without amount or expected close date",
    "older_than_won": "Older than 90% of won deals' cycles ({p90} days)",
}
# What a check needs when the data cannot support it (the others always can be made).
NEEDS = {"stale": "the 'activities' table", "pushed_twice": "the 'opportunity_history' table",
         "past_due": "expected close dates (close_date) on open deals", "older_than_won": "deals won in the last year"}
# The columns a list shows (Inspection.deals_in).
LIST_COLUMNS = ["rep_name", "opportunity_id", "account_name", "stage", "amount", "close_date", "age_days",
                "days_since_touch", "pushes"]
_NO_DATE = dt.date(1900, 1, 1)

declare(
    Measure("age_days", "Age (days)", "days", "Days from the deal's creation to the data's date (open deals).",
            section="inspection-lists"),
    Measure("last_touch", "Last touch", "date", "The latest of the deal's last activity, last stage entry and "
            "creation."),
    Measure("days_since_touch", "Days since touch", "days", "Days from the last touch (activity, stage entry or "
            "creation) to the data's date.", section="inspection-lists", higher_is_better=False),
    Measure("pushes", "Pushes", "count", "Times the expected close date moved later while the deal was open.",
            section="inspection-lists", higher_is_better=False),
    # One flag per deal and list (Inspection.deals); per rep, the deals on each list (by_rep).
    Measure("stale", "Stale", "flag", "No activity and no stage change for the playbook's stale_deal_days."),
    Measure("past_due", "Past due", "flag", "The expected close date has passed."),
    Measure("pushed_twice", "Pushed twice", "flag", "The expected close date moved later at least twice."),
    Measure("missing_amount_or_close_date", "Without amount or close date", "flag", "No amount or no expected "
            "close date."),
    Measure("older_than_won", "Older than won deals", "flag", "Open longer than 90% of the deals won in the last "
            "year took to win."),
    Measure("flagged_deals", "Flagged deals", "count", "Open deals on at least one inspection list.",
            section="inspection-lists", higher_is_better=False),
    Measure("open_amount", "Open amount", "currency", "Sum of the amounts of the group's open deals.",
            section="inspection-lists"),
    Measure("stale_deals", "Stale deals", "count", "Open deals with no activity and no stage change for the "
            "playbook's stale_deal_days.", section="inspection-lists", higher_is_better=False),
    Measure("past_due_deals", "Past-due deals", "count", "Open deals whose expected close date has passed.",
            section="inspection-lists", higher_is_better=False),
    Measure("pushed_twice_deals", "Pushed twice or more", "count", "Open deals whose expected close date moved later "
            "at least twice.", section="inspection-lists", higher_is_better=False),
    Measure("missing_amount_or_close_date_deals", "Without amount or close date", "count", "Open deals without an "
            "amount or an expected close date.", section="inspection-lists", higher_is_better=False),
    Measure("older_than_won_deals", "Older than won deals", "count", "Open deals older than 90% of the cycles of "
            "the deals won in the last year.", section="inspection-lists", higher_is_better=False),
    Measure("slipped_deals", "Slipped deals", "count", "Open deals whose expected close date moved later at least "
            "once.", section="inspection-lists", higher_is_better=False),
)


@dataclass
class Inspection:
    """The checks on every open deal, and what they could be based on.

    ``deals``: one row per open deal: ``rep_id``, ``rep_name``, ``team``, ``opportunity_id``,
    ``account_name``, ``stage``, ``amount``, ``close_date``, ``created_at``, ``age_days``,
    ``last_touch``, ``days_since_touch``, ``pushes`` and one True/False column per list
    (empty where the check cannot be made). ``stale_measured`` is False without
    ``activities``; ``pushes_measured`` is False without ``opportunity_history``.
    """

    deals: pd.DataFrame
    as_of: dt.date
    stale_days: int
    stale_measured: bool
    pushes_measured: bool
    won_cycle_p90_days: float | None
    won_cycle_deals: int

    def title(self, name: str) -> str:
        p90 = "–" if self.won_cycle_p90_days is None else f"{self.won_cycle_p90_days:.0f}"
        return LISTS[name].format(stale_days=self.stale_days, p90=p90)

    @property
    def without_created_at(self) -> int:
        """Open deals without a creation date: no age, so never on the 'older than won' list."""
        return int(self.deals["created_at"].isna().sum())

    @property
    def without_close_date(self) -> int:
        """Open deals without an expected close date: never past due, listed as missing."""
        return int(self.deals["close_date"].isna().sum())

    def measured(self, name: str) -> bool:
        """Whether the data supports the check: stale needs activities, pushes the history,
        past due at least one open deal with an expected close date, age the won cycles."""
        past_due = self.deals.empty or self.without_close_date < len(self.deals)
        return {"stale": self.stale_measured, "pushed_twice": self.pushes_measured, "past_due": past_due,
                "older_than_won": self.won_cycle_p90_days is not None}.get(name, True)

    def deals_in(self, name: str) -> pd.DataFrame:
        """The deals on one list (:data:`LIST_COLUMNS`), by rep, largest amount first."""
        flagged = self.deals[self.deals[name].fillna(False).astype(bool)]
        return flagged.sort_values(["rep_name", "amount", "opportunity_id"], ascending=[True, False, True],
                                   na_position="last")[LIST_COLUMNS].reset_index(drop=True)

    def note(self, name: str) -> str | None:
        """What the page says instead of a list: that the check is not measured (and what it
        needs), or that no deal is on it; None when there are deals to show."""
        if not self.measured(name):
            return f"{self.title(name)}: not measured, it needs {NEEDS[name]}."
        return None if self.count(name) else f"{self.title(name)}: none."

    @property
    def slipped(self) -> int | None:
        """Open deals whose expected close date moved later at least once (None without history)."""
        return int((self.deals["pushes"].fillna(0) >= 1).sum()) if self.pushes_measured else None

    def count(self, name: str) -> int | None:
        """Deals on the list; None when the check cannot be made on this data."""
        return int(self.deals[name].fillna(False).astype(bool).sum()) if self.measured(name) else None


@metric
def inspect_open_deals(dataset: Dataset, *, where: Selection) -> Inspection:
    """The inspection lists: every open deal of the selection checked for each list.

    The lists are in the module doc. No period and no ``by`` (the deals open now, one row
    each; :func:`by_rep` groups them); every selection dimension applies.

    - last touch = the latest of: the deal's last activity on or before ``as_of``, the last
      day it entered a stage (history), its creation date; ``days_since_touch`` = as_of -
      last touch; **stale** = days_since_touch >= ``stale_deal_days``. Needs ``activities``
      (without ``opportunity_history`` only activities and creation count);
    - ``pushes`` = history rows that moved the expected close date later while the deal was
      open (see :func:`salesnb.metrics.snapshots.deal_states`); needs ``opportunity_history``;
    - **older than won** = age_days (as_of - created_at) > the 90th percentile (linear) of
      ``close_date - created_at`` over deals won in the 365 days up to ``as_of``.
    """
    as_of = dataset.as_of
    playbook = dataset.playbook
    table = deals(dataset, where)
    table = table.filter(table.outcome == OPEN)
    if dataset.has("accounts"):
        names = dataset.table("accounts").select("account_id", "account_name")
        table = table.left_join(names, "account_id").drop("account_id_right")
    else:
        table = table.mutate(account_name=ibis.null().cast("string"))
    has_history, has_activities = dataset.has("opportunity_history"), dataset.has("activities")
    if has_history:
        states = deal_states(dataset)
        states = states.filter(states.day <= as_of)
        per_deal = states.group_by("opportunity_id").aggregate(
            last_stage_change=states.day.max(where=states.stage_changed), pushes=states.pushed.cast("int64").sum())
        table = table.left_join(per_deal, "opportunity_id").drop("opportunity_id_right")
        table = table.mutate(pushes=table.pushes.fill_null(0))
    else:
        table = table.mutate(last_stage_change=ibis.null().cast("date"), pushes=ibis.null().cast("int64"))
    if has_activities:
        activities = dataset.table("activities")
        activities = activities.filter(activities.opportunity_id.notnull() & (activities.occurred_at.date() <= as_of))
        last = activities.group_by("opportunity_id").aggregate(last_activity=activities.occurred_at.max().date())
        table = table.left_join(last, "opportunity_id").drop("opportunity_id_right")
    else:
        table = table.mutate(last_activity=ibis.null().cast("date"))
    no_date = ibis.date(_NO_DATE.isoformat())
    touch = ibis.greatest(table.last_activity.fill_null(no_date), table.last_stage_change.fill_null(no_date),
                          table.created_at.fill_null(no_date))
    table = table.mutate(last_touch=ibis.cases((touch == no_date, ibis.null().cast("date")), else_=touch))
    as_of_date = ibis.date(as_of.isoformat())
    p90, won_deals = _won_cycle(dataset, where)
    stale_days = playbook.stale_deal_days
    days_since_touch = as_of_date.delta(table.last_touch, unit="day")
    age = as_of_date.delta(table.created_at, unit="day")
    table = table.mutate(
        age_days=age, days_since_touch=days_since_touch,
        stale=(days_since_touch >= stale_days) if has_activities else ibis.null().cast("boolean"),
        past_due=table.close_date < as_of_date,
        pushed_twice=(table.pushes >= 2) if has_history else ibis.null().cast("boolean"),
        missing_amount_or_close_date=table.amount.isnull() | table.close_date.isnull(),
        older_than_won=(age > p90) if p90 is not None else ibis.null().cast("boolean"),
    )
    result = table.select(
        "rep_id", "rep_name", "team", "opportunity_id", "account_name", "stage", "amount", "close_date", "created_at",
        "age_days", "last_touch", "days_since_touch", "pushes", *LISTS,
    ).order_by(["rep_name", "opportunity_id"]).execute()
    for name in LISTS:
        result[name] = result[name].astype("boolean")
    return Inspection(result, as_of, stale_days, has_activities, has_history, p90, won_deals)


def _won_cycle(dataset: Dataset, where: Selection) -> tuple[float | None, int]:
    """The 90th percentile of won deals' cycle (days) over the last year, and its n."""
    table = deals(dataset, where)
    start = dataset.as_of - dt.timedelta(days=WON_CYCLE_WINDOW_DAYS - 1)
    won = table.filter((table.outcome == WON) & table.close_date.between(start, dataset.as_of) & table.created_at.notnull())
    cycle = won.close_date.delta(won.created_at, unit="day")
    row = won.aggregate(n=won.count(), p90=cycle.quantile(WON_CYCLE_QUANTILE)).execute().iloc[0]
    n = int(row["n"] or 0)
    return (float(row["p90"]) if n else None), n


def by_rep(inspection: Inspection) -> pd.DataFrame:
    """Per rep: ``open_deals`` and ``open_amount``, ``<list>_deals`` the deals on each list
    (empty where the check cannot be made) and ``flagged_deals`` (on at least one list);
    most flagged deals first."""
    frame = inspection.deals
    flags = frame[list(LISTS)].fillna(False).astype(bool)
    keyed = frame[["rep_id", "opportunity_id", "amount"]].assign(
        rep_name=frame["rep_name"].fillna("(unassigned)"), team=frame["team"].fillna("(none)"),
        flagged=flags.any(axis=1).astype(int), **{name: flags[name].astype(int) for name in LISTS})
    summary = keyed.groupby(["rep_id", "rep_name", "team"], dropna=False).agg(
        open_deals=("opportunity_id", "size"), open_amount=("amount", "sum"), flagged_deals=("flagged", "sum"),
        **{f"{name}_deals": (name, "sum") for name in LISTS}).reset_index()
    for name in LISTS:
        if not inspection.measured(name):
            summary[f"{name}_deals"] = float("nan")
    summary = summary.sort_values(["flagged_deals", "open_amount", "rep_name"], ascending=[False, False, True])
    return summary.reset_index(drop=True)
