"""The playbook: the sales process as configuration (stages, SLA, thresholds, currency).

A documented default ships as ``salesnb/playbook.yaml``; users pass their own with
``--config`` (or the ``config_path`` notebook parameter). Loading checks the file and
says what is wrong with it, instead of failing later inside a metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from salesnb.errors import ConfigError

DEFAULT_PLAYBOOK_PATH = Path(__file__).resolve().parent / "playbook.yaml"


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


def playbook_from_dict(raw: dict, source: str = "<dict>") -> Playbook:
    """Build and check a playbook from a mapping (the parsed YAML)."""

    def fail(problem: str):
        raise ConfigError(f"Playbook config {source}: {problem}")

    def is_number(value) -> bool:
        # YAML reads `true` as a bool (an int in Python) and `.nan`/`.inf` as floats: none is a
        # setting's number, and each would silently give a wrong report.
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    known = {
        "stages", "currency", "fiscal_year_start_month", "qualified_stage",
        "lead_response_sla_hours", "stale_deal_days", "open_lead_statuses", "min_deals_for_ranking",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        fail(f"unknown setting(s) {', '.join(unknown)}; the settings are {', '.join(sorted(known))}.")

    raw_stages = raw.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        fail("'stages' must be a list of stages, each with a name and a probability.")
    stages = []
    for index, item in enumerate(raw_stages, start=1):
        if not isinstance(item, dict) or "name" not in item:
            fail(f"stage {index} must have a 'name'.")
        name = str(item["name"]).strip()
        probability = item.get("probability")
        if not is_number(probability):
            fail(f"stage '{name}' needs a numeric 'probability' between 0 and 1, not {probability!r}.")
        if probability > 1:
            fail(f"stage '{name}' has probability {probability}; give probabilities as 0..1 (e.g. 0.25, not 25).")
        if probability < 0:
            fail(f"stage '{name}' has a negative probability {probability}.")
        outcome = item.get("outcome")
        if outcome not in (None, "won", "lost"):
            fail(f"stage '{name}' has outcome '{outcome}'; use 'won', 'lost' or leave it out for an open stage.")
        stages.append(Stage(name, float(probability), outcome))

    names = [stage.name for stage in stages]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        fail(f"stage name(s) {', '.join(duplicates)} appear more than once.")
    if sum(stage.outcome == "won" for stage in stages) != 1:
        fail("exactly one stage must have 'outcome: won'.")
    # Lost and open stages are optional: a funnel export may record only the deals won (or
    # won and lost). The reports then say what such data cannot show (deals.process_gaps).

    month = raw.get("fiscal_year_start_month", 1)
    if not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12:
        fail(f"fiscal_year_start_month must be a month number 1..12, not {month!r}.")
    qualified = raw.get("qualified_stage")
    open_names = [stage.name for stage in stages if stage.outcome is None]
    if qualified is not None and qualified not in open_names:
        fail(f"qualified_stage '{qualified}' is not one of the open stages ({', '.join(open_names)}).")
    for key in ("lead_response_sla_hours", "stale_deal_days", "min_deals_for_ranking"):
        value = raw.get(key)
        if value is not None and (not is_number(value) or value <= 0):
            fail(f"{key} must be a positive number, not {value!r}.")
    statuses = raw.get("open_lead_statuses", ["New", "Working"])
    if not isinstance(statuses, list):
        fail("open_lead_statuses must be a list of lead statuses.")

    return Playbook(
        stages=tuple(stages),
        currency=str(raw.get("currency", "USD")),
        fiscal_year_start_month=month,
        qualified_stage=qualified,
        lead_response_sla_hours=float(raw.get("lead_response_sla_hours", 24)),
        stale_deal_days=int(raw.get("stale_deal_days", 30)),
        open_lead_statuses=tuple(str(status) for status in statuses),
        min_deals_for_ranking=int(raw.get("min_deals_for_ranking", 10)),
        source_path=source,
    )
