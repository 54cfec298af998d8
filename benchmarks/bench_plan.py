"""Plan benchmark: what 06_plan computes (the plan, its people side, the levers and the
plan's backtest) on a generated sample.

Times, after the dataset is opened and validated (not timed), each step of the plan with
the given number of simulations (with the process's peak memory, resident set, after each),
and the forecast engine alone on the same period as the baseline of the same run (the plan's
simulation is the forecast's: what the plan adds is the rest). Timings on shared machines
are noisy: read the ratio, and never turn it into a test assertion. The issue's target: the
plan with 2,000 simulations on `medium` in under 20 s.

    python benchmarks/bench_plan.py [--scale medium] [--simulations 2000] [--data DIR]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import data_label, dataset_arguments, opened_dataset, peak_mb_self  # noqa: E402


def main() -> None:
    arguments = dataset_arguments(__doc__, simulations=True)

    from salesnb.data.periods import parse_period
    from salesnb.data.selection import EVERYTHING
    from salesnb.metrics import forecast, hiring, levers, plan_backtest, planning

    with opened_dataset(arguments) as dataset:
        period = parse_period("next_fiscal_quarter", as_of=dataset.as_of,
                              fiscal_year_start_month=dataset.playbook.fiscal_year_start_month)
        seconds, peak_mb = {}, {}

        def timed(name, step):
            began = time.perf_counter()
            value = step()
            seconds[name] = round(time.perf_counter() - began, 1)
            peak_mb[name] = round(peak_mb_self())  # the peak so far: it never goes down
            return value

        timed("forecast_alone", lambda: forecast.forecast(dataset, period, as_of=dataset.as_of,
                                                          simulations=arguments.simulations))
        plan = timed("plan", lambda: planning.plan(dataset, period, where=EVERYTHING,
                                                   simulations=arguments.simulations))
        people = timed("people", lambda: hiring.staffing(dataset, plan, where=EVERYTHING))
        timed("levers", lambda: levers.lever_table(dataset, period, where=EVERYTHING, plan=plan, staffing=people))
        checked = timed("backtest", lambda: plan_backtest.summary(plan_backtest.plan_backtest(
            dataset, period, where=EVERYTHING, simulations=arguments.simulations)))

    total = sum(value for name, value in seconds.items() if name != "forecast_alone")
    print(json.dumps({
        "data": data_label(arguments),
        "simulations": arguments.simulations, "plan_period": period.label(),
        "backtest_periods": checked["periods"], "seconds": seconds, "plan_total_seconds": round(total, 1),
        "peak_mb_after": peak_mb,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
                   f"Python {platform.python_version()}",
    }, indent=2))


if __name__ == "__main__":
    main()
