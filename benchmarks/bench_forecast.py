"""Forecast benchmark: the pipeline review's Monte Carlo forecast and its backtest.

Times, on a generated sample, what 03_pipeline_review computes for the forecast: the
forecast of the default target period and the backtest over the last 6 periods, each with
the given number of simulations, after the dataset is opened and validated (not timed), and
the process's peak memory (resident set) after each. Timings on shared machines are noisy:
run it on a quiet machine, and never turn it into a test assertion.

    python benchmarks/bench_forecast.py [--scale medium] [--simulations 2000] [--data DIR]
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

    from salesnb.metrics import backtest, forecast

    with opened_dataset(arguments) as dataset:

        # The review's target: the fiscal quarter open at the data's date (both metrics' default period).
        began = time.perf_counter()
        result = forecast.forecast(dataset, simulations=arguments.simulations)
        forecast_seconds = time.perf_counter() - began
        forecast_peak = peak_mb_self()
        period = result.period
        began = time.perf_counter()
        scores = backtest.summary(backtest.backtest(dataset, period, simulations=arguments.simulations))
        backtest_seconds = time.perf_counter() - began

    print(json.dumps({
        "data": data_label(arguments),
        "simulations": arguments.simulations,
        "open_deals": len(result.open_deals), "target_period": period.label(), "backtest_periods": scores["periods"],
        "forecast_seconds": round(forecast_seconds, 1), "backtest_seconds": round(backtest_seconds, 1),
        "total_seconds": round(forecast_seconds + backtest_seconds, 1),
        "peak_mb_after_forecast": round(forecast_peak), "peak_mb": round(peak_mb_self()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }, indent=2))


if __name__ == "__main__":
    main()
