"""Engine benchmark: the kit's metric layer (Ibis on DuckDB) against a plain pandas
baseline and against hand-written DuckDB SQL for the same metrics.

The metric layer returns three whole tables (win rates by rep, the sales cycle, the stage
funnel with where lost deals were lost); the SQL script computes every column of the same
tables and must agree with them cell by cell (1e-9), so the comparison is like for like.
The pandas baseline computes three numbers of them (reps ranked, median cycle, deals that
reached the second stage), checked against the metric layer's. Each runs in its own
process so peak memory is its own, alternating so load changes hit all alike. The comparison is
within one run on one machine: timings on shared machines are noisy, so read the ratios,
not the seconds, and never turn this into a test assertion.

    python benchmarks/bench_engine.py [--scale small|medium|large|xlarge] [--repeat 3] [--rebuild-kept]

The metric layer reads the deals with their owners from the table the kit keeps in the cache,
and its queries' SQL from the cache too (both written by the warm-up run); ``--rebuild-kept``
deletes both before each metric-layer run, so that side joins the deals and compiles its
queries itself, as it does on new data.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
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
    cycle = conversion.sales_cycle(dataset, period)
    stages = funnel.stage_funnel(dataset, period)
    return {"reps": len(by_rep), "median_cycle": float(cycle["median_sales_cycle_days"].iloc[0]),
            "reached_second_stage": int(stages["reached"].iloc[1]),
            "tables": {"win_rates_by_rep": _rows(by_rep), "sales_cycle": _rows(cycle), "stage_funnel": _rows(stages)}}


def _rows(frame) -> dict:
    """A result table as JSON-able columns and rows (NaN and NULL as None), to compare engines."""
    import math

    def plain(value):
        if value is None:
            return None
        if hasattr(value, "item"):
            value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value

    return {"columns": list(frame.columns), "rows": [[plain(value) for value in row] for row in frame.itertuples(index=False)]}


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
    """Every table the metric layer returns (win rates by rep, the sales cycle, the stage
    funnel with where lost deals were lost), as hand-written DuckDB SQL against the files:
    what an analyst fluent in SQL would write, with no typing, validation or selection layer.
    The same rules as the kit: the playbook's outcomes, the rep name from the reps table
    (else the rep_id), the value win rate not measured where lost amounts are zeroed, the
    last open stage of a lost deal from its history (latest change, ties by position)."""
    import duckdb

    from salesnb.data.playbook import load_playbook
    from salesnb.data.validate import ZEROED_LOST_AMOUNT_SHARE
    from salesnb.metrics.funnel import UNKNOWN_STAGE

    folder = Path(folder)
    playbook = load_playbook()
    won_in = ", ".join(f"'{name}'" for name in playbook.won_stages)
    lost_in = ", ".join(f"'{name}'" for name in playbook.lost_stages)
    open_in = ", ".join(f"'{name}'" for name in playbook.open_stages)
    stages = [*playbook.open_stages, playbook.won_stages[0]]
    position = " ".join(f"WHEN stage = '{name}' THEN {index}" for index, name in enumerate(playbook.open_stages))
    position = f"CASE {position} WHEN stage IN ({won_in}) THEN {len(playbook.open_stages)} END"
    connection = duckdb.connect()
    connection.execute(f"CREATE VIEW opportunities AS SELECT * FROM {_source(folder, 'opportunities')}")
    connection.execute(f"CREATE VIEW history AS SELECT * FROM {_source(folder, 'opportunity_history')}")
    connection.execute(f"CREATE VIEW reps AS SELECT * FROM {_source(folder, 'reps')}")
    connection.execute(f"""CREATE VIEW deals AS
        SELECT o.*, CASE WHEN stage IN ({won_in}) THEN 'won' WHEN stage IN ({lost_in}) THEN 'lost' ELSE 'open' END AS outcome,
               coalesce(r.rep_name, o.rep_id) AS rep_name
        FROM opportunities o LEFT JOIN reps r USING (rep_id)""")
    window = f"BETWEEN DATE '{START}' AND DATE '{END}'"
    value_measured = connection.execute(f"""
        SELECT NOT (count(*) FILTER (stage IN ({lost_in})) > 0
                    AND count(*) FILTER (stage IN ({won_in}) AND amount > 0) > 0
                    AND count(*) FILTER (stage IN ({lost_in}) AND (amount IS NULL OR amount = 0))
                        >= {ZEROED_LOST_AMOUNT_SHARE} * count(*) FILTER (stage IN ({lost_in})))
        FROM opportunities""").fetchone()[0]
    by_rep = connection.execute(f"""
        WITH closed AS (SELECT * FROM deals WHERE outcome <> 'open' AND close_date::DATE {window}),
        counts AS (
            SELECT rep_id, rep_name, count(*) FILTER (outcome = 'won') AS won, count(*) FILTER (outcome = 'lost') AS lost,
                   sum(amount) FILTER (outcome = 'won') AS won_amount, sum(amount) FILTER (outcome = 'lost') AS lost_amount,
                   count(*) FILTER (outcome = 'lost' AND amount IS NULL) AS lost_without_amount,
                   count(*) FILTER (amount IS NULL) AS closed_without_amount
            FROM closed GROUP BY rep_id, rep_name)
        SELECT rep_id, rep_name, won, lost, won_amount::DOUBLE AS won_amount, lost_amount::DOUBLE AS lost_amount,
               lost_without_amount, closed_without_amount, won + lost AS closed,
               CASE WHEN won + lost > 0 THEN won / (won + lost) END::DOUBLE AS win_rate,
               CASE WHEN won + lost > closed_without_amount AND coalesce(won_amount, 0) + coalesce(lost_amount, 0) > 0
                         AND {bool(value_measured)}
                    THEN coalesce(won_amount, 0) / (coalesce(won_amount, 0) + coalesce(lost_amount, 0)) END::DOUBLE
                   AS win_rate_by_value,
               won + lost >= {playbook.min_deals_for_ranking} AS ranked
        FROM counts ORDER BY closed DESC, rep_id, rep_name""").fetchall()
    by_rep_columns = ["rep_id", "rep_name", "won", "lost", "won_amount", "lost_amount", "lost_without_amount",
                      "closed_without_amount", "closed", "win_rate", "win_rate_by_value", "ranked"]
    cycle = connection.execute(f"""
        WITH won AS (SELECT close_date::DATE - created_at::DATE AS days FROM deals
                     WHERE outcome = 'won' AND close_date::DATE {window} AND created_at IS NOT NULL)
        SELECT count(*), median(days), quantile_cont(days, 0.75), avg(days), stddev_samp(days) FROM won""").fetchall()
    cycle_columns = ["won_with_cycle", "median_sales_cycle_days", "p75_sales_cycle_days", "mean_sales_cycle_days",
                     "std_sales_cycle_days"]
    aggregates = []
    for index, stage in enumerate(stages):
        aggregates.append(f"count(*) FILTER (furthest >= {index})")
        aggregates.append(f"count(*) FILTER (outcome = 'open' AND current_position = {index})")
        aggregates.append(f"count(*) FILTER (outcome = 'lost' AND lost_at_stage = '{stage}')")
    counts = connection.execute(f"""
        WITH cohort AS (SELECT opportunity_id, stage, outcome, {position} AS current_position FROM deals
                        WHERE created_at::DATE {window}),
        cohort_history AS (SELECT opportunity_id, changed_at, stage, {position} AS position
                           FROM history SEMI JOIN cohort USING (opportunity_id)),
        furthest AS (SELECT opportunity_id, max(position) AS history_furthest FROM cohort_history GROUP BY opportunity_id),
        last_open AS (SELECT opportunity_id, stage AS last_open_stage FROM (
                          SELECT *, row_number() OVER (PARTITION BY opportunity_id ORDER BY changed_at DESC, position DESC)
                                 AS rank
                          FROM cohort_history WHERE stage IN ({open_in})) WHERE rank = 1),
        reached AS (
            SELECT c.outcome, c.current_position,
                   greatest(coalesce(c.current_position, 0), coalesce(f.history_furthest, 0)) AS furthest,
                   CASE WHEN c.outcome = 'lost' THEN coalesce(l.last_open_stage, '{UNKNOWN_STAGE}') END AS lost_at_stage
            FROM cohort c LEFT JOIN furthest f USING (opportunity_id) LEFT JOIN last_open l USING (opportunity_id))
        SELECT {", ".join(aggregates)} FROM reached""").fetchone()
    funnel_rows = []
    won = counts[3 * (len(stages) - 1)]
    for index, stage in enumerate(stages):
        reached, open_now, lost_here = counts[3 * index: 3 * index + 3]
        advanced = counts[3 * (index + 1)] if index + 1 < len(stages) else None
        last = index == len(stages) - 1
        funnel_rows.append([stage, reached, advanced, advanced / reached if advanced is not None and reached else None,
                            won / reached if reached else None, None if last else open_now, None if last else lost_here])
    funnel_columns = ["stage", "reached", "advanced", "next_step_rate", "win_rate_from_stage", "open_now", "lost_here"]
    return {"reps": len(by_rep), "median_cycle": float(cycle[0][1]), "reached_second_stage": int(funnel_rows[1][1]),
            "tables": {"win_rates_by_rep": {"columns": by_rep_columns, "rows": [list(row) for row in by_rep]},
                       "sales_cycle": {"columns": cycle_columns, "rows": [list(row) for row in cycle]},
                       "stage_funnel": {"columns": funnel_columns, "rows": funnel_rows}}}


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
    print(json.dumps({"engine": engine, "seconds": elapsed, "peak_mb": peak_mb, "result": result}, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large", "xlarge"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild-kept", action="store_true",
                        help="delete the tables and the compiled SQL the kit keeps in the cache (Dataset.derived, "
                             "salesnb.data.compiled) before each metric-layer run, so it joins the deals and compiles "
                             "its queries itself")
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
                if engine == "ibis" and args.rebuild_kept:
                    for kept in [*(Path(scratch) / "cache").glob("*/derived"), *(Path(scratch) / "cache").glob("*/queries")]:
                        shutil.rmtree(kept)
                out = subprocess.run([sys.executable, __file__, "--child", engine, str(folder)], env=env,
                                     check=True, capture_output=True, text=True).stdout
                rows.append(json.loads(out.strip().splitlines()[-1]))
                print(json.dumps({key: value for key, value in rows[-1].items() if key != "result"}), flush=True)
    best = {engine: min((r for r in rows if r["engine"] == engine), key=lambda r: r["seconds"]) for engine in ENGINES}
    for engine in ("pandas", "sql"):
        ours, theirs = best["ibis"]["result"], best[engine]["result"]
        assert ours["reps"] == theirs["reps"], f"ibis and {engine} disagree"
        assert abs(ours["median_cycle"] - theirs["median_cycle"]) < 1e-9, f"ibis and {engine} disagree"
        assert ours["reached_second_stage"] == theirs["reached_second_stage"], f"ibis and {engine} disagree"
    for name, ours in best["ibis"]["result"]["tables"].items():
        theirs = best["sql"]["result"]["tables"][name]
        assert ours["columns"] == theirs["columns"], f"{name}: ibis and sql return different columns"
        assert len(ours["rows"]) == len(theirs["rows"]), f"{name}: ibis and sql return different rows"
        for row, (mine, other) in enumerate(zip(ours["rows"], theirs["rows"])):
            for column, a, b in zip(ours["columns"], mine, other):
                same = (a is None and b is None) or (a is not None and b is not None and (
                    a == b if isinstance(a, (str, bool)) else abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))))
                assert same, f"{name} row {row} {column}: ibis {a!r}, sql {b!r}"
    summary = {"bench": "engine", "scale": args.scale, "repeat": args.repeat, "rebuild_kept": args.rebuild_kept,
               "machine": machine_note(),
               **{f"{engine}_seconds": row["seconds"] for engine, row in best.items()},
               **{f"{engine}_peak_mb": row["peak_mb"] for engine, row in best.items()},
               "speedup_vs_pandas": best["pandas"]["seconds"] / best["ibis"]["seconds"],
               "ratio_to_sql": best["ibis"]["seconds"] / best["sql"]["seconds"]}
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
