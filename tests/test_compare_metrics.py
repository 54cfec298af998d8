"""benchmarks/compare_metrics.py on two hand-made run folders: what it reports, and its exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_metrics.py"

BEFORE = {
    "01_lead_generation": {"leads": 4000000, "mql_rate": 0.3125, "by_source": {"web": 1200.5, "event": 17}},
    "03_pipeline_review": {"forecast_p50": 123456789.125, "naive_forecast": None, "note": "q1"},
}


def write_run(folder: Path, metrics: dict, packs: dict | None = None, text: str | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(text if text is not None else json.dumps(metrics, indent=2, sort_keys=True))
    for pack, pack_metrics in (packs or {}).items():
        (folder / pack).mkdir()
        (folder / pack / "metrics.json").write_text(json.dumps(pack_metrics, indent=2, sort_keys=True))
    return folder


def compare(before: Path, after: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(before), str(after), *options],
                          capture_output=True, text=True)


def changed(**edits) -> dict:
    """BEFORE with ``report__key=value`` edits (``...=DROP`` removes the key)."""
    metrics = json.loads(json.dumps(BEFORE))
    for name, value in edits.items():
        report, key = name.split("__")
        if value == "DROP":
            del metrics[report][key]
        else:
            metrics[report][key] = value
    return metrics


def test_identical_runs_pass(tmp_path):
    before = write_run(tmp_path / "before", BEFORE, packs={"team-east": BEFORE})
    after = write_run(tmp_path / "after", BEFORE, packs={"team-east": BEFORE})
    done = compare(before, after)
    assert done.returncode == 0, done.stdout
    assert "2 metrics.json file(s) compared byte for byte: no difference" in done.stdout


def test_every_difference_is_listed_with_its_report_and_key(tmp_path):
    before = write_run(tmp_path / "before", BEFORE)
    after = write_run(tmp_path / "after", changed(
        **{"01_lead_generation__mql_rate": 0.3126, "03_pipeline_review__note": "q2",
           "03_pipeline_review__naive_forecast": "DROP"}))
    done = compare(before, after)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "metrics.json: report 01_lead_generation, key mql_rate: 0.3125 -> 0.3126" in lines
    assert "metrics.json: report 03_pipeline_review, key note: 'q1' -> 'q2'" in lines
    assert "metrics.json: report 03_pipeline_review, key naive_forecast: None -> '<absent>'" in lines
    assert lines[-1] == "1 metrics.json file(s) compared byte for byte: 3 difference(s)"


def test_nested_keys_and_pack_folders(tmp_path):
    packs_after = changed(**{"01_lead_generation__by_source": {"web": 1200.5, "event": 18}})
    before = write_run(tmp_path / "before", BEFORE, packs={"team-east": BEFORE})
    after = write_run(tmp_path / "after", BEFORE, packs={"team-east": packs_after})
    done = compare(before, after)
    assert done.returncode == 1
    assert "team-east/metrics.json: report 01_lead_generation, key by_source.event: 17 -> 18" in done.stdout


def test_tolerance_is_relative_above_one_and_absolute_below(tmp_path):
    # 123456789.125 * (1 + 5e-10) moves by 0.06: within 1e-9 relative; 0.3125 + 2e-9 is beyond 1e-9 absolute.
    after_metrics = changed(**{"03_pipeline_review__forecast_p50": 123456789.125 * (1 + 5e-10),
                               "01_lead_generation__mql_rate": 0.3125 + 2e-9})
    before = write_run(tmp_path / "before", BEFORE)
    after = write_run(tmp_path / "after", after_metrics)
    strict = compare(before, after)
    assert strict.returncode == 1 and "forecast_p50" in strict.stdout and "mql_rate" in strict.stdout
    tolerant = compare(before, after, "--tolerance", "1e-9")
    assert tolerant.returncode == 1
    assert "forecast_p50" not in tolerant.stdout
    assert "report 01_lead_generation, key mql_rate: 0.3125 -> 0.312500002" in tolerant.stdout
    assert compare(before, after, "--tolerance", "1e-8").returncode == 0


def test_same_values_written_differently_are_not_byte_identical(tmp_path):
    before = write_run(tmp_path / "before", BEFORE)
    after = write_run(tmp_path / "after", BEFORE, text=json.dumps(BEFORE))  # one line, not indented
    done = compare(before, after)
    assert done.returncode == 1
    assert "the same values, but the files are not byte-identical" in done.stdout
    assert compare(before, after, "--tolerance", "0").returncode == 0


def test_a_report_or_file_on_one_side_only(tmp_path):
    before = write_run(tmp_path / "before", BEFORE, packs={"team-east": BEFORE})
    after = write_run(tmp_path / "after", {"01_lead_generation": BEFORE["01_lead_generation"]})
    done = compare(before, after)
    assert done.returncode == 1
    assert f"team-east/metrics.json: only in {before}" in done.stdout
    assert "metrics.json: report 03_pipeline_review, key <report>:" in done.stdout


@pytest.mark.parametrize("empty_side", ["before", "after"])
def test_a_folder_without_metrics_is_refused(tmp_path, empty_side):
    runs = {"before": tmp_path / "before", "after": tmp_path / "after"}
    for side, folder in runs.items():
        if side == empty_side:
            folder.mkdir()
        else:
            write_run(folder, BEFORE)
    done = compare(runs["before"], runs["after"])
    assert done.returncode == 2
    assert "no metrics.json" in done.stderr
