"""Run plans: one YAML file holds what a scheduled run needs (``salesnb run --plan weekly.yaml``).

::

    data: /srv/crm/latest                 # a dataset folder, or one of:
    # data: {export: /srv/crm/deals.csv, preset: salesforce}
    # data: {export: /srv/crm/exports, mapping: crm-mapping.yaml}
    # data: {url: "postgresql://reporting@db/crm", mapping: crm-mapping.yaml}
    playbook: playbook.yaml               # optional; default: the kit's (or the import's) playbook
    notebooks: [01_lead_generation, 02_conversion]   # optional; default: every notebook
    period: last_full_month               # a rule (last_full_month, quarter_to_date, last_12_months, all,
                                          # fiscal_quarter, ...), a form such as 2026Q1, or
                                          # {start: 2026-01-01, end: 2026-03-31}; default: each
                                          # notebook's own (declared in its parameters cell)
    each: team                            # optional: also one pack per team (rep, segment, source,
                                          # product, region)
    reports: /srv/reports/weekly          # where the run folders go (default: the kit's reports/)
    keep: 12                              # finished runs to keep there (default: all)
    timeout_seconds: 900                  # per-notebook time limit (default: none)
    lock_wait_seconds: 600                # wait for a run still writing the same folder
    jobs: 2                               # notebooks at once

Relative paths are relative to the plan file's folder. :func:`load_plan` checks the file's
shape (keys, types, files, presets) and hands the values to
:class:`salesnb.report.configuration.RunConfiguration`, which checks the settings themselves
(numbers, period, notebook names, filter) as it does for the command line; every problem is
listed at once. Options given on the command line override the plan's values
(:func:`salesnb.report.configuration.from_command_line`).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from salesnb.data.periods import RULES
from salesnb.errors import SalesnbError
from salesnb.report.configuration import PLAN, ConfigurationError, RunConfiguration

KEYS = {
    "data": "the data: a folder, or {export: FILE_OR_FOLDER, preset|mapping: ...}, or {url: DATABASE_URL, preset|mapping: ...}",
    "playbook": "the playbook YAML",
    "notebooks": "list of notebook names to run",
    "period": f"a rule ({', '.join(RULES)}), a form such as 2026Q1, or {{start: YYYY-MM-DD, end: YYYY-MM-DD}}",
    "each": "a filter to make one pack per value of: team, rep, segment, source, product or region",
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


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _data(data, local, problems: list[str]) -> dict:
    """The ``data:`` entry as configuration settings (data, preset, mapping)."""
    from salesnb.data.importing import preset_names
    from salesnb.data.importing.readers import is_database_url

    if data is None:
        problems.append(f"data is missing: {KEYS['data']}.")
        return {}
    if isinstance(data, str):
        folder = local(data)
        if not folder.is_dir():
            problems.append(f"data: folder {folder} does not exist{' (it is a file: an export needs preset: or mapping:)' if folder.is_file() else ''}.")
        return {"data": folder}
    if not isinstance(data, dict):
        problems.append(f"data: {data!r} is neither a folder nor a mapping; {KEYS['data']}.")
        return {}
    settings = {}
    for key in data:
        if key not in DATA_KEYS:
            problems.append(f"data: unknown key '{key}'{_suggest(str(key), DATA_KEYS)}; use export or url, with preset or mapping.")
    if ("export" in data) == ("url" in data):
        problems.append("data: give exactly one of export (a file or folder) and url (a database URL).")
    if ("preset" in data) == ("mapping" in data):
        problems.append(f"data: give exactly one of preset ({', '.join(preset_names())}) and mapping (a mapping YAML).")
    if "export" in data:
        settings["data"] = local(data["export"])
        if not settings["data"].exists():
            problems.append(f"data: export {settings['data']} does not exist.")
    elif "url" in data:
        settings["data"] = str(data["url"])
        if not is_database_url(settings["data"]):
            problems.append(f"data: url {settings['data'].split('@')[-1]!r} is not a database URL the kit reads "
                            "(duckdb://, sqlite://, postgresql://, mysql://, snowflake://, bigquery://).")
    if "preset" in data:
        settings["preset"] = str(data["preset"])
        if settings["preset"] not in preset_names():
            problems.append(f"data: unknown preset '{settings['preset']}'{_suggest(settings['preset'], preset_names())}; "
                            f"the presets are: {', '.join(preset_names())}.")
    elif "mapping" in data:
        settings["mapping"] = local(data["mapping"])
        if not settings["mapping"].is_file():
            problems.append(f"data: mapping file {settings['mapping']} does not exist.")
    return settings


def _period(period, problems: list[str]) -> dict:
    """The ``period:`` entry as configuration settings (a rule or form, or start and end dates)."""
    if period is None:
        return {}
    if isinstance(period, (str, int)) and not isinstance(period, bool):
        return {"period": str(period)}
    if isinstance(period, dict):
        unknown = [key for key in period if key not in ("start", "end")]
        if unknown or not period:
            problems.append(f"period: use start and end (YYYY-MM-DD), not {', '.join(map(str, unknown)) or 'nothing'}.")
        return {"period_start": None if period.get("start") is None else str(period["start"]),
                "period_end": None if period.get("end") is None else str(period["end"])}
    problems.append(f"period: {period!r} is not a rule or dates; {KEYS['period']}.")
    return {}


def load_plan(path, notebooks_dir: Path | None = None) -> RunConfiguration:
    """Read and check a run plan; raise :class:`PlanError` listing every problem."""
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

    def local(value) -> Path:
        return (base / Path(str(value)).expanduser()).resolve()

    for key in raw:
        if key not in KEYS:
            problems.append(f"unknown key '{key}'{_suggest(str(key), KEYS)}; the keys are: {', '.join(KEYS)}.")
    settings = {**_data(raw.get("data"), local, problems), **_period(raw.get("period"), problems)}

    if raw.get("playbook") is not None:
        settings["playbook"] = local(raw["playbook"])
        if not settings["playbook"].is_file():
            problems.append(f"playbook: file {settings['playbook']} does not exist.")
        else:
            from salesnb.data.playbook import load_playbook

            try:
                load_playbook(settings["playbook"])
            except SalesnbError as error:
                problems.append(f"playbook: {error}")

    notebooks = raw.get("notebooks")
    if notebooks is not None:
        notebooks = [notebooks] if isinstance(notebooks, str) else notebooks
        if not isinstance(notebooks, list) or not notebooks or not all(isinstance(name, str) for name in notebooks):
            problems.append("notebooks: give a list of notebook names, e.g. [01_lead_generation, 02_conversion].")
        else:
            settings.update(notebooks=tuple(notebooks), complete=True)  # a plan's list is its complete set

    if raw.get("each") is not None:
        settings["each"] = str(raw["each"])
    if raw.get("reports") is not None:
        settings["reports"] = local(raw["reports"])
        if settings["reports"].exists() and not settings["reports"].is_dir():
            problems.append(f"reports: {settings['reports']} is a file; give a folder (it is created if missing).")
    settings.update({key: raw[key] for key in ("keep", "timeout_seconds", "lock_wait_seconds", "jobs")
                     if raw.get(key) is not None})
    try:
        configuration = RunConfiguration(**settings, notebooks_dir=notebooks_dir, plan=path.resolve(), words=PLAN)
    except ConfigurationError as error:
        problems += error.problems
    if problems:
        raise PlanError(path, problems)
    return configuration
