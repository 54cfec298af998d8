"""Shared fixtures: an isolated cache, the small sample dataset, notebook paths."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Each test session converts data into its own cache, never the user's."""
    cache = tmp_path_factory.mktemp("salesnb-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("SALESNB_CACHE_DIR", str(cache))
    yield cache
    patch.undo()


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """The small sample dataset (seed 42), generated once per session."""
    from salesnb.data.sample import generate_sample

    folder = tmp_path_factory.mktemp("sample")
    generate_sample(folder, seed=42, scale="small")
    return folder


@pytest.fixture(scope="session")
def currency_sample_dir(tmp_path_factory) -> Path:
    """The small sample in USD, EUR and GBP with its monthly exchange rates (seed 42,
    ``salesnb sample --currencies``), generated once per session."""
    from salesnb.data.sample import generate_sample

    folder = tmp_path_factory.mktemp("currency-sample")
    generate_sample(folder, seed=42, scale="small", currencies=True)
    return folder


@pytest.fixture(scope="session")
def notebook_paths() -> dict[str, Path]:
    """Notebook name (stem) -> path, for every report notebook."""
    return {path.stem: path for path in sorted(NOTEBOOKS.glob("*.ipynb"))}


def pytest_addoption(parser):
    parser.addoption("--spark", action="store_true", default=False,
                     help="also run the tests marked 'spark' (a local Spark session; make test-spark)")


def pytest_collection_modifyitems(config, items):
    # Spark starts a JVM and takes minutes: its tier runs on request only (make test-spark).
    if config.getoption("--spark"):
        return
    skip = pytest.mark.skip(reason="Spark tier: run with --spark (make test-spark)")
    for item in items:
        if "spark" in item.keywords:
            item.add_marker(skip)
