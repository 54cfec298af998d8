"""The playbook: the sales process as configuration (stages, SLA, thresholds, currency and
fixed exchange rates).

A documented default ships as ``salesnb/playbook.yaml``; users pass their own with
``--config`` (or the ``config_path`` notebook parameter). Loading checks the file and
says what is wrong with it, instead of failing later inside a metric.
"""

from __future__ import annotations

import difflib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from salesnb.errors import ConfigError

DEFAULT_PLAYBOOK_PATH = Path(__file__).resolve().parent / "playbook.yaml"


# How CRMs and spreadsheets commonly write the closed stages (letters only, lower case): a
# first file with "Won" and "Lost" gets a message with the mapping to the playbook's names.
COMMON_CLOSED_STAGE_NAMES = {
    "won": {"won", "closedwon", "win", "wonclosed", "closewon", "dealwon"},
    "lost": {"lost", "closedlost", "loss", "lose", "lostclosed", "closelost", "deallost"},
}


@dataclass(frozen=True)
class Stage:
    name: str
    probability: float
    outcome: str | None = None  # None for open stages, "won" or "lost" for closed ones


@dataclass(frozen=True)
class Playbook:
    stages: tuple[Stage, ...]
    currency: str = "USD"
    fiscal_year_start_month: int = 1
    qualified_stage: str | None = None
    lead_response_sla_hours: float = 24.0
    stale_deal_days: int = 30
    open_lead_statuses: tuple[str, ...] = ("New", "Working")
    min_deals_for_ranking: int = 10
    # Fixed rates for small teams: (currency code, value of one unit in ``currency``), sorted.
    exchange_rates: tuple[tuple[str, float], ...] = ()
    source_path: str | None = field(default=None, compare=False)

    @property
    def stage_names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    @property
    def open_stages(self) -> list[str]:
        """Open stages, in process order."""
        return [stage.name for stage in self.stages if stage.outcome is None]

    @property
    def won_stages(self) -> list[str]:
        return [stage.name for stage in self.stages if stage.outcome == "won"]

    @property
    def lost_stages(self) -> list[str]:
        return [stage.name for stage in self.stages if stage.outcome == "lost"]

    def stage_meant_by(self, value) -> str | None:
        """The playbook's won or lost stage that a common CRM name for it means ("Won", "won",
        "Closed-Won", "Closed Won" -> the won stage; "Lost", "Closed Lost" -> the lost stage),
        when the playbook has exactly one such stage and ``value`` is not a stage itself; else None."""
        key = "".join(character for character in str(value).lower() if character.isalpha())
        for outcome, names in COMMON_CLOSED_STAGE_NAMES.items():
            stages = self.won_stages if outcome == "won" else self.lost_stages
            if key in names and len(stages) == 1 and value not in self.stage_names:
                return stages[0]
        return None

    @property
    def closed_stages(self) -> list[str]:
        return self.won_stages + self.lost_stages

    @property
    def qualified_stages(self) -> list[str]:
        """Open stages from ``qualified_stage`` on (all open stages if it is not set)."""
        open_stages = self.open_stages
        if self.qualified_stage is None:
            return open_stages
        return open_stages[open_stages.index(self.qualified_stage):]

    def probability(self, name: str) -> float:
        for stage in self.stages:
            if stage.name == name:
                return stage.probability
        raise KeyError(name)


def load_playbook(path: str | Path | None = None) -> Playbook:
    """Read a playbook YAML file; ``None`` means the default that ships with the kit."""
    path = Path(path) if path else DEFAULT_PLAYBOOK_PATH
    if path.is_dir():
        raise ConfigError(
            f"Playbook config {path} is a folder, not a file. Pass the playbook YAML file itself with --config "
            f"(e.g. {path / 'playbook.yaml'}), or leave it out to use the default ({DEFAULT_PLAYBOOK_PATH})."
        )
    if not path.is_file():
        raise ConfigError(
            f"Playbook config {path} does not exist. Pass an existing YAML file with --config, "
            f"or leave it out to use the default ({DEFAULT_PLAYBOOK_PATH})."
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"Playbook config {path} is not UTF-8 text (byte {error.object[error.start]:#04x} at position "
            f"{error.start} cannot be read): save it as UTF-8 (most editors: 'Save with encoding')."
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"Playbook config {path} is not valid YAML: {error}") from None
    except OSError as error:
        raise ConfigError(f"Playbook config {path} cannot be read ({error.strerror}).") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Playbook config {path} must be a mapping of settings (see {DEFAULT_PLAYBOOK_PATH}).")
    return playbook_from_dict(raw, source=str(path))


# ----------------------------------------------------------------------------- the schema
#
# The playbook's shape, types and ranges as a JSON Schema (checked with jsonschema, which the
# notebook stack already uses to validate notebooks). Each setting's "x-expect" completes
# "<setting> must be ...": a schema error becomes a sentence a sales-ops analyst can act on.
# What a schema cannot say (one won stage, no stage named twice, qualified_stage an open
# stage) is checked after it, and every problem is listed in one message.

