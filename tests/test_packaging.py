"""environment.yml declares the same pinned dependencies as pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement).lower()


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [requirement for group in project["optional-dependencies"].values() for requirement in group]
    declared = {_normalise(r) for r in project["dependencies"] + extras}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert {_normalise(r) for r in pip_section} == declared


def test_every_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [requirement for group in project["optional-dependencies"].values() for requirement in group]
    for requirement in project["dependencies"] + extras:
        assert "==" in requirement, f"{requirement} is not pinned"


def test_readme_quick_start_has_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick_start.splitlines() if line.split("#")[0].strip()]
    assert commands == ["make report", "make test"], f"the quick start should give exactly two commands: {commands}"
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test-spark" in (ROOT / ".ci" / "run").read_text()
