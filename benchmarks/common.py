"""What every benchmark script shares: the machine note, timing a command in its own
process with its peak memory, medians, the sample data of a scale, and the arguments and
scratch dataset of the in-process benchmarks (forecast, plan, scoring).

Timings on a shared machine are noisy: every figure is taken in the same run as what it is
compared with, each engine or command in its own process, and the machine's load is noted.
Nothing here is a test: no figure is ever asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SALESNB = [sys.executable, "-m", "salesnb.cli"]


def machine_note() -> str:
    """Cores, memory, load average and versions: printed with every set of figures."""
    import duckdb
    import ibis

    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (f"{os.cpu_count()} cores, {memory_gb:.0f} GB, load average {load}; Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}, Ibis {ibis.__version__}")


def environment(**extra) -> dict:
    """The child's environment: this checkout first on the import path."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **{key: str(value) for key, value in extra.items()}}


def timed(command: list[str], env: dict | None = None, cwd: Path | None = None) -> dict:
    """Run ``command`` to completion in its own process: wall seconds, and the peak resident
    memory (MB) of the largest process it started (itself or a child such as a kernel)."""
    # ru_maxrss of RUSAGE_CHILDREN is the largest of the children waited for so far: take the
    # figure in a fresh helper process so earlier commands do not count.
    helper = (
        "import json, resource, subprocess, sys, time\n"
        "started = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "seconds = time.perf_counter() - started\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': seconds, 'peak_mb': peak, 'code': done.returncode,"
        " 'stdout': done.stdout[-4000:], 'stderr': done.stderr[-4000:]}))\n"
    )
    finished = subprocess.run([sys.executable, "-c", helper, *command], env=env or environment(),
                              cwd=str(cwd or ROOT), capture_output=True, text=True, check=True)
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result['code']}):\n{result['stderr']}")
    return result


# A DuckDB scan of every column of every table file of a folder, in its own process: the floor
# of anything that reads the data once (validate's first run is compared with it). Each
# column is hashed and folded (bit_xor), so every value is read and nothing is answered from
# the Parquet statistics; a CSV is read as text, as the kit reads it.
SCAN_SCRIPT = (
    "import duckdb, sys\n"
    "from pathlib import Path\n"
    "connection = duckdb.connect()\n"
    "for path in sorted(Path(sys.argv[1]).iterdir()):\n"
    "    if path.suffix == '.parquet':\n"
    "        source = f\"read_parquet('{path}')\"\n"
    "    elif path.suffix == '.csv':\n"
    "        source = f\"read_csv('{path}', all_varchar=true, header=true)\"\n"
    "    else:\n"
    "        continue\n"
    "    columns = [row[0] for row in connection.execute(f'DESCRIBE SELECT * FROM {source}').fetchall()]\n"
    "    folded = ', '.join(f'bit_xor(hash(\"{column}\"))' for column in columns)\n"
    "    connection.execute(f'SELECT count(*), {folded} FROM {source}').fetchall()\n"
)


def scan_command(folder: Path) -> list[str]:
    """The command that scans every column of ``folder``'s table files with DuckDB (``SCAN_SCRIPT``)."""
    return [sys.executable, "-c", SCAN_SCRIPT, str(folder)]


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def sample_folder(scale: str, data_root: Path | None = None) -> Path:
    """The sample of ``scale`` (seed 42), generated once into ``data/bench/<scale>`` (git-ignored)."""
    folder = (data_root or ROOT / "data" / "bench") / scale
    if not (folder / ".complete").is_file():
        started = time.perf_counter()
        timed([*SALESNB, "sample", "--out", str(folder), "--scale", scale, "--seed", "42"])
        (folder / ".complete").write_text(f"{time.perf_counter() - started:.1f} s\n")
    return folder


def peak_mb_self() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_json(payload: dict) -> None:
    print(json.dumps(payload), flush=True)


def dataset_arguments(doc: str, simulations: bool = False) -> argparse.Namespace:
    """The in-process benchmarks' options: ``--scale`` of the generated sample, or ``--data``
    (an existing folder), and ``--simulations`` where a Monte Carlo runs."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    if simulations:
        parser.add_argument("--simulations", type=int, default=2000)
    parser.add_argument("--data", help="an existing dataset folder instead of generating the sample")
    return parser.parse_args()


@contextmanager
def opened_dataset(arguments: argparse.Namespace):
    """The dataset to time, opened and validated (not timed): the given folder, or the sample
    of the scale (seed 42) generated into a scratch folder; the cache lives in the scratch
    folder too, so a run leaves nothing behind."""
    from salesnb import open_dataset
    from salesnb.data.sample import generate_sample

    with tempfile.TemporaryDirectory(prefix="salesnb-bench-") as scratch:
        os.environ.setdefault("SALESNB_CACHE_DIR", str(Path(scratch) / "cache"))
        folder = arguments.data
        if folder is None:
            folder = Path(scratch) / "data"
            generate_sample(folder, seed=42, scale=arguments.scale)
        yield open_dataset(folder)


def data_label(arguments: argparse.Namespace) -> str:
    """What the figures were measured on, for the printed result."""
    return f"folder {arguments.data}" if arguments.data else f"sample, scale {arguments.scale}, seed 42"
