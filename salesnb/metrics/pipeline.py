"""The open pipeline now, weighted three ways, and the stage probabilities observed in the past.

The pipeline on past dates (the as-of states every look-back view starts from) is in
:mod:`salesnb.metrics.snapshots`.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import fiscal_quarter_label
from salesnb.data.selection import Selection
from salesnb.errors import SalesnbError
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import OPEN, WON, deals
from salesnb.metrics.scope import metric
from salesnb.metrics.snapshots import deal_states, pipeline_as_of
from salesnb.metrics.totals import exact_mean, exact_sum

# Closed deals of this many days before a date calibrate the stage probabilities.
CALIBRATION_WINDOW_DAYS = 365

declare(
    # The open pipeline (open_pipeline), and the report's KPIs of it.
    Measure("open_without_amount", "Without amount", "count", "Open deals without an amount: counted in deals, in "
            "no amount or weighted amount.", section="open-pipeline"),
    Measure("fiscal_quarter", "Fiscal quarter", "text", "The fiscal quarter (playbook fiscal year) of the month."),
    Measure("weighted_playbook", "Weighted (playbook)", "currency", "sum(amount × the playbook's probability of the "
            "deal's stage) over the open deals.", section="weighted-pipeline"),
    Measure("weighted_CRM", "Weighted (CRM)", "currency", "sum(amount × the CRM's probability, the playbook's where "
            "empty) over the open deals.", section="weighted-pipeline"),
    Measure("weighted_calibrated", "Weighted (calibrated)", "currency", "sum(amount × the calibrated probability of "
            "the deal's stage) over the open deals.", section="weighted-pipeline"),
    # The KPIs keep the labels of their headline tiles: the run's trends match tiles by label.
    Measure("open_pipeline_count", "Open deals", "count", "Deals open at the data's date (closed deals never count).",
            section="open-pipeline"),
    Measure("open_pipeline_amount", "Open pipeline", "currency", "Sum of the amounts of the deals open at the data's "
            "date.", section="open-pipeline"),
    Measure("weighted_pipeline_amount", "Weighted (playbook)", "currency", "Open pipeline weighted by the "
            "playbook's stage probabilities.", section="weighted-pipeline"),
    Measure("weighted_pipeline_crm", "Weighted (CRM)", "currency", "Open pipeline weighted by the CRM's "
            "probabilities (the playbook's where empty).", section="weighted-pipeline"),
    Measure("weighted_pipeline_calibrated", "Weighted (calibrated)", "currency", "Open pipeline weighted by "
            "the stage probabilities observed on the deals closed in the last 365 days.", section="weighted-pipeline"),
    # The calibration (stage_calibration).
    Measure("playbook_probability", "Playbook probability", "percent", "The playbook's win probability of the stage.",
            section="calibrated-probability"),
    Measure("CRM_probability", "CRM probability", "percent", "Mean of the CRM's probability over the deals open at "
            "the stage now (the playbook's where empty).", section="calibrated-probability"),
    Measure("open_deals", "Open deals", "count", "Deals open at the data's date in the group.",
            section="open-pipeline"),
    Measure("calibrated_probability", "Calibrated probability", "percent", "won ÷ closed over the deals closed in "
            "the last 365 days that were at the stage.", section="calibrated-probability", min_n=10),
    Measure("stage_win_probability", "Calibrated win probability", "percent", "Per open stage: won ÷ closed over the "
            "deals closed in the last 365 days that were at the stage.", section="calibrated-probability", min_n=10),
)


# ----------------------------------------------------------------------------- the open pipeline now


def has_deals(dataset: Dataset, *, where: Selection | None = None) -> bool:
    """Whether the selection holds any deal at all (a team of managers holds none)."""
    return bool(int(deals(dataset, where).count().execute()))


def stage_probability(stage: ir.StringValue, probabilities: dict) -> ir.FloatingValue:
    """The probability of each deal's stage from a map stage -> probability (NULL for a stage without one)."""
    cases = [(stage == name, float(value)) for name, value in probabilities.items() if value is not None and value == value]
    return ibis.cases(*cases, else_=ibis.null()).cast("float64") if cases else ibis.null().cast("float64")


