"""Activity: how much each rep does (calls, emails, meetings, demos ...) per week employed,
and what it produces (activity to outcome).

An activity counts for the rep in its ``rep_id``, in the period of its ``occurred_at``
date, from the rep's hire date on. The denominator is the weeks each rep was employed in
the period (``roster.employed_days`` / 7), so a rep hired mid-period is not compared on
weeks before they joined; a team's or the company's rate is Σ activities / Σ rep-weeks.

Every metric takes the kit's selection (``where=``): team, rep and region choose the reps,
segment, source and product the activities and deals counted for them (``roster``: an
activity's source and product are its deal's, its segment its account's). ``by`` rolls
the per-rep numbers up to ``rep``, ``team``, ``manager`` or ``region`` (None: one row).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics import conversion, roster
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import OPEN, WON, closed_in, created_in, deals
from salesnb.metrics.exclusions import Excluded, count_excluded
from salesnb.metrics.leads import month_spine
from salesnb.metrics.scope import metric
from salesnb.metrics.statistics import poisson_rate_interval
from salesnb.metrics.totals import exact_sum

# Activity types that are meetings with the buyer (compared case-insensitively).
MEETING_TYPES = ("meeting", "demo")
NO_TYPE = "(no type)"
PER_WEEK = " / week"

declare(
    Measure("employed_days", "Days employed", "days", "Days the rep was employed in the observed period (from the "
            "hire date).", section="people-activity"),
    Measure("rep_weeks", "Rep-weeks", "number", "Σ days employed in the period ÷ 7: the denominator of every "
            "activity rate.", section="people-activity"),
    Measure("activities", "Activities", "count", "Activities logged in the period by the group's reps, from each "
            "rep's hire date on.", section="people-activity"),
    Measure("activities_per_rep_week", "Activities per rep-week", "number", "Σ activities ÷ Σ rep-weeks employed "
            "(a ratio of sums for a team).", section="people-activity", min_n=30),
    Measure("per_week_low", "Per week low", "number", "Lower end of the 95% interval of activities per rep-week.",
            section="people-activity"),
    Measure("per_week_high", "Per week high", "number", "Upper end of the 95% interval of activities per rep-week.",
            section="people-activity"),
    Measure("* / week", "{} / week", "number", "Activities of this type ÷ Σ rep-weeks.", section="people-activity"),
    Measure("activities_per_rep_week_by_type", "Activities per rep-week, by type", "number", "Σ activities of each "
            "type ÷ Σ rep-weeks (a map by type).", section="people-activity"),
    Measure("activity_type", "Activity type", "text", "The activity's type (call, email, meeting, demo ...; "
            "empty: (no type))."),
    Measure("meetings", "Meetings", "count", "Activities of a meeting type (meeting, demo) in the period.",
            section="people-activity-to-outcome"),
    # opportunities_created (catalogue) and pipeline_created (marketing) are declared where they are shared.
    Measure("meetings_per_opportunity_created", "Meetings per opportunity", "number", "Meetings (and demos) ÷ "
            "deals created in the period.", section="people-activity-to-outcome"),
    Measure("activities_per_won_deal", "Activities per won deal", "number", "Activities ÷ deals won in the period.",
            section="people-activity-to-outcome", higher_is_better=False),
    Measure("won_amount_by_rep", "Won amount by rep", "currency", "Σ amount of the deals each rep won in the period "
            "(a map by rep_id).", section="people-activity-to-outcome", higher_is_better=True),
    Measure("pipeline_created_by_rep", "Pipeline created by rep", "currency", "Σ amount of the deals each rep "
            "created in the period (a map by rep_id).", section="people-activity-to-outcome", higher_is_better=True),
    Measure("win_rate_by_team", "Win rate by team", "percent", "won ÷ (won + lost) over the team's reps' deals "
            "closed in the period (a map by team).", section="people-activity-to-outcome", higher_is_better=True,
            min_n=30),
)


def count_column(activity_type: str) -> str:
    """The column holding one type's activity count, e.g. ``call (count)`` (types come from
    the data: a suffix keeps a type named like another column from colliding with it)."""
    return f"{activity_type} (count)"


def per_week_column(activity_type: str) -> str:
    """The column holding one type's activities per rep-week, e.g. ``call / week``."""
    return f"{activity_type}{PER_WEEK}"


def per_week_columns(frame: pd.DataFrame) -> list[str]:
    """The per-type columns of an :func:`activity_rates` frame, most frequent type first."""
    return [column for column in frame.columns if isinstance(column, str) and column.endswith(PER_WEEK)]


def observed(dataset: Dataset, period: Period) -> Period:
    """The part of the period the activities cover (``roster.observed``)."""
    return roster.observed(dataset, period, "activities", "occurred_at")


