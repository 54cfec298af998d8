"""Run plans: one YAML file holds what a scheduled run needs (``salesnb run --plan weekly.yaml``).

::

    data: /srv/crm/latest                 # a dataset folder, or one of:
    # data: {export: /srv/crm/deals.csv, preset: salesforce}
    # data: {export: /srv/crm/exports, mapping: crm-mapping.yaml}
    # data: {url: "postgresql://reporting@db/crm", mapping: crm-mapping.yaml}
    playbook: playbook.yaml               # optional; default: the kit's (or the import's) playbook
    notebooks: [01_lead_generation, 02_conversion]   # optional; default: every notebook
    period: last_full_month               # last_full_month, quarter_to_date, last_12_months, all,
                                          # or {start: 2026-01-01, end: 2026-03-31}
    each: team                            # optional: also one pack per team (rep, segment)
    reports: /srv/reports/weekly          # where the run folders go (default: the kit's reports/)
    keep: 12                              # finished runs to keep there (default: all)
    timeout_seconds: 900                  # per-notebook time limit (default: none)
    lock_wait_seconds: 600                # wait for a run still writing the same folder
    jobs: 2                               # notebooks at once

Relative paths are relative to the plan file's folder. :func:`load_plan` checks everything
it can without running (keys, types, files, period rule, notebook names, filter) and lists
every problem at once; options given on the command line override the plan's values.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from salesnb.data.periods import PERIOD_RULES
from salesnb.errors import SalesnbError
from salesnb.report.runs import is_within

KEYS = {
    "data": "the data: a folder, or {export: FILE_OR_FOLDER, preset|mapping: ...}, or {url: DATABASE_URL, preset|mapping: ...}",
    "playbook": "the playbook YAML",
    "notebooks": "list of notebook names to run",
    "period": f"a rule ({', '.join(PERIOD_RULES)}) or {{start: YYYY-MM-DD, end: YYYY-MM-DD}}",
    "each": "a filter to make one pack per value of: team, rep or segment",
    "reports": "the folder the run folders go to",
    "keep": "how many finished runs to keep (a whole number, 1 or more)",
    "timeout_seconds": "per-notebook time limit in seconds",
    "lock_wait_seconds": "seconds to wait for another run on the same reports folder",
    "jobs": "notebooks to run at once",
}
DATA_KEYS = {"export", "url", "preset", "mapping"}


class _PlanLoader(yaml.SafeLoader):
    """Safe YAML with dates left as text: PyYAML would fail on 2026-13-01 with a bare
    ValueError; the plan checks dates itself and says which one is wrong."""


_PlanLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class PlanError(SalesnbError):
    """A run plan has mistakes; the message lists every one, with what to write instead."""

    def __init__(self, path: Path, problems: list[str]):
        self.path, self.problems = path, problems
        lines = [f"Run plan {path} has {len(problems)} problem(s):"] + [f"- {problem}" for problem in problems]
        super().__init__("\n".join(lines))


@dataclass
class RunPlan:
    """A checked plan: every path absolute, the period as a rule or dates."""

    path: Path
    data: Path | str | None = None  # folder, export file/folder, or database URL
    preset: str | None = None
    mapping: Path | None = None
    playbook: Path | None = None
    notebooks: list[str] | None = None
    period_rule: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    each: str | None = None
    reports: Path | None = None
    keep: int | None = None
    timeout_seconds: float | None = None
    lock_wait_seconds: float | None = None
    jobs: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_import(self) -> bool:
        return self.preset is not None or self.mapping is not None

    @property
    def data_label(self) -> str:
        """The data source as runs are compared by: the path, or the URL without credentials."""
        text = str(self.data)
        if "://" in text and "@" in text:
            scheme, _, rest = text.partition("://")
            text = f"{scheme}://{rest.rsplit('@', 1)[1]}"
        return text

    def describe(self) -> list[str]:
        """What the plan will do, one line per setting, for ``salesnb plan check``."""
        source = f"{self.data}" + (f" (import with preset {self.preset})" if self.preset else "") + (
            f" (import with mapping {self.mapping})" if self.mapping else "")
        period = (f"{self.period_rule}: {PERIOD_RULES[self.period_rule]}" if self.period_rule
                  else f"{self.period_start or '(default start)'} to {self.period_end or '(default end)'}"
                  if self.period_start or self.period_end else "the notebooks' default (12 full months)")
        return [
            f"data       {source}",
            f"playbook   {self.playbook or 'default'}",
            f"notebooks  {', '.join(self.notebooks) if self.notebooks else 'all'}",
            f"period     {period}",
            f"each       {self.each or '-'}",
            f"reports    {self.reports or 'the kit reports/ folder'}",
            f"keep       {self.keep if self.keep is not None else 'all runs'}",
            f"timeout    {f'{self.timeout_seconds:g} s per notebook' if self.timeout_seconds else 'none'}",
        ]


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _date_text(value, name: str, problems: list[str]) -> str | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems.append(f"period: {name} {value!r} is not a date; write it as YYYY-MM-DD.")
        return None


def _number(raw: dict, key: str, problems: list[str], *, whole: bool, minimum: float):
    if key not in raw or raw[key] is None:
        return None
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
        problems.append(f"{key}: {value!r} is not {'a whole number' if whole else 'a number'}; {KEYS[key]}.")
        return None
    if value < minimum:
        problems.append(f"{key}: {value!r} is too small; it must be at least {minimum:g} ({KEYS[key]}).")
        return None
    return value


def load_plan(path, notebooks_dir: Path | None = None) -> RunPlan:
    """Read and check a run plan; raise :class:`PlanError` listing every problem."""
    from salesnb.data.importing import preset_names
    from salesnb.data.importing.readers import is_database_url
    from salesnb.metrics.deals import FILTER_COLUMNS
    from salesnb.report import runner

    path = Path(path).expanduser()
    if not path.is_file():
        raise PlanError(path, [f"the plan file does not exist{' (it is a folder)' if path.is_dir() else ''}; "
                               "give the path of a YAML file (see docs/reports.md, Run plans)."])
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_PlanLoader)  # noqa: S506 (a SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise PlanError(path, [f"it is not valid YAML: {error}"]) from None
    if not isinstance(raw, dict):
        raise PlanError(path, ["it must be a mapping of settings (data:, period:, ...), see docs/reports.md."])
    base = path.resolve().parent
    problems: list[str] = []
    plan = RunPlan(path=path.resolve())

    def local(value) -> Path:
        return (base / Path(str(value)).expanduser()).resolve()

    for key in raw:
        if key not in KEYS:
            problems.append(f"unknown key '{key}'{_suggest(str(key), KEYS)}; the keys are: {', '.join(KEYS)}.")

    # data
    data = raw.get("data")
    if data is None:
        problems.append(f"data is missing: {KEYS['data']}.")
    elif isinstance(data, str):
        plan.data = local(data)
        if not plan.data.is_dir():
            problems.append(f"data: folder {plan.data} does not exist{' (it is a file: an export needs preset: or mapping:)' if plan.data.is_file() else ''}.")
    elif isinstance(data, dict):
        for key in data:
            if key not in DATA_KEYS:
                problems.append(f"data: unknown key '{key}'{_suggest(str(key), DATA_KEYS)}; use export or url, with preset or mapping.")
        if ("export" in data) == ("url" in data):
            problems.append("data: give exactly one of export (a file or folder) and url (a database URL).")
        if ("preset" in data) == ("mapping" in data):
            problems.append(f"data: give exactly one of preset ({', '.join(preset_names())}) and mapping (a mapping YAML).")
        if "export" in data:
            plan.data = local(data["export"])
            if not plan.data.exists():
                problems.append(f"data: export {plan.data} does not exist.")
        if "url" in data:
            plan.data = str(data["url"])
            if not is_database_url(plan.data):
                problems.append(f"data: url {plan.data.split('@')[-1]!r} is not a database URL the kit reads "
                                "(duckdb://, sqlite://, postgresql://, mysql://, snowflake://, bigquery://).")
        if "preset" in data:
            plan.preset = str(data["preset"])
            if plan.preset not in preset_names():
                problems.append(f"data: unknown preset '{plan.preset}'{_suggest(plan.preset, preset_names())}; "
                                f"the presets are: {', '.join(preset_names())}.")
        if "mapping" in data:
            plan.mapping = local(data["mapping"])
            if not plan.mapping.is_file():
                problems.append(f"data: mapping file {plan.mapping} does not exist.")
    else:
        problems.append(f"data: {data!r} is neither a folder nor a mapping; {KEYS['data']}.")

    # playbook
    if raw.get("playbook") is not None:
        plan.playbook = local(raw["playbook"])
        if not plan.playbook.is_file():
            problems.append(f"playbook: file {plan.playbook} does not exist.")
        else:
            from salesnb.data.playbook import load_playbook

            try:
                load_playbook(plan.playbook)
            except SalesnbError as error:
                problems.append(f"playbook: {error}")

    # notebooks
    notebooks = raw.get("notebooks")
    if notebooks is not None:
        if isinstance(notebooks, str):
            notebooks = [notebooks]
        if not isinstance(notebooks, list) or not notebooks or not all(isinstance(name, str) for name in notebooks):
            problems.append("notebooks: give a list of notebook names, e.g. [01_lead_generation, 02_conversion].")
        else:
            available = [found.stem for found in Path(notebooks_dir or runner.DEFAULT_NOTEBOOKS_DIR).glob("*.ipynb")]
            names = [name.removesuffix(".ipynb") for name in notebooks]
            for name in names:
                if name not in available:
                    problems.append(f"notebooks: unknown notebook '{name}'{_suggest(name, available)}; "
                                    f"the notebooks are: {', '.join(sorted(available))}.")
            plan.notebooks = names

    # period
    period = raw.get("period")
    if isinstance(period, str):
        if period in PERIOD_RULES:
            plan.period_rule = period
        else:
            problems.append(f"period: unknown rule '{period}'{_suggest(period, PERIOD_RULES)}; use one of "
                            f"{', '.join(PERIOD_RULES)}, or {{start: YYYY-MM-DD, end: YYYY-MM-DD}}.")
    elif isinstance(period, dict):
        unknown = [key for key in period if key not in ("start", "end")]
        if unknown or not period:
            problems.append(f"period: use start and end (YYYY-MM-DD), not {', '.join(map(str, unknown)) or 'nothing'}.")
        start = _date_text(period["start"], "start", problems) if period.get("start") is not None else None
        end = _date_text(period["end"], "end", problems) if period.get("end") is not None else None
        if start and end and start > end:
            problems.append(f"period: start {start} is after end {end}; swap them.")
        plan.period_start, plan.period_end = start, end
    elif period is not None:
        problems.append(f"period: {period!r} is not a rule or dates; {KEYS['period']}.")

    # each
    if raw.get("each") is not None:
        plan.each = str(raw["each"])
        if plan.each not in FILTER_COLUMNS:
            problems.append(f"each: unknown filter '{plan.each}'{_suggest(plan.each, FILTER_COLUMNS)}; "
                            f"the filters are: {', '.join(FILTER_COLUMNS)}.")

    # reports
    if raw.get("reports") is not None:
        plan.reports = local(raw["reports"])
        if plan.reports.exists() and not plan.reports.is_dir():
            problems.append(f"reports: {plan.reports} is a file; give a folder (it is created if missing).")
        elif isinstance(plan.data, Path) and not plan.is_import and is_within(plan.reports, plan.data):
            problems.append(f"reports: {plan.reports} is inside the data folder {plan.data}; the kit never writes "
                            "into your data. Choose a folder elsewhere.")

    plan.keep = _number(raw, "keep", problems, whole=True, minimum=1)
    plan.timeout_seconds = _number(raw, "timeout_seconds", problems, whole=False, minimum=1)
    plan.lock_wait_seconds = _number(raw, "lock_wait_seconds", problems, whole=False, minimum=0)
    plan.jobs = _number(raw, "jobs", problems, whole=True, minimum=1)
    if problems:
        raise PlanError(path, problems)
    return plan


def override(plan: RunPlan, **flags) -> RunPlan:
    """The plan with every flag that was given (not None) in place of the plan's value.

    Dates on the command line replace the plan's period rule."""
    known = {item.name for item in fields(RunPlan)}
    values = {name: value for name, value in flags.items() if value is not None}
    unknown = set(values) - known
    if unknown:
        raise TypeError(f"unknown plan settings {sorted(unknown)}")
    if "period_start" in values or "period_end" in values:
        plan.period_rule = None
    for name, value in values.items():
        setattr(plan, name, value)
    return plan
