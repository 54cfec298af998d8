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
- **Selection** (``where=``): team, rep and region choose the reps shown (every hire of the
  company is still a peer, and every tenured rep sets their team's bar); segment, source
  and product choose the deals on both sides, so a new hire's bookings of the selected
  kind are compared with a tenured rep's bookings of the same kind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period, fiscal_quarter_label, fiscal_quarter_start, month_bounds
from salesnb.data.selection import EVERYTHING, Selection
from salesnb.metrics import roster
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import WON, amounts_recorded, closed_in, deals, recorded
from salesnb.metrics.exclusions import Excluded
from salesnb.metrics.leads import column_has_data
from salesnb.metrics.scope import metric
from salesnb.metrics.statistics import kaplan_meier_median
from salesnb.metrics.totals import exact_sum

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
# The benchmark row of the whole company, used by the teams without tenured reps.
COMPANY = "Company (used for teams without tenured reps)"

declare(
    Measure("tenured_reps", "Tenured reps", "count", "Reps hired at least 12 months before the benchmark window.",
            section="people-ramp"),
    Measure("benchmark", "Benchmark (monthly won)", "currency", "Median monthly won amount of the team's tenured "
            "reps over the 12 months to the period's end.", section="people-ramp"),
    Measure("threshold", "Ramp bar", "currency", "ramp_share × the benchmark: the monthly won amount a new hire "
            "must reach.", section="people-ramp"),
    Measure("benchmark_of", "Benchmark of", "text", "Whose benchmark applies: the rep's team, or the company's."),
    Measure("hire_cohort", "Hire cohort", "text", "The fiscal quarter of the hire date."),
    Measure("months_observed", "Months observed", "months", "Calendar months from the hire month to the period's "
            "end (the month of hire is month 0).", section="people-ramp"),
    Measure("ramp_months", "Months to ramp", "months", "The first month since hire whose won amount reached the "
            "ramp bar; – while still ramping.", section="people-ramp", higher_is_better=False),
    Measure("ramp_status", "Status", "text", "ramped, or still ramping (censored, never a failure)."),
    Measure("behind_peers", "Behind peers", "flag", "Still ramping while more than half of at least 2 peers had "
            "ramped by the same month since hire."),
    Measure("peer_group", "Peers", "text", "Who the rep is compared with: the hire cohort, or every hire."),
    Measure("peers_reached", "Peers ramped", "count", "Peers who had ramped by this rep's month since hire.",
            section="people-ramp"),
    Measure("peers_known", "Peers known", "count", "Peers ramped by, or observed for at least, this rep's months.",
            section="people-ramp"),
    Measure("ramped", "Ramped", "count", "Reps of the cohort who reached the ramp bar.", section="people-ramp"),
    Measure("still_ramping", "Still ramping", "count", "Reps of the cohort not at the ramp bar yet.",
            section="people-ramp"),
    Measure("median_ramp_months", "Median ramp", "months", "Kaplan-Meier median of the months to ramp (reps still "
            "ramping count while observed).", section="people-ramp", higher_is_better=False),
    Measure("month_since_hire", "Month since hire", "months", "Calendar months since the hire month (month of "
            "hire = 0).", section="people-ramp"),
    Measure("share_of_benchmark", "Share of benchmark", "percent", "Σ won ÷ Σ benchmark over the cohort's reps "
            "in that month since hire.", section="people-ramp", higher_is_better=True),
    Measure("trailing_share", "Share of benchmark (3 months)", "percent", "The same over the last three months "
            "since hire.", section="people-ramp", higher_is_better=True),
)


def unmeasured(dataset: Dataset) -> list[str]:
    """Why ramp cannot be measured on this data (the sentences the report shows); empty when it can."""
    if not column_has_data(dataset, "reps", "hire_date"):
        return ["Ramp needs the reps' hire dates: the data has no reps.hire_date values. Add reps.hire_date "
                "(YYYY-MM-DD) to see how fast new hires become productive."]
    if not dataset.has("opportunities") or not amounts_recorded(dataset):
        return ["Ramp compares won amounts, and no deal has an amount: add opportunities.amount to see how fast "
                "new hires become productive."]
    if not recorded(dataset, "close_date"):
        return ["Ramp places wins by month, and no deal has a close_date: add opportunities.close_date."]
    return []


def ramp_measured(dataset: Dataset) -> bool:
    """Whether ramp can be measured at all: reps with hire dates, and deals with amounts and
    close dates (:func:`unmeasured` says what is missing)."""
    return not unmeasured(dataset)


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


def _tenured_benchmark(dataset: Dataset, period: Period, rows: Selection) -> pd.DataFrame:
    """Per team (and :data:`COMPANY`): ``tenured_reps`` and ``benchmark`` = the median over
    its tenured reps of their monthly won amount in :func:`benchmark_window`, over the
    deals of the selected segment, source and product (``rows``)."""
    window = benchmark_window(dataset, period)
    cutoff = (pd.Timestamp(window.start) - pd.DateOffset(months=TENURED_MONTHS)).date()
    reps = roster.selling_reps(dataset)
    tenured = reps.filter(reps.hire_date <= cutoff).execute()
    won = closed_in(deals(dataset, rows), window)
    won = won.filter((won.outcome == WON) & won.rep_id.notnull() & won.amount.notnull())
    booked = won.group_by("rep_id").aggregate(won_amount=exact_sum(won.amount)).execute()
    months = max((window.end - window.start).days + 1, 0) / roster.MONTH_DAYS
    tenured = tenured.merge(booked, on="rep_id", how="left").fillna({"won_amount": 0.0})
    tenured["monthly_won"] = tenured["won_amount"] / months if months > 0 else np.nan
    by_team = tenured.groupby(tenured["team"].fillna(roster.NO_TEAM))["monthly_won"].agg(["size", "median"])
    by_team = by_team.rename(columns={"size": "tenured_reps", "median": "benchmark"}).reset_index()
    company = pd.DataFrame({"team": [COMPANY], "tenured_reps": [len(tenured)],
                            "benchmark": [tenured["monthly_won"].median() if len(tenured) else np.nan]})
    return pd.concat([by_team, company], ignore_index=True)


@dataclass
class Ramp:
    """Everything the ramp section shows.

    ``reps``: one row per rep hired during the data (up to the period's end): hire date,
    ``hire_cohort``, ``benchmark`` and ``benchmark_of`` (the team, or "company"),
    ``threshold``, ``months_observed``, ``ramp_months`` (NaN while still ramping),
    ``ramp_status``, and the comparison with peers (``peers_reached`` of ``peers_known``
    reached it within this rep's months; ``behind_peers``). ``cohorts``: per hire cohort,
    reps, ramped, still ramping and the Kaplan-Meier ``median_ramp_months``. ``curve``: per
    cohort and month since hire, the reps observed, ``share_of_benchmark`` = Σ won / Σ
    benchmark and its trailing three-month version (``_curve``). ``benchmark``: per team
    and for the company, ``tenured_reps``, ``benchmark`` and the ramp bar ``threshold``.
    ``median_months``: over every rep of ``reps``. ``notes``: what the section cannot show
    and why (no hire dates, no amounts, nobody hired in the view).
    """

    ramp_share: float
    reps: pd.DataFrame
    cohorts: pd.DataFrame
    curve: pd.DataFrame
    benchmark: pd.DataFrame
    median_months: float | None
    excluded: list[Excluded] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def trailing_curve(self) -> pd.DataFrame:
        """The trailing share of the ramp curve, wide: ``month_since_hire`` and one column per
        hire cohort, in cohort order (what the ramp chart draws)."""
        wide = self.curve.pivot_table(index="month_since_hire", columns="hire_cohort", values="trailing_share")
        wide = wide.reset_index()
        return wide[["month_since_hire", *[name for name in self.cohorts["hire_cohort"] if name in wide.columns]]]


@metric
def ramp(dataset: Dataset, period: Period | None = None, *, where: Selection,
         ramp_share: float = DEFAULT_RAMP_SHARE) -> Ramp:
    """How fast the reps hired during the data reached the ramp bar, by hire cohort (a :class:`Ramp`).

    Observed up to the period's end; the module docstring gives every definition and what
    the selection means here. When ramp cannot be measured (:func:`unmeasured`), every view
    is empty and ``notes`` says why."""
    people = roster.scope(dataset, where)
    reasons = unmeasured(dataset)
    if reasons:
        return _empty(ramp_share, reasons)
    end = roster.observed_end(dataset, period)
    benchmark = _tenured_benchmark(dataset, period, people.rows)
    first_deal = dataset.table("opportunities").created_at.min().execute()
    data_start = pd.Timestamp(first_deal).date().replace(day=1) if pd.notna(first_deal) else end
    # Every hire of the company, so a rep is compared with their whole hire cohort; the
    # tables then show the selection's reps.
    reps = roster.selling_reps(dataset)
    hires = reps.filter(reps.hire_date.notnull() & (reps.hire_date >= data_start) & (reps.hire_date <= end)).execute()
    monthly = _monthly_won(dataset, end, people.rows)
    frame = _rep_ramp(hires, monthly, benchmark, ramp_share, end, dataset.playbook.fiscal_year_start_month)
    frame = _with_peers(frame[frame["benchmark"].notna()].reset_index(drop=True)) if len(frame) else \
        frame.assign(peer_group=None, peers_reached=np.nan, peers_known=np.nan, behind_peers=False)
    in_group = roster.selling_reps(dataset, people.group).execute()
    excluded = [
        Excluded(int(in_group["hire_date"].isna().sum()), len(in_group), "reps", "have no hire date (reps.hire_date)"),
        Excluded(int((pd.to_datetime(in_group["hire_date"]) < pd.Timestamp(data_start)).sum()), len(in_group), "reps",
                 f"were hired before the data begins ({data_start:%b %Y}), so their first months are not in it"),
        Excluded(int(in_group["rep_id"].isin(hires["rep_id"]).sum() - in_group["rep_id"].isin(frame["rep_id"]).sum()),
                 len(in_group), "reps", "have no benchmark to compare with (no tenured rep of their team or the "
                 "company, hired a year before the period, booked anything)"),
    ]
    shown = people.shown(frame[frame["rep_id"].isin(in_group["rep_id"])]).reset_index(drop=True)
    median = kaplan_meier_median(_durations(shown), shown["ramp_status"] == RAMPED) if len(shown) else None
    notes = [] if len(shown) else ["No rep in this view was hired since the data begins, so there is no ramp to show."]
    return Ramp(ramp_share, shown, _cohorts(shown), _curve(shown, monthly),
                benchmark.assign(threshold=benchmark["benchmark"] * ramp_share), median, excluded, notes)


def _empty(ramp_share: float, notes: list[str]) -> Ramp:
    reps = pd.DataFrame(columns=["rep_id", "rep_name", "team", "hire_date", "cohort_start", "hire_cohort",
                                 "months_observed", "ramp_months", "ramp_status", "behind_peers"])
    benchmark = pd.DataFrame(columns=["team", "tenured_reps", "benchmark", "threshold"])
    return Ramp(ramp_share, reps, _cohorts(reps), _curve(reps, None), benchmark, None, [], notes)


def _monthly_won(dataset: Dataset, end: dt.date, rows: Selection = EVERYTHING) -> pd.DataFrame:
    """Won amount per rep and calendar month (``month_number``), deals (of the selected
    segment, source, product) won by ``end``."""
    table = deals(dataset, rows)
    won = table.filter((table.outcome == WON) & table.rep_id.notnull() & table.amount.notnull()
                       & (table.close_date <= end))
    return won.group_by(["rep_id", _month_number(won.close_date).name("month_number")]).aggregate(
        won_amount=exact_sum(won.amount)).execute()


def _rep_ramp(hires: pd.DataFrame, monthly: pd.DataFrame, benchmark: pd.DataFrame, ramp_share: float,
              end: dt.date, fiscal_start: int) -> pd.DataFrame:
    columns = ["hire_month", "cohort_start", "hire_cohort", "benchmark_of", "benchmark", "threshold",
               "months_observed", "ramp_months", "ramp_status"]
    if hires.empty:
        return hires.assign(**{column: pd.Series(dtype=float) for column in columns})
    frame = hires.copy()
    frame["hire_date"] = pd.to_datetime(frame["hire_date"])
    frame["hire_month"] = frame["hire_date"].dt.year * 12 + frame["hire_date"].dt.month
    frame["cohort_start"] = [pd.Timestamp(fiscal_quarter_start(day.date(), fiscal_start)) for day in frame["hire_date"]]
    frame["hire_cohort"] = [fiscal_quarter_label(day.date(), fiscal_start) for day in frame["cohort_start"]]
    teams = benchmark[benchmark["team"] != COMPANY].set_index("team")["benchmark"]
    company = benchmark.loc[benchmark["team"] == COMPANY, "benchmark"].iloc[0]
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
    frame["ramp_status"] = np.where(frame["ramp_months"].notna(), RAMPED, STILL_RAMPING)
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
    # In arrays, not frames: a frame filtered per ramping rep took 1.8 s at large (1,800 reps).
    ids = frame["rep_id"].to_numpy(dtype=object)
    cohort_codes = pd.factorize(frame["hire_cohort"])[0]  # an empty cohort (-1) is nobody's cohort
    ramp_months = frame["ramp_months"].to_numpy(dtype="float64")
    observed = frame["months_observed"].to_numpy(dtype="float64")
    ramping = np.flatnonzero((frame["ramp_status"] == STILL_RAMPING).to_numpy())  # one row per ramping rep
    groups, counts = [], []
    for position in ramping:
        others = ids != ids[position]
        month = observed[position]
        code = cohort_codes[position]
        same_cohort = others & (cohort_codes == code) & (code >= 0)
        for group, peers in ((f"hired in {frame['hire_cohort'].iat[position]}", same_cohort),
                             ("hired during the data", others)):
            reached = int((peers & (ramp_months <= month)).sum())
            known = reached + int((peers & (np.isnan(ramp_months) | (ramp_months > month)) & (observed >= month)).sum())
            if known >= MIN_PEERS:
                break
        groups.append(group)
        counts.append([reached, known])
    if len(ramping):
        rows = frame.index[ramping]
        frame.loc[rows, "peer_group"] = groups
        frame.loc[rows, ["peers_reached", "peers_known"]] = counts
    frame["behind_peers"] = (frame["peers_known"] >= MIN_PEERS) & (frame["peers_reached"] > frame["peers_known"] / 2)
    return frame


def _cohorts(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (start, cohort), group in frame.groupby(["cohort_start", "hire_cohort"], sort=True):
        rows.append({"hire_cohort": cohort, "reps": len(group), "ramped": int((group["ramp_status"] == RAMPED).sum()),
                     "still_ramping": int((group["ramp_status"] == STILL_RAMPING).sum()),
                     "median_ramp_months": kaplan_meier_median(_durations(group), group["ramp_status"] == RAMPED)})
    return pd.DataFrame(rows, columns=["hire_cohort", "reps", "ramped", "still_ramping", "median_ramp_months"])


def _curve(frame: pd.DataFrame, monthly: pd.DataFrame | None) -> pd.DataFrame:
    """Per cohort and month since hire (0 to :data:`CURVE_MONTHS`): reps observed in that
    month, Σ won, Σ benchmark, ``share_of_benchmark`` = Σ won / Σ benchmark (ratio of sums
    over the cohort's reps) and ``trailing_share``, the same over the last
    :data:`TRAILING_MONTHS` months since hire (fewer at the start), which one lumpy deal
    moves less."""
    columns = ["hire_cohort", "month_since_hire", "reps", "won_amount", "benchmark", "share_of_benchmark",
               "trailing_share"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    observed = frame["months_observed"].clip(upper=CURVE_MONTHS)
    months = frame.loc[frame.index.repeat(observed + 1), ["rep_id", "hire_cohort", "cohort_start", "hire_month",
                                                          "benchmark"]]
    months["month_since_hire"] = months.groupby("rep_id").cumcount()
    months["month_number"] = months["hire_month"] + months["month_since_hire"]
    months = months.merge(monthly, on=["rep_id", "month_number"], how="left").fillna({"won_amount": 0.0})
    rolling = months.groupby("rep_id")["won_amount"].rolling(TRAILING_MONTHS, min_periods=1)
    months["trailing_won"] = rolling.sum().reset_index(level=0, drop=True)
    months["trailing_benchmark"] = months["benchmark"] * (months["month_since_hire"].clip(upper=TRAILING_MONTHS - 1) + 1)
    curve = months.groupby(["cohort_start", "hire_cohort", "month_since_hire"]).agg(
        reps=("rep_id", "size"), won_amount=("won_amount", "sum"), benchmark=("benchmark", "sum"),
        trailing_won=("trailing_won", "sum"), trailing_benchmark=("trailing_benchmark", "sum")).reset_index()
    curve["share_of_benchmark"] = curve["won_amount"] / curve["benchmark"]
    curve["trailing_share"] = curve["trailing_won"] / curve["trailing_benchmark"]
    return curve.sort_values(["cohort_start", "month_since_hire"])[columns].reset_index(drop=True)


# ----------------------------------------------------------------------------- for the plan

declare(
    Measure("productivity_of", "Productivity of", "text", "Whose ramped reps set the number: the team's, or the "
            "company's (a team with fewer than two ramped reps)."),
    Measure("ramped_reps", "Ramped reps", "count", "Reps employed and ramped (12 months or more after their hire "
            "month) in at least one month of the window.", section="people-ramp"),
    Measure("ramped_rep_months", "Ramped rep-months", "count", "Months of the window in which a rep was employed and "
            "ramped.", section="people-ramp"),
    Measure("monthly_won_per_ramped_rep", "Won per ramped rep-month", "currency", "Σ won amount in ramped "
            "rep-months ÷ ramped rep-months: what a ramped rep books in a month.", section="people-ramp",
            higher_is_better=True),
    Measure("hires_observed", "Hires observed", "count", "Reps hired during the data observed in this month since "
            "hire (the month over, before the date).", section="people-ramp"),
    Measure("measured_ramp_share", "Measured share", "percent", "Σ won by those hires in this month since hire ÷ Σ "
            "their team's won per ramped rep-month.", section="people-ramp"),
    Measure("ramp_share_used", "Share used", "percent", "The measured share made non-decreasing (isotonic, weighted "
            "by hires observed) and capped at 100%; 100% from month 12 on.", section="people-ramp"),
)
# Teams with fewer ramped reps than this use the company's productivity.
MIN_RAMPED_REPS = 2
# The company's row of ramped_productivity.
COMPANY_PRODUCTIVITY = f"Company (used for teams with fewer than {MIN_RAMPED_REPS} ramped reps)"


def _months_within(period: Period, as_of: dt.date) -> list[pd.Period]:
    """The calendar months lying wholly between the period's start and min(its end, ``as_of``)."""
    end = min(period.end, as_of)
    first = pd.Period(period.start, "M") + (0 if period.start.day == 1 else 1)
    last = pd.Period(end, "M") - (0 if pd.Timestamp(end).is_month_end else 1)
    return list(pd.period_range(first, last, freq="M")) if first <= last else []


def _reps_with_dates(dataset: Dataset, where: Selection) -> pd.DataFrame:
    """The selling reps of the selection's team, rep and region with ``hire_date`` and ``left_on``."""
    reps = roster.selling_reps(dataset, roster.of_reps(where)).execute()
    if dataset.has("reps"):
        left = dataset.table("reps").select("rep_id", "left_on").execute().drop_duplicates("rep_id")
        reps = reps.merge(left, on="rep_id", how="left")
    else:
        reps["left_on"] = pd.NaT
    reps["left_on"] = pd.to_datetime(reps["left_on"])
    reps["hire_date"] = pd.to_datetime(reps["hire_date"])
    reps["team"] = reps["team"].fillna(roster.NO_TEAM)
    return reps.sort_values("rep_id").reset_index(drop=True)


def _rep_months(reps: pd.DataFrame, months: list[pd.Period]) -> pd.DataFrame:
    """One row per rep and month of ``months`` in which the rep was employed (hired by the
    month's end, not left before its start), with ``month_since_hire`` (month of hire = 0;
    None without a hire date)."""
    if reps.empty or not months:
        return pd.DataFrame(columns=["rep_id", "team", "month_number", "month_since_hire"])
    starts, ends = month_bounds(months)  # once per month, not per rep-month
    calendar = pd.DataFrame({"month_start": starts, "month_end": ends,
                             "month_number": [month.year * 12 + month.month for month in months]})
    grid = reps[["rep_id", "team", "hire_date", "left_on"]].merge(calendar, how="cross")
    employed = ((grid["hire_date"].isna() | (grid["hire_date"] <= grid["month_end"]))
                & (grid["left_on"].isna() | (grid["left_on"] >= grid["month_start"])))
    grid = grid[employed].copy()
    hire_month = grid["hire_date"].dt.year * 12 + grid["hire_date"].dt.month
    grid["month_since_hire"] = grid["month_number"] - hire_month
    return grid[["rep_id", "team", "month_number", "month_since_hire"]].reset_index(drop=True)


@metric
def ramped_productivity(dataset: Dataset, period: Period | None = None, *, where: Selection) -> pd.DataFrame:
    """What a ramped rep books in a month, per team and for the company (a building block of
    the plan's capacity, :mod:`salesnb.metrics.hiring`).

    Over the calendar months wholly in the period up to the data's date (default: the last
    twelve), a rep-month is *ramped* when the rep was employed (hired by the month's end, not
    left before it began: ``reps.left_on``) and the month is at least
    :data:`TENURED_MONTHS` after the hire month (a rep without a hire date counts as
    ramped). ``monthly_won_per_ramped_rep`` = Σ won amount of those rep-months (deals the rep
    owns, won with a close date in the month) ÷ ``ramped_rep_months``, a ratio of sums; a team
    with fewer than :data:`MIN_RAMPED_REPS` ramped reps uses the company's
    (``productivity_of``). The last row is the company's (``team`` = :data:`COMPANY_PRODUCTIVITY`).
    ``where``: team, rep and region choose the reps; segment, source and product the deals.
    """
    reps = _reps_with_dates(dataset, where)
    months = _months_within(period, dataset.as_of)
    grid = _rep_months(reps, months)
    grid = grid[grid["month_since_hire"].isna() | (grid["month_since_hire"] >= TENURED_MONTHS)]
    end = months[-1].end_time.date() if months else period.start
    won = _monthly_won(dataset, end, roster.of_rows(where)).astype({"month_number": "int64"})
    grid = grid.merge(won, on=["rep_id", "month_number"], how="left").fillna({"won_amount": 0.0})
    teams = grid.groupby("team").agg(ramped_reps=("rep_id", "nunique"), ramped_rep_months=("rep_id", "size"),
                                     won_amount=("won_amount", "sum"))
    company = pd.DataFrame({"ramped_reps": [grid["rep_id"].nunique()], "ramped_rep_months": [len(grid)],
                            "won_amount": [grid["won_amount"].sum()]},
                           index=pd.Index([COMPANY_PRODUCTIVITY], name="team"))
    frame = pd.concat([teams.reindex(sorted(reps["team"].unique())).fillna(0), company]).reset_index()
    frame[["ramped_reps", "ramped_rep_months"]] = frame[["ramped_reps", "ramped_rep_months"]].astype("int64")
    per_month = frame["won_amount"] / frame["ramped_rep_months"].where(frame["ramped_rep_months"] > 0)
    own = (frame["ramped_reps"] >= MIN_RAMPED_REPS) | (frame["team"] == COMPANY_PRODUCTIVITY)
    frame["productivity_of"] = np.where(own, "team", "company")
    frame.loc[frame["team"] == COMPANY_PRODUCTIVITY, "productivity_of"] = "company"
    frame["monthly_won_per_ramped_rep"] = per_month.where(own, per_month.iloc[-1])
    return frame[["team", "productivity_of", "ramped_reps", "ramped_rep_months", "won_amount",
                  "monthly_won_per_ramped_rep"]]


@metric
def ramp_curve(dataset: Dataset, period: Period | None = None, *, where: Selection,
               productivity: pd.DataFrame | None = None) -> pd.DataFrame:
    """The share of a ramped rep's monthly bookings a new hire brings, by month since hire
    (0 = the hire month, to :data:`CURVE_MONTHS` - 1), pooled over every rep of the company
    hired during the data (a building block of the plan's capacity).

    For each month since hire m, over the hires whose month m is over by the period's end
    (or the data's date): ``measured_ramp_share`` = Σ their won amount in month m ÷ Σ their
    team's ``monthly_won_per_ramped_rep`` (:func:`ramped_productivity`, passed as
    ``productivity`` or computed for the period), with n ``hires_observed``.
    ``ramp_share_used`` makes it non-decreasing (``scipy.optimize.isotonic_regression``,
    weighted by the hires observed) and caps it at 100%: a new hire does not get worse from
    one month to the next, and one lumpy deal does not make a rep more than ramped. From
    month :data:`CURVE_MONTHS` on a hire counts as ramped (100%). Empty without hires.
    ``where``'s segment, source and product choose the deals counted."""
    from scipy.optimize import isotonic_regression

    columns = ["month_since_hire", "hires_observed", "measured_ramp_share", "ramp_share_used"]
    productivity = ramped_productivity(dataset, period, where=where) if productivity is None else productivity
    end = roster.observed_end(dataset, period)
    reps = _reps_with_dates(dataset, EVERYTHING)
    first_deal = dataset.table("opportunities").created_at.min().execute()
    if pd.isna(first_deal):
        return pd.DataFrame(columns=columns)
    data_start = pd.Timestamp(first_deal).replace(day=1)
    hires = reps[reps["hire_date"].notna() & (reps["hire_date"] >= data_start)
                 & (reps["hire_date"] <= pd.Timestamp(end))]
    last_month = pd.Period(end, "M") - (0 if pd.Timestamp(end).is_month_end else 1)
    months = list(pd.period_range(pd.Period(data_start, "M"), last_month, freq="M"))
    grid = _rep_months(hires, months)
    grid = grid[grid["month_since_hire"].between(0, CURVE_MONTHS - 1)]
    if grid.empty:
        return pd.DataFrame(columns=columns)
    won = _monthly_won(dataset, end, roster.of_rows(where)).astype({"month_number": "int64"})
    grid = grid.merge(won, on=["rep_id", "month_number"], how="left").fillna({"won_amount": 0.0})
    rates = productivity.set_index("team")["monthly_won_per_ramped_rep"]
    grid["benchmark"] = grid["team"].map(rates).fillna(rates.get(COMPANY_PRODUCTIVITY, np.nan))
    curve = grid.groupby("month_since_hire").agg(hires_observed=("rep_id", "size"), won_amount=("won_amount", "sum"),
                                                  benchmark=("benchmark", "sum")).reset_index()
    curve["measured_ramp_share"] = curve["won_amount"] / curve["benchmark"].where(curve["benchmark"] > 0)
    measured = curve["measured_ramp_share"].notna()
    curve["ramp_share_used"] = np.nan
    if measured.any():
        fitted = isotonic_regression(curve.loc[measured, "measured_ramp_share"].to_numpy(),
                                     weights=curve.loc[measured, "hires_observed"].to_numpy(dtype=float)).x
        curve.loc[measured, "ramp_share_used"] = np.clip(fitted, 0.0, 1.0)
    curve["month_since_hire"] = curve["month_since_hire"].astype("int64")
    return curve[columns]