def _employed(dataset: Dataset, period: Period, people: roster.Scope) -> ir.Table:
    """Selling reps of the group with ``employed_days`` in the observed part of the period."""
    reps = roster.selling_reps(dataset, people.group)
    window = observed(dataset, period)
    return reps.mutate(employed_days=roster.employed_days(reps.hire_date, window.start, window.end))


def _activities_in(dataset: Dataset, period: Period, people: roster.Scope) -> ir.Table:
    """The selected activities (segment, source, product) dated in the observed period, with ``day``."""
    activities = roster.group_activities(dataset, people)
    day = activities.occurred_at.date()
    window = observed(dataset, period)
    return activities.filter(day.between(window.start, window.end)).mutate(day=day)


def _activity_facts(dataset: Dataset, period: Period, people: roster.Scope) -> ir.Table:
    """Activities of the period by the group's selling reps, from each rep's hire date on:
    ``rep_id``, ``type`` ("(no type)" when empty), ``day``, ``meeting``."""
    activities = _activities_in(dataset, period, people)
    reps = roster.selling_reps(dataset, people.group).select("rep_id", "hire_date")
    joined = activities.join(reps, "rep_id")
    joined = joined.filter(joined.hire_date.isnull() | (joined.day >= joined.hire_date))
    kind = joined.type.fill_null(NO_TYPE)
    return joined.select("rep_id", "day", type=kind, meeting=kind.lower().isin(MEETING_TYPES))


def _activity_by_rep(dataset: Dataset, period: Period, people: roster.Scope) -> pd.DataFrame:
    """Per selling rep of the group employed in the period: ``employed_days``, ``rep_weeks``
    (= employed days / 7), ``activities``, ``meetings`` and a count per activity type
    (:func:`count_column`). Without an activities table the counts are NaN (not measured)."""
    reps = _employed(dataset, period, people)
    per_rep = reps.filter(reps.employed_days > 0).execute()
    per_rep["rep_weeks"] = per_rep["employed_days"] / roster.WEEK_DAYS
    if not dataset.has("activities"):
        return per_rep.assign(activities=float("nan"), meetings=float("nan"))
    facts = _activity_facts(dataset, period, people)
    counts = facts.group_by(["rep_id", "type"]).aggregate(
        activities=facts.count(), meetings=facts.meeting.cast("int64").sum()).execute()
    by_type = counts.pivot_table(index="rep_id", columns="type", values="activities", aggfunc="sum", fill_value=0)
    by_type.columns = [count_column(activity_type) for activity_type in by_type.columns]
    totals = counts.groupby("rep_id")[["activities", "meetings"]].sum()
    per_rep = per_rep.merge(totals, on="rep_id", how="left").merge(
        by_type.reset_index(), on="rep_id", how="left")
    count_columns = ["activities", "meetings", *by_type.columns]
    per_rep[count_columns] = per_rep[count_columns].fillna(0).astype("int64")  # no activity logged: 0
    return per_rep


def _activity_types(dataset: Dataset, period: Period, people: roster.Scope) -> list[str]:
    """The activity types present in the period, most frequent first (then by name)."""
    if not dataset.has("activities"):
        return []
    facts = _activity_facts(dataset, period, people)
    counts = facts.group_by("type").aggregate(activities=facts.count()).execute()
    return counts.sort_values(["activities", "type"], ascending=[False, True])["type"].tolist()


@metric
def activity_rates(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                   where: Selection) -> pd.DataFrame:
    """Activities per rep-week, total and by type, per rep, team, manager, region or overall.

    ``by``: ``rep``, ``team``, ``manager``, ``region`` or None (one row).

    - ``rep_weeks`` = Σ days employed in the period / 7 (hire date on; the period is cut
      to the dates the activities cover: from the first activity to the snapshot date);
    - ``activities_per_rep_week`` = Σ activities / Σ rep-weeks, with a 95% interval
      (``per_week_low``/``per_week_high``, ``poisson_rate_interval``); for a team, Σ over
      its reps (ratio of sums);
    - ``<type> / week`` = Σ activities of the type / Σ rep-weeks (most frequent type first).

    ``where``: team, rep, region choose the reps (a rep is shown against their team: team,
    manager and region rows cover the team); segment, source, product the activities
    counted (the rep-weeks stay the reps' whole weeks).
    """
    roster.check_by(by)
    people = roster.scope(dataset, where)
    types = _activity_types(dataset, period, people)
    per_rep = _activity_by_rep(dataset, period, people)
    sums = ["employed_days", "rep_weeks", "activities", "meetings", *map(count_column, types)]
    grouped = roster.rollup(per_rep, by, sums, people)
    grouped["activities_per_rep_week"] = grouped["activities"] / grouped["rep_weeks"].where(grouped["rep_weeks"] > 0)
    low, high = poisson_rate_interval(grouped["activities"], grouped["rep_weeks"])
    measured = grouped["activities"].notna()
    grouped["per_week_low"], grouped["per_week_high"] = low.where(measured), high.where(measured)
    for activity_type in types:
        grouped[per_week_column(activity_type)] = (grouped[count_column(activity_type)]
                                                   / grouped["rep_weeks"].where(grouped["rep_weeks"] > 0))
    return grouped


