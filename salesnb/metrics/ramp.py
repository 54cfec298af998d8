"""Ramp: how fast new hires become productive, cohort by cohort.

- **Benchmark**: the 12 months up to the period's end (the *benchmark window*, cut to the
  data). A *tenured* rep was hired at least :data:`TENURED_MONTHS` months before the window
  starts. Their monthly won amount = won amount in the window (deals they own, won with
  ``close_date`` in it, with an amount) / its months (days / 30.44). The benchmark of a
  team is the median of its tenured reps' monthly won amount; a team without tenured reps
  uses the company's (all tenured reps). Per team, because a month of Enterprise bookings
  is not a month of SMB bookings.
- **Month since hire**: the calendar month of the hire date is month 0 (a partial month),
  the next one month 1, and so on.
- **Ramp time** of a rep hired during the data (on or after the first month with a deal;
  earlier hires' first months are not in the data) = the first month since hire whose won
  amount reaches ``ramp_share`` (default 50%) of the rep's team benchmark.
- A rep who has not reached it by the period's end (or the data's date) is **still
  ramping**: *censored* at the months observed so far, never a failure. Medians of ramp
  time are Kaplan-Meier medians (``statistics.kaplan_meier_median``), so a still-ramping
  rep counts while observed and does not pull the median down by being left out.
- **Cohort**: reps hired in the same fiscal quarter (playbook ``fiscal_year_start_month``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period, fiscal_quarter_label, fiscal_quarter_start
from salesnb.metrics import roster
from salesnb.metrics.deals import WON, amounts_recorded, closed_in, deals, recorded
from salesnb.metrics.exclusions import Excluded
from salesnb.metrics.leads import column_has_data
from salesnb.metrics.statistics import kaplan_meier_median

TENURED_MONTHS = 12
BENCHMARK_MONTHS = 12
DEFAULT_RAMP_SHARE = 0.5
RAMPED, STILL_RAMPING = "ramped", "still ramping"
# The ramp curve covers the first months since hire, each point over the trailing months.
CURVE_MONTHS = 12
TRAILING_MONTHS = 3
# A still-ramping rep is compared with the other reps of their hire cohort, or with every
# other rep hired during the data when fewer than this many of the cohort can be compared.
MIN_PEERS = 2


def unmeasured(dataset: Dataset) -> str | None:
    """Why ramp cannot be measured on this data (the sentence the report shows), or None."""
    if not column_has_data(dataset, "reps", "hire_date"):
        return ("Ramp needs the reps' hire dates: the data has no reps.hire_date values. Add reps.hire_date "
                "(YYYY-MM-DD) to see how fast new hires become productive.")
    if not dataset.has("opportunities") or not amounts_recorded(dataset):
        return ("Ramp compares won amounts, and no deal has an amount: add opportunities.amount to see how fast "
                "new hires become productive.")
    if not recorded(dataset, "close_date"):
        return "Ramp places wins by month, and no deal has a close_date: add opportunities.close_date."
    return None


def ramp_measured(dataset: Dataset) -> bool:
    """Whether ramp can be measured at all: reps with hire dates, and deals with amounts and
    close dates (:func:`unmeasured` says what is missing)."""
    return unmeasured(dataset) is None


def _month_number(date: ir.DateValue) -> ir.IntegerValue:
    """Months since year 0: the difference of two is the calendar months between them."""
    return date.year() * 12 + date.month()


def _month_index(date: dt.date) -> int:
    return date.year * 12 + date.month


def benchmark_window(dataset: Dataset, period: Period) -> Period:
    """The :data:`BENCHMARK_MONTHS` months up to the period's end (or the data's date), from
    the first deal when the data begins later: a year of bookings, however short the
    report period, so one lumpy month does not set the bar."""
    end = roster.observed_end(dataset, period)
    start = (pd.Timestamp(end) + pd.Timedelta(days=1) - pd.DateOffset(months=BENCHMARK_MONTHS)).date()
    return roster.observed(dataset, Period(start, end), "opportunities", "created_at")


def tenured_benchmark(dataset: Dataset, period: Period) -> pd.DataFrame:
    """Per team (and ``None`` for the company): ``tenured_reps`` and ``benchmark`` = the
    median over its tenured reps of their monthly won amount in :func:`benchmark_window`."""
    window = benchmark_window(dataset, period)
    cutoff = (pd.Timestamp(window.start) - pd.DateOffset(months=TENURED_MONTHS)).date()
    reps = roster.selling_reps(dataset)
    tenured = reps.filter(reps.hire_date <= cutoff).execute()
    won = closed_in(deals(dataset), window)
    won = won.filter((won.outcome == WON) & won.rep_id.notnull() & won.amount.notnull())
    booked = won.group_by("rep_id").aggregate(won_amount=won.amount.sum()).execute()
    months = max((window.end - window.start).days + 1, 0) / roster.MONTH_DAYS
    tenured = tenured.merge(booked, on="rep_id", how="left").fillna({"won_amount": 0.0})
    tenured["monthly_won"] = tenured["won_amount"] / months if months > 0 else np.nan
    by_team = tenured.groupby(tenured["team"].fillna(roster.NO_TEAM))["monthly_won"].agg(["size", "median"])
    by_team = by_team.rename(columns={"size": "tenured_reps", "median": "benchmark"}).reset_index()
    company = pd.DataFrame({"team": [None], "tenured_reps": [len(tenured)],
                            "benchmark": [tenured["monthly_won"].median() if len(tenured) else np.nan]})
    return pd.concat([by_team, company], ignore_index=True)


@dataclass
class Ramp:
    """Everything the ramp section shows.

    ``reps``: one row per rep hired during the data (up to the period's end): hire date,
    ``cohort``, ``benchmark`` and ``benchmark_of`` (the team, or "company"), ``threshold``,
    ``months_observed``, ``ramp_months`` (NaN while still ramping), ``status``, and the
    comparison with peers (``peers_reached`` of ``peers_known`` reached it within this rep's
    months; ``behind_peers``). ``cohorts``: per hire cohort, reps, ramped, still ramping
    and the Kaplan-Meier ``median_ramp_months``. ``curve``: per cohort and month since hire,
    the reps observed, ``share_of_benchmark`` = Σ won / Σ benchmark and its trailing
    three-month version (``_curve``). ``median_months``:
    over every rep of ``reps``.
    """

    ramp_share: float
    reps: pd.DataFrame
    cohorts: pd.DataFrame
    curve: pd.DataFrame
    benchmark: pd.DataFrame
    median_months: float | None
    excluded: list[Excluded] = field(default_factory=list)


def ramp(dataset: Dataset, period: Period, ramp_share: float = DEFAULT_RAMP_SHARE, team: str | None = None,
         rep: str | None = None) -> Ramp:
    """Ramp of the reps hired during the data, observed up to the period's end (see the
    module docstring for every definition)."""
    scope = roster.scope(dataset, team, rep)
    end = roster.observed_end(dataset, period)
    benchmark = tenured_benchmark(dataset, period)
    first_deal = dataset.table("opportunities").created_at.min().execute()
    data_start = pd.Timestamp(first_deal).date().replace(day=1) if pd.notna(first_deal) else end
    # Every hire of the company, so a rep is compared with their whole hire cohort; the
    # tables then show the scope's team (and rep).
    reps = roster.selling_reps(dataset)
    hires = reps.filter(reps.hire_date.notnull() & (reps.hire_date >= data_start) & (reps.hire_date <= end)).execute()
    monthly = _monthly_won(dataset, end)
    frame = _rep_ramp(hires, monthly, benchmark, ramp_share, end, dataset.playbook.fiscal_year_start_month)
    frame = _with_peers(frame[frame["benchmark"].notna()].reset_index(drop=True)) if len(frame) else \
        frame.assign(peer_group=None, peers_reached=np.nan, peers_known=np.nan, behind_peers=False)
    in_team = roster.selling_reps(dataset, scope.team).execute()
    excluded = [
        Excluded(int(in_team["hire_date"].isna().sum()), len(in_team), "reps", "have no hire date (reps.hire_date)"),
        Excluded(int((pd.to_datetime(in_team["hire_date"]) < pd.Timestamp(data_start)).sum()), len(in_team), "reps",
                 f"were hired before the data begins ({data_start:%b %Y}), so their first months are not in it"),
        Excluded(int(in_team["rep_id"].isin(hires["rep_id"]).sum() - in_team["rep_id"].isin(frame["rep_id"]).sum()),
                 len(in_team), "reps", "have no tenured rep (hired a year before the period) to compare with"),
    ]
    if scope.team:
        frame = frame[frame["team"] == scope.team]
    shown = scope.rows(frame).reset_index(drop=True)
    curve = _curve(shown, monthly)
    cohorts = _cohorts(shown)
    median = kaplan_meier_median(_durations(shown), shown["status"] == RAMPED) if len(shown) else None
    return Ramp(ramp_share, shown, cohorts, curve, benchmark, median, excluded)


def _monthly_won(dataset: Dataset, end: dt.date) -> pd.DataFrame:
    """Won amount per rep and calendar month (``month_number``), deals won by ``end``."""
    table = deals(dataset)
    won = table.filter((table.outcome == WON) & table.rep_id.notnull() & table.amount.notnull()
                       & (table.close_date <= end))
    return won.group_by(["rep_id", _month_number(won.close_date).name("month_number")]).aggregate(
        won_amount=won.amount.sum()).execute()


def _rep_ramp(hires: pd.DataFrame, monthly: pd.DataFrame, benchmark: pd.DataFrame, ramp_share: float,
              end: dt.date, fiscal_start: int) -> pd.DataFrame:
    columns = ["hire_month", "cohort_start", "cohort", "benchmark_of", "benchmark", "threshold", "months_observed",
               "ramp_months", "status"]
    if hires.empty:
        return hires.assign(**{column: pd.Series(dtype=float) for column in columns})
    frame = hires.copy()
    frame["hire_date"] = pd.to_datetime(frame["hire_date"])
    frame["hire_month"] = frame["hire_date"].dt.year * 12 + frame["hire_date"].dt.month
    frame["cohort_start"] = [pd.Timestamp(fiscal_quarter_start(day.date(), fiscal_start)) for day in frame["hire_date"]]
    frame["cohort"] = [fiscal_quarter_label(day.date(), fiscal_start) for day in frame["cohort_start"]]
    teams = benchmark.dropna(subset=["team"]).set_index("team")["benchmark"]
    company = benchmark.loc[benchmark["team"].isna(), "benchmark"].iloc[0]
    own = frame["team"].fillna(roster.NO_TEAM).map(teams)
    frame["benchmark_of"] = np.where(own.notna(), frame["team"].fillna(roster.NO_TEAM), "company")
    frame["benchmark"] = own.fillna(company).where(lambda values: values > 0)
    frame["threshold"] = ramp_share * frame["benchmark"]
    frame["months_observed"] = _month_index(end) - frame["hire_month"]
    since = monthly.merge(frame[["rep_id", "hire_month", "threshold"]], on="rep_id")
    since["month_since_hire"] = since["month_number"] - since["hire_month"]
    reached = since[(since["month_since_hire"] >= 0) & (since["won_amount"] >= since["threshold"])]
    first = reached.groupby("rep_id")["month_since_hire"].min()
    frame["ramp_months"] = frame["rep_id"].map(first).astype(float)
    frame["status"] = np.where(frame["ramp_months"].notna(), RAMPED, STILL_RAMPING)
    return frame.sort_values(["hire_date", "rep_name", "rep_id"]).reset_index(drop=True)


def _durations(frame: pd.DataFrame) -> pd.Series:
    """Months to ramp for ramped reps, months observed so far for still-ramping ones."""
    return frame["ramp_months"].fillna(frame["months_observed"])


def _with_peers(frame: pd.DataFrame) -> pd.DataFrame:
    """For each still-ramping rep in month m: of the peers known at m (ramped by month m, or
    observed for at least m months), how many had ramped by m. Peers: the other reps of the
    hire cohort, or every other rep hired during the data when fewer than
    :data:`MIN_PEERS` of the cohort are known at m. ``behind_peers`` when at least
    MIN_PEERS peers are known and more than half of them had ramped by m."""
    frame = frame.assign(peer_group=None, peers_reached=np.nan, peers_known=np.nan)
    for index, row in frame[frame["status"] == STILL_RAMPING].iterrows():  # one row per ramping rep
        others = frame[frame["rep_id"] != row["rep_id"]]
        month = row["months_observed"]
        for group, peers in ((f"hired in {row['cohort']}", others[others["cohort"] == row["cohort"]]),
                             ("hired during the data", others)):
            reached = int((peers["ramp_months"] <= month).sum())
            known = reached + int(((peers["ramp_months"].isna() | (peers["ramp_months"] > month))
                                   & (peers["months_observed"] >= month)).sum())
            if known >= MIN_PEERS:
                break
        frame.loc[index, "peer_group"] = group
        frame.loc[index, ["peers_reached", "peers_known"]] = [reached, known]
    frame["behind_peers"] = (frame["peers_known"] >= MIN_PEERS) & (frame["peers_reached"] > frame["peers_known"] / 2)
    return frame


def _cohorts(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (start, cohort), group in frame.groupby(["cohort_start", "cohort"], sort=True):
        rows.append({"cohort": cohort, "reps": len(group), "ramped": int((group["status"] == RAMPED).sum()),
                     "still_ramping": int((group["status"] == STILL_RAMPING).sum()),
                     "median_ramp_months": kaplan_meier_median(_durations(group), group["status"] == RAMPED)})
    return pd.DataFrame(rows, columns=["cohort", "reps", "ramped", "still_ramping", "median_ramp_months"])


def _curve(frame: pd.DataFrame, monthly: pd.DataFrame) -> pd.DataFrame:
    """Per cohort and month since hire (0 to :data:`CURVE_MONTHS`): reps observed in that
    month, Σ won, Σ benchmark, ``share_of_benchmark`` = Σ won / Σ benchmark (ratio of sums
    over the cohort's reps) and ``trailing_share``, the same over the last
    :data:`TRAILING_MONTHS` months since hire (fewer at the start), which one lumpy deal
    moves less."""
    columns = ["cohort", "month_since_hire", "reps", "won_amount", "benchmark", "share_of_benchmark", "trailing_share"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    observed = frame["months_observed"].clip(upper=CURVE_MONTHS)
    months = frame.loc[frame.index.repeat(observed + 1), ["rep_id", "cohort", "cohort_start", "hire_month", "benchmark"]]
    months["month_since_hire"] = months.groupby("rep_id").cumcount()
    months["month_number"] = months["hire_month"] + months["month_since_hire"]
    months = months.merge(monthly, on=["rep_id", "month_number"], how="left").fillna({"won_amount": 0.0})
    rolling = months.groupby("rep_id")["won_amount"].rolling(TRAILING_MONTHS, min_periods=1)
    months["trailing_won"] = rolling.sum().reset_index(level=0, drop=True)
    months["trailing_benchmark"] = months["benchmark"] * (months["month_since_hire"].clip(upper=TRAILING_MONTHS - 1) + 1)
    curve = months.groupby(["cohort_start", "cohort", "month_since_hire"]).agg(
        reps=("rep_id", "size"), won_amount=("won_amount", "sum"), benchmark=("benchmark", "sum"),
        trailing_won=("trailing_won", "sum"), trailing_benchmark=("trailing_benchmark", "sum")).reset_index()
    curve["share_of_benchmark"] = curve["won_amount"] / curve["benchmark"]
    curve["trailing_share"] = curve["trailing_won"] / curve["trailing_benchmark"]
    return curve.sort_values(["cohort_start", "month_since_hire"])[columns].reset_index(drop=True)
