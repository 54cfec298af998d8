"""Pipeline coverage: is there enough open pipeline due in the period to close the gap to quota?

``coverage = open pipeline due in the period / (quota - won so far in the period)``, per
team and rep, beside its rule of thumb ``1 / win rate``: at a 25% win rate a team needs
about 4x the gap in pipeline. Teams and reps are ratios of sums over their deals and quotas.

Quotas are per rep: a selection by team, rep or region (the rep's) applies to them; one by
segment, source or product cannot, and :func:`coverage` refuses it (the ``SelectionError``
of :func:`salesnb.metrics.scope.restrict`) rather than set a slice's pipeline against the
whole quota.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.errors import SalesnbError
from salesnb.metrics import conversion
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import OPEN, WON, amounts_recorded, deals
from salesnb.metrics.scope import metric, restrict
from salesnb.metrics.totals import exact_sum

# The win rate of the rule of thumb: deals closed in this many days up to the data's date.
WIN_RATE_WINDOW_DAYS = 365
GROUPS = {"team": ["team"], "rep": ["rep_id", "rep_name", "team"]}

declare(
    Measure("pipeline_due", "Pipeline due", "currency", "Sum of the amounts of the open deals whose expected close "
            "date is in the period.", section="coverage"),
    Measure("deals_due", "Deals due", "count", "Open deals whose expected close date is in the period.",
            section="coverage"),
    Measure("quota", "Quota", "currency", "The quota for the period (quota rows prorated by their days in it).",
            section="coverage"),
    Measure("won_so_far", "Won so far", "currency", "Amount won with a close date from the period's start to the "
            "data's date.", section="coverage", higher_is_better=True),
    Measure("gap", "Gap to quota", "currency", "quota − won so far: what is left to win in the period.",
            section="coverage", higher_is_better=False),
    Measure("coverage", "Coverage", "ratio", "pipeline due ÷ gap to quota; empty without a quota or once it is "
            "reached.", section="coverage", higher_is_better=True),
    Measure("rule_of_thumb", "Rule of thumb", "ratio", "1 ÷ win rate (deals closed in the last 365 days): the "
            "coverage a group needs.", section="coverage", min_n=10),
    Measure("below_rule_of_thumb", "Below rule of thumb", "flag", "Coverage below 1 ÷ win rate, judged only on "
            "min_deals_for_ranking closed deals."),
    Measure("coverage_ratio", "Coverage", "ratio", "Open pipeline due in the period ÷ (quota − won so far), over the "
            "whole selection.", section="coverage", higher_is_better=True),
)


def quota_in_period(dataset: Dataset, period: Period, *, where: Selection | None = None) -> ir.Table:
    """Each selected rep's quota for the period: ``rep_id``, ``rep_name``, ``team``, ``quota``.

    A quota row counts with the share of its days that fall in the period
    (``amount x overlapping days / days of the quota period``), so quarterly quotas add up
    exactly for a fiscal quarter and are prorated for any other period. Rows without dates
    or amount are left out. The selection applies to the quota rows
    (:func:`salesnb.metrics.scope.restrict`: team, rep and region through the rep; a segment,
    source or product is a ``SelectionError``). A building block of :func:`coverage`.
    """
    quotas = restrict(dataset, dataset.table("quotas", needed_for="coverage"), where, rows="quotas")
    quotas = quotas.filter(quotas.rep_id.notnull() & quotas.period_start.notnull() & quotas.period_end.notnull()
                           & quotas.amount.notnull() & (quotas.period_end >= quotas.period_start))
    start, end = ibis.date(period.start.isoformat()), ibis.date(period.end.isoformat())
    overlap_start = ibis.cases((quotas.period_start > start, quotas.period_start), else_=start)
    overlap_end = ibis.cases((quotas.period_end < end, quotas.period_end), else_=end)
    overlap_days = overlap_end.delta(overlap_start, unit="day") + 1
    length = quotas.period_end.delta(quotas.period_start, unit="day") + 1
    quotas = quotas.filter(overlap_days > 0).mutate(share=quotas.amount * overlap_days / length)
    per_rep = quotas.group_by("rep_id").aggregate(quota=exact_sum(quotas.share))
    return per_rep.join(_rep_names(dataset), "rep_id")


def _rep_names(dataset: Dataset) -> ir.Table:
    """Every rep's name and team (from ``reps``; without it the deals' owners, by rep_id)."""
    if dataset.has("reps"):
        return dataset.table("reps").select("rep_id", "rep_name", "team")
    owners = deals(dataset).select("rep_id").distinct()
    return owners.mutate(rep_name=owners.rep_id, team=ibis.null().cast("string"))


@metric(default_period="fiscal_quarter")
def coverage(dataset: Dataset, period: Period | None = None, by: str | None = None, *,
             where: Selection) -> pd.DataFrame:
    """Coverage of the period's remaining quota by open pipeline, per team, rep or overall.

    ``by``: ``team``, ``rep`` or None (quotas are per rep, so no other grouping). The period
    defaults to the fiscal quarter open at the data's date.

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
    summed gap. Without a ``quotas`` table, quota, gap and coverage are not measured (NaN)
    while the pipeline due, bookings and win rates still are; without any amount on any
    deal, pipeline, bookings and coverage are not measured. ``where``: team, rep and region
    apply to deals and quotas alike; segment, source and product are refused (quotas cannot
    be split by them: the ``SelectionError`` of :func:`salesnb.metrics.scope.restrict`).
    """
    if by is not None and by not in GROUPS:
        raise SalesnbError(f"by must be one of {', '.join(GROUPS)} or None, not {by!r}.")
    as_of = dataset.as_of
    columns = GROUPS.get(by, [])
    quotas = _quotas(dataset, period, columns, where)
    table = deals(dataset, where)
    due = (table.outcome == OPEN) & table.close_date.between(period.start, period.end)
    won = (table.outcome == WON) & table.close_date.between(period.start, min(period.end, as_of))
    table = table.mutate(due_amount=ibis.cases((due, table.amount), else_=0.0),
                         won_amount=ibis.cases((won, table.amount), else_=0.0), is_due=due.cast("int64"))
    table = table.mutate(**{column: table[column].fill_null("(none)") for column in columns})
    measures = dict(pipeline_due=exact_sum(table.due_amount), deals_due=table.is_due.sum(),
                    won_so_far=exact_sum(table.won_amount))
    if columns:
        result = _merge(table.group_by(columns).aggregate(**measures).execute(), quotas, columns, "outer")
    else:
        result = pd.concat([table.aggregate(**measures).execute(), quotas], axis=1)
    result[["pipeline_due", "won_so_far"]] = result[["pipeline_due", "won_so_far"]].fillna(0.0)
    if not amounts_recorded(dataset):  # no deal has an amount: pipeline and bookings are unknown, not 0
        result[["pipeline_due", "won_so_far"]] = float("nan")
    result["deals_due"] = result["deals_due"].fillna(0).astype("int64")
    result["quota"] = result["quota"].where(result["quota"] > 0)
    result["gap"] = result["quota"] - result["won_so_far"]
    result["coverage"] = (result["pipeline_due"] / result["gap"]).where(result["gap"] > 0)
    rates = _win_rates(dataset, by, where)
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


def _quotas(dataset: Dataset, period: Period, columns: list[str], where: Selection) -> pd.DataFrame:
    """The quota for the period per group (one row when ``columns`` is empty); without a
    quotas table, no group and a quota that is not measured (NaN)."""
    if not dataset.has("quotas"):
        return pd.DataFrame({**{column: pd.Series(dtype=object) for column in columns},
                             "quota": pd.Series([] if columns else [float("nan")], dtype="float64")})
    quota = quota_in_period(dataset, period, where=where)
    quota = quota.mutate(**{column: quota[column].fill_null("(none)") for column in columns})
    return (quota.group_by(columns) if columns else quota).aggregate(quota=exact_sum(quota.quota)).execute()


def _merge(left: pd.DataFrame, right: pd.DataFrame, on: list[str], how: str) -> pd.DataFrame:
    """Merge on text keys compared as plain objects: pandas cannot factorize empty Arrow-backed
    string keys (a team with no deals and no quotas gives two empty frames)."""
    return left.astype({column: object for column in on}).merge(right.astype({column: object for column in on}),
                                                                on=on, how=how)


def _win_rates(dataset: Dataset, by: str | None, where: Selection) -> pd.DataFrame:
    window = Period(dataset.as_of - dt.timedelta(days=WIN_RATE_WINDOW_DAYS - 1), dataset.as_of)
    rates = conversion.win_rates(dataset, window, by=by, where=where)
    return rates[[*GROUPS.get(by, [])[:1], "win_rate", "closed"]]
