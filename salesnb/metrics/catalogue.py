"""The catalogue of metrics: every number the kit shows or records, declared once.

Each entry (:class:`Measure`) says what a KPI or a returned column is: its ``label`` as people
write it ("MQL rate"), its ``unit`` (how it is formatted), a one-line ``definition``, the
``section`` of ``docs/metrics.md`` that gives its formula, whether higher is better, and the
minimum n for judging it. Tables, tiles, the run index, trends ("Changed since the last run")
and the summary read labels, units and direction from here: nothing is guessed from a
column's name and no notebook carries its own format dictionary.

A metric module declares the measures it returns next to its code::

    declare(Measure("win_rate", "Win rate", "percent", "won ÷ (won + lost) over deals closed in "
                    "the period; open deals are never losses", section="win-rates", higher_is_better=True))

Dimensions (the columns a table is grouped by: rep, stage, source) are declared with
``unit="text"`` (or ``date``/``month``) and need no section. A name with ``*`` is a pattern:
``*_per_week`` matches ``calls_per_week``, and its label's ``{}`` is filled with the matched
part ("Calls per week").
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from dataclasses import dataclass

from salesnb.errors import SalesnbError

# How a value of each unit is written (salesnb.data.formats) and compared across runs.
UNITS = ("count", "currency", "percent", "ratio", "days", "hours", "months", "number", "text", "date", "month",
         "flag")
# Units that are quantities (right-aligned, compared between runs); the rest describe a row.
QUANTITIES = ("count", "currency", "percent", "ratio", "days", "hours", "months", "number")


class CatalogueError(SalesnbError):
    """A measure declared twice in different words, or a name the catalogue does not know."""


@dataclass(frozen=True)
class Measure:
    """One declared number (or dimension).

    name : the column or KPI key, as metrics return and record it.
    label : what people read ("Win rate", "MQL rate", "Cost per lead").
    unit : one of :data:`UNITS`.
    definition : one line: what it counts, over which rows.
    section : the heading of ``docs/metrics.md`` that gives the formula (its anchor, as
        GitHub writes it: lower case, spaces as hyphens); None for dimensions.
    higher_is_better : True, False, or None when neither (a count of deals created is
        good news, a sales cycle is better shorter, a number of reps is neither).
    min_n : the smallest n a value should rest on before it is compared or ranked.
    """

    name: str
    label: str
    unit: str
    definition: str
    section: str | None = None
    higher_is_better: bool | None = None
    min_n: int | None = None

    def __post_init__(self):
        if self.unit not in UNITS:
            raise CatalogueError(f"Measure {self.name!r}: unit {self.unit!r} is not one of {', '.join(UNITS)}.")
        if self.unit in QUANTITIES and not self.section:
            raise CatalogueError(f"Measure {self.name!r} is a quantity ({self.unit}) and needs the docs/metrics.md "
                                 "section that gives its formula.")

    @property
    def is_pattern(self) -> bool:
        return "*" in self.name

    @property
    def is_quantity(self) -> bool:
        return self.unit in QUANTITIES

    @property
    def link(self) -> str | None:
        """Where the formula is: ``docs/metrics.md#<section>``."""
        return f"docs/metrics.md#{self.section}" if self.section else None

    def _repr_markdown_(self) -> str:
        """In a notebook: the measure as a sentence (what it is, its unit, where its formula is)."""
        direction = {True: "higher is better", False: "lower is better", None: "neither higher nor lower is better"}
        lines = [f"**{self.label}** (`{self.name}`, {self.unit}): {self.definition}"]
        if self.is_quantity:
            lines.append(f"{direction[self.higher_is_better][:1].upper()}{direction[self.higher_is_better][1:]}"
                         + (f"; judge it on at least {self.min_n} observations" if self.min_n else "")
                         + f". Formula: {self.link}.")
        return "\n\n".join(lines)

    def for_name(self, name: str) -> "Measure":
        """This entry as it applies to ``name`` (a pattern's label filled in)."""
        if not self.is_pattern or name == self.name:
            return self
        head, _, tail = self.name.partition("*")
        part = name[len(head): len(name) - len(tail) if tail else None].replace("_", " ")
        label = self.label.replace("{}", part[:1].upper() + part[1:]) if self.label.startswith("{}") \
            else self.label.replace("{}", part)
        return Measure(name, label, self.unit, self.definition, self.section, self.higher_is_better, self.min_n)


_ENTRIES: dict[str, Measure] = {}
_PATTERNS: list[Measure] = []


def declare(*measures: Measure) -> None:
    """Add measures to the catalogue. Declaring a name again with the same content is
    harmless (a module imported twice); with other content it is an error: a name means one
    thing everywhere."""
    for measure in measures:
        known = _ENTRIES.get(measure.name) or next((p for p in _PATTERNS if p.name == measure.name), None)
        if known is not None and known != measure:
            raise CatalogueError(f"Measure {measure.name!r} is declared twice, differently: {known} and {measure}. "
                                 "Give one of them another name, or declare it once.")
        if measure.is_pattern:
            if known is None:
                _PATTERNS.append(measure)
        else:
            _ENTRIES[measure.name] = measure


