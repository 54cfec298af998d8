"""What a view leaves out: rows that lack a value the number needs, counted and explained.

Real data is partial. A metric uses the rows it can and returns, beside its numbers, an
:class:`Excluded` for each kind of row it had to leave out; the report shows each one
(``salesnb.report.display.left_out(*excluded)``), so no number silently rests on fewer
rows than the data holds.
"""

from __future__ import annotations

from typing import NamedTuple

import ibis.expr.types as ir


class Excluded(NamedTuple):
    """``count`` of ``total`` ``noun`` (plural) were left out because they ``reason``
    (completes "they ...", e.g. "have no amount")."""

    count: int
    total: int
    noun: str
    reason: str


def count_excluded(table: ir.Table, condition: ir.BooleanValue, noun: str, reason: str) -> Excluded:
    """How many rows of ``table`` meet ``condition`` (the rows left out), and of how many."""
    counts = table.aggregate(count=condition.cast("int64").sum(), total=table.count()).execute().iloc[0]
    return Excluded(int(counts["count"] or 0), int(counts["total"] or 0), noun, reason)


def nonzero(excluded: list[Excluded]) -> list[Excluded]:
    """The exclusions that left at least one row out (the ones worth a note)."""
    return [item for item in excluded if item.count > 0]
