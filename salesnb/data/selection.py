"""Which deals, leads, reps and accounts a question is about: one value for every metric.

A :class:`Selection` names the team, rep, segment, source, product and region a number is
asked for, and optionally its period. Every public metric takes it the same way,
``where=``, beside ``by=`` for grouping::

    where = salesnb.select(team="Enterprise", source=["Webinar", "Referral"])
    conversion.win_rates(dataset, "2025Q3", by="product", where=where)

A dimension holds one value or several (any of them matches). What each dimension means
for each kind of row (a deal's team is its owner's team; a lead's region is its account's)
is applied in one place, :mod:`salesnb.metrics.scope`. A selection is a plain frozen value:
it can be a dictionary key (the kit materializes one deals table per selection) and is
written the same way every time (:meth:`Selection.describe`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from salesnb.errors import SalesnbError

# The dimensions a selection can name, in the order reports list them.
DIMENSIONS = ("team", "rep", "segment", "source", "product", "region")


class SelectionError(SalesnbError):
    """A selection that names an unknown dimension, a value the data does not hold, or a
    dimension the rows asked about do not carry."""


def _values(name: str, value) -> tuple[str, ...] | None:
    """A dimension's values as a sorted tuple of text, None when unset."""
    if value is None or value == "" or value == ():
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [item for item in value if item not in (None, "")]
        if not items:
            return None
    else:
        items = [value]
    for item in items:
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise SelectionError(f"{name} must be a name (text) or a list of names, not {item!r}.")
    return tuple(sorted({str(item).strip() for item in items}))


@dataclass(frozen=True)
class Selection:
    """The slice of the business a number is about; empty (``Selection()``) means everything.

    Each dimension is None (no restriction) or a tuple of accepted values. ``period`` is
    optional: a metric asked without a period uses the selection's (any form
    :func:`salesnb.data.periods.parse_period` reads: ``"2025Q3"``, ``"2025-07"``,
    ``"last_12_months"``, two dates).
    """

    team: tuple[str, ...] | None = None
    rep: tuple[str, ...] | None = None
    segment: tuple[str, ...] | None = None
    source: tuple[str, ...] | None = None
    product: tuple[str, ...] | None = None
    region: tuple[str, ...] | None = None
    period: object = None

    def __post_init__(self):
        for name in DIMENSIONS:
            object.__setattr__(self, name, _values(name, getattr(self, name)))
        if isinstance(self.period, list):
            object.__setattr__(self, "period", tuple(self.period))

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        """The dimensions that are set, in :data:`DIMENSIONS` order."""
        return [(name, getattr(self, name)) for name in DIMENSIONS if getattr(self, name) is not None]

    @property
    def dimensions(self) -> list[str]:
        return [name for name, _ in self.items()]

    def __bool__(self) -> bool:
        """True when any dimension is set (the period alone selects no rows)."""
        return bool(self.items())

    def without_period(self) -> "Selection":
        return replace(self, period=None)

    def but(self, **changes) -> "Selection":
        """This selection with some dimensions changed (``None`` clears one)."""
        _check_names(changes, allow_period=True)
        return replace(self, **changes)

    def describe(self) -> str:
        """``team Enterprise · source Referral or Webinar``; empty when nothing is selected."""
        return " · ".join(f"{name} {' or '.join(values)}" for name, values in self.items())


EVERYTHING = Selection()


def _check_names(names, *, allow_period: bool) -> None:
    allowed = DIMENSIONS + (("period",) if allow_period else ())
    for name in names:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SelectionError(f"A selection has no dimension {name!r}.{hint} The dimensions are: "
                                 f"{', '.join(allowed)}.")


def select(**dimensions) -> Selection:
    """A selection from keywords: ``select(team="Enterprise", segment=["SMB", "Mid-Market"])``.

    Values are names as the data writes them (a rep by ``rep_id`` or by name). A value
    written with commas in a notebook parameter (``team = "Enterprise,SMB"``) is not split:
    give a list for several values.
    """
    _check_names(dimensions, allow_period=True)
    return Selection(**dimensions)


def as_selection(where) -> Selection:
    """``where`` as a :class:`Selection`: None (everything), a selection, or a mapping of
    dimension to value(s)."""
    if where is None:
        return EVERYTHING
    if isinstance(where, Selection):
        return where
    if isinstance(where, dict):
        return select(**where)
    raise SelectionError(f"where must be a selection (salesnb.select(team=...)), a dictionary or None, "
                         f"not {type(where).__name__}.")
