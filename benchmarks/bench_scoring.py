"""Scoring benchmark: what 07_scoring learns and scores, on a generated sample.

Times the lead score and the deal score (the leakage guard, both models on every fold, the
final fit, the drivers and the scores of every record) after the dataset is opened and
validated (not timed), and reports the process's peak memory. The issue's target: the
``large`` sample (about 1M deals) in under 2 minutes and under 2 GB. Timings on shared machines
are noisy: run it on a quiet machine, and never turn it into a test assertion.

    python benchmarks/bench_scoring.py [--scale medium] [--data DIR]
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import data_label, dataset_arguments, opened_dataset  # noqa: E402


def main() -> None:
    arguments = dataset_arguments(__doc__, simulations=False)

    from salesnb.metrics import scoring

    with opened_dataset(arguments) as dataset:
        timings, results = {}, {}
        for what, score in (("leads", scoring.score_leads), ("deals", scoring.score_deals)):
            began = time.perf_counter()
            results[what] = score(dataset)
            timings[what] = time.perf_counter() - began

    print(json.dumps({
        "data": data_label(arguments),
        **{f"{what}_seconds": round(seconds, 1) for what, seconds in timings.items()},
        "total_seconds": round(sum(timings.values()), 1),
        **{f"{what}_examples": len(result.scores) for what, result in results.items()},
        **{f"{what}_tested": result.tested for what, result in results.items()},
        **{f"{what}_auc": result.score_auc and round(result.score_auc, 3) for what, result in results.items()},
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }, indent=2))


if __name__ == "__main__":
    main()
