"""Per-value report packs (``salesnb run --each team``): one subfolder per value of a dimension.

Generic over the dimensions of a selection (:data:`salesnb.data.selection.DIMENSIONS`: team,
rep, segment, source, product, region): a notebook takes part when its ``parameters`` cell
declares the dimension (e.g. ``team = None``); the values are those the data holds
(:func:`salesnb.metrics.scope.known_values`; reps by ``rep_id``). A notebook that does not
declare it runs once, for the whole company, and the run says so.

A value whose selection holds no deal, lead or order (a team of managers who sell nothing)
gets no pack: the index lists it as "nothing to review" instead of a set of empty reports
marked ok.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from salesnb.data.selection import DIMENSIONS, Selection, SelectionError
from salesnb.errors import SalesnbError

# The rows a report reviews, and the word for them: a value that selects none has nothing to review.
REVIEWED_ROWS = (("opportunities", "deals"), ("leads", "leads"), ("orders", "orders"))


@dataclass(frozen=True)
class Pack:
    """One value of the fan-out dimension and the subfolder its reports go to."""

    filter: str
    value: str
    folder: str  # relative to the run folder, e.g. "team-enterprise"
    nothing_to_review: bool = False  # the value selects no deal, lead or order: no reports were made

    @property
    def label(self) -> str:
        return f"{self.filter} {self.value}"


def _slug(value: str) -> str:
    # Folder names come from CRM text: keep letters and digits only, so no value can name
    # a path outside the run folder ("../..") or clash with the run's own files.
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:40] or "value"


def pack_values(dataset, dimension: str) -> list[str]:
    """Every value of ``dimension`` in the data, sorted; a rep once, by ``rep_id`` (a selection
    also accepts a rep's name, which would make a second pack for the same person)."""
    from salesnb.metrics.scope import known_values

    values = known_values(dataset, dimension)
    if dimension == "rep" and dataset.has("reps"):
        reps = dataset.table("reps")
        ids = set(reps.rep_id.execute().dropna().astype(str))
        names = set(reps.rep_name.execute().dropna().astype(str)) - ids
        values = [value for value in values if value not in names]
    return values


def has_rows_to_review(dataset, dimension: str, value: str) -> bool:
    """Whether the selection ``dimension = value`` holds any deal, lead or order."""
    from salesnb.metrics.scope import restrict

    where = Selection(**{dimension: value})
    for table, rows in REVIEWED_ROWS:
        if not dataset.has(table):
            continue
        try:
            selected = restrict(dataset, dataset.table(table), where, rows=rows)
        except SelectionError:
            continue  # these rows cannot be selected by this dimension (e.g. orders by source)
        if int(selected.limit(1).count().execute()):
            return True
    return False


def plan_packs(dataset, name: str) -> list[Pack]:
    """A pack per value of dimension ``name`` in the data, with unique, safe folder names; a
    value with nothing to review is marked so (no folder is made for it)."""
    if name not in DIMENSIONS:
        raise SalesnbError(f"--each {name}: there is no such filter; the filters are: {', '.join(DIMENSIONS)}.")
    values = pack_values(dataset, name)
    if not values:
        raise SalesnbError(f"--each {name}: the data records no {name} values; run without --each, or add the "
                           f"table that records them (docs/data-model.md).")
    packs, used = [], set()
    for value in values:
        folder = base = f"{name}-{_slug(value)}"
        suffix = 2
        while folder in used:
            folder, suffix = f"{base}-{suffix}", suffix + 1
        used.add(folder)
        packs.append(Pack(name, value, folder, nothing_to_review=not has_rows_to_review(dataset, name, value)))
    return packs
