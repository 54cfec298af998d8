"""The stage funnel (cohort method) and time in stage.

Stage positions come from the playbook: the open stages in order are positions
0..k-1 and the won stage is position k. A deal *reached* position p if the furthest
position it ever had is >= p, so a deal that skipped a stage counts as having passed it.

- With ``opportunity_history`` the furthest position is the highest stage in the deal's
  history (or its current stage, if further), and a lost deal was lost at the last open
  stage it was in before it was closed.
- Without history it is inferred from the current stage; a lost deal is then only known
  to have reached the first stage, and the stage it was lost at is unknown.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import LOST, aggregated, created_in, deals, every_stage, grouped
from salesnb.metrics.scope import metric
from salesnb.metrics.snapshots import history_order

UNKNOWN_STAGE = "(unknown: no stage history)"
FUNNEL_COLUMNS = ["stage", "reached", "advanced", "next_step_rate", "win_rate_from_stage", "open_now", "lost_here"]
# What ``by=`` may name for a stage visit: the deal's dimensions (a visit has no close month).
VISIT_GROUPINGS = ("rep", "team", "source", "segment", "product", "region", "type")

declare(
    Measure("reached", "Reached", "count", "Deals of the cohort whose furthest stage is this one or later",
            section="stage-funnel"),
    Measure("advanced", "Advanced", "count", "Deals of the cohort that reached the next stage (or later)",
            section="stage-funnel"),
    Measure("next_step_rate", "Next-step rate", "percent", "reached(next stage) ÷ reached(stage), deals created in "
            "the period", section="stage-funnel", higher_is_better=True, min_n=30),
    Measure("win_rate_from_stage", "Win rate from stage", "percent", "reached(won) ÷ reached(stage), deals created "
            "in the period", section="stage-funnel", higher_is_better=True, min_n=30),
    Measure("open_now", "Open now", "count", "Deals of the cohort still open at the stage", section="stage-funnel"),
    Measure("lost_here", "Lost here", "count", "Deals of the cohort lost while at the stage (needs stage history)",
            section="stage-funnel", higher_is_better=False),
    Measure("stage_conversion", "Stage conversion", "percent", "Next-step rate per open stage: reached(next) ÷ "
            "reached(stage), deals created in the period", section="stage-funnel", higher_is_better=True, min_n=30),
    Measure("visits", "Visits", "count", "Stage visits that ended in the period", section="time-in-stage"),
    Measure("median_days_in_stage", "Median days in stage", "days", "Median of next stage entry − this stage entry, "
            "over the visits that ended in the period", section="time-in-stage", higher_is_better=False),
    Measure("p75_days_in_stage", "P75 days in stage", "days", "75th percentile of next stage entry − this stage "
            "entry, over the visits that ended in the period", section="time-in-stage", higher_is_better=False),
)


def stage_position(stage: ir.StringValue, playbook) -> ir.IntegerValue:
    """Position of a stage in the process: 0..k-1 for open stages, k for won, NULL for lost."""
    cases = [(stage == name, index) for index, name in enumerate(playbook.open_stages)]
    cases += [(stage.isin(playbook.won_stages), len(playbook.open_stages))]
    return ibis.cases(*cases, else_=ibis.null()).cast("int64")


def with_stage_reached(dataset: Dataset, table: ir.Table) -> ir.Table:
    """Adds ``furthest_position`` and ``lost_at_stage`` to a deals table (see module doc)."""
    playbook = dataset.playbook
    current = stage_position(table.stage, playbook)
    if not dataset.has("opportunity_history"):
        return table.mutate(
            furthest_position=ibis.cases((table.outcome == LOST, 0), else_=current).cast("int64"),
            lost_at_stage=ibis.cases((table.outcome == LOST, UNKNOWN_STAGE), else_=ibis.null()).cast("string"),
        )
    history = dataset.table("opportunity_history")
    # Only the history of the deals asked about: a cohort's, not every deal's (at scale the
    # window below over all 3.5M history rows was most of a funnel's time).
    history = history.semi_join(table.select("opportunity_id"), "opportunity_id")
    history = history.mutate(position=stage_position(history.stage, playbook))
    furthest = history.group_by("opportunity_id").aggregate(history_furthest=history.position.max())
    # The last open stage a deal was in: latest open-stage row (ties broken by position).
    open_rows = history.filter(history.stage.isin(playbook.open_stages))
    latest = ibis.window(group_by="opportunity_id", order_by=[ibis.desc("changed_at"), ibis.desc("position")])
    last_open = (
        open_rows.mutate(rank=ibis.row_number().over(latest))
        .filter(lambda rows: rows["rank"] == 0)
        .select("opportunity_id", last_open_stage="stage")
    )
    joined = (
        table.left_join(furthest, "opportunity_id").drop("opportunity_id_right")
        .left_join(last_open, "opportunity_id").drop("opportunity_id_right")
    )
    reached = ibis.greatest(current.fill_null(0), joined.history_furthest.fill_null(0))
    return joined.mutate(
        furthest_position=reached.cast("int64"),
        lost_at_stage=ibis.cases(
            (joined.outcome == LOST, joined.last_open_stage.fill_null(UNKNOWN_STAGE)), else_=ibis.null()
        ).cast("string"),
    ).drop("history_furthest", "last_open_stage")


@metric
def stage_funnel(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                 where: Selection) -> pd.DataFrame:
    """Cohort funnel of the deals of the selection ``where`` created in the period.

    For each open stage k (and Won):

    - ``reached`` = deals whose furthest position >= k
    - ``next_step_rate`` = reached(k+1) / reached(k)
    - ``win_rate_from_stage`` (cumulative) = reached(Won) / reached(k)
    - ``open_now`` = deals still open at stage k; ``lost_here`` = deals lost at stage k
      (None without stage history: where a deal was lost is then unknown, not 0)

    Open deals stay in the denominators: a young cohort's rates are still rising. Deals
    without a ``created_at`` belong to no cohort and are left out (``deals.missing_counts``).
    A process without open stages has no funnel: an empty frame (``deals.process_gaps``).
    ``by`` (:func:`salesnb.metrics.deals.grouped`; ``month`` is the creation month): one
    funnel per group, its columns first, groups in name order. Every selection dimension applies.
    """
    playbook = dataset.playbook
    cohort, columns = grouped(created_in(deals(dataset, where), period), by, playbook, dated_by="created_at")
    if not playbook.open_stages:
        return pd.DataFrame(columns=[*columns, *FUNNEL_COLUMNS])
    cohort = with_stage_reached(dataset, cohort)
    stages = playbook.open_stages + [playbook.won_stages[0]]
    current = stage_position(cohort.stage, playbook)
    aggregates = {}
    for position in range(len(stages)):
        aggregates[f"reached_{position}"] = (cohort.furthest_position >= position).cast("int64").sum()
        aggregates[f"open_{position}"] = ((cohort.outcome == "open") & (current == position)).cast("int64").sum()
        aggregates[f"lost_{position}"] = ((cohort.outcome == LOST) & (cohort.lost_at_stage == stages[position])).cast("int64").sum()
    groups = aggregated(cohort, columns, **aggregates)
    if columns:
        groups = groups.sort_values(columns)
    has_history = dataset.has("opportunity_history")
    rows = []
    for _, group in groups.iterrows():
        counts = group.drop(columns).fillna(0).astype(int)
        won = counts[f"reached_{len(stages) - 1}"]
        for position, stage in enumerate(stages):
            reached = counts[f"reached_{position}"]
            advanced = counts[f"reached_{position + 1}"] if position + 1 < len(stages) else None
            rows.append({
                **{column: group[column] for column in columns},
                "stage": stage,
                "reached": reached,
                "advanced": advanced,
                "next_step_rate": (advanced / reached) if advanced is not None and reached else None,
                "win_rate_from_stage": (won / reached) if reached else None,
                "open_now": counts[f"open_{position}"] if position < len(stages) - 1 else None,
                # Without history the stage a lost deal was lost at is unknown: not 0.
                "lost_here": counts[f"lost_{position}"] if position < len(stages) - 1 and has_history else None,
            })
    return pd.DataFrame(rows, columns=[*columns, *FUNNEL_COLUMNS])


@metric
def time_in_stage(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                  where: Selection) -> pd.DataFrame:
    """Days spent in each open stage, per stage visit that ended in the period, over the
    deals of the selection ``where``.

    A visit starts when a deal's history enters the stage and ends at the next history
    row with a different stage: ``days = next stage entry - this stage entry``. Returns
    ``stage``, ``visits``, ``median_days_in_stage``, ``p75_days_in_stage`` in process order
    (every open stage; 0 visits where none ended). ``by``: a dimension of the deal (``rep``,
    ``team``, ``source``, ``segment``, ``product``, ``region``, ``type``): every stage per
    group, groups in name order. Needs history; every selection dimension applies.
    """
    playbook = dataset.playbook
    selected, columns = grouped(deals(dataset, where), by, playbook, allowed=VISIT_GROUPINGS)
    history = dataset.table("opportunity_history", needed_for="time in stage")
    history = history.join(selected.select("opportunity_id", *columns), "opportunity_id") if columns \
        else history.semi_join(selected.select("opportunity_id"), "opportunity_id")
    ordered = ibis.window(group_by="opportunity_id", order_by=history_order(history, playbook))
    marked = history.mutate(previous_stage=history.stage.lag().over(ordered))
    entries = marked.filter(marked.previous_stage.isnull() | (marked.previous_stage != marked.stage))
    entries = entries.mutate(exited_at=entries.changed_at.lead().over(ordered))
    visits = entries.filter(
        entries.stage.isin(playbook.open_stages)
        & entries.exited_at.notnull()
        & entries.exited_at.date().between(period.start, period.end)
    )
    visits = visits.mutate(days=(visits.exited_at.epoch_seconds() - visits.changed_at.epoch_seconds()) / 86400)
    result = visits.group_by([*columns, "stage"]).aggregate(
        visits=visits.count(), median_days_in_stage=visits.days.median(),
        p75_days_in_stage=visits.days.quantile(0.75),
    ).execute()
    return every_stage(result, columns, playbook.open_stages, ["visits"])