# by= of open_pipeline: the view's own groupings, then the selection's dimensions.
PIPELINE_GROUPS = {"stage": ["stage"], "close_month": ["close_month"], "rep": ["rep_id", "rep_name", "team"],
                   "team": ["team"], "segment": ["segment"], "source": ["source"], "product": ["product"],
                   "region": ["region"]}


@metric
def open_pipeline(dataset: Dataset, by: str | None = None, *, where: Selection,
                  calibrated: dict | None = None) -> pd.DataFrame:
    """The deals of the selection open at the data's date, weighted three ways.

    - ``deals``: count of open deals; ``amount``: sum of their amounts; ``open_without_amount``:
      open deals with no amount (counted in ``deals``, not in any amount). The amounts of a
      group none of whose deals has an amount are not measured (NaN), never 0;
    - ``weighted_playbook`` = sum(amount x the playbook's probability of the deal's stage);
    - ``weighted_CRM`` = sum(amount x the CRM's ``probability``), the playbook's probability
      where the CRM's is empty;
    - ``weighted_calibrated`` = sum(amount x calibrated probability of the stage), with
      ``calibrated`` a map stage -> probability (:func:`calibrated_probabilities`); empty
      (NaN) when ``calibrated`` is None (no history to calibrate on).

    ``by``: None (one row), ``stage`` (playbook order), ``close_month`` (expected close month,
    with its fiscal quarter; deals without a close date as an empty month), or ``rep``,
    ``team``, ``segment``, ``source``, ``product``, ``region`` (largest amount first; deals
    without a value as "(none)"). No period: the pipeline is the one open now. Every
    selection dimension applies (deals carry them all).
    """
    if by is not None and by not in PIPELINE_GROUPS:
        raise SalesnbError(f"by must be one of {', '.join(PIPELINE_GROUPS)}, not {by!r}.")
    playbook = dataset.playbook
    table = deals(dataset, where)
    table = table.filter(table.outcome == OPEN)
    playbook_probability = stage_probability(table.stage, {stage: playbook.probability(stage) for stage in playbook.open_stages})
    table = table.mutate(
        p_playbook=playbook_probability, p_crm=table.probability.fill_null(playbook_probability),
        p_calibrated=stage_probability(table.stage, calibrated or {}), close_month=table.close_date.truncate("M"),
    )
    columns = PIPELINE_GROUPS.get(by, [])
    # Deals without an owner or team stay visible as "(none)".
    table = table.mutate(**{column: table[column].fill_null("(none)") for column in columns
                            if table[column].type().is_string()})
    # Exact sums: a float sum of the open deals' weighted amounts changed in its last digits
    # from run to run at scale (totals.exact_sum).
    aggregates = dict(
        deals=table.count(), amount=exact_sum(table.amount),
        open_without_amount=table.amount.isnull().cast("int64").sum(),
        weighted_playbook=exact_sum(table.amount * table.p_playbook),
        weighted_CRM=exact_sum(table.amount * table.p_crm),
        weighted_calibrated=exact_sum(table.amount * table.p_calibrated),
    )
    result = (table.group_by(columns).aggregate(**aggregates) if columns else table.aggregate(**aggregates)).execute()
    if by == "stage":
        result = result.set_index("stage").reindex(pd.Index(playbook.open_stages, dtype=object, name="stage")).reset_index()
    counts = ["deals", "open_without_amount"]
    result[counts] = result[counts].fillna(0).astype("int64")
    # Amounts are summed over the deals that have one: 0 for a group without deals, not
    # measured (NaN) for a group whose deals have none (never 0 for an unknown value).
    with_amount = result["deals"] - result["open_without_amount"]
    values = ["amount", "weighted_playbook", "weighted_CRM", "weighted_calibrated"]
    for column in values:
        result[column] = result[column].astype("float64").fillna(0.0).where((with_amount > 0) | (result["deals"] == 0))
    if calibrated is None:
        result["weighted_calibrated"] = float("nan")
    if by == "stage":
        return result
    if by == "close_month":
        result["close_month"] = pd.to_datetime(result["close_month"])
        result["fiscal_quarter"] = [
            fiscal_quarter_label(month.date(), playbook.fiscal_year_start_month) if pd.notna(month) else None
            for month in result["close_month"]]
        result = result.sort_values("close_month", na_position="last").reset_index(drop=True)
        return result[["close_month", "fiscal_quarter", *counts, *values]]
    if columns:
        result = result.sort_values(["amount", *columns], ascending=[False] + [True] * len(columns))
    return result.reset_index(drop=True)


