"""Engine benchmark: the kit's Ibis-on-DuckDB metrics against a plain pandas baseline.

Both compute the same conversion numbers (win rate by rep, sales cycle, stage funnel from
history) on the same generated dataset, each in its own process so peak memory is its own.
The comparison is within one run on one machine: timings on shared machines are noisy,
so read the ratio, not the seconds, and never turn this into a test assertion.

    python benchmarks/bench_engine.py [--scale small|medium|large] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START, END = "2025-01-01", "2025-12-31"


def run_ibis(folder: str) -> dict:
    import datetime as dt

    from salesnb import open_dataset
    from salesnb.data.periods import Period
    from salesnb.metrics import conversion, funnel

    period = Period(dt.date.fromisoformat(START), dt.date.fromisoformat(END))
    dataset = open_dataset(folder)
    by_rep = conversion.win_rates(dataset, period, by="rep")
    cycle = conversion.sales_cycle(dataset, period).iloc[0]
    stages = funnel.stage_funnel(dataset, period)
    return {"reps": len(by_rep), "median_cycle": float(cycle["median_days"]),
            "reached_second_stage": int(stages["reached"].iloc[1])}


def _read(folder: Path, name: str):
    import pandas as pd

    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    return pd.read_parquet(parquet) if parquet.exists() else pd.read_csv(csv)


def run_pandas(folder: str) -> dict:
    import pandas as pd

    from salesnb.data.playbook import load_playbook

    folder = Path(folder)
    playbook = load_playbook()
    opportunities = _read(folder, "opportunities")
    history = _read(folder, "opportunity_history")
    for column in ("created_at", "close_date"):
        opportunities[column] = pd.to_datetime(opportunities[column])
    start, end = pd.Timestamp(START), pd.Timestamp(END)
    won_stage, lost_stage = playbook.won_stages[0], playbook.lost_stages[0]
    closed = opportunities[opportunities["stage"].isin([won_stage, lost_stage]) & opportunities["close_date"].between(start, end)]
    by_rep = closed.assign(is_won=closed["stage"] == won_stage).groupby("rep_id")["is_won"].agg(["sum", "count"])
    won = closed[closed["stage"] == won_stage]
    median_cycle = (won["close_date"] - won["created_at"]).dt.days.median()
    position = {name: index for index, name in enumerate(playbook.open_stages)}
    position[won_stage] = len(playbook.open_stages)
    cohort = opportunities[opportunities["created_at"].between(start, end)]
    stages = pd.concat([history[["opportunity_id", "stage"]], cohort[["opportunity_id", "stage"]]])
    stages = stages[stages["opportunity_id"].isin(cohort["opportunity_id"])]
    furthest = stages["stage"].map(position).groupby(stages["opportunity_id"]).max()
    furthest = furthest.reindex(cohort["opportunity_id"]).fillna(0)
    return {"reps": len(by_rep), "median_cycle": float(median_cycle), "reached_second_stage": int((furthest >= 1).sum())}


def _child(engine: str, folder: str) -> None:
    # Imports are not what is compared: load them before the clock starts.
    import pandas  # noqa: F401

    import salesnb.metrics.conversion  # noqa: F401
    import salesnb.metrics.funnel  # noqa: F401

    started = time.perf_counter()
    result = (run_ibis if engine == "ibis" else run_pandas)(folder)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"engine": engine, "seconds": elapsed, "peak_mb": peak_mb, "result": result}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "data"
        started = time.perf_counter()
        # In its own process: a child forked from a process that held the generated data
        # would inherit its peak memory (ru_maxrss) and spoil the comparison.
        subprocess.run([sys.executable, "-c", "import sys; from salesnb.data.sample import generate_sample; "
                        "generate_sample(sys.argv[1], seed=42, scale=sys.argv[2])", str(folder), args.scale],
                       check=True, cwd=str(ROOT))
        print(f"generated {args.scale} sample in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, "SALESNB_CACHE_DIR": str(Path(scratch) / "cache")}
        # Warm the Parquet cache once so every timed ibis run measures the metrics, not the CSV conversion.
        subprocess.run([sys.executable, __file__, "--child", "ibis", str(folder)], env=env, check=True, capture_output=True)
        rows = []
        for _ in range(args.repeat):
            for engine in ("ibis", "pandas"):
                out = subprocess.run([sys.executable, __file__, "--child", engine, str(folder)], env=env,
                                     check=True, capture_output=True, text=True).stdout
                rows.append(json.loads(out.strip().splitlines()[-1]))
        best = {engine: min((r for r in rows if r["engine"] == engine), key=lambda r: r["seconds"]) for engine in ("ibis", "pandas")}
        assert best["ibis"]["result"]["reps"] == best["pandas"]["result"]["reps"], "engines disagree"
        assert abs(best["ibis"]["result"]["median_cycle"] - best["pandas"]["result"]["median_cycle"]) < 1e-9, "engines disagree"
        assert best["ibis"]["result"]["reached_second_stage"] == best["pandas"]["result"]["reached_second_stage"], "engines disagree"
        for engine, row in best.items():
            print(f"{engine:7s} best of {args.repeat}: {row['seconds']:.2f} s, peak {row['peak_mb']:.0f} MB")
        print(f"speed-up ibis/duckdb vs pandas: {best['pandas']['seconds'] / best['ibis']['seconds']:.2f}x; "
              f"memory ratio: {best['ibis']['peak_mb'] / best['pandas']['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
