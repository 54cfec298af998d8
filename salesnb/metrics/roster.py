"""The selling reps: who they are, their team and manager, when they were hired, how long
they were employed in a window, and who a people report is about (team and rep filters).

A *selling rep* is a rep that owns a deal, carries a quota or logged an activity anywhere
in the data (managers who only manage are not counted as reps). A rep id used in those
tables but missing from ``reps`` still counts, named by its id, without team or hire date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import select
from salesnb.errors import SalesnbError
from salesnb.metrics.deals import deals

WEEK_DAYS = 7.0
MONTH_DAYS = 365.25 / 12  # an average calendar month, for "per month" rates over any window
# A missing team or manager is labelled as conversion.win_rates labels a missing group.
NO_TEAM = NO_MANAGER = "(none)"
# Tables whose rep_id makes a rep a selling rep.
REP_TABLES = ("opportunities", "quotas", "activities")
# Roll-ups of per-rep sums: the grouping columns of each level.
LEVELS = {"rep": ["rep_id", "rep_name", "team"], "team": ["team"], "manager": ["manager_id", "manager_name"]}


def selling_reps(dataset: Dataset, team: str | None = None) -> ir.Table:
    """``rep_id``, ``rep_name``, ``team``, ``manager_id``, ``manager_name``, ``hire_date``
    of the selling reps (of ``team`` only, if given)."""
    return dataset.materialized(("selling_reps", team), lambda: _selling_reps(dataset, team))


def _selling_reps(dataset: Dataset, team: str | None) -> ir.Table:
    ids = [dataset.table(name).select("rep_id") for name in REP_TABLES if dataset.has(name)]
    ids = ibis.union(*ids, distinct=True) if len(ids) > 1 else ids[0].distinct()
    ids = ids.filter(ids.rep_id.notnull())
    if dataset.has("reps"):
        reps = dataset.table("reps")
        managers = reps.select(manager_id="rep_id", manager_label="rep_name")
        people = reps.left_join(managers, "manager_id").drop("manager_id_right")
        people = people.select("rep_id", "rep_name", "team", "manager_id", "hire_date",
                               manager_name=people.manager_label.fill_null(people.manager_id))
        table = ids.left_join(people, "rep_id").drop("rep_id_right")
        table = table.mutate(rep_name=table.rep_name.fill_null(table.rep_id))
    else:
        string, date = ibis.null().cast("string"), ibis.null().cast("date")
        table = ids.mutate(rep_name=ids.rep_id, team=string, manager_id=string, hire_date=date, manager_name=string)
    if team:
        table = table.filter(table.team == team)
    return table.select("rep_id", "rep_name", "team", "manager_id", "manager_name", "hire_date")


def observed_end(dataset: Dataset, period: Period) -> dt.date:
    """The last day of the period the data can speak for: the period's end, or the data's
    snapshot date when the period runs past it (weeks after it are not observed)."""
    return min(period.end, dataset.as_of)


def observed(dataset: Dataset, period: Period, table: str, column: str) -> Period:
    """The part of the period ``table`` covers: from its first ``column`` date when the
    period starts before it (weeks before the data begins would count as weeks without
    activity) to :func:`observed_end`."""
    start = period.start
    if dataset.has(table):
        first = dataset.memo(("first", table, column), lambda: dataset.table(table)[column].min().execute())
        if first is not None and not pd.isna(first):
            start = max(start, pd.Timestamp(first).date())
    return Period(start, observed_end(dataset, period))


def employed_days(hire_date: ir.DateValue, start, end) -> ir.IntegerValue:
    """Days from ``start`` to ``end`` (inclusive; dates or date columns) on which a rep was
    employed: from the later of ``start`` and ``hire_date``; 0 for a rep hired after
    ``end``. A rep without a hire date counts as employed throughout (the model has no
    leaving date, so a rep who left also counts to the end)."""
    start, end = (value if isinstance(value, ir.Value) else ibis.literal(value) for value in (start, end))
    first = ibis.greatest(start, hire_date.fill_null(start))
    return ibis.greatest(end.delta(first, unit="day") + 1, 0)


@dataclass(frozen=True)
class Scope:
    """Who a people report is about.

    ``team``: the comparison group (a team, or None for everyone); per-rep numbers, team
    medians and ranks are computed within it. ``rep_id``: with a rep filter, the one rep
    whose rows are shown (and whose totals are the report's); None shows every rep.
    """

    team: str | None
    rep_id: str | None = None

    def rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The per-rep rows the report shows: every rep, or the filtered rep."""
        return frame if self.rep_id is None else frame[frame["rep_id"] == self.rep_id]


def scope(dataset: Dataset, team: str | None = None, rep: str | None = None) -> Scope:
    """The report's scope from its ``team`` and ``rep`` filters.

    ``rep`` is a rep_id, or a rep name that only one rep has. With a rep and no team, the
    comparison group is the rep's team. An unknown team or rep, or a rep of another team
    than ``team``, is an error that lists what exists; a rep (or team) with nothing to
    measure is not (:func:`nothing_to_show` says so).
    """
    team = team or None
    if team:
        deals(dataset, select(team=team))  # an unknown team is an error there, listing the teams
    if rep in (None, ""):
        return Scope(team)
    reps = selling_reps(dataset).execute()
    if dataset.has("reps"):
        # Reps who sell nothing (managers) are still reps: their report is empty, not an error
        # (``salesnb run --each rep`` runs one report per row of the reps table).
        others = dataset.table("reps").select("rep_id", "rep_name", "team").execute()
        reps = pd.concat([reps, others[~others["rep_id"].isin(reps["rep_id"])]], ignore_index=True)
    match = reps[reps["rep_id"] == str(rep)]
    if match.empty:
        match = reps[reps["rep_name"] == str(rep)]
    if len(match) != 1:
        known = ", ".join(f"{row.rep_name} ({row.rep_id})" for row in reps.sort_values("rep_id").head(12).itertuples())
        problem = "is the name of several reps; give the rep_id" if len(match) > 1 else "matches no rep"
        raise SalesnbError(f"rep = {rep!r} {problem}. Reps (rep_id): {known}{', ...' if len(reps) > 12 else ''}.")
    row = match.iloc[0]
    rep_team = None if pd.isna(row["team"]) else str(row["team"])
    if team and rep_team != team:
        raise SalesnbError(f"rep {row['rep_name']} ({row['rep_id']}) is in team {rep_team!r}, not {team!r}; "
                           "set team = None or the rep's team.")
    return Scope(team or rep_team, str(row["rep_id"]))


def rollup(per_rep: pd.DataFrame, by: str | None, sums: list[str], scope: Scope) -> pd.DataFrame:
    """Per-rep sums rolled up to ``by`` (``rep``, ``team``, ``manager`` or None for one row).

    Group rates are then computed from these sums (ratio of sums, never a mean of rep
    ratios). ``reps`` counts the reps in each group. Rep rows and the overall row are the
    scope's reps (one rep with a rep filter); team and manager rows cover the whole
    comparison group, so a rep's team is there to compare with.
    """
    if by not in (None, *LEVELS):
        raise SalesnbError(f"by must be one of {', '.join(LEVELS)} or None, not {by!r}.")
    frame = per_rep.assign(team=per_rep["team"].fillna(NO_TEAM), manager_id=per_rep["manager_id"].fillna(""),
                           manager_name=per_rep["manager_name"].fillna(NO_MANAGER))
    if by == "rep":
        rows = scope.rows(frame).sort_values(["team", "rep_name", "rep_id"])
        return rows.assign(reps=1).reset_index(drop=True)
    if by is None:
        frame = scope.rows(frame)
        # A column of NaN stays NaN (not measured); no reps at all add up to 0.
        totals = frame[sums].sum(min_count=1 if len(frame) else 0).to_frame().T
        return totals.assign(reps=len(frame)).reset_index(drop=True)
    columns = LEVELS[by]
    grouped = frame.groupby(columns, dropna=False, sort=True)
    result = grouped[sums].sum(min_count=1).join(grouped.size().rename("reps")).reset_index()
    return result


def missing_hire_dates(dataset: Dataset, team: str | None = None) -> tuple[int, int]:
    """(selling reps without a hire date, all selling reps) of ``team``: the reps whose
    activity rate is over the whole period for want of a hire date."""
    reps = selling_reps(dataset, team)
    counts = reps.aggregate(missing=reps.hire_date.isnull().cast("int64").sum(), total=reps.count()).execute().iloc[0]
    return int(counts["missing"] or 0), int(counts["total"] or 0)


def nothing_to_show(dataset: Dataset, scope: Scope) -> str | None:
    """The sentence a report shows when its scope has no selling rep (a manager who sells
    nothing, a team of managers), else None."""
    reps = selling_reps(dataset, scope.team)
    if scope.rep_id:
        if int(reps.filter(reps.rep_id == scope.rep_id).count().execute()):
            return None
        return (f"Rep {scope.rep_id} owns no deal, carries no quota and logged no activity in the data, so there is "
                "nothing to measure for them here; their team is shown for comparison.")
    if int(reps.count().execute()):
        return None
    return (f"No rep {'of team ' + repr(scope.team) + ' ' if scope.team else ''}owns a deal, carries a quota or "
            "logged an activity in the data: there is nothing to measure.")
