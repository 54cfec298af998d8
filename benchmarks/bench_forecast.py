"""Forecast benchmark: the pipeline review's Monte Carlo forecast and its backtest.

Times, on a generated sample, what 03_pipeline_review computes for the forecast: the
forecast of the default target period and the backtest over the last 6 periods, each with
the given number of simulations, after the dataset is opened and validated (not timed).
Timings on shared machines are noisy: run it on a quiet machine, and never turn it into a
test assertion.

    python benchmarks/bench_forecast.py [--scale medium] [--simulations 2000] [--data DIR]
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
    from salesnb.data.sample import generate_sample
    from salesnb.metrics import backtest, forecast

    with tempfile.TemporaryDirectory(prefix="salesnb-bench-") as scratch:
        os.environ.setdefault("SALESNB_CACHE_DIR", str(Path(scratch) / "cache"))
        folder = arguments.data
        if folder is None:
            folder = Path(scratch) / "data"
            generate_sample(folder, seed=42, scale=arguments.scale)
        dataset = open_dataset(folder)

        # The review's target: the fiscal quarter open at the data's date (both metrics' default period).
        began = time.perf_counter()
        result = forecast.forecast(dataset, simulations=arguments.simulations)
        forecast_seconds = time.perf_counter() - began
        period = result.period
        began = time.perf_counter()
        scores = backtest.summary(backtest.backtest(dataset, period, simulations=arguments.simulations))
        backtest_seconds = time.perf_counter() - began

    print(json.dumps({
        "data": f"folder {arguments.data}" if arguments.data else f"sample, scale {arguments.scale}, seed 42",
        "simulations": arguments.simulations,
        "open_deals": len(result.open_deals), "target_period": period.label(), "backtest_periods": scores["periods"],
        "forecast_seconds": round(forecast_seconds, 1), "backtest_seconds": round(backtest_seconds, 1),
        "total_seconds": round(forecast_seconds + backtest_seconds, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }, indent=2))


if __name__ == "__main__":
    main()
