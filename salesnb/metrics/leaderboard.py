"""Fair leaderboards: every rate with its n and a 95% interval, ranks only on enough data.

- **Win rate** = won / (won + lost) over deals closed in the period, n = closed, with the
  Wilson interval (``statistics.wilson_interval``). Reps are ranked by win rate, highest
  first, only with at least ``min_n`` closed deals (default: the playbook's
  ``min_deals_for_ranking``); equal rates share a rank. Smaller reps are listed, after the
  ranked ones, as *not ranked*.
- ``versus_team``: *above* (*below*) when the rep's whole interval lies above (below) the
  team's win rate (Σ won / Σ closed of the team), else *within noise*.
- **Quota attainment** = Σ won / Σ quota with its interval (``quota``), n = won deals.
- **Activities per rep-week** with its Poisson interval (``activity``), n = activities.
- **Managers** (``reps.manager_id``) get a roll-up of their reps: every number is a ratio
  of the sums over their reps, never a mean of the reps' rates.

A selection (``where=``) chooses the reps by team, rep and region (a rep is ranked among
their team) and the deals and activities by segment, source and product; quota attainment
is then not measured (quotas are per rep: ``quota.unmeasured``), the rest still answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period
from salesnb.data.selection import Selection
from salesnb.metrics import activity, quota, roster
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.scope import metric
from salesnb.metrics.statistics import poisson_rate_interval, total_to_target_interval, wilson_interval

RANKED, NOT_RANKED, NOT_MEASURED = "ranked", "not ranked (small n)", "not ranked (win rate not measured)"
ABOVE, BELOW, WITHIN = "above", "below", "within noise"
QUOTA_SUMS = ["quota_amount", "won_against_quota", "won_deals_against_quota", "won_against_quota_squares"]
SUMS = ["rep_weeks", "activities", "opportunities_created", "pipeline_created", "won", "lost", "closed",
        "won_amount", *QUOTA_SUMS]

declare(
    Measure("win_rate_low", "Win rate low", "percent", "Lower end of the Wilson 95% interval of the win rate.",
            section="people-leaderboards"),
    Measure("win_rate_high", "Win rate high", "percent", "Upper end of the Wilson 95% interval of the win rate.",
            section="people-leaderboards"),
    Measure("team_win_rate", "Team win rate", "percent", "Σ won ÷ Σ closed over the rep's team.",
            section="people-leaderboards", higher_is_better=True),
    Measure("versus_team", "Versus team", "text", "above / below when the rep's whole interval is above / below the "
            "team's win rate, else within noise."),
    Measure("win_rate_ranking", "Ranking", "text", "ranked, or why not (too few closed deals, win rate not measured)."),
    Measure("win_rate_rank", "Rank", "count", "Rank by win rate among the reps with at least min_n closed deals "
            "(equal rates share a rank).", section="people-leaderboards"),
    Measure("activities_low", "Activities low", "number", "Lower end of the 95% interval of activities per rep-week.",
            section="people-leaderboards"),
    Measure("activities_high", "Activities high", "number", "Upper end of the 95% interval of activities per rep-week.",
            section="people-leaderboards"),
)


@metric
def scorecard(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """The per-rep sums every leaderboard number comes from (activity, deals, win rate counts, quota).

    One row per selling rep of the comparison group (a rep selection keeps the rep's team)."""
    everyone = roster.scope(dataset, where).compared
    per_rep = activity.activity_to_outcome(dataset, period, "rep", where=everyone)
    if dataset.has("quotas"):
        attained = quota.quota_attainment(dataset, period, "rep", where=everyone)[["rep_id", *QUOTA_SUMS]]
        per_rep = per_rep.merge(attained, on="rep_id", how="left")
    else:
        per_rep = per_rep.assign(**{column: np.nan for column in QUOTA_SUMS})
    return per_rep


def _rates(frame: pd.DataFrame, records_lost: bool = True) -> pd.DataFrame:
    """Win rate, attainment and activity rate with their intervals, from the sums. Without
    lost stages in the playbook (only won deals recorded) the win rate is not measured."""
    frame = frame.copy()
    closed = frame["closed"].astype(float) if records_lost else frame["closed"] * 0.0  # no lost: no n, no rate
    frame["win_rate"] = frame["won"] / closed.where(closed > 0)
    frame["win_rate_low"], frame["win_rate_high"] = wilson_interval(frame["won"], closed)
    frame["attainment"] = frame["won_against_quota"] / frame["quota_amount"].where(frame["quota_amount"] > 0)
    frame["attainment_low"], frame["attainment_high"] = total_to_target_interval(
        frame["won_against_quota"], frame["won_against_quota_squares"], frame["won_deals_against_quota"],
        frame["quota_amount"])
    frame["activities_per_rep_week"] = frame["activities"] / frame["rep_weeks"].where(frame["rep_weeks"] > 0)
    low, high = poisson_rate_interval(frame["activities"], frame["rep_weeks"])
    measured = frame["activities"].notna()
    frame["activities_low"], frame["activities_high"] = low.where(measured), high.where(measured)
    return frame


@metric
def rep_leaderboard(dataset: Dataset, period: Period | None = None, *, where: Selection,
                    min_n: int | None = None) -> pd.DataFrame:
    """The win rate leaderboard: each rep's rate with n and interval, ranked only on enough closed deals.

    One row per rep: win rate with n (``closed``) and Wilson interval, ``win_rate_ranking`` and
    ``win_rate_rank`` (1 = highest win rate among reps with at least ``min_n`` closed deals;
    equal rates share a rank), ``team_win_rate`` and ``versus_team``, quota attainment and
    activities per rep-week with their intervals. Ranked reps first by rank, then the
    others by closed deals. With a rep selection, that rep's row, ranked among their team."""
    min_n = dataset.playbook.min_deals_for_ranking if min_n is None else int(min_n)
    people = roster.scope(dataset, where)
    records_lost = bool(dataset.playbook.lost_stages)
    board = _rates(roster.rollup(scorecard(dataset, period, where=where), "rep", SUMS, roster.Scope(people.group)),
                   records_lost)
    if board.empty:  # nobody employed or selling in the period
        return board.assign(team_win_rate=np.nan, versus_team="", win_rate_ranking="", win_rate_rank=np.nan)
    teams = board.groupby("team")[["won", "closed"]].sum()
    team_rate = board["team"].map(teams["won"] / teams["closed"].where(teams["closed"] > 0))
    board["team_win_rate"] = team_rate
    board["versus_team"] = np.select(
        [board["win_rate_low"] > team_rate, board["win_rate_high"] < team_rate], [ABOVE, BELOW], WITHIN)
    board.loc[board["closed"] == 0, "versus_team"] = "–"
    eligible = (board["closed"] >= min_n) & board["win_rate"].notna()
    board["win_rate_ranking"] = np.where(eligible, RANKED, NOT_RANKED if records_lost else NOT_MEASURED)
    board["win_rate_rank"] = board["win_rate"].where(eligible).rank(method="min", ascending=False)
    board = board.sort_values(["win_rate_rank", "closed", "rep_name", "rep_id"], ascending=[True, False, True, True],
                              na_position="last")
    return people.shown(board).reset_index(drop=True)


@metric
def manager_rollup(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """Per manager: their reps' leaderboard numbers as ratios of sums, with n and intervals.

    Managers by ``reps.manager_id``, shown by name: the number of reps and every leaderboard
    number over them. With a rep selection, the rep's manager."""
    people = roster.scope(dataset, where)
    per_rep = scorecard(dataset, period, where=where)
    managers = _rates(roster.rollup(per_rep, "manager", SUMS, roster.Scope(people.group)),
                      bool(dataset.playbook.lost_stages))
    if people.rep_ids:
        own = per_rep.loc[per_rep["rep_id"].isin(people.rep_ids), "manager_id"].fillna("")
        managers = managers[managers["manager_id"].isin(own)]
    return managers.sort_values(["manager_name", "manager_id"]).reset_index(drop=True)


@metric
def summary(dataset: Dataset, period: Period | None = None, *, where: Selection) -> dict:
    """The people report's headline numbers for the selection (a dict), each a ratio of sums over its reps.

    ``reps`` (selling reps employed in the period), ``activities_per_rep_week`` and
    ``activities_per_rep_week_by_type`` (map), ``meetings_per_opportunity_created``,
    ``activities_per_won_deal``, ``win_rate`` (n = ``closed``), ``won_amount``,
    ``pipeline_created``, and with quotas ``company_quota_attainment`` = Σ won / Σ quota,
    ``reps_with_quota`` and ``share_reps_at_quota``. Not measured: None (an empty map);
    attainment for a selection by segment, source or product (``quota.unmeasured``).
    """
    rates = activity.activity_rates(dataset, period, where=where)
    outcome = activity.activity_to_outcome(dataset, period, where=where).iloc[0]
    by_type = {column.removesuffix(activity.PER_WEEK): _number(rates[column].iloc[0])
               for column in activity.per_week_columns(rates)}
    result = {
        "reps": int(rates["reps"].iloc[0]),
        "activities_per_rep_week": _number(rates["activities_per_rep_week"].iloc[0]),
        "activities_per_rep_week_by_type": by_type,
        "meetings_per_opportunity_created": _number(outcome["meetings_per_opportunity_created"]),
        "activities_per_won_deal": _number(outcome["activities_per_won_deal"]),
        "win_rate": _number(outcome["win_rate"]),
        "closed": int(outcome["closed"]),
        "won_amount": _number(outcome["won_amount"]),
        "pipeline_created": _number(outcome["pipeline_created"]),
        "company_quota_attainment": None, "reps_with_quota": None, "share_reps_at_quota": None,
    }
    if dataset.has("quotas"):
        attained = quota.quota_attainment(dataset, period, where=where).iloc[0]
        result.update(company_quota_attainment=_number(attained["attainment"]), reps_with_quota=int(attained["reps"]),
                      share_reps_at_quota=_number(attained["share_reps_at_quota"]))
    return result


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
