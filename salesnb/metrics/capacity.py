"""Capacity: how much each rep carries against the typical rep of their team.

- **Open deals at the period's end** (``open_at_end``) of a rep: on the period's last
  observed day D (the period's end, or the data's date if earlier), deals they own created
  on or before D that were still open then (open now, or closed after D). Without stage
  history this is exact for "open", as a closed deal's close date says when it stopped
  being open.
- **New deals per month** = deals the rep created in the period / months employed in it
  (employed days / 30.44; from the hire date, and from the first deal in the data when
  the period starts before it).
- Each is compared with the **median** rep of the same team (the typical peer, not the
  average pulled by one outlier): ``*_vs_team`` = rep / team median. A rep at
  :data:`OVERLOADED` times the team median of open deals or more is *overloaded*, at
  :data:`LIGHT` times or less *light*. A process without open stages (the playbook records
  only closed deals) has no open deals to count: not measured.
"""

from __future__ import annotations

import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics import roster
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import OPEN, created_in
from salesnb.metrics.exclusions import Excluded, count_excluded
from salesnb.metrics.scope import metric
from salesnb.metrics.totals import exact_sum

OVERLOADED = 1.5
LIGHT = 0.5

declare(
    Measure("open_at_end", "Open deals at period end", "count", "Deals the rep owned that were open on the period's "
            "last observed day (created by then; open now or closed later).", section="people-capacity"),
    Measure("open_amount_at_end", "Open amount at period end", "currency", "Σ amount of those deals (deals without "
            "one add nothing).", section="people-capacity"),
    Measure("deals_created", "Deals created", "count", "Deals the rep created in the period.",
            section="people-capacity"),
    Measure("months_employed", "Months employed", "months", "Days employed in the period ÷ 30.44.",
            section="people-capacity"),
    Measure("new_deals_per_month", "New deals per month", "number", "Deals created ÷ months employed in the "
            "period.", section="people-capacity"),
    Measure("team_median_open_deals", "Team median open deals", "number", "Median open deals at period end over the "
            "rep's team.", section="people-capacity"),
    Measure("open_deals_vs_team", "Open deals vs team", "ratio", "Open deals at period end ÷ the team's median.",
            section="people-capacity"),
    Measure("team_median_new_deals_per_month", "Team median new deals per month", "number", "Median new deals per "
            "month over the rep's team.", section="people-capacity"),
    Measure("new_deals_per_month_vs_team", "New deals per month vs team", "ratio", "New deals per month ÷ the team's "
            "median.", section="people-capacity"),
    Measure("load", "Load", "text", "overloaded (≥ 1.5 × the team median of open deals), light (≤ 0.5 ×) or "
            "typical."),
)


def _open_on(table, day):
    """Deals open at the end of ``day``: created by then, and open now or closed after it."""
    return table.filter((table.created_at <= day) & ((table.outcome == OPEN) | (table.close_date > day)))


@metric
def rep_capacity(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """Open deals at the period's end and new deals per month of each rep, against their team's median rep.

    Per selling rep employed in the period: ``open_at_end`` and ``open_amount_at_end`` (Σ
    amount of those with one) on the last observed day, ``deals_created``,
    ``months_employed``, ``new_deals_per_month``, the team medians
    (``team_median_open_deals``, ``team_median_new_deals_per_month``), the ratios to them
    and ``load`` (overloaded, typical or light, by open deals).

    ``where``: team, rep, region choose the reps (a rep keeps their team's medians);
    segment, source, product the deals counted (open deals of that kind against the team's
    median of that kind)."""
    people = roster.scope(dataset, where)
    window = roster.observed(dataset, period, "opportunities", "created_at")
    end = window.end
    reps = roster.selling_reps(dataset, people.group)
    reps = reps.mutate(employed_days=roster.employed_days(reps.hire_date, window.start, end))
    per_rep = reps.filter(reps.employed_days > 0).execute()
    table = roster.group_deals(dataset, people)
    table = table.filter(table.rep_id.notnull())
    open_deals = _open_on(table, end)
    opened = open_deals.group_by("rep_id").aggregate(open_at_end=open_deals.count(),
                                                     open_amount_at_end=exact_sum(open_deals.amount))
    created = created_in(table, period)
    new = created.group_by("rep_id").aggregate(deals_created=created.count())
    per_rep = per_rep.merge(opened.execute(), on="rep_id", how="left").merge(new.execute(), on="rep_id", how="left")
    per_rep[["open_at_end", "deals_created"]] = per_rep[["open_at_end", "deals_created"]].fillna(0).astype("int64")
    per_rep["open_amount_at_end"] = per_rep["open_amount_at_end"].where(per_rep["open_at_end"] > 0, 0.0)
    per_rep["months_employed"] = per_rep["employed_days"] / roster.MONTH_DAYS
    per_rep["new_deals_per_month"] = per_rep["deals_created"] / per_rep["months_employed"]
    team_key = per_rep["team"].fillna(roster.NO_TEAM)
    for column, name in (("open_at_end", "open_deals"), ("new_deals_per_month", "new_deals_per_month")):
        median = per_rep.groupby(team_key)[column].transform("median")
        per_rep[f"team_median_{name}"] = median
        per_rep[f"{name}_vs_team"] = per_rep[column] / median.where(median > 0)
    ratio = per_rep["open_deals_vs_team"]
    per_rep["load"] = ratio.map(lambda value: "–" if pd.isna(value) else
                                "overloaded" if value >= OVERLOADED else "light" if value <= LIGHT else "typical")
    if not dataset.playbook.open_stages:  # the process records no open deals: not measured, not 0
        per_rep[["open_at_end", "open_amount_at_end", "team_median_open_deals", "open_deals_vs_team"]] = float("nan")
        per_rep["load"] = "–"
    per_rep = per_rep.drop(columns=["hire_date", "employed_days"])
    return people.shown(per_rep.sort_values(["team", "rep_name", "rep_id"])).reset_index(drop=True)


@metric
def capacity_exclusions(dataset: Dataset, period: Period | None = None, *, where: Selection) -> list[Excluded]:
    """Deals of the selection the open-deal count cannot place, and why.

    Without a creation date, or closed without a close date: whether they were open on the
    day is unknown."""
    table = roster.group_deals(dataset, roster.scope(dataset, where))
    table = table.filter(table.rep_id.notnull())
    noun = "deals with an owner"
    return [
        count_excluded(table, table.created_at.isnull(), noun, "have no created_at, so whether they were open is unknown"),
        count_excluded(table, (table.outcome != OPEN) & table.close_date.isnull(), noun,
                       "are closed without a close_date, so whether they were open is unknown"),
    ]
