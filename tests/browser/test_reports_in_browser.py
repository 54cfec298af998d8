"""Every page of a real run, opened in headless Chromium (Playwright, Debian's chromium).

The run and the browser are the session's (``conftest.py``). Each page -- the index, the
summary, every report, every pack's index and summary -- must load with no console error,
no request leaving the run folder (everything inline or relative), every image loaded, no
table wider than the page at 1280 px, and every link between the pages must lead to a page
of the run. Screenshots at 1280 px and 390 px (a phone) are written to
``SALESNB_BROWSER_SHOTS`` (default: the test's temporary folder, printed at the end) to look
at. Paper and phone: ``test_paper_and_phone.py``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.browser.conftest import run_pages as _pages
from tests.browser.conftest import shot_name

pytestmark = [pytest.mark.notebook, pytest.mark.browser]

WIDE, PHONE = 1280, 390


def _inside(url: str, run_dir: Path) -> bool:
    """A request stays in the run: inline data, or a file under the run folder."""
    parsed = urlparse(url)
    if parsed.scheme in ("data", "about", "blob"):
        return True
    if parsed.scheme != "file":
        return False
    path = Path(unquote(parsed.path)).resolve()
    return path == run_dir.resolve() or run_dir.resolve() in path.parents


def _check_page(browser, page_path: Path, run_dir: Path, shots: Path) -> tuple[list[str], set[Path]]:
    """Problems found on one page, and the run pages it links to."""
    problems: list[str] = []
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    page = context.new_page()
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def guard(route):
        if _inside(route.request.url, run_dir):
            route.continue_()
        else:
            problems.append(f"request leaves the run folder: {route.request.url}")
            route.abort()

    page.route("**/*", guard)
    page.goto(page_path.as_uri(), wait_until="load")
    broken_images = page.eval_on_selector_all(
        "img", "images => images.filter(i => !i.complete || i.naturalWidth === 0).map(i => (i.src || '').slice(0, 80))")
    problems += [f"image did not load: {source}" for source in broken_images]
    width = page.evaluate("document.documentElement.clientWidth")
    wide_tables = page.eval_on_selector_all(
        "table", f"""tables => tables.map(t => [t.getBoundingClientRect().width, (t.caption ? t.caption.innerText :
        (t.innerText || '').slice(0, 60))]).filter(([w]) => w > {width} + 1)""")
    problems += [f"table wider than the page ({found:.0f} px > {width} px): {caption!r}"
                 for found, caption in wide_tables]
    # On a 1280 px screen no table needs its frame to scroll: it is shown whole.
    cut = page.eval_on_selector_all(".salesnb-table-frame", """frames => frames.filter(f => f.scrollWidth > f.clientWidth + 1)
        .map(f => (f.querySelector('caption') || {}).innerText || '')""")
    problems += [f"table wider than its frame at {WIDE} px: {caption!r}" for caption in cut]
    if page.evaluate("document.documentElement.scrollWidth") > width + 1:
        problems.append(f"the page scrolls sideways at {WIDE} px")
    links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    targets = set()
    for href in links:
        if href.startswith(("#", "mailto:")):
            continue
        parsed = urlparse(href)
        if parsed.scheme:
            problems.append(f"link leaves the run: {href}")
            continue
        target = (page_path.parent / unquote(parsed.path)).resolve()
        if not target.is_file() or not _inside(target.as_uri(), run_dir):
            problems.append(f"broken link: {href}")
        else:
            targets.add(target)
    name = shot_name(page_path, run_dir)
    page.screenshot(path=str(shots / f"{name}-{WIDE}.png"), full_page=True)
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.screenshot(path=str(shots / f"{name}-{PHONE}.png"), full_page=True)
    context.close()
    return problems, targets


def test_every_page_of_a_run_in_chromium(sample_run, browser, shots):
    run_dir = sample_run.run_dir
    pages = _pages(run_dir)
    names = {str(path.relative_to(run_dir)) for path in pages}
    # The index, the summary and a page per report; a pack per team, each with its own pages.
    assert {"index.html", "summary.html"} <= names
    assert {f"{item.name}.html" for item in sample_run.company_results} <= names
    made = [pack for pack in sample_run.packs if not pack.nothing_to_review]
    assert made and all(f"{pack.folder}/index.html" in names for pack in made)
    # The sample's managers (team Sales Leadership) sell nothing: no pack, "nothing to review" on the index.
    assert [pack.value for pack in sample_run.packs if pack.nothing_to_review] == ["Sales Leadership"]

    problems, linked = {}, set()
    for page_path in pages:
        found, targets = _check_page(browser, page_path, run_dir, shots)
        linked |= targets
        if found:
            problems[str(page_path.relative_to(run_dir))] = found
    assert problems == {}
    # Index, summary and reports link each other: every page is reachable by a link.
    assert {path.resolve() for path in pages} - {(run_dir / "index.html").resolve()} <= linked
    assert len(list(shots.glob(f"*-{WIDE}.png"))) >= len(pages)
