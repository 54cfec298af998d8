"""Plan benchmark: what 06_plan computes (the plan, its people side, the levers and the
plan's backtest) on a generated sample.

Times, after the dataset is opened and validated (not timed), each step of the plan with
the given number of simulations, and the forecast engine alone on the same period as the
baseline of the same run (the plan's simulation is the forecast's: what the plan adds is
the rest). Timings on shared machines are noisy: read the ratio, and never turn it into a
test assertion. The issue's target: the plan with 2,000 simulations on `medium` in under 20 s.

    python benchmarks/bench_plan.py [--scale medium] [--simulations 2000] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--simulations", type=int, default=2000)
    parser.add_argument("--data", help="an existing dataset folder instead of generating the sample")
    arguments = parser.parse_args()

    from salesnb import open_dataset
    from salesnb.data.periods import parse_period
    from salesnb.data.sample import generate_sample
    from salesnb.data.selection import EVERYTHING
    from salesnb.metrics import forecast, hiring, levers, plan_backtest, planning

    with tempfile.TemporaryDirectory(prefix="salesnb-bench-") as scratch:
        os.environ.setdefault("SALESNB_CACHE_DIR", str(Path(scratch) / "cache"))
        folder = arguments.data
        if folder is None:
            folder = Path(scratch) / "data"
            generate_sample(folder, seed=42, scale=arguments.scale)
        dataset = open_dataset(folder)
        period = parse_period("next_fiscal_quarter", as_of=dataset.as_of,
                              fiscal_year_start_month=dataset.playbook.fiscal_year_start_month)
        seconds = {}

        def timed(name, step):
            began = time.perf_counter()
            value = step()
            seconds[name] = round(time.perf_counter() - began, 1)
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
        "data": f"folder {arguments.data}" if arguments.data else f"sample, scale {arguments.scale}, seed 42",
        "simulations": arguments.simulations, "plan_period": period.label(),
        "backtest_periods": checked["periods"], "seconds": seconds, "plan_total_seconds": round(total, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
                   f"Python {platform.python_version()}",
    }, indent=2))


if __name__ == "__main__":
    main()
