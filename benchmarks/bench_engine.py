"""Engine benchmark: the kit's metric layer (Ibis on DuckDB) against a plain pandas
baseline and against hand-written DuckDB SQL for the same metrics.

All three compute the same conversion numbers (win rate by rep, sales cycle, stage funnel
from history) on the same generated dataset, each in its own process so peak memory is its
own, alternating so load changes hit all alike; their results must agree. The comparison is
within one run on one machine: timings on shared machines are noisy, so read the ratios,
not the seconds, and never turn this into a test assertion.

    python benchmarks/bench_engine.py [--scale small|medium|large|xlarge] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
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
    return {"reps": len(by_rep), "median_cycle": float(cycle["median_sales_cycle_days"]),
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


def _source(folder: Path, name: str) -> str:
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    return f"read_parquet('{parquet}')" if parquet.exists() else f"read_csv('{csv}', header = true)"


def run_sql(folder: str) -> dict:
    """The same three numbers as one hand-written DuckDB SQL script (what an analyst fluent
    in SQL would write against the files, with no typing or validation)."""
    import duckdb

    from salesnb.data.playbook import load_playbook

    folder = Path(folder)
    playbook = load_playbook()
    won, lost = playbook.won_stages[0], playbook.lost_stages[0]
    positions = " ".join(f"WHEN '{name}' THEN {index}" for index, name in enumerate(playbook.open_stages))
    positions += f" WHEN '{won}' THEN {len(playbook.open_stages)}"
    connection = duckdb.connect()
    connection.execute(f"CREATE VIEW opportunities AS SELECT * FROM {_source(folder, 'opportunities')}")
    connection.execute(f"CREATE VIEW history AS SELECT * FROM {_source(folder, 'opportunity_history')}")
    window = f"BETWEEN DATE '{START}' AND DATE '{END}'"
    reps = connection.execute(f"""
        SELECT count(*) FROM (
            SELECT rep_id, sum((stage = '{won}')::INT) AS won, count(*) AS closed FROM opportunities
            WHERE stage IN ('{won}', '{lost}') AND close_date::DATE {window} GROUP BY rep_id)""").fetchone()[0]
    median_cycle = connection.execute(f"""
        SELECT median(close_date::DATE - created_at::DATE) FROM opportunities
        WHERE stage = '{won}' AND close_date::DATE {window}""").fetchone()[0]
    reached = connection.execute(f"""
        WITH cohort AS (SELECT opportunity_id, stage FROM opportunities WHERE created_at::DATE {window}),
        stages AS (SELECT opportunity_id, stage FROM cohort
                   UNION ALL SELECT h.opportunity_id, h.stage FROM history h SEMI JOIN cohort USING (opportunity_id)),
        furthest AS (SELECT opportunity_id, coalesce(max(CASE stage {positions} END), 0) AS position
                     FROM stages GROUP BY opportunity_id)
        SELECT count(*) FROM furthest WHERE position >= 1""").fetchone()[0]
    return {"reps": int(reps), "median_cycle": float(median_cycle), "reached_second_stage": int(reached)}


ENGINES = {"ibis": run_ibis, "pandas": run_pandas, "sql": run_sql}


def _child(engine: str, folder: str) -> None:
    # Imports are not what is compared: load them before the clock starts.
    import pandas  # noqa: F401

    import duckdb  # noqa: F401

    import salesnb.metrics.conversion  # noqa: F401
    import salesnb.metrics.funnel  # noqa: F401

    started = time.perf_counter()
    result = ENGINES[engine](folder)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"engine": engine, "seconds": elapsed, "peak_mb": peak_mb, "result": result}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large", "xlarge"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import environment, machine_note, sample_folder

    folder = sample_folder(args.scale)
    print(f"# {machine_note()}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        env = environment(SALESNB_CACHE_DIR=Path(scratch) / "cache")
        # Warm the Parquet cache once so every timed ibis run measures the metrics, not the conversion.
        subprocess.run([sys.executable, __file__, "--child", "ibis", str(folder)], env=env, check=True, capture_output=True)
        rows = []
        for _ in range(args.repeat):
            for engine in ENGINES:
                out = subprocess.run([sys.executable, __file__, "--child", engine, str(folder)], env=env,
                                     check=True, capture_output=True, text=True).stdout
                rows.append(json.loads(out.strip().splitlines()[-1]))
                print(json.dumps(rows[-1]), flush=True)
    best = {engine: min((r for r in rows if r["engine"] == engine), key=lambda r: r["seconds"]) for engine in ENGINES}
    for engine in ("pandas", "sql"):
        ours, theirs = best["ibis"]["result"], best[engine]["result"]
        assert ours["reps"] == theirs["reps"], f"ibis and {engine} disagree"
        assert abs(ours["median_cycle"] - theirs["median_cycle"]) < 1e-9, f"ibis and {engine} disagree"
        assert ours["reached_second_stage"] == theirs["reached_second_stage"], f"ibis and {engine} disagree"
    summary = {"bench": "engine", "scale": args.scale, "repeat": args.repeat, "machine": machine_note(),
               **{f"{engine}_seconds": row["seconds"] for engine, row in best.items()},
               **{f"{engine}_peak_mb": row["peak_mb"] for engine, row in best.items()},
               "speedup_vs_pandas": best["pandas"]["seconds"] / best["ibis"]["seconds"],
               "ratio_to_sql": best["ibis"]["seconds"] / best["sql"]["seconds"]}
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