@metric
def stage_calibration(dataset: Dataset, *, where: Selection, as_of_date: dt.date | None = None,
                      window_days: int = CALIBRATION_WINDOW_DAYS) -> pd.DataFrame:
    """Per open stage, the playbook's, the CRM's and the observed (calibrated) win probability, with n.

    - ``calibrated_probability`` = ``won`` / ``closed``, where ``closed`` = the deals of the
      selection closed (won or lost) in the ``window_days`` up to ``as_of_date`` (default:
      the data's date) that were at the stage at some point (per their history up to that
      date), and ``won`` those of them that were won. A deal that skipped the stage does not
      count for it. Needs ``opportunity_history``; empty (NaN, n = 0) without it or without
      closed deals at the stage.
    - ``CRM_probability``: mean of the CRM's ``probability`` over the deals open at the stage
      now (the playbook's where empty), ``open_deals`` their count.
    - ``ranked``: n reaches the playbook's ``min_deals_for_ranking``.

    Closed deals and the stages they were at come from :func:`pipeline_as_of` and the
    history up to ``as_of_date``, so a past date sees only what was known then. No period
    and no ``by``: the window ends at ``as_of_date`` and the rows are the open stages.
    Every selection dimension applies.
    """
    playbook = dataset.playbook
    as_of_date = as_of_date or dataset.as_of
    frame = pd.DataFrame({"stage": pd.Series(playbook.open_stages, dtype=object),
                          "playbook_probability": pd.Series([playbook.probability(stage) for stage in playbook.open_stages],
                                                            dtype="float64")})
    if dataset.has("opportunity_history"):
        then = pipeline_as_of(dataset, [as_of_date], where=where)
        window_start = as_of_date - dt.timedelta(days=window_days - 1)
        closed = then.filter((then.outcome != OPEN) & then.close_date.between(window_start, as_of_date))
        states = deal_states(dataset)
        visits = states.filter((states.day <= as_of_date) & states.stage.isin(playbook.open_stages))
        visits = visits.select("opportunity_id", "stage").distinct()
        visited = visits.join(closed.select("opportunity_id", "outcome"), "opportunity_id")
        observed = visited.group_by("stage").aggregate(
            closed=visited.count(), won=(visited.outcome == WON).cast("int64").sum()).execute()
        frame = frame.merge(observed.astype({"stage": object}), on="stage", how="left")
    else:
        frame = frame.assign(closed=0, won=0)
    frame[["closed", "won"]] = frame[["closed", "won"]].fillna(0).astype("int64")
    frame["calibrated_probability"] = (frame["won"] / frame["closed"]).where(frame["closed"] > 0)
    frame["ranked"] = frame["closed"] >= playbook.min_deals_for_ranking

    current = deals(dataset, where)
    current = current.filter(current.outcome == OPEN)
    playbook_probability = stage_probability(current.stage, dict(zip(frame["stage"], frame["playbook_probability"])))
    crm = current.group_by("stage").aggregate(
        open_deals=current.count(), CRM_probability=exact_mean(current.probability.fill_null(playbook_probability))).execute()
    frame = frame.merge(crm.astype({"stage": object}), on="stage", how="left")
    frame["open_deals"] = frame["open_deals"].fillna(0).astype("int64")
    return frame[["stage", "playbook_probability", "CRM_probability", "open_deals", "calibrated_probability",
                  "closed", "won", "ranked"]]


def calibrated_probabilities(calibration: pd.DataFrame) -> dict[str, float] | None:
    """Stage -> probability for the calibrated weighted pipeline: the observed rate where any
    closed deal was at the stage, else the playbook's (those stages are named on the page).
    None when nothing at all could be calibrated (no history, or no closed deal in the window)."""
    if not (calibration["closed"] > 0).any():
        return None
    observed = calibration["calibrated_probability"].where(calibration["closed"] > 0,
                                                           calibration["playbook_probability"])
    return dict(zip(calibration["stage"], observed.astype(float)))
