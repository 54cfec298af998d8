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
from salesnb.data.selection import select
from salesnb.metrics.deals import LOST, created_in, deals

UNKNOWN_STAGE = "(unknown: no stage history)"


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


def stage_funnel(dataset: Dataset, period: Period, team: str | None = None, segment: str | None = None) -> pd.DataFrame:
    """Cohort funnel of the deals created in the period.

    For each open stage k (and Won):

    - ``reached`` = deals whose furthest position >= k
    - ``next_step_rate`` = reached(k+1) / reached(k)
    - ``win_rate_from_stage`` (cumulative) = reached(Won) / reached(k)
    - ``open_now`` = deals still open at stage k; ``lost_here`` = deals lost at stage k
      (None without stage history: where a deal was lost is then unknown, not 0)

    Open deals stay in the denominators: a young cohort's rates are still rising. Deals
    without a ``created_at`` belong to no cohort and are left out (``deals.missing_counts``).
    A process without open stages has no funnel: an empty frame (``deals.process_gaps``).
    """
    playbook = dataset.playbook
    if not playbook.open_stages:
        return pd.DataFrame(columns=["stage", "reached", "advanced", "next_step_rate", "win_rate_from_stage",
                                     "open_now", "lost_here"])
    cohort = with_stage_reached(dataset, created_in(deals(dataset, select(team=team, segment=segment)), period))
    stages = playbook.open_stages + [playbook.won_stages[0]]
    current = stage_position(cohort.stage, playbook)
    aggregates = {}
    for position in range(len(stages)):
        aggregates[f"reached_{position}"] = (cohort.furthest_position >= position).cast("int64").sum()
        aggregates[f"open_{position}"] = ((cohort.outcome == "open") & (current == position)).cast("int64").sum()
        aggregates[f"lost_{position}"] = ((cohort.outcome == LOST) & (cohort.lost_at_stage == stages[position])).cast("int64").sum()
    counts = cohort.aggregate(**aggregates).execute().iloc[0].fillna(0).astype(int)
    has_history = dataset.has("opportunity_history")
    rows = []
    won = counts[f"reached_{len(stages) - 1}"]
    for position, stage in enumerate(stages):
        reached = counts[f"reached_{position}"]
        advanced = counts[f"reached_{position + 1}"] if position + 1 < len(stages) else None
        rows.append({
            "stage": stage,
            "reached": reached,
            "advanced": advanced,
            "next_step_rate": (advanced / reached) if advanced is not None and reached else None,
            "win_rate_from_stage": (won / reached) if reached else None,
            "open_now": counts[f"open_{position}"] if position < len(stages) - 1 else None,
            # Without history the stage a lost deal was lost at is unknown: not 0.
            "lost_here": counts[f"lost_{position}"] if position < len(stages) - 1 and has_history else None,
        })
    return pd.DataFrame(rows)


def time_in_stage(dataset: Dataset, period: Period, team: str | None = None, segment: str | None = None) -> pd.DataFrame:
    """Days spent in each open stage, per stage visit that ended in the period.

    A visit starts when a deal's history enters the stage and ends at the next history
    row with a different stage: ``days = next stage entry - this stage entry``. Returns
    ``stage``, ``visits``, ``median_days``, ``p75_days`` in process order. Needs history.
    """
    playbook = dataset.playbook
    selected = deals(dataset, select(team=team, segment=segment)).select("opportunity_id")
    history = dataset.table("opportunity_history", needed_for="time in stage")
    history = history.semi_join(selected, "opportunity_id")
    ordered = ibis.window(group_by="opportunity_id", order_by=["changed_at"])
    marked = history.mutate(previous_stage=history.stage.lag().over(ordered))
    entries = marked.filter(marked.previous_stage.isnull() | (marked.previous_stage != marked.stage))
    entries = entries.mutate(exited_at=entries.changed_at.lead().over(ordered))
    visits = entries.filter(
        entries.stage.isin(playbook.open_stages)
        & entries.exited_at.notnull()
        & entries.exited_at.date().between(period.start, period.end)
    )
    visits = visits.mutate(days=(visits.exited_at.epoch_seconds() - visits.changed_at.epoch_seconds()) / 86400)
    result = visits.group_by("stage").aggregate(
        visits=visits.count(), median_days=visits.days.median(), p75_days=visits.days.quantile(0.75)
    ).execute()
    order = {stage: index for index, stage in enumerate(playbook.open_stages)}
    result = result.set_index("stage").reindex(playbook.open_stages).reset_index()
    result["visits"] = result["visits"].fillna(0).astype(int)
    return result.sort_values("stage", key=lambda column: column.map(order)).reset_index(drop=True)
