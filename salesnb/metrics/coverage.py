"""Pipeline coverage: is there enough open pipeline due in the period to close the gap to quota?

``coverage = open pipeline due in the period / (quota - won so far in the period)``, per
team and rep, beside its rule of thumb ``1 / win rate``: at a 25% win rate a team needs
about 4x the gap in pipeline. Teams and reps are ratios of sums over their deals and quotas.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import select
from salesnb.errors import SalesnbError
from salesnb.metrics import conversion
from salesnb.metrics.deals import OPEN, WON, amounts_recorded, deals

# The win rate of the rule of thumb: deals closed in this many days up to the data's date.
WIN_RATE_WINDOW_DAYS = 365
GROUPS = {"team": ["team"], "rep": ["rep_id", "rep_name", "team"]}


def quota_in_period(dataset: Dataset, period: Period, *, team: str | None = None, rep: str | None = None) -> ir.Table:
    """Each rep's quota for the period: ``rep_id``, ``rep_name``, ``team``, ``quota``.

    A quota row counts with the share of its days that fall in the period
    (``amount x overlapping days / days of the quota period``), so quarterly quotas add up
    exactly for a fiscal quarter and are prorated for any other period. Rows without dates
    or amount are left out.
    """
    quotas = dataset.table("quotas", needed_for="coverage")
    quotas = quotas.filter(quotas.rep_id.notnull() & quotas.period_start.notnull() & quotas.period_end.notnull()
                           & quotas.amount.notnull() & (quotas.period_end >= quotas.period_start))
    start, end = ibis.date(period.start.isoformat()), ibis.date(period.end.isoformat())
    overlap_start = ibis.cases((quotas.period_start > start, quotas.period_start), else_=start)
    overlap_end = ibis.cases((quotas.period_end < end, quotas.period_end), else_=end)
    overlap_days = overlap_end.delta(overlap_start, unit="day") + 1
    length = quotas.period_end.delta(quotas.period_start, unit="day") + 1
    quotas = quotas.filter(overlap_days > 0).mutate(share=quotas.amount * overlap_days / length)
    per_rep = quotas.group_by("rep_id").aggregate(quota=quotas.share.sum())
    owners = _reps(dataset, team, rep)
    return per_rep.join(owners, "rep_id")


def _reps(dataset: Dataset, team: str | None, rep: str | None) -> ir.Table:
    """The reps in the selection, with name and team (from ``reps`` when present)."""
    if dataset.has("reps"):
        reps = dataset.table("reps").select("rep_id", "rep_name", "team")
        if team:
            reps = reps.filter(reps.team == team)
    else:
        owners = deals(dataset, select(team=team)).select("rep_id").distinct()
        reps = owners.mutate(rep_name=owners.rep_id, team=ibis.null().cast("string"))
    if rep:
        reps = reps.filter((reps.rep_id == rep) | (reps.rep_name == rep))
    return reps


def coverage(dataset: Dataset, period: Period, by: str | None = "team", *, team: str | None = None,
             rep: str | None = None) -> pd.DataFrame:
    """Coverage of the period's remaining quota by open pipeline, per team, rep or overall.

    At the data's date ``as_of``:

    - ``pipeline_due`` = sum of amounts of open deals with an expected close date in the
      period (``deals_due`` their count; overdue ones whose date is in the period included);
    - ``quota`` = the quota for the period (:func:`quota_in_period`);
    - ``won_so_far`` = amount won with a close date from the period's start to ``as_of``;
    - ``gap`` = quota - won_so_far; ``coverage`` = pipeline_due / gap, empty when there is
      no quota or the quota is already reached (gap <= 0: nothing left to cover);
    - ``win_rate`` = won / (won + lost) over deals closed in the 365 days up to ``as_of``,
      ``closed`` its n; ``rule_of_thumb`` = 1 / win_rate;
    - ``below_rule_of_thumb``: coverage < rule of thumb, only when ``closed`` reaches the
      playbook's ``min_deals_for_ranking`` (else empty: too few deals to judge).

    Groups are ratios of sums: a team's coverage is its reps' summed pipeline over its
    summed gap. Needs ``quotas``; without any amount on any deal, pipeline, bookings and
    coverage are not measured (NaN).
    """
    if by is not None and by not in GROUPS:
        raise SalesnbError(f"by must be one of {', '.join(GROUPS)} or None, not {by!r}.")
    as_of = dataset.as_of
    columns = GROUPS.get(by, [])
    quota = quota_in_period(dataset, period, team=team, rep=rep)
    table = deals(dataset, select(team=team, rep=rep))
    due = (table.outcome == OPEN) & table.close_date.between(period.start, period.end)
    won = (table.outcome == WON) & table.close_date.between(period.start, min(period.end, as_of))
    table = table.mutate(due_amount=ibis.cases((due, table.amount), else_=0.0),
                         won_amount=ibis.cases((won, table.amount), else_=0.0), is_due=due.cast("int64"))
    table = table.mutate(**{column: table[column].fill_null("(none)") for column in columns})
    quota = quota.mutate(**{column: quota[column].fill_null("(none)") for column in columns})
    measures = dict(pipeline_due=table.due_amount.sum(), deals_due=table.is_due.sum(), won_so_far=table.won_amount.sum())
    if columns:
        sums = table.group_by(columns).aggregate(**measures).execute()
        quotas = quota.group_by(columns).aggregate(quota=quota.quota.sum()).execute()
        result = _merge(sums, quotas, columns, "outer")
    else:
        sums = table.aggregate(**measures).execute()
        quotas = quota.aggregate(quota=quota.quota.sum()).execute()
        result = pd.concat([sums, quotas], axis=1)
    result[["pipeline_due", "won_so_far"]] = result[["pipeline_due", "won_so_far"]].fillna(0.0)
    if not amounts_recorded(dataset):  # no deal has an amount: pipeline and bookings are unknown, not 0
        result[["pipeline_due", "won_so_far"]] = float("nan")
    result["deals_due"] = result["deals_due"].fillna(0).astype("int64")
    result["quota"] = result["quota"].where(result["quota"] > 0)
    result["gap"] = result["quota"] - result["won_so_far"]
    result["coverage"] = (result["pipeline_due"] / result["gap"]).where(result["gap"] > 0)
    rates = _win_rates(dataset, by, team, rep)
    key = columns[:1]  # team, or rep_id
    result = _merge(result, rates, key, "left") if key else pd.concat([result, rates], axis=1)
    result["closed"] = result["closed"].fillna(0).astype("int64")
    result["rule_of_thumb"] = (1 / result["win_rate"]).where(result["win_rate"] > 0)
    judged = (result["closed"] >= dataset.playbook.min_deals_for_ranking) & result["coverage"].notna() \
        & result["rule_of_thumb"].notna()
    result["below_rule_of_thumb"] = (result["coverage"] < result["rule_of_thumb"]).astype(object).where(judged, None)
    if columns:
        result = result.sort_values(columns).reset_index(drop=True)
    return result[[*columns, "pipeline_due", "deals_due", "quota", "won_so_far", "gap", "coverage", "win_rate",
                   "closed", "rule_of_thumb", "below_rule_of_thumb"]]


def _merge(left: pd.DataFrame, right: pd.DataFrame, on: list[str], how: str) -> pd.DataFrame:
    """Merge on text keys compared as plain objects: pandas cannot factorize empty Arrow-backed
    string keys (a team with no deals and no quotas gives two empty frames)."""
    return left.astype({column: object for column in on}).merge(right.astype({column: object for column in on}),
                                                                on=on, how=how)


def _win_rates(dataset: Dataset, by: str | None, team: str | None, rep: str | None) -> pd.DataFrame:
    window = Period(dataset.as_of - dt.timedelta(days=WIN_RATE_WINDOW_DAYS - 1), dataset.as_of)
    rates = conversion.win_rates(dataset, window, by=by, team=team, rep=rep)
    return rates[[*GROUPS.get(by, [])[:1], "win_rate", "closed"]]
