"""Per-value report packs (``salesnb run --each team``): one subfolder per team, rep or segment.

Generic: a notebook takes part when its ``parameters`` cell declares the filter (e.g.
``team = None``); the values come from the data (``salesnb.metrics.deals.filter_values``).
A notebook that does not declare the filter runs once, for the whole company, and the run
says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from salesnb.errors import SalesnbError
from salesnb.metrics.deals import FILTER_COLUMNS, filter_values


@dataclass(frozen=True)
class Pack:
    """One value of the fan-out filter and the subfolder its reports go to."""

    filter: str
    value: str
    folder: str  # relative to the run folder, e.g. "team-enterprise"

    @property
    def label(self) -> str:
        return f"{self.filter} {self.value}"


def declared_parameters(notebook_path: Path) -> set[str]:
    """The names a notebook's ``parameters`` cell declares (read, never executed)."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook_path)))


def _slug(value: str) -> str:
    # Folder names come from CRM text: keep letters and digits only, so no value can name
    # a path outside the run folder ("../..") or clash with the run's own files.
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:40] or "value"


def plan_packs(dataset, name: str) -> list[Pack]:
    """A pack per value of filter ``name`` in the data, with unique, safe folder names."""
    if name not in FILTER_COLUMNS:
        raise SalesnbError(f"--each {name}: there is no such filter; the filters are: {', '.join(FILTER_COLUMNS)}.")
    values = filter_values(dataset, name)
    if not values:
        table = FILTER_COLUMNS[name][0]
        raise SalesnbError(f"--each {name}: the data has no {name} values (the '{table}' table is missing or its "
                           f"'{FILTER_COLUMNS[name][1]}' column is empty); run without --each, or add {table}.csv.")
    packs, used = [], set()
    for value in values:
        folder = base = f"{name}-{_slug(value)}"
        suffix = 2
        while folder in used:
            folder, suffix = f"{base}-{suffix}", suffix + 1
        used.add(folder)
        packs.append(Pack(name, value, folder))
    return packs
