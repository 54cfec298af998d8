"""Trends since the last run: each headline tile against the previous comparable run.

Runs are compared within a *series*: the same data source, the same notebooks and the same
fan-out (``status.json`` ``series``). The previous run is the newest **finished** run of
the series in the same folder (a killed or aborted run never counts). Its tiles are
comparable when the period follows the same rule (``last_full_month`` then
``last_full_month``, or the same fixed dates) and the playbook is the same file content;
otherwise every tile says why it is not compared instead of showing a change.

A change is in points for percentages (26.8% -> 28.0% is +1.2 pts) and relative for the
rest (120 -> 150 deals is +25%); a previous value of 0 gives the difference itself.

The biggest moves are ranked by how unusual they are (:func:`unusualness`), on one scale
for rates, amounts and counts: a rate's 5 points weigh as much as an amount growing by
half (x1.5) or shrinking by a third; a count weighs no more than its chance variation
allows (a small team's won deals going from 5 to 13 is +160%, but within two standard
errors). So a win rate up 20 points is not crowded out by "+160% won" of one small team.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from salesnb.data.formats import format_value
from salesnb.report import runs

UP, DOWN, FLAT = "▲", "▼", "="
BIGGEST_MOVES = 6  # rows in an index's "changed since last run" section
# A move as notable as these has an unusualness of 1: 5 points for a rate (the findings'
# MIN_RATE_CHANGE), a factor of 1.5 up or down for an amount or a count (they move more from
# run to run than rates do), and two standard errors of chance for a count.
NOTABLE_POINTS = 5.0
NOTABLE_RATIO = 1.5
NOTABLE_STANDARD_ERRORS = 2.0


def previous_run(folder: Path, status: dict, current: Path, *, any_series: bool = False) -> dict | None:
    """The status of the newest finished run of the same series in ``folder``, other than
    ``current``; with ``any_series``, of any series (other data, other notebooks)."""
    current = Path(current).resolve()
    candidates = [run for run in runs.list_runs(folder)
                  if run.state == runs.FINISHED and run.path.resolve() != current
                  and (any_series or run.status.get("series") == status.get("series"))]
    if not candidates:
        return None
    found = dict(candidates[-1].status)
    found.setdefault("run", candidates[-1].path.name)
    return found


@dataclass(frozen=True)
class Trend:
    """One tile against the previous run: ``text`` as shown (``▲ +1.2 pts``, or why it is
    not compared), the ``previous`` value as text, and ``magnitude`` for ranking moves
    (points for percentages, percent change otherwise; None when not comparable)."""

    text: str
    previous: str = ""
    direction: str = ""
    magnitude: float | None = None


@dataclass(frozen=True)
class Move:
    """A tile that moved since the last run, for the "changed since last run" section."""

    report: str
    href: str
    pack: str | None
    label: str
    previous: str
    value: str
    change: str
    magnitude: float
    unusual: float = 0.0  # what the moves are ranked by (:func:`unusualness`)


@dataclass
class Comparison:
    previous_run: str | None = None
    previous_date: str | None = None  # e.g. "23 Nov 2026"
    reason: str | None = None  # why nothing is compared (first run, period rule changed, ...)
    tiles: dict = field(default_factory=dict)  # (folder, notebook, label) -> Trend
    moves: list[Move] = field(default_factory=list)  # every move, most unusual first

    def trend(self, folder: str, notebook: str, label: str) -> Trend | None:
        return self.tiles.get((folder, notebook, label))

    def biggest_moves(self, folder: str | None = None, limit: int = BIGGEST_MOVES) -> list[Move]:
        """The biggest moves of the whole run (``folder`` None), or of one pack's folder with
        links relative to that folder."""
        if folder is None:
            return self.moves[:limit]
        prefix = folder + "/"
        return [replace(move, href=move.href[len(prefix):]) for move in self.moves
                if move.href.startswith(prefix)][:limit]


def _date(status: dict) -> str:
    try:
        return dt.datetime.fromisoformat(str(status.get("started"))).strftime("%d %b %Y %H:%M")
    except ValueError:
        return str(status.get("run", "?"))


def _change(value: float, previous: float, kind: str) -> tuple[str, str, float]:
    """(direction arrow, change text, magnitude)."""
    difference = value - previous
    direction = FLAT if abs(difference) < 1e-12 else (UP if difference > 0 else DOWN)
    if kind == "percent":
        points = difference * 100
        return direction, f"{points:+.1f} pts", abs(points)
    if previous == 0:
        return direction, f"{difference:+,.0f}", abs(difference)
    relative = difference / abs(previous) * 100
    return direction, f"{relative:+.0f}%", abs(relative)


def unusualness(value: float, previous: float, kind: str) -> float:
    """How unusual a move from ``previous`` to ``value`` is, 1 for a notable one:

    - a rate (``percent``): |points| / :data:`NOTABLE_POINTS`;
    - anything else: |ln(value / previous)| / ln :data:`NOTABLE_RATIO` when both are above 0
      (x1.5 and ÷1.5 alike), else |relative change| / (NOTABLE_RATIO - 1), and 1 for a move
      from 0 (no relative change to measure);
    - a ``count``, at most its Poisson z, |value - previous| / sqrt(value + previous), over
      :data:`NOTABLE_STANDARD_ERRORS`: 5 -> 13 won deals is 0.94, 500 -> 1,300 is 2.36.
    """
    difference = value - previous
    if kind == "percent":
        return abs(difference) * 100 / NOTABLE_POINTS
    if value > 0 and previous > 0:
        score = abs(math.log(value / previous)) / math.log(NOTABLE_RATIO)
    elif previous:
        score = abs(difference) / abs(previous) / (NOTABLE_RATIO - 1)
    else:
        score = 1.0 if difference else 0.0
    if kind == "count" and value >= 0 and previous >= 0 and value + previous > 0:
        score = min(score, abs(difference) / math.sqrt(value + previous) / NOTABLE_STANDARD_ERRORS)
    return score


def compare(status: dict, previous: dict | None) -> Comparison:
    """Every headline tile of ``status`` (a run's status.json payload) against ``previous``."""
    if previous is None:
        runs_like_this = (f"of the plan {status['plan']}" if status.get("plan")
                          else "with this data, these notebooks and this --each")
        return Comparison(reason=f"This is the first finished run {runs_like_this} here: nothing to compare with yet.")
    comparison = Comparison(previous_run=previous.get("run"), previous_date=_date(previous))
    reasons = []
    rule, previous_rule = (status.get("period") or {}).get("rule"), (previous.get("period") or {}).get("rule")
    if rule != previous_rule:
        reasons.append(f"the period rule changed ({previous_rule} → {rule})")
    if (status.get("playbook") or {}).get("sha256") != (previous.get("playbook") or {}).get("sha256"):
        reasons.append("the playbook changed")
    comparison.reason = ("Not compared with the run of " + comparison.previous_date + ": " + "; ".join(reasons) + ".") \
        if reasons else None
    earlier = {(item.get("folder") or "", item["name"]): item for item in previous.get("notebooks", [])}
    for item in status.get("notebooks", []):
        folder, headline = item.get("folder") or "", item.get("headline") or {}
        currency = headline.get("currency") or "USD"
        before = earlier.get((folder, item["name"]), {}).get("headline") or {}
        tiles_before = {tile["label"]: tile for tile in before.get("tiles", [])}
        for tile in headline.get("tiles", []):
            key = (folder, item["name"], tile["label"])
            old = tiles_before.get(tile["label"])
            if reasons:
                comparison.tiles[key] = Trend("not compared: " + "; ".join(reasons))
            elif old is None or old.get("kind") != tile.get("kind"):
                comparison.tiles[key] = Trend("new since the last run")
            elif tile.get("value") is None or old.get("value") is None:
                unmeasured = ("not measured in either run" if tile.get("value") is None and old.get("value") is None
                              else "not measured in this run" if tile.get("value") is None
                              else "not measured in the last run")
                comparison.tiles[key] = Trend(unmeasured, format_value(old.get("value"), old["kind"], currency))
            else:
                direction, change, magnitude = _change(float(tile["value"]), float(old["value"]), tile["kind"])
                previous_text = format_value(old["value"], old["kind"], currency)
                comparison.tiles[key] = Trend(f"{direction} {change}", previous_text, direction, magnitude)
                if direction != FLAT:
                    href = (folder + "/" if folder else "") + (item.get("html") or "")
                    comparison.moves.append(Move(
                        report=item.get("title") or item["name"], href=href, pack=item.get("pack"),
                        label=tile["label"], previous=previous_text,
                        value=format_value(tile["value"], tile["kind"], currency),
                        change=f"{direction} {change}", magnitude=magnitude,
                        unusual=unusualness(float(tile["value"]), float(old["value"]), tile["kind"])))
    comparison.moves.sort(key=lambda move: (-move.unusual, move.report, move.pack or "", move.label))
    return comparison