_TEXT = r"\S"  # at least one character that is not a space

STAGE_SCHEMA = {
    "type": "object",
    "required": ["name", "probability"],
    "properties": {
        "name": {"type": "string", "pattern": _TEXT, "x-expect": "text: the stage as the data names it"},
        "probability": {"type": "number", "minimum": 0, "maximum": 1, "x-expect": "a number between 0 and 1"},
        "outcome": {"enum": ["won", "lost", None], "x-expect": "'won', 'lost', or left out for an open stage"},
    },
    "additionalProperties": False,
}

SCHEMA = {
    "type": "object",
    "required": ["stages"],
    "properties": {
        "currency": {"type": "string", "pattern": _TEXT, "x-expect": "a currency code such as USD"},
        "fiscal_year_start_month": {"type": "integer", "minimum": 1, "maximum": 12,
                                    "x-expect": "a month number 1..12"},
        "stages": {"type": "array", "minItems": 1, "items": STAGE_SCHEMA,
                   "x-expect": "a list of stages, each with a name and a probability"},
        "qualified_stage": {"type": ["string", "null"], "x-expect": "the name of an open stage"},
        "lead_response_sla_hours": {"type": "number", "exclusiveMinimum": 0,
                                    "x-expect": "a positive number of hours"},
        "stale_deal_days": {"type": "integer", "minimum": 1, "x-expect": "a positive whole number of days"},
        "open_lead_statuses": {"type": "array", "items": {"type": "string", "pattern": _TEXT,
                                                          "x-expect": "a lead status, as text"},
                               "x-expect": "a list of lead statuses"},
        "min_deals_for_ranking": {"type": "integer", "minimum": 1, "x-expect": "a positive whole number of deals"},
        "exchange_rates": {"type": "object",
                           "propertyNames": {"pattern": r"^\s*[A-Za-z]{3}\s*$"},
                           "additionalProperties": {"type": "number", "exclusiveMinimum": 0,
                                                    "x-expect": "a number above 0: what one unit of the currency is "
                                                                "worth in the playbook currency"},
                           "x-expect": "a mapping of three-letter currency codes to rates, e.g. {EUR: 1.08, GBP: 1.27}"},
    },
    "additionalProperties": False,
}
SETTINGS = tuple(SCHEMA["properties"])


def _is_number(checker, value) -> bool:
    # YAML reads `true` as a bool (an int in Python) and `.nan`/`.inf` as floats: none is a
    # setting's number, and each would silently give a wrong report (`.nan` compares false
    # with every bound, so "minimum: 0" alone lets it through).
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def skip_slow_optional_imports() -> None:
    """Mark jsonschema's optional ``rfc3987_syntax`` absent, unless jsonschema is already loaded.

    When installed, it builds a grammar at import: 3 to 5 s of every process that imports
    jsonschema (each report kernel through this module, the runner through nbformat), for an
    IRI format check neither the playbook schema nor a notebook file uses (jsonschema checks
    formats only when given a format checker, and this module gives none). Marked absent,
    jsonschema's optional import fails fast and the check is simply not offered.
    """
    if "rfc3987_syntax" not in sys.modules and "jsonschema" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None


def _validator():
    skip_slow_optional_imports()
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine("number", _is_number)
    return validators.extend(Draft202012Validator, type_checker=checker)(SCHEMA)


def _did_you_mean(word, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _stage_label(raw: dict, index: int) -> str:
    stages = raw.get("stages") if isinstance(raw.get("stages"), list) else []
    item = stages[index] if index < len(stages) else None
    name = item.get("name") if isinstance(item, dict) else None
    return f"stage '{name.strip()}'" if isinstance(name, str) and name.strip() else f"stage {index + 1}"


def _schema_problem(error, raw: dict) -> str:
    """One schema error as a sentence naming the setting (or the stage) and what it must be."""
    path = list(error.absolute_path)
    if path[:1] == ["stages"] and len(path) >= 2:
        where = " ".join([_stage_label(raw, path[1]), *map(str, path[2:])])
    elif path[:1] == ["exchange_rates"] and len(path) >= 2:
        where = f"exchange_rates {path[1]}"
    elif path[:1] == ["open_lead_statuses"] and len(path) >= 2:
        where = f"open_lead_statuses item {path[1] + 1}"
    else:
        where = ".".join(map(str, path)) or "the playbook"
    if error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        unknown = [key for key in error.instance if key not in allowed]
        if not path:
            return "; ".join(f"unknown setting '{key}'{_did_you_mean(key, allowed)}" for key in unknown) + (
                f". The settings are {', '.join(SETTINGS)}")
        return "; ".join(f"{where} has an unknown key '{key}'{_did_you_mean(key, allowed)}" for key in unknown) + (
            f"; a stage has {', '.join(allowed)}")
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return f"{where} needs {' and '.join(repr(key) for key in missing)}"
    if error.validator == "pattern" and path[:1] == ["exchange_rates"] and len(path) == 1:
        return (f"exchange_rates has {error.instance!r}, which is not a currency code: write three letters such as "
                "EUR or GBP")
    expect = error.schema.get("x-expect", "a valid value")
    problem = f"{where} must be {expect}, not {error.instance!r}"
    if path[-1:] == ["probability"] and _is_number(None, error.instance) and error.instance > 1:
        problem += " (give probabilities as 0..1, e.g. 0.25, not 25)"
    return problem


def _path_order(error) -> tuple:
    # Settings in the order they were written in, stages by number (stage 10 after stage 9).
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in error.absolute_path)


