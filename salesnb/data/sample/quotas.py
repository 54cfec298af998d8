"""Quotas per rep and quarter, calibrated on what the established reps actually booked."""

import numpy as np
import pandas as pd

from salesnb.data.sample.arrays import round_to
from salesnb.data.sample.deals import WON
from salesnb.data.sample.people import TEAMS
from salesnb.data.sample.timeline import SNAPSHOT_DATE, START_DATE


def make_quotas(reps, deals, current):
    """Quota per rep and calendar quarter, from the quarter of hire, ramped over three
    quarters. The full quota is 105% of what established reps of the team booked per
    quarter in the same year, so team attainment lands around 80-100% although bookings
    grow from one year to the next, and most reps miss their quota while some beat it.
    Quotas are set ahead: the quarter after the snapshot has its quotas too, planned on the
    last booked year (the pipeline review's coverage needs them)."""
    quarters = pd.period_range(START_DATE, SNAPSHOT_DATE, freq="Q")
    quarters = quarters.append(pd.PeriodIndex([quarters[-1] + 1]))
    starts = np.array([(q.start_time.date() - START_DATE).days for q in quarters], float)
    ends = np.array([(q.end_time.date() - START_DATE).days for q in quarters], float)
    sellers = np.flatnonzero(~reps["is_manager"])
    rep = np.repeat(sellers, len(quarters))
    quarter = np.tile(np.arange(len(quarters)), len(sellers))
    tenure = starts[quarter] - reps["hire_day"][rep]  # days at the start of the quarter
    ramp = np.select([tenure < 0, tenure < 91, tenure < 182, tenure < 273], [0.25, 0.25, 0.5, 0.75], 1.0)
    employed = reps["hire_day"][rep] <= ends[quarter]

    won = current["stage"] == WON
    won_quarter = np.searchsorted(starts, deals["closed_at"][won], side="right") - 1
    booked = pd.DataFrame({"rep": deals["rep"][won], "quarter": won_quarter, "amount": current["amount"][won]})
    booked = booked.groupby(["rep", "quarter"])["amount"].sum()
    year = np.array([q.year for q in quarters])[quarter]
    frame = pd.DataFrame({"rep": rep, "quarter": quarter, "ramp": ramp, "team": reps["team_index"][rep], "year": year})
    frame["booked"] = booked.reindex(pd.MultiIndex.from_arrays([frame["rep"], frame["quarter"]])).fillna(0).to_numpy()
    # Calibrated on the quarters that were booked; the quarter after the snapshot is planned
    # on the last booked year's bookings.
    established = frame[(frame["ramp"] == 1.0) & (frame["quarter"] < len(quarters) - 1)]
    per_team_year = established.groupby(["team", "year"])["booked"].mean()
    per_year = established.groupby("year")["booked"].mean()
    plan_year = np.minimum(frame["year"].to_numpy(), quarters[-2].year)
    keys = pd.MultiIndex.from_arrays([frame["team"], plan_year])
    typical = per_team_year.reindex(keys).to_numpy()
    typical = np.where(np.isnan(typical), per_year.reindex(plan_year).to_numpy(), typical)
    full = round_to(typical * 1.05, 5_000.0)
    frame["amount"] = round_to(full * frame["ramp"].to_numpy(), 1_000.0)
    frame["start"], frame["end"] = starts[quarter], ends[quarter]
    return frame[employed].reset_index(drop=True)
