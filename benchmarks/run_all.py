"""Every benchmark of one scale, written as a table into benchmarks/README.md (`make bench`).

    python benchmarks/run_all.py --scale small|medium|large|xlarge [--repeat N] [--only WHAT ...]

For the scale: the time and peak memory of `salesnb sample`, of `salesnb validate` (first
run into an empty cache, beside a DuckDB scan of every column of the same files in the same
round, then a second run on unchanged files), of each notebook alone, once
(`salesnb run --only NAME`, cache warm), of the whole run (default `--jobs`; with the floor
part, the floor's own runs), the run against its imports-only floor (bench_run.py, on the
cache the notebooks part warmed), and the metric layer against pandas and
hand-written DuckDB SQL (bench_engine.py). Every figure is taken in its own process; the
machine (cores, memory, load average) is written beside the table. No figure is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (ROOT, SALESNB, environment, machine_note, median_of, sample_folder, scan_command,  # noqa: E402
                    timed)

README = Path(__file__).resolve().parent / "README.md"
PARTS = ("sample", "validate", "notebooks", "floor", "engine")
WHOLE_RUN = "`salesnb run`, all notebooks, default `--jobs` (cache warm)"


def bench_sample(scale: str, scratch: Path) -> list[tuple[str, str, str]]:
    out = scratch / "generated"
    result = timed([*SALESNB, "sample", "--out", str(out), "--scale", scale, "--seed", "42"])
    shutil.rmtree(out, ignore_errors=True)
    return [(f"`salesnb sample --scale {scale}`", f"{result['seconds']:.1f} s", f"{result['peak_mb']:,.0f} MB")]


def bench_validate(folder: Path, scratch: Path, repeat: int) -> list[tuple[str, str, str]]:
    """Validate's first and second run, each first run beside its baseline in the same round: a
    DuckDB scan of every column of the same files (``common.scan_command``)."""
    first, second, scans = [], [], []
    for attempt in range(repeat):
        env = environment(SALESNB_CACHE_DIR=scratch / f"validate-cache-{attempt}")
        scans.append(timed(scan_command(folder)))
        first.append(timed([*SALESNB, "validate", "--data", str(folder)], env=env))
        second.append(timed([*SALESNB, "validate", "--data", str(folder)], env=env))
    ratio = median_of(first, "seconds") / median_of(scans, "seconds")
    scan_peak = max(r["peak_mb"] for r in scans)
    return [
        ("DuckDB scan of every column of the same files (the baseline)", f"{median_of(scans, 'seconds'):.1f} s",
         f"{scan_peak:,.0f} MB"),
        ("`salesnb validate`, first run (empty cache)",
         f"{median_of(first, 'seconds'):.1f} s ({ratio:.1f}x the scan)",
         f"{max(r['peak_mb'] for r in first):,.0f} MB"),
        ("`salesnb validate`, second run (files unchanged)", f"{median_of(second, 'seconds'):.1f} s",
         f"{max(r['peak_mb'] for r in second):,.0f} MB"),
    ]


def bench_notebooks(folder: Path, cache: Path, scratch: Path, repeat: int,
                    whole_run: bool = True) -> list[tuple[str, str, str]]:
    """Each notebook alone (once: these rows say where a run's time goes, the pairs below are
    the figures compared), then the whole run ``repeat`` times unless the floor part measures
    it (``whole_run`` False: its runs are the floor's pairs, so they are not taken twice)."""
    env = environment(SALESNB_CACHE_DIR=cache)
    timed([*SALESNB, "validate", "--data", str(folder)], env=env)  # warm the cache
    rows = []
    names = sorted(path.stem for path in (ROOT / "notebooks").glob("*.ipynb"))
    for name in names:
        run = timed([*SALESNB, "run", "--data", str(folder), "--only", name, "--jobs", "1",
                     "--out", str(scratch / name)], env=env)
        rows.append((f"`salesnb run --only {name}` (cache warm)", f"{run['seconds']:.1f} s", f"{run['peak_mb']:,.0f} MB"))
    if whole_run:
        runs = [timed([*SALESNB, "run", "--data", str(folder), "--out", str(scratch / f"all-{attempt}")], env=env)
                for attempt in range(repeat)]
        rows.append((WHOLE_RUN, f"{median_of(runs, 'seconds'):.1f} s",
                     f"{max(r['peak_mb'] for r in runs):,.0f} MB (largest process)"))
    return rows


def _script(name: str, *arguments: str, env: dict | None = None) -> dict:
    """Run a sibling benchmark script; its last line is its JSON summary."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve().parent / name), *arguments],
                          env=env or environment(), capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_floor(scale: str, cache: Path, repeat: int, warm: bool) -> list[tuple[str, str, str]]:
    """The run against its floor (bench_run.py), on the cache the notebooks part warmed when it
    ran (``warm``); the whole-run row is the median of the same runs."""
    summary = _script("bench_run.py", "--scale", scale, "--repeat", str(repeat), *(["--no-warm-up"] if warm else []),
                      env=environment(SALESNB_CACHE_DIR=cache))
    return [(WHOLE_RUN, f"{summary['run_seconds']:.1f} s", f"{summary['run_peak_mb']:,.0f} MB (largest process)"),
            ("`salesnb run` against its floor (same runner, notebooks with only their imports)",
             f"{summary['run_seconds']:.1f} s against {summary['floor_seconds']:.1f} s ({summary['ratio']:.2f}x)",
             f"{summary['run_peak_mb']:,.0f} MB")]


def bench_engine(scale: str, repeat: int) -> list[tuple[str, str, str]]:
    summary = _script("bench_engine.py", "--scale", scale, "--repeat", str(repeat))
    return [
        ("metric layer (Ibis on DuckDB), `bench_engine.py`", f"{summary['ibis_seconds']:.2f} s",
         f"{summary['ibis_peak_mb']:,.0f} MB"),
        ("the same metrics in pandas", f"{summary['pandas_seconds']:.2f} s ({summary['speedup_vs_pandas']:.1f}x the kit's time)",
         f"{summary['pandas_peak_mb']:,.0f} MB"),
        ("the same metrics as hand-written DuckDB SQL",
         f"{summary['sql_seconds']:.2f} s (the kit takes {summary['ratio_to_sql']:.2f}x)", f"{summary['sql_peak_mb']:,.0f} MB"),
    ]


def write_readme(scale: str, rows: list[tuple[str, str, str]], note: str) -> None:
    """Replace this scale's section of benchmarks/README.md (between its markers)."""
    start, end = f"<!-- bench:{scale} -->", f"<!-- /bench:{scale} -->"
    lines = [start, f"### {scale}", "", f"Measured {dt.date.today():%Y-%m-%d} on {note}.", "",
             "| what | time | peak memory |", "|---|---|---|"]
    lines += [f"| {what} | {time} | {memory} |" for what, time, memory in rows]
    lines += ["", end]
    section = "\n".join(lines)
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", choices=["small", "medium", "large", "xlarge"])
    # Two for the small scales (three took 5 min 53 s). Each notebook alone runs once and the whole
    # run's pairs are the floor's: with both taken twice, `make bench SCALE=small` took 7 min 56 s on
    # a day this machine ran 1.8x slower than the day before (a DuckDB scan 0.7 s against 0.4 s).
    parser.add_argument("--repeat", type=int, default=None, help="default: 2 for small and medium, 1 above")
    parser.add_argument("--only", nargs="+", choices=PARTS, help="run only these parts")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave README.md alone")
    args = parser.parse_args()
    repeat = args.repeat or (2 if args.scale in ("small", "medium") else 1)
    parts = args.only or [part for part in PARTS if part != "floor" or args.scale == "small"]
    note = machine_note()
    print(f"# {note}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="salesnb-bench-") as scratch:
        scratch = Path(scratch)
        if "sample" in parts:
            rows += bench_sample(args.scale, scratch)
        folder = sample_folder(args.scale)
        if "validate" in parts:
            rows += bench_validate(folder, scratch, repeat)
        cache = scratch / "run-cache"
        if "notebooks" in parts:
            rows += bench_notebooks(folder, cache, scratch, repeat, whole_run="floor" not in parts)
        if "floor" in parts:
            rows += bench_floor(args.scale, cache, repeat, warm="notebooks" in parts)
        if "engine" in parts:
            rows += bench_engine(args.scale, repeat)
    note = f"{note} (load at the end: {machine_note().split('load average ')[1].split(';')[0]})"
    for row in rows:
        print(" | ".join(row), flush=True)
    if not args.no_write:
        write_readme(args.scale, rows, note)
        print(f"written into {README}")


if __name__ == "__main__":
    main()
