"""People for the plan: can the reps book the plan period's target, and whom to hire by when.

At the plan date T, for the plan period P (see :mod:`salesnb.metrics.planning`):

- **Productivity** of a ramped rep per team (:func:`salesnb.metrics.ramp.ramped_productivity`,
  the 12 months up to T) and the **ramp curve** of new hires, the share of it they bring by
  month since hire (:func:`salesnb.metrics.ramp.ramp_curve`).
- **Attrition** (:func:`attrition`): reps who left in the 12 months up to T ÷ the months
  reps were employed then (``reps.left_on``); a rep whose ``left_on`` lies after T is known
  to leave and is counted out from that day.
- **Capacity** of a team in P = Σ over its reps employed at T and each month m of P of
  productivity x (days of m in P ÷ 365.25/12) x ramp share at m x the chance the rep is
  still there: (1 - monthly attrition)^(months from T to m), or 0 after a known ``left_on``.
- **Bookings** a team must book in P: the plan's target less what is booked so far and
  the expected repeat revenue (orders without a deal are booked by no rep), split across teams by their quotas in P
  (when the target is the quotas), else by what each team won in the 12 months up to T.
- **Reps needed** = bookings ÷ (productivity x months of P), in ramped reps; the
  **shortfall** = bookings - capacity; a rep hired on the first day of month h brings
  Σ_m productivity x days ÷ (365.25/12) x ramp share at (m - h) x (1 - attrition)^(m - h)
  in P, so the **hires needed** if hired in month h = ceil(shortfall ÷ that); hiring later
  needs more reps, and from some month on no hire helps P any more.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesnb.data.dataset import Dataset
from salesnb.data.periods import Period, month_bounds
from salesnb.data.selection import Selection
from salesnb.metrics import coverage, planning, ramp, roster
from salesnb.metrics.catalogue import Measure, declare
from salesnb.metrics.deals import WON, deals
from salesnb.metrics.planning import MONTH_DAYS, RECENT_DAYS, Plan
from salesnb.metrics.scope import metric, restrict
from salesnb.metrics.totals import exact_sum

declare(
    Measure("required_hires", "Hires needed now", "count", "Per team: reps to hire this month (the month after the "
            "plan date) so that the team's capacity books its share of the plan period's target.",
            section="plan-people"),
    Measure("plan_attrition_per_month", "Attrition / month", "percent", "Reps who left in the 12 months to the plan "
            "date ÷ the months reps were employed then.", section="plan-people", higher_is_better=False),
    Measure("reps_now", "Reps now", "count", "Selling reps employed at the plan date.", section="plan-people"),
    Measure("leaving_ahead", "Leaving", "count", "Reps whose left_on lies after the plan date (notice given).",
            section="plan-people", higher_is_better=False),
    Measure("plan_bookings", "Bookings to make", "currency", "The team's share of the target less expected repeat "
            "revenue: what its reps must win in the plan period.", section="plan-people"),
    Measure("capacity", "Capacity", "currency", "What the team's reps book in the plan period by the measured "
            "productivity, ramp and attrition.", section="plan-people"),
    Measure("reps_needed", "Ramped reps needed", "number", "Bookings ÷ (won per ramped rep-month × months of the "
            "period).", section="plan-people"),
    Measure("ramped_equivalents_now", "Ramped reps now", "number", "Capacity ÷ (won per ramped rep-month × months of "
            "the period): the team today, in ramped reps.", section="plan-people"),
    Measure("shortfall", "Shortfall", "currency", "Bookings − capacity (none when the team can book its share).",
            section="plan-people", higher_is_better=False),
    Measure("left_on", "Leaves on", "date", "The rep's last day (reps.left_on)."),
    Measure("hire_month", "Hired in", "month", "The month the new reps start (on its first day)."),
    Measure("capacity_per_hire", "Brings in period", "currency", "What one rep hired that month books in the plan "
            "period, by the ramp curve and attrition.", section="plan-people"),
    Measure("hires_needed", "Hires needed", "count", "ceil(shortfall ÷ what one hire of that month brings); – when "
            "a hire that late brings nothing in the period.", section="plan-people"),
)


@dataclass
class Attrition:
    """``leavers`` in the 12 months up to the plan date, ``rep_months`` employed then,
    ``monthly_rate`` = leavers ÷ rep_months (None when ``reps.left_on`` is not recorded:
    ``reason``), and ``leaving_ahead`` (the reps whose ``left_on`` lies after the date)."""

    leavers: int = 0
    rep_months: float = 0.0
    monthly_rate: float | None = None
    reason: str | None = None
    leaving_ahead: pd.DataFrame = field(default_factory=pd.DataFrame)


def attrition(dataset: Dataset, as_of: dt.date, *, where: Selection) -> Attrition:
    """Attrition of the selection's reps (module docstring). The reps counted are the selling
    reps and every rep with a ``left_on`` (a rep who left may own nothing any more)."""
    if not dataset.has("reps") or not int(dataset.table("reps").left_on.count().execute()):
        return Attrition(reason="reps.left_on is not recorded, so attrition is not measured: the plan assumes "
                                "nobody leaves")
    reps = ramp._reps_with_dates(dataset, where)
    table = restrict(dataset, dataset.table("reps"), roster.of_reps(where), rows="reps")
    left = table.filter(table.left_on.notnull()).select("rep_id", "rep_name", "team", "hire_date", "left_on").execute()
    left["hire_date"], left["left_on"] = pd.to_datetime(left["hire_date"]), pd.to_datetime(left["left_on"])
    people = pd.concat([reps[["rep_id", "rep_name", "team", "hire_date", "left_on"]],
                        left[~left["rep_id"].isin(reps["rep_id"])]], ignore_index=True)
    end = pd.Timestamp(as_of)
    start = end - pd.Timedelta(days=RECENT_DAYS - 1)
    first = people["hire_date"].fillna(start).clip(lower=start)
    last = people["left_on"].fillna(end).clip(upper=end)
    months = float(((last - first).dt.days + 1).clip(lower=0).sum()) / MONTH_DAYS
    leavers = int(people["left_on"].between(start, end).sum())
    ahead = people[people["left_on"] > end].sort_values(["left_on", "rep_id"])[["rep_id", "rep_name", "team", "left_on"]]
    return Attrition(leavers, months, leavers / months if months > 0 else None, None, ahead.reset_index(drop=True))


@dataclass
class Staffing:
    """The people side of the plan (module docstring): ``productivity`` and ``ramp`` (the
    curve), ``attrition``, ``teams`` (per team: reps now, leaving, bookings, capacity, reps
    needed, ramped equivalents now, shortfall and hires needed now), ``hires_by_month`` (per
    team and hire month: what one hire brings and the hires needed) and ``notes``."""

    productivity: pd.DataFrame
    ramp: pd.DataFrame
    attrition: Attrition
    teams: pd.DataFrame = field(default_factory=pd.DataFrame)
    hires_by_month: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None

    def hires_table(self) -> pd.DataFrame:
        """Hires needed by team (rows) and the month they start (columns, e.g. "Jan 2026"):
        the hiring plan at a glance; empty when not measured."""
        if self.hires_by_month.empty:
            return pd.DataFrame()
        frame = self.hires_by_month.assign(month=[f"{pd.Timestamp(month):%b %Y}" for month in
                                                  self.hires_by_month["hire_month"]])
        wide = frame.pivot(index="team", columns="month", values="hires_needed")
        return wide[list(dict.fromkeys(frame["month"]))].reset_index()

    def required_hires(self) -> dict | None:
        """Hires needed now by team (the recorded KPI), None when not measured."""
        if self.teams.empty or self.teams["hires_needed"].isna().all():
            return None
        return {team: int(value) for team, value in zip(self.teams["team"], self.teams["hires_needed"])
                if pd.notna(value)}


def _share_at(curve: pd.DataFrame, month_since_hire) -> np.ndarray:
    """Ramp share at each month since hire: the curve's, 100% from month ramp.CURVE_MONTHS
    on (and for a rep without a hire date), 0 before the hire month."""
    months = np.asarray(month_since_hire, dtype=float)
    table = np.ones(ramp.CURVE_MONTHS)
    if not curve.empty:
        used = curve.set_index("month_since_hire")["ramp_share_used"]
        table = used.reindex(range(ramp.CURVE_MONTHS)).ffill().fillna(0.0).to_numpy(dtype=float)
    index = np.clip(np.nan_to_num(months, nan=ramp.CURVE_MONTHS), 0, ramp.CURVE_MONTHS).astype(int)
    shares = np.r_[table, 1.0][index]
    return np.where(months < 0, 0.0, shares)


def _plan_months(period: Period) -> pd.DataFrame:
    """The calendar months of the period with their days in it and month number."""
    days = pd.date_range(period.start, period.end, freq="D")
    frame = pd.DataFrame({"month": days.to_period("M")}).groupby("month").size().rename("days").reset_index()
    frame["month_number"] = frame["month"].map(lambda month: month.year * 12 + month.month)
    return frame


def _team_split(dataset: Dataset, plan: Plan, teams: list[str], where: Selection) -> pd.Series:
    """How the target splits across teams: their quotas in the period when the target is the
    quotas, else what each won in the 12 months up to the plan date."""
    if plan.target.basis == "quotas":
        quotas = coverage.quota_in_period(dataset, plan.period, where=where)
        quotas = quotas.group_by(team=quotas.team.fill_null(roster.NO_TEAM)).aggregate(quota=exact_sum(quotas.quota))
        weights = quotas.execute().set_index("team")["quota"]
    else:
        table = deals(dataset, where)
        start = plan.as_of - dt.timedelta(days=RECENT_DAYS - 1)
        won = table.filter((table.outcome == WON) & table.close_date.between(start, plan.as_of))
        won = won.group_by("team").aggregate(amount=exact_sum(won.amount)).execute()
        weights = won.assign(team=won["team"].fillna(roster.NO_TEAM)).set_index("team")["amount"]
    weights = weights.reindex(teams).fillna(0.0)
    return weights / weights.sum() if weights.sum() > 0 else pd.Series(1.0 / len(teams), index=teams)


def staffing(dataset: Dataset, plan: Plan, *, where: Selection) -> Staffing:
    """The people side of ``plan`` (a :class:`Staffing`; module docstring)."""
    window = Period(plan.as_of - dt.timedelta(days=RECENT_DAYS - 1), plan.as_of)
    productivity = ramp.ramped_productivity(dataset, window, where=where)
    notes = ramp.unmeasured(dataset)
    curve = ramp.ramp_curve(dataset, window, where=where, productivity=productivity) if not notes else pd.DataFrame()
    leaving = attrition(dataset, plan.as_of, where=where)
    result = Staffing(productivity, curve, leaving, notes=list(notes))
    if leaving.reason:
        result.notes.append(leaving.reason[:1].upper() + leaving.reason[1:] + ".")
    if plan.target.amount is None:
        result.reason = plan.target.description
        return result
    remaining = plan.window
    if remaining is None:
        result.reason = f"the plan period ended on {plan.period.end:%d %b %Y}, before the plan date"
        return result
    remaining = Period(max(plan.period.start, remaining.start), remaining.end)
    # What the reps still have to win: the target less what is booked and the repeat orders.
    bookings = plan.target.amount - (plan.gap.booked_so_far.total or 0.0) - (plan.gap.repeat.amount or 0.0)
    reps = ramp._reps_with_dates(dataset, where)
    as_of = pd.Timestamp(plan.as_of)
    reps = reps[(reps["hire_date"].isna() | (reps["hire_date"] <= as_of))
                & (reps["left_on"].isna() | (reps["left_on"] > as_of))]
    if reps.empty:
        result.reason = "no selling rep is employed at the plan date"
        return result
    rates = productivity.set_index("team")["monthly_won_per_ramped_rep"]
    company = rates.iloc[-1]
    if pd.isna(company) or company <= 0:
        result.reason = "no ramped rep booked anything in the 12 months to the plan date: productivity is not measured"
        return result
    monthly_attrition = leaving.monthly_rate or 0.0
    months = _plan_months(remaining)
    period_months = remaining.days / MONTH_DAYS
    teams = sorted(reps["team"].unique())
    split = _team_split(dataset, plan, teams, where)
    rows, hires = [], []
    plan_month = pd.Period(plan.as_of, "M").year * 12 + pd.Period(plan.as_of, "M").month
    for team in teams:
        members = reps[reps["team"] == team]
        rate = rates.get(team, company)
        rate = company if pd.isna(rate) else rate
        capacity = sum(_rep_capacities(members, months, rate, curve, monthly_attrition, plan.as_of))
        share = float(split.get(team, 0.0))
        team_bookings = bookings * share
        shortfall = max(team_bookings - capacity, 0.0)
        first_hire = None
        # Without a measured ramp a hire's first months are unknown: hires are not measured.
        for hire_number in range(plan_month + 1, int(months["month_number"].iloc[-1]) + 1) if not curve.empty else ():
            brings = _hire_capacity(hire_number, months, rate, curve, monthly_attrition)
            needed = 0 if shortfall <= 0 else (math.ceil(shortfall / brings - 1e-9) if brings > 1e-9 else None)
            month = pd.Period(year=(hire_number - 1) // 12, month=(hire_number - 1) % 12 + 1, freq="M")
            hires.append({"team": team, "hire_month": month.start_time.date(), "capacity_per_hire": brings,
                          "hires_needed": needed})
            first_hire = needed if first_hire is None and hire_number == plan_month + 1 else first_hire
        rows.append({"team": team, "reps_now": len(members),
                     "leaving_ahead": int(leaving.leaving_ahead["rep_id"].isin(members["rep_id"]).sum())
                     if len(leaving.leaving_ahead) else 0,
                     "plan_bookings": team_bookings, "capacity": capacity,
                     "reps_needed": team_bookings / (rate * period_months),
                     "ramped_equivalents_now": capacity / (rate * period_months), "shortfall": shortfall,
                     "hires_needed": first_hire})
    result.teams = pd.DataFrame(rows).astype({"hires_needed": "Int64"})
    if curve.empty:
        result.notes.append("Hires are not measured: without a measured ramp, what a new hire books in the period is "
                            "unknown. The reps of today are counted as ramped.")
        return result
    result.hires_by_month = pd.DataFrame(hires).astype({"hires_needed": "Int64"})
    return result


def _rep_capacities(reps: pd.DataFrame, months: pd.DataFrame, rate: float, curve: pd.DataFrame,
                    monthly_attrition: float, as_of: dt.date) -> list[float]:
    """What each rep employed at the plan date books in the period (module docstring), in the
    reps' order: Σ over the months of rate × days ÷ MONTH_DAYS × ramp share × share staying.

    One array of reps × months, not a frame per rep (2 s at large for 1,800 reps); each rep's
    months are added up alone, in order, as a column of one rep was: the same sums."""
    month_numbers = months["month_number"].to_numpy(dtype="int64")
    days = months["days"].to_numpy(dtype="int64")
    hires = pd.to_datetime(reps["hire_date"])
    hire_numbers = (hires.dt.year * 12 + hires.dt.month).to_numpy(dtype="float64")  # NaN: no hire date
    since = month_numbers[None, :] - hire_numbers[:, None]
    ahead = month_numbers - (as_of.year * 12 + as_of.month)
    staying = np.broadcast_to((1 - monthly_attrition) ** ahead.clip(min=0), since.shape).copy()
    leaving = pd.to_datetime(reps["left_on"])
    known = leaving.notna().to_numpy()
    if known.any():  # a known leaving date: there until that day, no other attrition
        starts, ends = (bounds.to_numpy(dtype="datetime64[ns]") for bounds in month_bounds(months["month"]))
        left = leaving[known].to_numpy(dtype="datetime64[ns]")[:, None]
        present = (np.where(ends <= left, ends, left) - starts) // np.timedelta64(1, "D") + 1  # whole days, floored
        staying[known] = np.minimum(present.clip(min=0) / days, 1)
    amounts = rate * days / MONTH_DAYS * _share_at(curve, since) * staying
    return [float(row.sum()) for row in amounts]


def _hire_capacity(hire_number: int, months: pd.DataFrame, rate: float, curve: pd.DataFrame,
                   monthly_attrition: float) -> float:
    """What one rep hired on the first day of month ``hire_number`` books in the period."""
    since = months["month_number"] - hire_number
    staying = (1 - monthly_attrition) ** since.clip(lower=0)
    return float((rate * months["days"] / MONTH_DAYS * _share_at(curve, since) * staying).sum())


@metric(default_period="next_fiscal_quarter")
def hiring_plan(dataset: Dataset, period: Period | None = None, *, where: Selection, **plan_options) -> Staffing:
    """The people side of the plan of the period (a :class:`Staffing`): ``plan_options`` are
    :func:`salesnb.metrics.planning.plan`'s (target, growth, repeat_revenue, simulations, seed)."""
    return staffing(dataset, planning.plan(dataset, period, where=where, **plan_options), where=where)