def playbook_problems(raw: dict) -> list[str]:
    """Every problem of the playbook ``raw`` (the parsed YAML); empty when it is valid."""
    errors = sorted(_validator().iter_errors(raw), key=_path_order)
    problems, seen = [], set()
    for error in errors:
        path = tuple(error.absolute_path)
        if path in seen:  # one sentence per setting: "must be a number between 0 and 1" says it all
            continue
        seen.add(path)
        problems.append(_schema_problem(error, raw))

    # Across stages, over the stages that can be read (the others are reported above).
    stages = raw.get("stages") if isinstance(raw.get("stages"), list) else []
    readable = [stage for stage in stages if isinstance(stage, dict) and isinstance(stage.get("name"), str)]
    names = [stage["name"].strip() for stage in readable]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"stage name(s) {', '.join(duplicates)} appear more than once")
    if stages and len(readable) == len(stages) and all(stage.get("outcome") in ("won", "lost", None) for stage in stages):
        if sum(stage.get("outcome") == "won" for stage in stages) != 1:
            problems.append("exactly one stage must have 'outcome: won'")
        # Lost and open stages are optional: a funnel export may record only the deals won (or
        # won and lost). The reports then say what such data cannot show (deals.process_gaps).
        qualified = raw.get("qualified_stage")
        open_names = [stage["name"].strip() for stage in stages if stage.get("outcome") is None]
        if isinstance(qualified, str) and qualified.strip() not in open_names:
            problems.append(f"qualified_stage '{qualified}' is not one of the open stages "
                            f"({', '.join(open_names) or 'the playbook has none'})")
    problems += _exchange_rate_problems(raw)
    return problems


def _exchange_rate_problems(raw: dict) -> list[str]:
    """Fixed rates the schema cannot judge: a code written twice (``EUR`` and ``eur``), and the
    playbook's own currency at a rate other than 1 (rates are *to* that currency)."""
    rates = raw.get("exchange_rates")
    if not isinstance(rates, dict):
        return []
    problems = []
    codes = [str(code).strip().upper() for code in rates]
    twice = sorted({code for code in codes if codes.count(code) > 1})
    if twice:
        problems.append(f"exchange_rates names {', '.join(twice)} more than once; give each currency one rate")
    currency = raw.get("currency", "USD")
    own = str(currency).strip().upper() if isinstance(currency, str) else None
    for code, rate in rates.items():
        if str(code).strip().upper() == own and _is_number(None, rate) and rate != 1:
            problems.append(f"exchange_rates gives the playbook currency {own} the rate {rate!r}; rates convert to "
                            f"{own}, so its own rate is 1: leave it out")
    return problems


def playbook_from_dict(raw: dict, source: str = "<dict>") -> Playbook:
    """Build and check a playbook from a mapping (the parsed YAML): one
    :class:`ConfigError` lists every problem (:func:`playbook_problems`)."""
    problems = playbook_problems(raw)
    if len(problems) == 1:
        raise ConfigError(f"Playbook config {source}: {problems[0]}.")
    if problems:
        raise ConfigError(f"Playbook config {source} has {len(problems)} problems:\n"
                          + "\n".join(f"- {problem}." for problem in problems))
    stages = tuple(Stage(stage["name"].strip(), float(stage["probability"]), stage.get("outcome"))
                   for stage in raw["stages"])
    return Playbook(
        stages=stages,
        currency=raw.get("currency", "USD").strip(),
        fiscal_year_start_month=int(raw.get("fiscal_year_start_month", 1)),
        qualified_stage=raw["qualified_stage"].strip() if raw.get("qualified_stage") else None,
        lead_response_sla_hours=float(raw.get("lead_response_sla_hours", 24)),
        stale_deal_days=int(raw.get("stale_deal_days", 30)),
        open_lead_statuses=tuple(status.strip() for status in raw.get("open_lead_statuses", ["New", "Working"])),
        min_deals_for_ranking=int(raw.get("min_deals_for_ranking", 10)),
        exchange_rates=tuple(sorted((str(code).strip().upper(), float(rate))
                                    for code, rate in (raw.get("exchange_rates") or {}).items())),
        source_path=source,
    )
