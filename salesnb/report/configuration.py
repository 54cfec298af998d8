"""One run configuration: every setting of a run in one frozen value that checks itself.

``salesnb run`` options, a run plan (:mod:`salesnb.report.plans`) and the keywords of
:func:`salesnb.report.runner.run_reports` all produce a :class:`RunConfiguration`. Making one
(or changing one with :meth:`RunConfiguration.but`) checks every setting and lists every
problem at once, naming each setting as the user wrote it: ``--period-start`` on the command
line, ``period start`` in a plan, ``period_start`` from Python.

It also owns the run's period. Each notebook declares its default period in its
``parameters`` cell (``period = "last_12_months"``; the pipeline review ``"fiscal_quarter"``),
read here without running it; the run's own period (``--period``, a plan's ``period:`` or
dates), when given, replaces it. :meth:`RunConfiguration.report_period` resolves it once per
notebook with :func:`report_period`, the function :func:`salesnb.report.notebook.start` uses
too, and the notebook receives the resolved dates and their label, so the index, the summary
and ``status.json`` state each report's own period.

A new run setting is a field here (with its names in :data:`SETTING_NAMES`) and an option
in ``cli.py``.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import math
import difflib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import salesnb
from salesnb.data.numbers import number_problem
from salesnb.data.periods import (
    EARLIEST_PERIOD_DATE, LATEST_PERIOD_DATE, RULES, Period, is_all, parse_date, parse_period, period_for_short_data,
    resolve_period, resolve_quarter, undated_period,
)
from salesnb.data.selection import DIMENSIONS
from salesnb.errors import SalesnbError
from salesnb.report.lock import DEFAULT_LOCK_WAIT_SECONDS

PROJECT_ROOT = Path(salesnb.__file__).resolve().parents[1]
# Looked up when a run starts (not bound as defaults) so tests can point them elsewhere.
DEFAULT_NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DEFAULT_REPORTS_DIR = PROJECT_ROOT / "reports"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "sample"

# How each setting is written: as a run_reports keyword, a command-line option, a plan key.
PYTHON, COMMAND_LINE, PLAN = "python", "command line", "plan"
SETTING_NAMES = {
    "data": ("data_dir", "--data", "data"),
    "backend": ("backend", "--backend", "backend"),
    "preset": ("preset", "--preset", "data: preset"),
    "mapping": ("mapping", "--mapping", "data: mapping"),
    "playbook": ("config", "--config", "playbook"),
    "notebooks": ("only", "--only", "notebooks"),
    "period": ("period", "--period", "period"),
    "period_start": ("period_start", "--period-start", "period start"),
    "period_end": ("period_end", "--period-end", "period end"),
    "each": ("each", "--each", "each"),
    "reports": ("reports_dir", "--reports-dir", "reports"),
    "out": ("out", "--out", "out"),
    "keep": ("keep", "--keep", "keep"),
    "timeout_seconds": ("timeout", "--timeout", "timeout_seconds"),
    "lock_wait_seconds": ("lock_wait", "--lock-wait", "lock_wait_seconds"),
    "jobs": ("jobs", "--jobs", "jobs"),
}
_VOCABULARY = {PYTHON: 0, COMMAND_LINE: 1, PLAN: 2}

# Numeric settings: (a whole number?, the lowest value, whether the lowest is allowed, what it is).
NUMBERS = {
    "jobs": (True, 1, True, "the notebooks to run at once"),
    "keep": (True, 1, True, "the finished runs to keep"),
    "timeout_seconds": (False, 0, False, "the per-notebook time limit"),
    "lock_wait_seconds": (False, 0, True, "how long to wait for another run on the same reports folder"),
}

# The period key of a run without a period of its own, for comparing runs (salesnb.report.trends).
EACH_REPORTS_DEFAULT = "each report's default"
# Any date will do to check that a period is readable before the data is open.
_PROBE = Period(dt.date(2000, 1, 1), dt.date(2000, 12, 31))


class ConfigurationError(SalesnbError):
    """Run settings that cannot work together or cannot be read; lists every problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems) if len(problems) == 1 else
                         "The run settings have problems:\n" + "\n".join(f"- {problem}" for problem in problems))


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# ----------------------------------------------------------------------------- periods


