"""Do two runs report the same numbers? Compares every ``metrics.json`` of two run folders.

    python benchmarks/compare_metrics.py BEFORE_RUN AFTER_RUN [--tolerance 1e-9]

Every ``metrics.json`` under either folder (the run's own and each pack's, by the same path
inside the folder) is compared with its namesake in the other:

- by default the files must be byte-identical (what a change that must not move a number
  promises on the sample);
- with ``--tolerance T`` two numbers are equal when ``|a - b| <= T * max(1, |a|, |b|)``: an
  absolute difference for numbers below 1, a relative one above (a sum of a million amounts
  added in another order moves in its last digits); text, flags and the keys present must
  still be equal.

Every difference is listed with its file, report (the notebook) and key path; the exit code
is 1 when there is any, 0 when there is none, 2 when a folder holds no ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

METRICS_FILE = "metrics.json"


def metrics_files(run: Path) -> dict[str, Path]:
    """The ``metrics.json`` files of a run folder by their path inside it."""
    return {path.relative_to(run).as_posix(): path for path in sorted(run.rglob(METRICS_FILE))}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers_equal(before, after, tolerance: float) -> bool:
    if math.isnan(before) or math.isnan(after):
        return math.isnan(before) and math.isnan(after)
    if math.isinf(before) or math.isinf(after):
        return before == after
    return abs(before - after) <= tolerance * max(1.0, abs(before), abs(after))


def differences(before, after, tolerance: float | None = None, path: tuple = ()) -> list[tuple[tuple, object, object]]:
    """(key path, before, after) for every value that differs; a key present on one side only
    is a difference with ``<absent>`` on the other. Numbers are compared within ``tolerance``
    when one is given, exactly otherwise."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after), key=str):
            if key not in before or key not in after:
                found.append((path + (key,), before.get(key, "<absent>"), after.get(key, "<absent>")))
            else:
                found += differences(before[key], after[key], tolerance, path + (key,))
        return found
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [(path + ("<length>",), len(before), len(after))]
        found = []
        for index, (left, right) in enumerate(zip(before, after)):
            found += differences(left, right, tolerance, path + (index,))
        return found
    if _is_number(before) and _is_number(after):
        equal = _numbers_equal(float(before), float(after), tolerance) if tolerance is not None else before == after
        return [] if equal else [(path, before, after)]
    return [] if before == after and type(before) is type(after) else [(path, before, after)]


def compare_runs(before: Path, after: Path, tolerance: float | None = None) -> list[str]:
    """One line per difference between the two run folders' ``metrics.json`` files."""
    left, right = metrics_files(before), metrics_files(after)
    lines = []
    for name in sorted(set(left) | set(right)):
        if name not in right:
            lines.append(f"{name}: only in {before}")
            continue
        if name not in left:
            lines.append(f"{name}: only in {after}")
            continue
        before_bytes, after_bytes = left[name].read_bytes(), right[name].read_bytes()
        if before_bytes == after_bytes:
            continue
        found = differences(json.loads(before_bytes), json.loads(after_bytes), tolerance)
        for key_path, old, new in found:
            report, keys = (key_path[0], key_path[1:]) if key_path else ("<file>", ())
            key = ".".join(str(part) for part in keys) or "<report>"
            lines.append(f"{name}: report {report}, key {key}: {old!r} -> {new!r}")
        if tolerance is None and not found:
            lines.append(f"{name}: the same values, but the files are not byte-identical (layout or number spelling)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path, help="the run folder before the change")
    parser.add_argument("after", type=Path, help="the run folder after the change")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="numbers equal within T * max(1, |a|, |b|); default: byte-identical files")
    args = parser.parse_args(argv)
    for folder in (args.before, args.after):
        if not metrics_files(folder):
            print(f"{folder}: no {METRICS_FILE} in this folder (is it a run folder?)", file=sys.stderr)
            return 2
    lines = compare_runs(args.before, args.after, args.tolerance)
    compared = len(set(metrics_files(args.before)) | set(metrics_files(args.after)))
    how = "byte for byte" if args.tolerance is None else f"within {args.tolerance:g}"
    for line in lines:
        print(line)
    print(f"{compared} {METRICS_FILE} file(s) compared {how}: "
          + (f"{len(lines)} difference(s)" if lines else "no difference"))
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
