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
from salesnb.data.selection import Selection
from salesnb.metrics import roster
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import WON, amounts_recorded, closed_in
from salesnb.metrics.exclusions import Excluded, count_excluded
from salesnb.metrics.scope import metric
from salesnb.metrics.statistics import total_to_target_interval
from salesnb.metrics.totals import exact_sum

AT_QUOTA = 1.0  # attainment at or above this is "at quota" (100%)
SUMS = ["quota_amount", "won_against_quota", "won_deals_against_quota", "won_against_quota_squares", "quota_periods"]
# What attainment cannot be measured on, and says so when asked.
UNKNOWN = ["won_against_quota", "won_against_quota_squares", "attainment", "attainment_error", "attainment_low",
           "attainment_high", "reps_at_quota", "share_reps_at_quota"]

declare(
    Measure("quota_amount", "Quota", "currency", "Σ amount of the reps' quota rows counted in the period (wholly "
            "inside it, ended by the data's date).", section="people-quota-attainment"),
    Measure("won_against_quota", "Won against quota", "currency", "Σ amount of the deals a rep won within the "
            "dates of their counted quota rows.", section="people-quota-attainment", higher_is_better=True),
    Measure("won_deals_against_quota", "Won deals", "count", "Deals won within the counted quota rows: the n of "
            "the attainment interval.", section="people-quota-attainment"),
    Measure("quota_periods", "Quota periods", "count", "Counted quota rows (rep × quota period).",
            section="people-quota-attainment"),
    Measure("quota_start", "Quota from", "date", "First day of the quota row."),
    Measure("quota_end", "Quota to", "date", "Last day of the quota row."),
    Measure("attainment", "Attainment", "percent", "Σ won against quota ÷ Σ quota (a ratio of sums at every "
            "level).", section="people-quota-attainment", higher_is_better=True),
    Measure("attainment_low", "Attainment low", "percent", "Lower end of the 95% interval of the attainment.",
            section="people-quota-attainment"),
    Measure("attainment_high", "Attainment high", "percent", "Upper end of the 95% interval of the attainment.",
            section="people-quota-attainment"),
    Measure("attainment_error", "Standard error", "percent", "√Σ amount² ÷ Σ quota: the standard error of the "
            "attainment.", section="people-quota-attainment"),
    Measure("reps_at_quota", "Reps at quota", "count", "Reps whose own attainment is 100% or more.",
            section="people-quota-attainment", higher_is_better=True),
    Measure("share_reps_at_quota", "Share of reps at quota", "percent", "Reps at quota ÷ reps with a counted quota "
            "row.", section="people-quota-attainment", higher_is_better=True),
    Measure("company_quota_attainment", "Quota attainment", "percent", "Σ won against quota ÷ Σ quota over every "
            "counted quota row of the report's reps.", section="people-quota-attainment", higher_is_better=True),
    Measure("team_quota_attainment", "Quota attainment by team", "percent", "Σ won against quota ÷ Σ quota per "
            "team (a map by team).", section="people-quota-attainment", higher_is_better=True),
    Measure("quota_attainment_by_rep", "Quota attainment by rep", "percent", "Σ won against quota ÷ Σ quota per "
            "rep (a map by rep_id).", section="people-quota-attainment", higher_is_better=True),
    Measure("attainment_bucket", "Quota attainment", "text", "A band of attainment (under 50%, 50–80%, ...)."),
    Measure("share_of_quota_periods", "Share of quota periods", "percent", "Quota periods in the band ÷ all "
            "counted quota periods.", section="people-quota-attainment"),
)


def unmeasured(dataset: Dataset, where: Selection | None = None) -> list[str]:
    """Why quota attainment cannot be measured for this data and selection (the sentences
    the report shows); empty when it can. Quotas are set per rep for all their deals, so a
    selection by segment, source or product has no quota to compare with; without any deal
    amount there is no won amount."""
    reasons = []
    chosen = roster.of_rows(where).dimensions
    if chosen:
        reasons.append(f"Quota attainment is not measured for a selection by {' and '.join(chosen)}: quotas are set "
                       f"per rep for all their deals, not per {chosen[0]}. The quotas are shown; win rates, won "
                       "amounts and activity in this report are for the selection.")
    if dataset.has("opportunities") and not amounts_recorded(dataset):
        reasons.append("Quota attainment compares won amounts, and no deal has an amount: add opportunities.amount.")
    return reasons