def report_period(dataset, period=None, period_start=None, period_end=None) -> Period:
    """The period a report covers: ``period`` (any form of :func:`parse_period`, e.g. the
    notebook's declared rule; None: ``parse_period``'s default), unless ``period_start`` /
    ``period_end`` are given: they replace it, and with the ``fiscal_quarter`` rule one given
    end fixes the other to the end of its fiscal quarter."""
    fiscal_start = dataset.playbook.fiscal_year_start_month
    if not dataset.dated:  # every row; dates asked for are a NeedsDatesError
        return undated_period(period, period_start, period_end)
    if period_start not in (None, "") or period_end not in (None, ""):
        if period == "fiscal_quarter" and not (is_all(period_start) or is_all(period_end)):
            return resolve_quarter(period_start, period_end, dataset.as_of, fiscal_start)
        return resolve_period(period_start, period_end, dataset.as_of, span=dataset.span)
    return parse_period(period, as_of=dataset.as_of, span=dataset.span, fiscal_year_start_month=fiscal_start)


@dataclass(frozen=True)
class ReportPeriod:
    """One report's period in a run: the dates and how they came about, as people read it."""

    start: dt.date | None  # None for data without dates (every row)
    end: dt.date | None
    label: str  # "01 Nov 2024 – 31 Oct 2025 (last 12 months, the report's default)"

    @classmethod
    def of(cls, period: Period, label: str) -> "ReportPeriod":
        """``period`` with its label (no dates for ``periods.UNDATED``)."""
        return cls(period.start, period.end, label) if period.dated else cls(None, None, period.label())

    def as_status(self) -> dict:
        return {"start": self.start and self.start.isoformat(), "end": self.end and self.end.isoformat(),
                "label": self.label}


def _looks_like_a_rule(spec) -> bool:
    """Words (``last_month``), not a date or a quarter someone mistyped."""
    return isinstance(spec, str) and any(character.isalpha() for character in spec) and not any(
        character.isdigit() for character in spec)


def _rule_words(spec: str) -> str:
    return "the data's whole span" if is_all(spec) else spec.replace("_", " ") if spec in RULES else spec


# The label of a period the twelve-month rule gave to data of less than a year (all of it):
# "last 12 months" would be untrue of five months.
CHOSEN_FROM_THE_DATA = "chosen from the data, which holds less than twelve months"


def _period_words(spec: str | None, period: Period, dataset) -> str:
    if getattr(dataset, "dated", True) and period == period_for_short_data(dataset.span, dataset.as_of):
        return CHOSEN_FROM_THE_DATA
    return _rule_words(spec) if spec else "the default"


@dataclass(frozen=True)
class NotebookSpec:
    """A report notebook and the parameters its ``parameters`` cell declares, read without running it."""

    path: Path
    defaults: dict  # parameter name -> its default value (None when it is not a literal)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def default_period(self):
        """The period the notebook declares (its ``period`` parameter), or None."""
        return self.defaults.get("period")

    def declares(self, parameter: str) -> bool:
        return parameter in self.defaults

    @classmethod
    def read(cls, path: Path) -> "NotebookSpec":
        import papermill

        defaults = {}
        for name, declared in papermill.inspect_notebook(str(path)).items():
            try:
                defaults[name] = ast.literal_eval(declared.get("default") or "None")
            except (ValueError, SyntaxError):
                defaults[name] = None
        return cls(Path(path), defaults)


# ----------------------------------------------------------------------------- the configuration


