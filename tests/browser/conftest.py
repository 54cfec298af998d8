"""The browser tier's shared fixtures: one run of every notebook on the small sample (with a
team pack for each team, so the fan-out pages are checked too) and one headless Chromium,
for the whole session: every module of tests/browser checks the same pages.

Chromium is ``/usr/bin/chromium`` (``.ci/run`` installs it when it is missing); Playwright
only drives it (never ``playwright install``). Without Chromium the tier is skipped on a
developer's machine and fails in CI (``CI`` set), so a green CI always means "checked".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from salesnb.report import runner

CHROMIUM = Path(os.environ.get("SALESNB_CHROMIUM", "/usr/bin/chromium"))
# Flags that work in containers and CI: no sandbox (root), no GPU, no network side traffic.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


def chromium_or_skip():
    if CHROMIUM.is_file():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)."
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def sample_run(sample_dir, tmp_path_factory):
    chromium_or_skip()
    out = tmp_path_factory.mktemp("browser") / "run"
    return runner.run_reports(sample_dir, out=out, each="team", jobs=2)


@pytest.fixture(scope="session")
def browser():
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives the browser a fresh temporary profile of its own.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("SALESNB_BROWSER_SHOTS") or tmp_path_factory.mktemp("browser-shots"))
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    print(f"\nscreenshots: {folder}")


def run_pages(run_dir: Path) -> list[Path]:
    return sorted(run_dir.rglob("*.html"))


def shot_name(page_path: Path, run_dir: Path) -> str:
    return str(page_path.relative_to(run_dir)).replace("/", "__").removesuffix(".html")