def _quotas_touching(dataset: Dataset, period: Period, people: roster.Scope) -> ir.Table:
    """Quota rows of the group's selling reps whose dates overlap the period."""
    quotas = dataset.table("quotas")
    reps = roster.selling_reps(dataset, people.group).select("rep_id")
    quotas = quotas.join(reps, "rep_id")
    return quotas.filter((quotas.period_start <= period.end) & (quotas.period_end >= period.start))


def _counted(quotas: ir.Table, dataset: Dataset, period: Period) -> ir.BooleanValue:
    """Quota rows that count: wholly inside the period, ended by the snapshot date, with an amount above 0."""
    return ((quotas.period_start >= period.start) & (quotas.period_end <= roster.observed_end(dataset, period))
            & (quotas.amount > 0))


def _won_with_amount(dataset: Dataset, people: roster.Scope) -> ir.Table:
    """Won deals of the group with an owner, an amount and a close date (all of a rep's
    deals: a quota is for all of them, whatever the selection's segment, source or product)."""
    table = roster.group_deals(dataset, roster.Scope(people.group))
    return table.filter((table.outcome == WON) & table.rep_id.notnull() & table.amount.notnull()
                        & table.close_date.notnull())


def _by_quota_period(dataset: Dataset, period: Period, people: roster.Scope) -> pd.DataFrame:
    """One row per quota row that counts in the period (see the module docstring): the rep,
    ``quota_start``, ``quota_end``, ``quota_amount``, ``won_against_quota`` (Σ amount of the rep's
    deals won in the row's dates), ``won_deals_against_quota``, ``won_against_quota_squares``
    (Σ amount², for the interval) and ``attainment`` = won against quota / quota."""
    quotas = _quotas_touching(dataset, period, people)
    quotas = quotas.filter(_counted(quotas, dataset, period))
    # A row number tells identical quota rows apart (each is a quota of its own).
    quotas = quotas.mutate(quota_row=ibis.row_number().over(
        order_by=["rep_id", "period_start", "period_end", "amount"]))
    won = _won_with_amount(dataset, people).select("close_date", won_rep="rep_id", deal_amount="amount")
    joined = quotas.left_join(won, [quotas.rep_id == won.won_rep, won.close_date >= quotas.period_start,
                                    won.close_date <= quotas.period_end])
    rows = joined.group_by(["quota_row", "rep_id", "period_start", "period_end", "amount"]).aggregate(
        won_against_quota=exact_sum(joined.deal_amount), won_deals_against_quota=joined.deal_amount.count(),
        won_against_quota_squares=exact_sum(joined.deal_amount * joined.deal_amount),
    ).execute()
    rows = rows.rename(columns={"period_start": "quota_start", "period_end": "quota_end", "amount": "quota_amount"})
    rows[["won_against_quota", "won_against_quota_squares"]] = \
        rows[["won_against_quota", "won_against_quota_squares"]].fillna(0.0)
    rows["won_deals_against_quota"] = rows["won_deals_against_quota"].fillna(0).astype("int64")
    people_frame = roster.selling_reps(dataset, people.group).execute().drop(columns=["hire_date"])
    rows = people_frame.merge(rows.drop(columns=["quota_row"]), on="rep_id")
    rows["attainment"] = rows["won_against_quota"] / rows["quota_amount"]
    for column in ("quota_start", "quota_end"):
        rows[column] = pd.to_datetime(rows[column])
    # Every column a row's numbers come from, so that rows repeated in the data still come in one order.
    return rows.sort_values(["team", "rep_name", "rep_id", "quota_start", "quota_end", "quota_amount"]).reset_index(drop=True)