@dataclass(frozen=True)
class RunConfiguration:
    """Every setting of a run, checked when made; see the module docstring.

    ``data`` is a folder, or an export (file or folder) or database URL imported with
    ``preset`` or ``mapping``; ``backend`` reads the tables in place instead. ``period`` is
    any form :func:`salesnb.data.periods.parse_period` reads (a rule such as
    ``last_full_month``, ``2025Q3``, two dates); ``period_start``/``period_end`` are dates
    (``YYYY-MM-DD`` or ``all``). ``notebooks`` names notebooks to run (default all);
    ``complete`` says whether that list is the run's complete set (a plan's list is; default:
    only a run of every notebook). ``words`` is how messages name the settings: ``python``,
    ``command line`` or ``plan``.
    """

    data: Path | str | None = None
    backend: str | None = None
    preset: str | None = None
    mapping: Path | None = None
    playbook: Path | None = None
    notebooks: tuple[str, ...] | None = None
    period: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    each: str | None = None
    reports: Path | None = None
    out: Path | None = None
    keep: int | None = None
    timeout_seconds: float | None = None
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS
    jobs: int | None = None
    notebooks_dir: Path | None = None
    complete: bool | None = None
    plan: Path | None = None
    words: str = PYTHON

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ConfigurationError(problems)

    def but(self, **changes) -> "RunConfiguration":
        """This configuration with some settings changed, checked again."""
        return dataclasses.replace(self, **changes)

    def name(self, setting: str) -> str:
        """The setting as the user wrote it (``--period-start``, ``period start``, ``period_start``)."""
        return SETTING_NAMES[setting][_VOCABULARY[self.words]]

    # ------------------------------------------------------------------ checking

    def _set(self, setting: str, value) -> None:
        object.__setattr__(self, setting, value)

    def problems(self) -> list[str]:
        """Check and normalise every setting (paths absolute, numbers as numbers); the problems found."""
        problems: list[str] = []
        for setting in ("data", "mapping", "playbook", "reports", "out", "notebooks_dir"):
            value = getattr(self, setting)
            if value is not None and not (setting == "data" and "://" in str(value)):
                self._set(setting, Path(value).expanduser().resolve())
        for setting in NUMBERS:
            self._set(setting, self._number(setting, getattr(self, setting), problems))
        self._check_data_source(problems)
        self._check_period(problems)
        self._check_notebooks(problems)
        if self.each is not None and self.each not in DIMENSIONS:
            problems.append(f"{self.name('each')}: unknown filter '{self.each}'{_suggest(self.each, DIMENSIONS)}; "
                            f"the filters are: {', '.join(DIMENSIONS)}.")
        return problems

    def _number(self, setting: str, value, problems: list[str]):
        """``value`` (a number, or text from the command line) as the setting's number, or None with a problem."""
        if value is None:
            return None
        whole, lowest, lowest_allowed, meaning = NUMBERS[setting]
        number = value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        kind = "a whole number" if whole else "a number of seconds"
        requirement = f"{lowest} or more" if lowest_allowed else f"above {lowest}"
        if (isinstance(number, bool) or not isinstance(number, (int, float))
                or (whole and not float(number).is_integer())):
            problems.append(f"{self.name(setting)} must be {requirement} ({kind}: {meaning}), not {value!r}.")
            return None
        if not math.isfinite(number):  # nan and inf pass every comparison below: "timed out after nan s"
            problems.append(number_problem(number, self.name(setting), whole=whole, meaning=meaning))
            return None
        if number < lowest or (number == lowest and not lowest_allowed):
            problems.append(f"{self.name(setting)} must be {requirement} ({kind}: {meaning}), not {number:g}.")
            return None
        return int(number) if whole else float(number)

    def _check_data_source(self, problems: list[str]) -> None:
        data, backend = self.name("data"), self.name("backend")
        if self.data is not None and self.backend is not None:
            problems.append(f"Give either {data} (a data folder) or {backend} (where the tables live), not both.")
        if self.preset is not None and self.mapping is not None:
            problems.append(f"Give either {self.name('preset')} or {self.name('mapping')} to import the export, "
                            "not both.")
        if self.backend is not None and self.is_import:
            problems.append(f"{self.name('preset')} and {self.name('mapping')} import an export given with {data}; "
                            f"{backend} reads the tables in place: leave them out.")
        if self.backend is None and not self.is_import:
            from salesnb.report.runs import is_within

            target, option = (self.out, self.name("out")) if self.out is not None else (self.reports_dir, self.name("reports"))
            if is_within(target, self.data_dir):
                problems.append(f"{option} {target} is inside the data folder {self.data_dir}; the kit never writes "
                                "into your data. Choose a folder outside it (e.g. the kit's reports/ folder).")

    def _check_period(self, problems: list[str]) -> None:
        start, end = self.name("period_start"), self.name("period_end")
        if self.period is not None and (self.period_start or self.period_end):
            problems.append(f"{self.name('period')} {self.period} already sets both ends of the period; leave out "
                            f"{start} and {end}.")
        if self.period is not None:
            try:
                parse_period(self.period, as_of=_PROBE.end, span=_PROBE)
            except SalesnbError as error:
                problems.append(self._unknown_rule() if _looks_like_a_rule(self.period) else f"{self.name('period')}: {error}")
        dates = {}
        for setting in ("period_start", "period_end"):
            value = getattr(self, setting)
            if value in (None, "") or is_all(value):
                continue
            try:
                dates[setting] = parse_date(value, self.name(setting))
            except SalesnbError as error:
                problems.append(str(error))
                continue
            self._set(setting, dates[setting].isoformat())
            if not EARLIEST_PERIOD_DATE <= dates[setting] <= LATEST_PERIOD_DATE:
                problems.append(f"{self.name(setting)} {dates[setting]} is outside the dates the kit reports on "
                                f"({EARLIEST_PERIOD_DATE} to {LATEST_PERIOD_DATE}); give a period within your data's "
                                "years, or leave it out for each report's default.")
        if len(dates) == 2 and dates["period_start"] > dates["period_end"]:
            problems.append(f"{start} {dates['period_start']} is after {end} {dates['period_end']}; swap them.")

    def _unknown_rule(self) -> str:
        close = difflib.get_close_matches(self.period.strip().lower(), list(RULES), n=2, cutoff=0.5)
        hint = f" (did you mean {' or '.join(repr(rule) for rule in close)}?)" if close else ""
        rules = "\n".join(f"  {rule}: {meaning}" for rule, meaning in RULES.items())
        return (f"{self.name('period')} {self.period!r} is not a period rule{hint}. The rules are:\n{rules}\n"
                "or give a quarter (2025Q3, FY2026Q1), a month (2025-07), a year (2025) or two dates "
                f"('2025-01-01..2025-03-31', or {self.name('period_start')} and {self.name('period_end')}).")

    def _check_notebooks(self, problems: list[str]) -> None:
        if self.notebooks is None:
            return
        names = [self.notebooks] if isinstance(self.notebooks, str) else list(self.notebooks)
        # Accept "02_conversion.ipynb" too: people paste file names.
        names = [str(name).removesuffix(".ipynb") for name in names]
        self._set("notebooks", tuple(sorted(set(names))))
        available = sorted(path.stem for path in self.notebooks_folder.glob("*.ipynb"))
        for name in names:
            if name not in available:
                problems.append(f"{self.name('notebooks')}: unknown notebook '{name}'{_suggest(name, available)}; "
                                f"the notebooks are: {', '.join(available) or f'none (no *.ipynb in {self.notebooks_folder})'}.")

    # ------------------------------------------------------------------ what the run uses

    @property
    def is_import(self) -> bool:
        return self.preset is not None or self.mapping is not None

    @property
    def data_dir(self) -> Path | None:
        """The data folder (None for a backend run, and for an export until it is imported)."""
        if self.backend is not None or self.is_import:
            return None
        return self.data if self.data is not None else DEFAULT_DATA_DIR

    @property
    def data_label(self) -> str:
        """The data source as runs are compared by (and named on the index): a path, or a URL
        without credentials."""
        from salesnb.data.backends import describe

        if self.backend is not None:
            return describe(self.backend)
        source = self.data if self.data is not None else DEFAULT_DATA_DIR
        return describe(source) if "://" in str(source) else str(source)

    @property
    def notebooks_folder(self) -> Path:
        return self.notebooks_dir or DEFAULT_NOTEBOOKS_DIR

    @property
    def reports_dir(self) -> Path:
        return self.reports or DEFAULT_REPORTS_DIR

    @property
    def is_complete_set(self) -> bool:
        """Whether the run covers its complete set of notebooks (only such a run moves ``latest``)."""
        return self.complete if self.complete is not None else not self.notebooks

    @property
    def workers(self) -> int:
        from salesnb.report.executing import default_jobs

        return self.jobs if self.jobs is not None else default_jobs()

    def notebook_specs(self) -> list[NotebookSpec]:
        """The notebooks to run, in name order, with what each declares."""
        available = sorted(path for path in self.notebooks_folder.glob("*.ipynb") if path.is_file())
        if not available:
            raise SalesnbError(f"No notebooks (*.ipynb) found in {self.notebooks_folder}.")
        chosen = [path for path in available if not self.notebooks or path.stem in self.notebooks]
        return [NotebookSpec.read(path) for path in chosen]

    # ------------------------------------------------------------------ the period

    @property
    def period_key(self) -> str:
        """What the run's period follows, for comparing runs: a rule or form, fixed dates, or each report's default."""
        if self.period_start or self.period_end:
            return f"dates {self.period_start or '…'} to {self.period_end or '…'}"
        return self.period or EACH_REPORTS_DEFAULT

    def report_period(self, notebook: NotebookSpec, dataset) -> ReportPeriod:
        """The period ``notebook`` reports on in this run, resolved once."""
        if self.period_start or self.period_end:
            period = report_period(dataset, notebook.default_period, self.period_start, self.period_end)
            return ReportPeriod.of(period, period.label())
        if self.period is not None:
            period = report_period(dataset, self.period)
            return ReportPeriod.of(period, f"{period.label()} ({_period_words(self.period, period, dataset)})")
        period = report_period(dataset, notebook.default_period)
        words = _period_words(notebook.default_period, period, dataset)
        return ReportPeriod.of(period, f"{period.label()} ({words}, the report's default)")

    def notebook_parameters(self, notebook: NotebookSpec, period: ReportPeriod, data_dir: Path | None,
                            output_dir: Path | None = None) -> dict:
        """What papermill writes into the notebook's parameters cell (JSON-native values).

        Dates the user gave go down as given (the notebook states it when they reach far
        beyond the data); a rule or the notebook's own default goes down as its resolved dates
        (none for data without dates). A notebook that declares ``output_dir`` (a report that
        writes a file beside its page, e.g. ``scores.csv``) gets the job's folder: the run
        folder, or its pack's folder."""
        given = bool(self.period_start or self.period_end)
        parameters = {
            "data_dir": str(data_dir) if data_dir else None,
            "config_path": str(self.playbook) if self.playbook else None,
            "period_start": self.period_start if given else period.start and period.start.isoformat(),
            "period_end": self.period_end if given else period.end and period.end.isoformat(),
        }
        if self.backend:
            parameters["backend"] = str(self.backend)
        if notebook.declares("period_label"):
            parameters["period_label"] = period.label
        if notebook.declares("output_dir") and output_dir is not None:
            parameters["output_dir"] = str(output_dir)
        return parameters

    # ------------------------------------------------------------------ for people

    def describe(self) -> list[str]:
        """What the run will do, one line per setting (``salesnb plan check``)."""
        source = self.data_label + (f" (import with preset {self.preset})" if self.preset else "") + (
            f" (import with mapping {self.mapping})" if self.mapping else "")
        if self.period_start or self.period_end:
            default_start, default_end = "(each report's default start)", "(each report's default end)"
            period = f"{self.period_start or default_start} to {self.period_end or default_end}"
        elif self.period:
            period = f"{self.period}: {RULES[self.period]}" if self.period in RULES else self.period
        else:
            period = "each report's default, declared in its notebook's parameters cell"
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