@metric
def activity_trend(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """Activities per rep-week by calendar month and activity type, over the selection's reps.

    Long: ``month``, ``activity_type``, ``activities``, ``employed_days``, ``rep_weeks``,
    ``activities_per_rep_week``; with a rep selection, the selected reps only.

    Each month's rep-weeks are the days the reps were employed in that month (within the
    observed period) / 7. Months without an activity of a type show 0.
    """
    people = roster.scope(dataset, where)
    window = observed(dataset, period)
    months = month_spine(window) if window.start <= window.end else []
    columns = ["month", "activity_type", "activities", "employed_days", "rep_weeks", "activities_per_rep_week"]
    if not months or not dataset.has("activities"):  # the activities do not reach into the period
        return pd.DataFrame({column: [] for column in columns})
    windows = ibis.memtable(pd.DataFrame({
        "month": months,
        "window_start": [max(month, window.start) for month in months],
        "window_end": [min((pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date(), window.end) for month in months],
    }))
    reps = roster.selling_reps(dataset, people.group)
    if people.rep_ids:
        reps = reps.filter(reps.rep_id.isin(list(people.rep_ids)))
    employed = reps.cross_join(windows)
    employed = employed.group_by("month").aggregate(
        employed_days=roster.employed_days(employed.hire_date, employed.window_start, employed.window_end).sum())
    frame = employed.execute()
    frame["month"] = pd.to_datetime(frame["month"])
    frame["rep_weeks"] = frame["employed_days"] / roster.WEEK_DAYS
    facts = _activity_facts(dataset, period, people)
    if people.rep_ids:
        facts = facts.filter(facts.rep_id.isin(list(people.rep_ids)))
    counts = facts.group_by([facts.day.truncate("M").name("month"), facts.type.name("activity_type")]).aggregate(
        activities=facts.count()).execute()
    counts["month"] = pd.to_datetime(counts["month"])
    types = sorted(counts["activity_type"].unique().tolist())
    grid = pd.MultiIndex.from_product([frame["month"], types], names=["month", "activity_type"]).to_frame(index=False)
    result = grid.merge(counts, on=["month", "activity_type"], how="left").merge(frame, on="month", how="left")
    result["activities"] = result["activities"].fillna(0).astype("int64")
    result["activities_per_rep_week"] = result["activities"] / result["rep_weeks"].where(result["rep_weeks"] > 0)
    return result.sort_values(["month", "activity_type"]).reset_index(drop=True)[columns]


@metric
def activity_exclusions(dataset: Dataset, period: Period | None = None, *, where: Selection) -> list[Excluded]:
    """Activities of the period left out of the activity numbers, and why.

    Without a rep, or dated before their rep's hire date (a rep is compared from the day
    they joined). Counted over the activities of the selected segment, source and product
    of every rep (an activity without a rep belongs to no team)."""
    if not dataset.has("activities"):
        return []
    people = roster.scope(dataset, where)
    activities = _activities_in(dataset, period, people)
    excluded = [count_excluded(activities, activities.rep_id.isnull(), "activities in the period",
                               "have no rep_id, so no rep or team can be credited")]
    reps = roster.selling_reps(dataset).select("rep_id", "hire_date")
    joined = activities.join(reps, "rep_id")
    early = count_excluded(joined, joined.hire_date.notnull() & (joined.day < joined.hire_date),
                           "activities in the period", "are dated before their rep's hire date")
    excluded.append(early._replace(total=excluded[0].total))
    return excluded


# ----------------------------------------------------------------------------- activity to outcome


def _deals_by_rep(dataset: Dataset, period: Period, people: roster.Scope) -> pd.DataFrame:
    """Per rep: ``opportunities_created`` and ``pipeline_created`` (Σ amount; NaN when none
    of its created deals has an amount) of the deals created in the period, and the win
    rate counts and won amount of the deals closed in it (``conversion.win_rates``), over
    the selected deals of the group's teams (the caller keeps the group's reps)."""
    chosen = people.rows.but(team=people.group.team)
    created = created_in(deals(dataset, chosen), period)
    created = created.filter(created.rep_id.notnull())
    pipeline = created.group_by("rep_id").aggregate(
        opportunities_created=created.count(), pipeline_created=exact_sum(created.amount)).execute()
    rates = conversion.win_rates(dataset, period, by="rep", where=chosen)
    rates = rates[rates["rep_id"] != "(none)"][["rep_id", "won", "lost", "closed", "won_amount"]]
    return pipeline.merge(rates, on="rep_id", how="outer")


@metric
def activity_to_outcome(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                        where: Selection) -> pd.DataFrame:
    """What activity produces, per rep, team, manager, region or overall (ratios of sums).

    - ``meetings_per_opportunity_created`` = meetings (types in :data:`MEETING_TYPES`) /
      deals created in the period;
    - ``activities_per_won_deal`` = activities / deals won in the period;
    - ``pipeline_created`` = Σ amount of deals created in the period (deals without an
      amount left out); ``won_amount`` = Σ amount of deals won in the period;
    - ``win_rate`` = won / (won + lost) over deals closed in the period, n = ``closed``
      (not measured when the playbook has no lost stage).

    Deals count for their owner (``rep_id``), activities for the rep who logged them.
    Without activities the activity ratios are NaN (not measured). ``where``: as for
    :func:`activity_rates` (segment, source, product choose the deals and activities).
    """
    roster.check_by(by)
    people = roster.scope(dataset, where)
    per_rep = _activity_by_rep(dataset, period, people)[
        ["rep_id", "rep_name", "team", "region", "manager_id", "manager_name", "rep_weeks", "activities", "meetings"]]
    outcomes = _deals_by_rep(dataset, period, people)
    # Reps who sold in the period but were not employed in it by their hire date still count.
    everyone = roster.selling_reps(dataset, people.group).execute()
    missing = everyone[everyone["rep_id"].isin(outcomes["rep_id"]) & ~everyone["rep_id"].isin(per_rep["rep_id"])]
    per_rep = pd.concat([per_rep, missing.drop(columns=["hire_date"])], ignore_index=True)
    per_rep = per_rep.merge(outcomes, on="rep_id", how="left")
    counts = ["opportunities_created", "won", "lost", "closed"]
    per_rep[counts] = per_rep[counts].fillna(0).astype("int64")
    # A rep with no deal created (won) has pipeline (won amount) 0; NaN only when deals lack amounts.
    for column, count in (("pipeline_created", "opportunities_created"), ("won_amount", "won")):
        per_rep[column] = per_rep[column].where(per_rep[count] > 0, 0.0)
    sums = ["rep_weeks", "activities", "meetings", *counts, "pipeline_created", "won_amount"]
    grouped = roster.rollup(per_rep, by, sums, people)
    grouped["meetings_per_opportunity_created"] = grouped["meetings"] / grouped["opportunities_created"].where(
        grouped["opportunities_created"] > 0)
    grouped["activities_per_won_deal"] = grouped["activities"] / grouped["won"].where(grouped["won"] > 0)
    # Without lost stages only won deals are recorded: the rate would always read 100%.
    records_lost = bool(dataset.playbook.lost_stages)
    grouped["win_rate"] = grouped["won"] / grouped["closed"].where(grouped["closed"] > 0) if records_lost else float("nan")
    return grouped


@metric
def deal_exclusions(dataset: Dataset, period: Period | None = None, *, where: Selection) -> list[Excluded]:
    """Deals of the selection left out of the per-rep numbers, and why.

    Without a creation date (in no period's deals or pipeline created) or closed without a close date (in no period's
    wins, win rates, won amount or attainment); created or closed in the period without an
    owner; created or won without an amount (left out of pipeline created and won amount,
    still counted as deals)."""
    table = roster.group_deals(dataset, roster.scope(dataset, where))
    is_closed = table.outcome != OPEN
    counts = table.aggregate(
        deals=table.count(), without_created_at=table.created_at.isnull().cast("int64").sum(),
        closed=is_closed.cast("int64").sum(),
        closed_without_close_date=(is_closed & table.close_date.isnull()).cast("int64").sum(),
    ).execute().iloc[0]
    counts = {key: int(value or 0) for key, value in counts.items()}
    created = created_in(table, period)
    closed = closed_in(table, period)
    won = closed.filter(closed.outcome == WON)
    return [
        Excluded(counts["without_created_at"], counts["deals"], "deals",
                 "have no created_at, so they are in no period's deals or pipeline created"),
        Excluded(counts["closed_without_close_date"], counts["closed"], "closed deals",
                 "have no close_date, so they are in no period's wins, win rates, won amount or attainment"),
        count_excluded(created, created.rep_id.isnull(), "deals created in the period", "have no owner (rep_id)"),
        count_excluded(closed, closed.rep_id.isnull(), "deals closed in the period", "have no owner (rep_id)"),
        count_excluded(created, created.amount.isnull(), "deals created in the period",
                       "have no amount, so pipeline created leaves them out"),
        count_excluded(won, won.amount.isnull(), "deals won in the period",
                       "have no amount, so won amount leaves them out"),
    ]