@metric
def quota_attainment(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
                     where: Selection) -> pd.DataFrame:
    """Quota attainment (Σ won ÷ Σ quota) per quota period, rep, team, manager, region or overall.

    ``by``: ``quota_period`` (one row per rep and quota row), ``rep``, ``team``, ``manager``,
    ``region`` or None, over the reps that have a quota in the period.

    - ``attainment`` = Σ won against quota / Σ ``quota_amount`` (ratio of sums at every level), its
      standard error ``attainment_error`` = √Σ amount² / Σ quota and a 95% interval
      (``attainment_low``/``_high``: ± 1.96 standard errors, from at least one won deal;
      ``won_deals_against_quota`` is its n);
    - for a team, manager, region or overall: ``reps`` with a quota, ``reps_at_quota``
      (their own attainment ≥ 100%) and ``share_reps_at_quota`` = reps at quota / reps.

    ``where``: team, rep and region choose the reps (a rep's rows, and the overall row
    theirs; team and manager rows cover the rep's team). Quotas are per rep, so a
    selection by segment, source or product leaves the quotas as they are and the won
    amounts and attainments *not measured* (NaN; :func:`unmeasured` gives the reason), as
    when no deal has an amount; never 0%. Without a ``quotas`` table: an empty frame.
    """
    roster.check_by(by, extra=("quota_period",))
    people = roster.scope(dataset, where)
    if not dataset.has("quotas"):
        return pd.DataFrame(columns=[*roster.LEVELS.get(by or "team", []), *SUMS, "attainment"])
    not_measured = bool(unmeasured(dataset, where))
    rows = _by_quota_period(dataset, period, people).assign(quota_periods=1)
    if by == "quota_period":
        rows = _with_attainment(people.shown(rows))
        if not_measured:
            rows[[column for column in UNKNOWN if column in rows]] = float("nan")
        return rows
    identity = ["rep_id", "rep_name", "team", "region", "manager_id", "manager_name"]
    per_rep = rows.groupby("rep_id", sort=True).agg(
        {**{column: "first" for column in identity[1:]}, **{column: "sum" for column in SUMS}}).reset_index()
    per_rep["reps_at_quota"] = (per_rep["won_against_quota"] >= AT_QUOTA * per_rep["quota_amount"]).astype("int64")
    grouped = roster.rollup(per_rep, by, [*SUMS, "reps_at_quota"], people)
    grouped = _with_attainment(grouped)
    if by != "rep":
        grouped["share_reps_at_quota"] = grouped["reps_at_quota"] / grouped["reps"].where(grouped["reps"] > 0)
    if not_measured:  # attainment is unknown, not 0%
        grouped[[column for column in UNKNOWN if column in grouped]] = float("nan")
    return grouped


def _with_attainment(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    quota = frame["quota_amount"].astype(float)
    frame["attainment"] = frame["won_against_quota"] / quota.where(quota > 0)
    # Standard error of the attainment: the won amount is a sum of deals (compound Poisson).
    frame["attainment_error"] = np.sqrt(frame["won_against_quota_squares"]) / quota.where(quota > 0)
    frame["attainment_low"], frame["attainment_high"] = total_to_target_interval(
        frame["won_against_quota"], frame["won_against_quota_squares"], frame["won_deals_against_quota"], quota)
    return frame.reset_index(drop=True)


@metric
def quota_exclusions(dataset: Dataset, period: Period | None = None, *, where: Selection) -> list[Excluded]:
    """Quota rows and won deals that attainment leaves out, and why.

    Quota rows of the selection's reps that overlap the period but do not count (reaching
    outside it, still running at the snapshot date, or without an amount), and won deals of
    the period that no quota row of their owner covers."""
    if not dataset.has("quotas"):
        return []
    people = roster.scope(dataset, where)
    quotas = _quotas_touching(dataset, period, people)
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
    won = closed_in(_won_with_amount(dataset, people), period)
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


@metric
def attainment_distribution(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """How many counted quota periods fall in each attainment band (under 50% ... 120% or more).

    Counted quota rows (rep × quota period, :func:`quota_attainment` by
    ``quota_period``) fall in each ``attainment_bucket`` (:data:`ATTAINMENT_BUCKETS`, lower
    bound included; every bucket shown, 0 when empty) and their ``share_of_quota_periods``."""
    attainment = quota_attainment(dataset, period, "quota_period", where=where)["attainment"].dropna()
    counts = [int(((attainment >= low) & (attainment < high)).sum()) for low, high, _ in ATTAINMENT_BUCKETS]
    frame = pd.DataFrame({"attainment_bucket": [label for _, _, label in ATTAINMENT_BUCKETS], "quota_periods": counts})
    frame["share_of_quota_periods"] = frame["quota_periods"] / frame["quota_periods"].sum() if len(attainment) \
        else float("nan")
    return frame