def run_period(periods: list[tuple[str, ReportPeriod]]) -> tuple[ReportPeriod | None, str]:
    """The period most of a run's reports cover (ties: the first report's), and a label that
    names every other report's own period: ``(main period, label)``."""
    if not periods:
        return None, ""
    counts = Counter(period for _, period in periods)
    main = max((period for _, period in periods), key=counts.__getitem__)  # the first of the most common
    others = [f"{name}: {period.label}" for name, period in periods if period != main]
    return main, "; ".join([main.label, *others])


def from_command_line(plan: Path | None = None, **options) -> RunConfiguration:
    """The configuration of ``salesnb run``: the plan (if any) with every option given in its place.

    ``--data`` alone is a folder, whatever export the plan imported; dates replace a period
    rule and a rule replaces dates; ``--only`` makes the run partial (a plan's list is its
    complete set)."""
    from salesnb.report import plans

    base = plans.load_plan(plan, options.get("notebooks_dir")) if plan is not None else RunConfiguration()
    given = {name: value for name, value in options.items() if value is not None}
    if "data" in given and "preset" not in given and "mapping" not in given:
        given.update(preset=None, mapping=None)
    if ("period_start" in given or "period_end" in given) and "period" not in given:
        given["period"] = None
    if "period" in given and "period_start" not in given and "period_end" not in given:
        given.update(period_start=None, period_end=None)
    if "backend" in given and "data" not in given:
        # The tables where they live, not the plan's folder or export.
        given.update({name: None for name in ("data", "preset", "mapping") if name not in given})
    if "notebooks" in given:
        given["complete"] = False
    return base.but(words=COMMAND_LINE, **given)
