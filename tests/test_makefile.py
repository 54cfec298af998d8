"""make lab works as root (containers and CI machines run as root), and the README says how to
open it from another machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_allows_root_only_as_root_and_takes_options():
    printed = subprocess.run(["make", "-n", "lab", "LAB_OPTIONS=--ip=0.0.0.0 --no-browser"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    [command] = [line for line in printed.splitlines() if "jupyter lab" in line]
    assert command.endswith("--ip=0.0.0.0 --no-browser")
    assert ("--allow-root" in command) == (os.getuid() == 0)


def test_readme_says_how_to_open_lab_from_another_machine():
    readme = (ROOT / "README.md").read_text()
    assert 'make lab LAB_OPTIONS="--ip=0.0.0.0 --no-browser"' in readme and "token" in readme
