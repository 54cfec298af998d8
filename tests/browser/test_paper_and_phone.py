"""Every page of a real run on paper and on a phone, in headless Chromium (issue 23).

Paper: every page is printed to PDF (A4; the summaries on Letter too) and laid out as the
printer lays it out (print media, the page's width): the summary prints on at most 2 pages;
no page holds content wider than its paper (Chromium would shrink the whole document to fit,
and every text with it), no table is wider than the page (tables too wide for a portrait
page print on landscape pages, ``print.css``), no text is set smaller than 7 pt, no cell
holding a number or a date breaks over lines, and no table cell is squeezed narrower than a
readable width (its text broken over more than 3 lines).

Phone, at 390 px: the page body does not scroll sideways; every chart is at least 360 px
wide or sits in a frame that scrolls sideways; every table fits its frame or the frame
scrolls, with the visible cue (the shadow at the right edge) while there is more to see;
tiles sit two to a row; no paragraph or list item runs past the column's edge. Screenshots go beside the others (``SALESNB_BROWSER_SHOTS``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import run_pages, shot_name

pytestmark = [pytest.mark.notebook, pytest.mark.browser]

# The print.css page margins (12 mm left and right); the printable width in CSS pixels (96 per inch).
SIDE_MARGINS_MM = 24
PAPER_MM = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}


def _pixels(millimetres: float) -> int:
    return int(millimetres / 25.4 * 96)


# The narrowest printable width of the two papers, upright and on its side.
PORTRAIT = min(_pixels(width - SIDE_MARGINS_MM) for width, _ in PAPER_MM.values())
LANDSCAPE = min(_pixels(height - SIDE_MARGINS_MM) for _, height in PAPER_MM.values())
SUMMARY_PAGES = 2
SMALLEST_TEXT_PT = 7.0
MOST_LINES_IN_A_CELL = 3
PHONE, PHONE_CHART_WIDTH = 390, 360

# A cell holding one number or one date as the tables write them: "$1,438,165", "-5.5 pts",
# "16.3x", "46 d", "2.1 h", "31.3%", "2025-06-01", "Jan 2025".
NUMBER_OR_DATE = (r"^(?:[-+−]?[$€£¥]?[\d,]+(?:\.\d+)?(?: ?(?:%|x|d|h|mo|pts))?|\d{4}-\d{2}-\d{2}"
                  r"|[A-Z][a-z]{2} \d{4})$")

PRINT_LAYOUT = r"""([width, wideWidth, pattern, smallestPx, mostLines]) => {
  const problems = [];
  const describe = e => (e.closest('table') && e.closest('table').caption ? e.closest('table').caption.innerText
                         : (e.innerText || '')).slice(0, 70);
  // Content outside the cells printed on landscape pages must fit the portrait page.
  const wideCells = [...document.querySelectorAll('.jp-Cell')].filter(c => c.querySelector('.salesnb-wide'));
  wideCells.forEach(c => c.style.display = 'none');
  if (document.documentElement.scrollWidth > width + 1) {
    const over = [...document.body.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > width + 1
      && e.children.length === 0).slice(0, 3).map(e => e.tagName + ' ' + (e.innerText || e.src || '').slice(0, 50));
    problems.push(`content ${document.documentElement.scrollWidth} px wide on a ${width} px page: ${over.join(' | ')}`);
  }
  wideCells.forEach(c => c.style.display = '');
  const lines = e => { const range = document.createRange(); range.selectNodeContents(e);
    return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom))).size; };
  for (const table of document.querySelectorAll('table')) {
    const allowed = table.closest('.salesnb-wide') ? wideWidth : width;
    const tableWidth = table.getBoundingClientRect().width;
    if (tableWidth > allowed + 1) problems.push(`table ${Math.round(tableWidth)} px wide on a ${allowed} px page: ${describe(table)}`);
  }
  for (const cell of document.querySelectorAll('td, th')) {
    const text = (cell.innerText || '').trim();
    if (!text || cell.getClientRects().length === 0) continue;
    const size = parseFloat(getComputedStyle(cell).fontSize);
    if (size < smallestPx) problems.push(`text of ${(size * 0.75).toFixed(1)} pt: ${text.slice(0, 40)} in ${describe(cell)}`);
    const count = lines(cell);
    // Squeezed: a word broken over lines (a hyphen may end a line), or a data cell of more than a
    // few lines in a column narrower than 6 em (a header may stack one word to a line).
    const words = Math.max(1, text.split(/[\s\-–]+/).filter(Boolean).length);
    if (new RegExp(pattern).test(text) && count > 1) problems.push(`"${text}" broken over ${count} lines in ${describe(cell)}`);
    else if (count > words || (cell.tagName === 'TD' && count > mostLines && cell.clientWidth < 6 * size))
      problems.push(`"${text.slice(0, 40)}" squeezed onto ${count} lines, ${cell.clientWidth} px wide, in ${describe(cell)}`);
  }
  for (const block of document.querySelectorAll('p, li')) {
    const size = parseFloat(getComputedStyle(block).fontSize);
    if ((block.innerText || '').trim() && block.getClientRects().length && size < smallestPx)
      problems.push(`text of ${(size * 0.75).toFixed(1)} pt: ${(block.innerText || '').slice(0, 40)}`);
  }
  return [...new Set(problems)];
}"""

PHONE_LAYOUT = """async ([phone, chartWidth]) => {
  // The edge cue follows a scroll-driven animation: after the resize to the phone's width it
  // updates on the next frames, and a loaded machine may not have drawn them yet.
  // (A hidden page may never run animation frames: a timer bounds the wait.)
  await Promise.race([new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve))),
                      new Promise(resolve => setTimeout(resolve, 1000))]);
  const problems = [];
  const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1;
  // The cue: a shadow at the right edge, shown (opacity above 0) while there is more to scroll.
  const cue = e => parseFloat(getComputedStyle(e, '::after').opacity) > 0;
  if (document.documentElement.scrollWidth > phone + 1)
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px on a ${phone} px phone`);
  for (const image of document.querySelectorAll('.jp-RenderedImage img')) {
    const width = image.getBoundingClientRect().width;
    const frame = image.parentElement;
    if (width < chartWidth && !scrolls(frame)) problems.push(`a chart ${Math.round(width)} px wide, not in a scrolling frame`);
    if (scrolls(frame) && !cue(frame)) problems.push('a chart that scrolls sideways without the cue at its edge');
  }
  for (const table of document.querySelectorAll('table')) {
    const frame = table.closest('.salesnb-table-frame');
    const caption = (table.caption ? table.caption.innerText : (table.innerText || '')).slice(0, 60);
    if (frame === null) {  // the run's own pages: their tables turn into blocks on a phone
      if (table.getBoundingClientRect().right > phone + 1) problems.push(`table wider than the phone: ${caption}`);
      continue;
    }
    if (frame.getBoundingClientRect().right > phone + 1) problems.push(`table frame wider than the phone: ${caption}`);
    if (table.getBoundingClientRect().width > frame.clientWidth + 1) {
      if (!scrolls(frame)) problems.push(`table cut, its frame does not scroll: ${caption}`);
      else if (!cue(frame)) problems.push(`table scrolls without the cue at its edge: ${caption}`);
      const first = table.querySelector('tbody td');
      if (first && getComputedStyle(first).position !== 'sticky') problems.push(`first column not sticky: ${caption}`);
    }
  }
  for (const grid of document.querySelectorAll('.salesnb-tiles, .summary-tiles')) {
    const tiles = [...grid.children];
    if (tiles.length >= 2 && Math.round(tiles[0].getBoundingClientRect().top) !== Math.round(tiles[1].getBoundingClientRect().top))
      problems.push('tiles one to a row');
  }
  // Text runs to the column's edge, never past it (where a scrolling output would hide the ends of its lines).
  const column = document.querySelector('main') || document.body;
  const edge = column.getBoundingClientRect().right - parseFloat(getComputedStyle(column).paddingRight);
  for (const block of document.querySelectorAll('p, li')) {
    if (block.closest('.salesnb-table-frame, .jp-RenderedImage')) continue;
    const right = block.getBoundingClientRect().right;
    if (block.getClientRects().length && right > edge + 1)
      problems.push(`text past the column's edge (${Math.round(right)} px > ${Math.round(edge)} px): ${(block.innerText || '').slice(0, 50)}`);
  }
  return problems;
}"""


def _pdf_pages(data: bytes) -> int:
    """Pages of a PDF Chromium wrote (its page objects; it writes no object streams)."""
    return len(re.findall(rb"/Type\s*/Page\b", data))


def _print_problems(page) -> list[str]:
    page.emulate_media(media="print")
    page.set_viewport_size({"width": PORTRAIT, "height": 1000})
    return page.evaluate(PRINT_LAYOUT, [PORTRAIT, LANDSCAPE, NUMBER_OR_DATE, SMALLEST_TEXT_PT / 0.75,
                                        MOST_LINES_IN_A_CELL])


def _phone_problems(page) -> list[str]:
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": PHONE, "height": 800})
    return page.evaluate(PHONE_LAYOUT, [PHONE, PHONE_CHART_WIDTH])


def test_every_page_on_paper_and_on_a_phone(sample_run, browser, shots):
    run_dir = sample_run.run_dir
    problems, pages_printed = {}, {}
    for page_path in run_pages(run_dir):
        name = str(page_path.relative_to(run_dir))
        context = browser.new_context(viewport={"width": PORTRAIT, "height": 1000})
        page = context.new_page()
        page.goto(page_path.as_uri(), wait_until="load")
        found = [f"paper: {problem}" for problem in _print_problems(page)]
        papers = ["A4", "Letter"] if page_path.name == "summary.html" else ["A4"]
        for paper in papers:
            data = page.pdf(format=paper)
            pages_printed[(name, paper)] = _pdf_pages(data)
            if page_path.parent == run_dir and page_path.name in ("summary.html", "03_pipeline_review.html"):
                (shots / f"{shot_name(page_path, run_dir)}-{paper}.pdf").write_bytes(data)
        found += [f"phone: {problem}" for problem in _phone_problems(page)]
        page.screenshot(path=str(shots / f"{shot_name(page_path, run_dir)}-phone.png"), full_page=True)
        context.close()
        if found:
            problems[name] = found
    assert problems == {}
    assert all(count >= 1 for count in pages_printed.values())
    summaries = {key: count for key, count in pages_printed.items() if key[0].endswith("summary.html")}
    assert summaries and all(count <= SUMMARY_PAGES for count in summaries.values()), summaries