_loaded = False


def _load_all() -> None:
    """Import every metrics module (once), so each has declared its measures."""
    global _loaded
    if _loaded:
        return
    import salesnb.metrics as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"salesnb.metrics.{module.name}")
    _loaded = True


# A column comparing a measure with the period before (``win_rate_previous``): the measure's
# unit and direction, labelled as the previous period's.
PREVIOUS_SUFFIX = "_previous"


def lookup(name: str) -> Measure | None:
    """The measure named ``name`` (exact names before patterns; ``<measure>_previous`` as the
    measure in the previous period), or None."""
    if name.endswith(PREVIOUS_SUFFIX) and name not in _ENTRIES:
        base = lookup(name[: -len(PREVIOUS_SUFFIX)])
        if base is not None:
            return Measure(name, f"{base.label}, previous period", base.unit, f"{base.definition} (the previous "
                           "period)", base.section, base.higher_is_better, base.min_n)
    if name in _ENTRIES:
        return _ENTRIES[name]
    for pattern in _PATTERNS:
        if fnmatch.fnmatchcase(name, pattern.name):
            return pattern.for_name(name)
    _load_all()
    if name in _ENTRIES:
        return _ENTRIES[name]
    return next((pattern.for_name(name) for pattern in _PATTERNS if fnmatch.fnmatchcase(name, pattern.name)), None)


def measure(name: str) -> Measure:
    """The measure named ``name``; a :class:`CatalogueError` when it is not declared."""
    found = lookup(name)
    if found is None:
        raise CatalogueError(f"{name!r} is not in the catalogue of metrics: declare it (salesnb.metrics.catalogue."
                             "declare) in the module that computes it, with its label, unit and docs section.")
    return found


def entries() -> list[Measure]:
    """Every declared measure (patterns included), in name order."""
    _load_all()
    return sorted([*_ENTRIES.values(), *_PATTERNS], key=lambda item: item.name)


def unit_of(name: str, default: str | None = None) -> str | None:
    found = lookup(name)
    return found.unit if found else default


def label_of(name: str) -> str:
    """The measure's label; an undeclared name as a sentence ("next_step_rate" -> "Next step rate")."""
    found = lookup(name)
    if found:
        return found.label
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------- shared names
# Columns many metric modules return. A module's own measures are declared in the module.

declare(
    # Dimensions: what a row is about.
    Measure("rep_id", "Rep ID", "text", "The rep's ID in the CRM."),
    Measure("rep_name", "Rep", "text", "The rep's name (the rep_id where the reps table has none)."),
    Measure("team", "Team", "text", "The rep's team."),
    Measure("segment", "Segment", "text", "The account's segment."),
    Measure("region", "Region", "text", "The account's region, else the rep's."),
    Measure("source", "Source", "text", "Where the deal or lead came from."),
    Measure("campaign", "Campaign", "text", "The marketing campaign."),
    Measure("product", "Product", "text", "The deal's or order's product."),
    Measure("type", "Type", "text", "New business, expansion or renewal."),
    Measure("stage", "Stage", "text", "A stage of the playbook."),
    Measure("industry", "Industry", "text", "The account's industry."),
    Measure("account_id", "Account ID", "text", "The account's ID in the CRM."),
    Measure("account_name", "Account", "text", "The account's name."),
    Measure("opportunity_id", "Deal", "text", "The deal's ID in the CRM."),
    Measure("lead_id", "Lead", "text", "The lead's ID in the CRM."),
    Measure("reason", "Reason", "text", "The reason recorded in the CRM."),
    Measure("month", "Month", "month", "A calendar month."),
    Measure("created_at", "Created", "date", "When the deal or lead was created."),
    Measure("close_date", "Close date", "date", "Close date of a closed deal; expected close date of an open one."),
    Measure("ranked", "Ranked", "flag", "Whether the group has enough closed deals to be ranked "
            "(the playbook's min_deals_for_ranking)."),
    # Counts and amounts of deals.
    Measure("deals", "Deals", "count", "Number of deals in the group.", section="deals-and-outcomes"),
    Measure("won", "Won", "count", "Deals won (closed in a won stage) in the period.", section="deals-and-outcomes",
            higher_is_better=True),
    Measure("lost", "Lost", "count", "Deals lost (closed in a lost stage) in the period.",
            section="deals-and-outcomes", higher_is_better=False),
    Measure("closed", "Closed", "count", "Deals won or lost in the period (won + lost): the n of a win rate.",
            section="deals-and-outcomes"),
    Measure("opportunities_created", "Deals created", "count", "Deals created in the period (by created_at), "
            "whatever their stage now.", section="deals-and-outcomes", higher_is_better=True, min_n=30),
    Measure("amount", "Amount", "currency", "Sum of the deals' amounts (deals without one add nothing).",
            section="deals-and-outcomes"),
    Measure("won_amount", "Won amount", "currency", "Sum of the amounts of deals won in the period.",
            section="deals-and-outcomes", higher_is_better=True),
    Measure("lost_amount", "Lost amount", "currency", "Sum of the amounts of deals lost in the period.",
            section="deals-and-outcomes", higher_is_better=False),
)
