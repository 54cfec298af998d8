"""The selling reps: who they are, their team and manager, when they were hired, how long
they were employed in a window, and who a people report is about (:func:`scope`).

A *selling rep* is a rep that owns a deal, carries a quota or logged an activity anywhere
in the data (managers who only manage are not counted as reps). A rep id used in those
tables but missing from ``reps`` still counts, named by its id, without team or hire date.

**Selections.** The people metrics take the kit's one selection (``where=``), read in two
parts: ``team``, ``rep`` and ``region`` choose *reps* (the rep's own team and region,
``reps.team``/``reps.region``); ``segment``, ``source`` and ``product`` choose the *deals
and activities* that count for them (through :func:`salesnb.metrics.scope.restrict`). A
rep selection shows those reps against their team: team medians, team rates and ranks
are computed over the team.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import EVERYTHING, Selection, SelectionError, as_selection, select
from salesnb.errors import SalesnbError
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import deals
from salesnb.metrics.scope import check_selection, rep_ids, restrict

WEEK_DAYS = 7.0
MONTH_DAYS = 365.25 / 12  # an average calendar month, for "per month" rates over any window
# A missing team, region or manager is labelled as conversion.win_rates labels a missing group.
NO_TEAM = NO_MANAGER = "(none)"
# Tables whose rep_id makes a rep a selling rep.
REP_TABLES = ("opportunities", "quotas", "activities")
# The dimensions of a selection that choose reps, and those that choose the deals and activities counted.
REP_DIMENSIONS = ("team", "rep", "region")
ROW_DIMENSIONS = ("segment", "source", "product")
# Roll-ups of per-rep sums: the grouping columns of each level (``by=``).
LEVELS = {"rep": ["rep_id", "rep_name", "team"], "team": ["team"], "manager": ["manager_id", "manager_name"],
          "region": ["region"]}

declare(
    Measure("manager_id", "Manager ID", "text", "The rep's manager's rep_id (reps.manager_id)."),
    Measure("manager_name", "Manager", "text", "The rep's manager, by name."),
    Measure("hire_date", "Hired", "date", "The rep's hire date (reps.hire_date)."),
    Measure("reps", "Reps", "count", "Selling reps in the row's group (a rep owns a deal, carries a quota or logged "
            "an activity; the view says which: employed in the period, with a counted quota, hired in the cohort).",
            section="people-who-counts"),
)


def of_reps(where: Selection) -> Selection:
    """The part of a selection that chooses reps: team, rep, region."""
    return as_selection(where).but(segment=None, source=None, product=None, period=None)


def of_rows(where: Selection) -> Selection:
    """The part of a selection that chooses the deals and activities counted: segment, source, product."""
    return as_selection(where).but(team=None, rep=None, region=None, period=None)


def selling_reps(dataset: Dataset, where: Selection = EVERYTHING) -> ir.Table:
    """``rep_id``, ``rep_name``, ``team``, ``region``, ``manager_id``, ``manager_name``,
    ``hire_date`` of the selling reps the selection's team, rep and region name (its other
    dimensions choose deals, not reps)."""
    reps = of_reps(where)
    return dataset.materialized(("selling_reps", reps),
                                lambda: restrict(dataset, _selling_reps(dataset), reps, rows="reps"))


def _selling_reps(dataset: Dataset) -> ir.Table:
    ids = [dataset.table(name).select("rep_id") for name in REP_TABLES if dataset.has(name)]
    ids = ibis.union(*ids, distinct=True) if len(ids) > 1 else ids[0].distinct()
    ids = ids.filter(ids.rep_id.notnull())
    if dataset.has("reps"):
        reps = dataset.table("reps")
        managers = reps.select(manager_id="rep_id", manager_label="rep_name")
        people = reps.left_join(managers, "manager_id").drop("manager_id_right")
        people = people.select("rep_id", "rep_name", "team", "region", "manager_id", "hire_date",
                               manager_name=people.manager_label.fill_null(people.manager_id))
        table = ids.left_join(people, "rep_id").drop("rep_id_right")
        table = table.mutate(rep_name=table.rep_name.fill_null(table.rep_id))
    else:
        string, date = ibis.null().cast("string"), ibis.null().cast("date")
        table = ids.mutate(rep_name=ids.rep_id, team=string, region=string, manager_id=string, hire_date=date,
                           manager_name=string)
    return table.select("rep_id", "rep_name", "team", "region", "manager_id", "manager_name", "hire_date")


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
    """Who a people report is about, from a selection (:func:`scope`).

    ``group``: the reps compared (a selection of team and region; with a rep selection and
    no team, the selected reps' teams): per-rep numbers, team medians, team rates and ranks
    are computed within it. ``rep_ids``: with a rep selection, the reps whose rows are shown
    (and whose totals are the report's); None shows every rep of the group. ``rows``: the
    segment, source and product that choose the deals and activities counted.
    """

    group: Selection = EVERYTHING
    rep_ids: tuple[str, ...] | None = None
    rows: Selection = EVERYTHING

    @property
    def compared(self) -> Selection:
        """The whole comparison group as one selection: its team and region, and the rows."""
        return self.rows.but(team=self.group.team, region=self.group.region)

    def shown(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The per-rep rows the report shows: every rep of the group, or the selected reps."""
        return frame if self.rep_ids is None else frame[frame["rep_id"].isin(self.rep_ids)]


def scope(dataset: Dataset, where: Selection | None = None) -> Scope:
    """Who a people report is about, from its selection (see the module docstring).

    ``rep`` (a rep_id, or a name: every rep of that name) shows those reps against their
    team. A value the data does not hold is a :class:`SelectionError` that lists the values;
    so is a rep of another team (or region) than the one selected. A rep (or team) with
    nothing to measure is not an error (:func:`nothing_to_show` says so).
    """
    where = as_selection(where).without_period()
    return dataset.memo(("people scope", where), lambda: _scope(dataset, where))


def _scope(dataset: Dataset, where: Selection) -> Scope:
    check_selection(dataset, where)
    group, rows = select(team=where.team, region=where.region), of_rows(where)
    if where.rep is None:
        return Scope(group, None, rows)
    ids = rep_ids(dataset, where.rep)
    known = dataset.table("reps").select("rep_id", "rep_name", "team", "region").execute() if dataset.has("reps") \
        else pd.DataFrame(columns=["rep_id", "rep_name", "team", "region"])
    people = pd.DataFrame({"rep_id": ids}).merge(known, on="rep_id", how="left")
    for dimension in ("team", "region"):
        chosen = getattr(where, dimension)
        if chosen:
            other = people[~people[dimension].isin(chosen)]
            if len(other):
                row = other.iloc[0]
                name = row["rep_name"] if isinstance(row["rep_name"], str) else row["rep_id"]
                actual = row[dimension] if isinstance(row[dimension], str) else None
                raise SelectionError(f"rep {name} ({row['rep_id']}) is in {dimension} {actual!r}, not "
                                     f"{' or '.join(map(repr, chosen))}; leave {dimension} out of the selection or "
                                     f"give the rep's {dimension}.")
    teams = people["team"]
    if where.team is None and len(teams) and teams.notna().all():
        group = group.but(team=sorted(set(teams)))  # the reps are shown against their teams
    return Scope(group, tuple(ids), rows)


def group_deals(dataset: Dataset, people: Scope) -> ir.Table:
    """The deals that count for the comparison group: owned by its reps (a deal's team and
    region here are its owner's), of the selected segment, source and product."""
    table = deals(dataset, people.rows.but(team=people.group.team))
    if people.group.region:
        table = table.filter(table.rep_id.isin(selling_reps(dataset, people.group).rep_id))
    return table


def group_activities(dataset: Dataset, people: Scope) -> ir.Table:
    """The activities that count: those of the selected segment, source and product
    (``scope.restrict``: an activity's source and product are its deal's, its segment its
    account's); whose they are is decided by joining the group's reps."""
    return restrict(dataset, dataset.table("activities"), people.rows, rows="activities")


def rollup(per_rep: pd.DataFrame, by: str | None, sums: list[str], scope: Scope) -> pd.DataFrame:
    """Per-rep sums rolled up to ``by`` (``rep``, ``team``, ``manager``, ``region`` or None for one row).

    Group rates are then computed from these sums (ratio of sums, never a mean of rep
    ratios). ``reps`` counts the reps in each group. Rep rows and the overall row are the
    scope's shown reps; team, manager and region rows cover the whole comparison group, so a
    rep's team is there to compare with.
    """
    check_by(by)
    # Summed in the order of the rep IDs: the engine returns the reps in an order of its own,
    # which may change from run to run, and a float sum (rep-weeks, quota) depends on its
    # order in the last digit. The sample's activities per rep-week differed between two runs
    # of the same code on the same data.
    per_rep = per_rep.sort_values("rep_id", kind="stable", ignore_index=True)
    frame = per_rep.assign(team=per_rep["team"].fillna(NO_TEAM), manager_id=per_rep["manager_id"].fillna(""),
                           manager_name=per_rep["manager_name"].fillna(NO_MANAGER))
    if "region" in frame:
        frame = frame.assign(region=frame["region"].fillna(NO_TEAM))
    if by == "rep":
        rows = scope.shown(frame).sort_values(["team", "rep_name", "rep_id"])
        return rows.assign(reps=1).reset_index(drop=True)
    if by is None:
        frame = scope.shown(frame)
        # A column of NaN stays NaN (not measured); no reps at all add up to 0.
        totals = frame[sums].sum(min_count=1 if len(frame) else 0).to_frame().T
        return totals.assign(reps=len(frame)).reset_index(drop=True)
    columns = LEVELS[by]
    grouped = frame.groupby(columns, dropna=False, sort=True)
    result = grouped[sums].sum(min_count=1).join(grouped.size().rename("reps")).reset_index()
    return result


def check_by(by: str | None, extra: tuple[str, ...] = ()) -> None:
    """``by`` is a level the per-rep rows roll up to; a deal dimension is a selection, not a grouping, here."""
    levels = (*LEVELS, *extra)
    if by in (None, *levels):
        return
    hint = (f" The rows are reps: to count only one {by}'s deals and activities, select it "
            f"(where=salesnb.select({by}=...)).") if by in ROW_DIMENSIONS else ""
    raise SalesnbError(f"by must be one of {', '.join(levels)} or None, not {by!r}.{hint}")


def missing_hire_dates(dataset: Dataset, where: Selection = EVERYTHING) -> tuple[int, int]:
    """(selling reps without a hire date, all selling reps) of the selection: the reps whose
    activity rate is over the whole period for want of a hire date."""
    reps = selling_reps(dataset, scope(dataset, where).group)
    counts = reps.aggregate(missing=reps.hire_date.isnull().cast("int64").sum(), total=reps.count()).execute().iloc[0]
    return int(counts["missing"] or 0), int(counts["total"] or 0)


def nothing_to_show(dataset: Dataset, where: Selection = EVERYTHING) -> str | None:
    """The sentence a report shows when its selection has no selling rep (a manager who
    sells nothing, a team of managers), else None."""
    people = scope(dataset, where)
    reps = selling_reps(dataset, people.group)
    if people.rep_ids:
        if int(reps.filter(reps.rep_id.isin(list(people.rep_ids))).count().execute()):
            return None
        return (f"Rep {', '.join(people.rep_ids)} owns no deal, carries no quota and logged no activity in the data, "
                "so there is nothing to measure for them here; their team is shown for comparison.")
    if int(reps.count().execute()):
        return None
    described = people.group.describe()
    return (f"No rep {'of ' + described + ' ' if described else ''}owns a deal, carries a quota or logged an "
            "activity in the data: there is nothing to measure.")


def notes(dataset: Dataset, where: Selection = EVERYTHING) -> list[str]:
    """What a people report says first about its selection: that it has nothing to measure,
    or how many reps lack a hire date (they count as employed for the whole period)."""
    empty = nothing_to_show(dataset, where)
    if empty:
        return [empty]
    missing, total = missing_hire_dates(dataset, where)
    if not missing:
        return []
    return [f"{missing:,} of {total:,} reps have no hire date (reps.hire_date): they count as employed for the whole "
            "period. Add hire dates so new hires are compared on the weeks they worked."]
