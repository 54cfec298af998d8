"""Quota attainment: won amount credited to the deal owner against the owner's quota.

A quota row (``quotas``: rep, period_start..period_end, amount) counts in a report period
when it lies wholly inside it and has ended by the data's snapshot date. Its won amount is
the sum of the amounts of the deals its rep owns that were won with a ``close_date`` in
the row's dates. Every level above a row is a ratio of sums:

    attainment (rep, team, manager, company) = Σ won amount / Σ quota, over the quota rows

never the mean of the reps' ratios. Overlapping quota rows of one rep (a data error the
validation warns about) are each measured on their own dates, so a deal in the overlap
counts in both rows and the rep's attainment is the quota-weighted mean of the two rows',
neither doubled nor halved.
"""

from __future__ import annotations

import ibis
import numpy as np
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import select
from salesnb.metrics import roster
from salesnb.metrics.deals import WON, amounts_recorded, closed_in, deals
from salesnb.metrics.exclusions import Excluded, count_excluded
from salesnb.metrics.statistics import total_to_target_interval

AT_QUOTA = 1.0  # attainment at or above this is "at quota" (100%)
SUMS = ["quota", "won_amount", "won_deals", "won_amount_squares", "quota_periods"]


def _quotas_touching(dataset: Dataset, period: Period, team: str | None) -> ir.Table:
    """Quota rows of the selling reps of ``team`` whose dates overlap the period."""
    quotas = dataset.table("quotas")
    reps = roster.selling_reps(dataset, team).select("rep_id")
    quotas = quotas.join(reps, "rep_id")
    return quotas.filter((quotas.period_start <= period.end) & (quotas.period_end >= period.start))


def _counted(quotas: ir.Table, dataset: Dataset, period: Period) -> ir.BooleanValue:
    """Quota rows that count: wholly inside the period, ended by the snapshot date, with an amount above 0."""
    return ((quotas.period_start >= period.start) & (quotas.period_end <= roster.observed_end(dataset, period))
            & (quotas.amount > 0))


def _won_with_amount(dataset: Dataset, team: str | None) -> ir.Table:
    table = deals(dataset, select(team=team))
    return table.filter((table.outcome == WON) & table.rep_id.notnull() & table.amount.notnull()
                        & table.close_date.notnull())


def attainment_by_quota_period(dataset: Dataset, period: Period, team: str | None = None) -> pd.DataFrame:
    """One row per quota row that counts in the period (see the module docstring): the rep,
    ``quota_start``, ``quota_end``, ``quota``, ``won_amount`` (Σ amount of the rep's deals
    won in the row's dates), ``won_deals``, ``won_amount_squares`` (Σ amount², for the
    interval) and ``attainment`` = won amount / quota."""
    quotas = _quotas_touching(dataset, period, team)
    quotas = quotas.filter(_counted(quotas, dataset, period))
    # A row number tells identical quota rows apart (each is a quota of its own).
    quotas = quotas.mutate(quota_row=ibis.row_number().over(
        order_by=["rep_id", "period_start", "period_end", "amount"]))
    won = _won_with_amount(dataset, team).select("close_date", won_rep="rep_id", deal_amount="amount")
    joined = quotas.left_join(won, [quotas.rep_id == won.won_rep, won.close_date >= quotas.period_start,
                                    won.close_date <= quotas.period_end])
    rows = joined.group_by(["quota_row", "rep_id", "period_start", "period_end", "amount"]).aggregate(
        won_amount=joined.deal_amount.sum(), won_deals=joined.deal_amount.count(),
        won_amount_squares=(joined.deal_amount * joined.deal_amount).sum(),
    ).execute()
    rows = rows.rename(columns={"period_start": "quota_start", "period_end": "quota_end", "amount": "quota"})
    rows[["won_amount", "won_amount_squares"]] = rows[["won_amount", "won_amount_squares"]].fillna(0.0)
    rows["won_deals"] = rows["won_deals"].fillna(0).astype("int64")
    people = roster.selling_reps(dataset, team).execute().drop(columns=["hire_date"])
    rows = people.merge(rows.drop(columns=["quota_row"]), on="rep_id")
    rows["attainment"] = rows["won_amount"] / rows["quota"]
    for column in ("quota_start", "quota_end"):
        rows[column] = pd.to_datetime(rows[column])
    return rows.sort_values(["team", "rep_name", "rep_id", "quota_start", "quota_end"]).reset_index(drop=True)


