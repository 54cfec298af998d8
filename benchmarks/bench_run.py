"""`salesnb run` on a sample against its floor: the same runner executing the same
notebooks reduced to their imports (kernel start, imports, papermill, HTML export; no data
work). The ratio is what the kit's own work costs on top of what any notebook run pays.

    python benchmarks/bench_run.py [--scale small] [--repeat 3] [--jobs N] [--no-warm-up]

Each run is its own process; the two kinds alternate so load changes hit both alike.
Prints one JSON line per figure and a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, machine_note, median_of, sample_folder, timed  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"


def imports_only(source: Path, target: Path) -> None:
    """The notebook with its title, its parameters cell and one cell of its import lines."""
    import nbformat

    notebook = nbformat.read(str(source), as_version=4)
    kept, imports = [], []
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and not kept:
            kept.append(cell)
        elif cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            kept.append(cell)
        elif cell.cell_type == "code":
            imports += [line for line in cell.source.splitlines() if line.startswith(("import ", "from "))]
    kept.append(nbformat.v4.new_code_cell("\n".join(imports), id="imports-only"))
    notebook.cells = kept
    nbformat.write(notebook, str(target))


RUN = ("import sys, json; from salesnb.report.runner import run_reports; "
       "result = run_reports(sys.argv[1], out=sys.argv[2], notebooks_dir=sys.argv[3] or None, "
       "**({'jobs': int(sys.argv[4])} if sys.argv[4] else {})); "
       "print(json.dumps({r.name: r.duration for r in result.results})); sys.exit(0 if result.ok else 1)")


def run_once(data: Path, scratch: Path, notebooks_dir: Path | None, jobs: int | None, label: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=scratch))
    out.rmdir()
    result = timed([sys.executable, "-c", RUN, str(data), str(out), str(notebooks_dir or ""), str(jobs or "")])
    durations = json.loads(result["stdout"].strip().splitlines()[-1])
    return {"kind": label, "seconds": result["seconds"], "peak_mb": result["peak_mb"], "notebooks": durations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None, help="default: the runner's default")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="the cache ($SALESNB_CACHE_DIR) is warm already: no first run to fill it "
                             "(run_all.py has just run every notebook on it)")
    args = parser.parse_args()
    data = sample_folder(args.scale)
    print(f"# {machine_note()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="salesnb-bench-run-") as scratch:
        scratch = Path(scratch)
        floor_dir = scratch / "floor"
        floor_dir.mkdir()
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            imports_only(path, floor_dir / path.name)
        if not args.no_warm_up:
            run_once(data, scratch, None, args.jobs, "warm-up")  # fills the cache entry and its kept tables once
        rows = []
        for _ in range(args.repeat):
            rows.append(run_once(data, scratch, None, args.jobs, "run"))
            rows.append(run_once(data, scratch, floor_dir, args.jobs, "floor"))
            print(json.dumps(rows[-2]), flush=True)
            print(json.dumps(rows[-1]), flush=True)
    runs = [row for row in rows if row["kind"] == "run"]
    floors = [row for row in rows if row["kind"] == "floor"]
    run_s, floor_s = median_of(runs, "seconds"), median_of(floors, "seconds")
    summary = {"bench": "run", "scale": args.scale, "jobs": args.jobs, "run_seconds": run_s, "floor_seconds": floor_s,
               "ratio": run_s / floor_s, "run_peak_mb": max(r["peak_mb"] for r in runs),
               "notebook_seconds": {name: median_of([{"s": r["notebooks"][name]} for r in runs], "s")
                                    for name in runs[0]["notebooks"]},
               "machine": machine_note()}
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