def quota_attainment(dataset: Dataset, period: Period, by: str | None = "rep", team: str | None = None,
                     rep: str | None = None) -> pd.DataFrame:
    """Quota attainment per ``quota_period`` (one row per rep and quota row), ``rep``,
    ``team``, ``manager`` or overall (None), over the reps that have a quota in the period.

    - ``attainment`` = Σ won amount / Σ quota (ratio of sums at every level), its standard
      error ``attainment_error`` = √Σ amount² / Σ quota and a 95% interval
      (``attainment_low``/``_high``: ± 1.96 standard errors, from at least one won deal;
      ``won_deals`` is its n);
    - for a team, manager or overall: ``reps`` with a quota, ``reps_at_quota`` (their own
      attainment ≥ 100%) and ``share_reps_at_quota`` = reps at quota / reps.

    ``rep`` shows that rep's rows and makes the overall row the rep's; team and manager rows
    cover the comparison group. Without a ``quotas`` table: an empty frame; when no deal has
    an amount, the won amounts and attainments are not measured (NaN), never 0%.
    """
    scope = roster.scope(dataset, team, rep)
    if not dataset.has("quotas"):
        return pd.DataFrame(columns=[*roster.LEVELS.get(by or "team", []), *SUMS, "attainment"])
    rows = attainment_by_quota_period(dataset, period, scope.team).assign(quota_periods=1)
    if by == "quota_period":
        rows = _with_attainment(scope.rows(rows))
        if not amounts_recorded(dataset):
            rows[["won_amount", "won_amount_squares", "attainment", "attainment_low", "attainment_high"]] = float("nan")
        return rows
    identity = ["rep_id", "rep_name", "team", "manager_id", "manager_name"]
    per_rep = rows.groupby("rep_id", sort=True).agg(
        {**{column: "first" for column in identity[1:]}, **{column: "sum" for column in SUMS}}).reset_index()
    per_rep["reps_at_quota"] = (per_rep["won_amount"] >= AT_QUOTA * per_rep["quota"]).astype("int64")
    grouped = roster.rollup(per_rep, by, [*SUMS, "reps_at_quota"], scope)
    grouped = _with_attainment(grouped)
    if by != "rep":
        grouped["share_reps_at_quota"] = grouped["reps_at_quota"] / grouped["reps"].where(grouped["reps"] > 0)
    if not amounts_recorded(dataset):  # no deal has an amount: attainment is unknown, not 0%
        unknown = ["won_amount", "won_amount_squares", "attainment", "attainment_low", "attainment_high",
                   "reps_at_quota", "share_reps_at_quota"]
        grouped[[column for column in unknown if column in grouped]] = float("nan")
    return grouped


def _with_attainment(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    quota = frame["quota"].astype(float)
    frame["attainment"] = frame["won_amount"] / quota.where(quota > 0)
    # Standard error of the attainment: the won amount is a sum of deals (compound Poisson).
    frame["attainment_error"] = np.sqrt(frame["won_amount_squares"]) / quota.where(quota > 0)
    frame["attainment_low"], frame["attainment_high"] = total_to_target_interval(
        frame["won_amount"], frame["won_amount_squares"], frame["won_deals"], quota)
    return frame.reset_index(drop=True)


def quota_exclusions(dataset: Dataset, period: Period, team: str | None = None) -> list[Excluded]:
    """What attainment leaves out: quota rows that overlap the period but do not count
    (reaching outside it, still running at the snapshot date, or without an amount), and
    won deals of the period that no quota row of their owner covers."""
    if not dataset.has("quotas"):
        return []
    quotas = _quotas_touching(dataset, period, team)
    noun = "quota rows overlapping the period"
    end = roster.observed_end(dataset, period)
    inside = (quotas.period_start >= period.start) & (quotas.period_end <= period.end)
    final = quotas.period_end <= end
    excluded = [
        count_excluded(quotas, ~inside, noun,
                       "reach outside the report period: choose a period made of whole quota periods"),
        count_excluded(quotas, inside & ~final, noun,
                       f"end after the data's date {dataset.as_of:%Y-%m-%d}, so their attainment is not final yet"),
        count_excluded(quotas, inside & final & ~(quotas.amount > 0).fill_null(False), noun,
                       "have no quota amount (empty or 0)"),
    ]
    counted = quotas.filter(_counted(quotas, dataset, period))
    won = closed_in(_won_with_amount(dataset, team), period)
    covered = won.semi_join(counted, [won.rep_id == counted.rep_id, won.close_date >= counted.period_start,
                                      won.close_date <= counted.period_end]).select("opportunity_id")
    uncovered = won.anti_join(covered, "opportunity_id")
    count = int(uncovered.count().execute())
    excluded.append(Excluded(count, int(won.count().execute()), "deals won in the period (with an owner and an amount)",
                             "fall in no counted quota period of their owner, so no attainment includes them"))
    return excluded


# Attainment buckets of the distribution chart: (lower bound included, upper bound, label).
ATTAINMENT_BUCKETS = [(0.0, 0.5, "under 50%"), (0.5, 0.8, "50–80%"), (0.8, 1.0, "80–100%"),
                      (1.0, 1.2, "100–120%"), (1.2, float("inf"), "120% or more")]


def attainment_distribution(by_quota_period: pd.DataFrame) -> pd.DataFrame:
    """How many quota rows (rep × quota period) fall in each attainment bucket
    (:data:`ATTAINMENT_BUCKETS`, every bucket shown, 0 when empty) and their ``share``."""
    attainment = by_quota_period["attainment"].dropna()
    counts = [int(((attainment >= low) & (attainment < high)).sum()) for low, high, _ in ATTAINMENT_BUCKETS]
    frame = pd.DataFrame({"attainment": [label for _, _, label in ATTAINMENT_BUCKETS], "quota_periods": counts})
    frame["share"] = frame["quota_periods"] / frame["quota_periods"].sum() if len(attainment) else float("nan")
    return frame
