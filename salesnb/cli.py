"""The ``salesnb`` command: thin wrappers over functions a notebook or scheduler can call.

Errors the user can cause (:class:`salesnb.errors.SalesnbError`) and usage errors (an unknown
option, a missing ``--data``, ``--jobs abc``) are printed as one clear message and exit with
status 2; they never show a traceback. Every value from the data printed here goes through
:func:`salesnb.errors.printable`, so control characters in it cannot drive the terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from salesnb.errors import SalesnbError, printable

# Plain (click-style) help: typer's rich panels print Python type names ("--help <bool>",
# "--only <list[str]>"); every option names its value with a metavar instead.
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, help="salesnb: sales playbook notebooks and reports from CRM data.")

DataOption = Annotated[Optional[Path], typer.Option("--data", metavar="FOLDER",
                                          help="Folder (or export file) with the CRM tables.")]
ConfigOption = Annotated[Optional[Path], typer.Option("--config", metavar="FILE",
                                                      help="Playbook YAML (default: the kit's playbook).")]
MappingOption = Annotated[Optional[Path], typer.Option("--mapping", metavar="FILE",
                                                       help="Mapping YAML that turns an export into the model.")]
PresetOption = Annotated[Optional[str], typer.Option("--preset", metavar="NAME",
                                                     help="CRM export preset: salesforce, hubspot or pipedrive.")]
BackendOption = Annotated[Optional[str], typer.Option(
    "--backend", metavar="URL", help="Instead of --data: where the tables live, e.g. pyspark, duckdb:///crm.duckdb, "
                                     "postgres://user@host/db (docs/scaling.md).")]


def _say(message: str, colour=None, err: bool = False) -> None:
    typer.secho(printable(message), fg=colour, err=err)


def _fail(message: str):
    """A usage error: the command's usage, the message, exit 2 (as for a missing option)."""
    from typer._click.exceptions import UsageError
    from typer._click.globals import get_current_context

    raise UsageError(message, ctx=get_current_context(silent=True))


def _prepared_data(data: Path, mapping: Path | None, preset: str | None) -> Path:
    """The data folder to read: the folder itself, or an on-the-fly import of an export."""
    if mapping is None and preset is None:
        return data
    from salesnb.data.importing import import_to_cache

    return import_to_cache(data, mapping=mapping, preset=preset)


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder to write the sample dataset to.")],
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed; the same seed gives byte-identical files.")] = 42,
    scale: Annotated[str, typer.Option(metavar="SIZE",
                                       help="small, medium, large (about 1M deals, 12M activities) or xlarge (10x large).")] = "small",
    currencies: Annotated[bool, typer.Option("--currencies", help="Deals and orders in USD, EUR and GBP, with a monthly exchange_rates table.")] = False,
):
    """Write a realistic, deterministic sample dataset."""
    from salesnb.data.sample import generate_sample

    written = generate_sample(out, seed=seed, scale=scale, currencies=currencies)
    kind = ", in USD, EUR and GBP" if currencies else ""
    _say(f"Wrote sample dataset ({scale}, seed {seed}{kind}) to {out}: {', '.join(sorted(written))}")


@app.command("validate")
def validate_command(data: DataOption = None, config: ConfigOption = None, mapping: MappingOption = None,
                     preset: PresetOption = None, backend: BackendOption = None):
    """Check a dataset against the data model and the playbook; exit 1 on errors."""
    from salesnb.data.dataset import open_dataset
    from salesnb.data.validate import errors, warnings

    if data is None and backend is None:
        _fail("Missing option '--data' (a data folder) or '--backend' (where the tables live): give one of them.")
    if data is not None and backend is not None:
        _fail("Give either '--data' (a data folder) or '--backend' (where the tables live), not both.")
    folder = _prepared_data(data, mapping, preset) if data is not None else None
    dataset = open_dataset(folder, config, strict=False, backend=backend)
    found_errors, found_warnings = errors(dataset.findings), warnings(dataset.findings)
    for finding in found_errors:
        _say(f"ERROR   {finding.message}", typer.colors.RED)
    for finding in found_warnings:
        _say(f"WARNING {finding.message}", typer.colors.YELLOW)
    from salesnb.data.formats import plural
    from salesnb.data.model import TABLE_NAMES

    # A table refused for a missing column is not loaded, but it was checked: name it too.
    named = set(dataset.table_names) | {finding.table for finding in dataset.findings}
    tables = ", ".join(name for name in TABLE_NAMES if name in named)
    _say(f"Checked {tables}: {plural(len(found_errors), 'error')}, {plural(len(found_warnings), 'warning')}.")
    if found_errors:
        raise typer.Exit(1)


# Numbers are read as text and checked by the run configuration, which names the option and
# says what it takes ("--jobs must be 1 or more (a whole number: ...), not 'abc'").
@app.command()
def run(
    data: Annotated[Optional[Path], typer.Option("--data", metavar="FOLDER", help="Folder (or export file) with the CRM tables; default: the bundled sample, data/sample.")] = None,
    config: ConfigOption = None,
    period_start: Annotated[Optional[str], typer.Option(metavar="DATE", help="First day of the period, YYYY-MM-DD.")] = None,
    period_end: Annotated[Optional[str], typer.Option(metavar="DATE", help="Last day of the period, YYYY-MM-DD.")] = None,
    period: Annotated[Optional[str], typer.Option(metavar="PERIOD", help="The period of every report instead of each one's default: a rule (last_full_month, quarter_to_date, last_12_months, fiscal_quarter, all: the data's whole span, ...), a quarter 2025Q3 or FY2026Q1, a month 2025-07, a year 2025.")] = None,
    only: Annotated[Optional[list[str]], typer.Option(metavar="NAME", help="Run only this notebook (repeatable), e.g. 02_conversion.")] = None,
    out: Annotated[Optional[Path], typer.Option(metavar="FOLDER", help="Run folder (default: reports/<timestamp>).")] = None,
    jobs: Annotated[Optional[str], typer.Option(metavar="N", help="Notebooks to run at once (default: the number of cores).")] = None,
    mapping: MappingOption = None,
    preset: PresetOption = None,
    plan: Annotated[Optional[Path], typer.Option("--plan", metavar="FILE", help="Run plan YAML (data, period, notebooks, fan-out, where runs go, how many to keep); options given here override it.")] = None,
    each: Annotated[Optional[str], typer.Option("--each", metavar="FILTER", help="Also run the notebooks that take this filter once per value, into one folder each: team, rep, segment, source, product or region.")] = None,
    timeout: Annotated[Optional[str], typer.Option("--timeout", metavar="SECONDS", help="Per-notebook time limit in seconds; a notebook over it is stopped and marked failed.")] = None,
    keep: Annotated[Optional[str], typer.Option("--keep", metavar="N", help="Keep this many finished runs in the reports folder; older ones are deleted.")] = None,
    reports_dir: Annotated[Optional[Path], typer.Option("--reports-dir", metavar="FOLDER", help="Folder the run folders go to (default: the kit's reports/).")] = None,
    lock_wait: Annotated[Optional[str], typer.Option("--lock-wait", metavar="SECONDS", help="Seconds to wait for another run on the same reports folder (default 600).")] = None,
    backend: BackendOption = None,
):
    """Validate the data, execute the notebooks with papermill and render HTML reports."""
    from salesnb.report.configuration import ConfigurationError, from_command_line
    from salesnb.report.runner import run_reports

    try:
        configuration = from_command_line(
            plan, data=data, backend=backend, preset=preset, mapping=mapping, playbook=config, notebooks=only,
            period=period, period_start=period_start, period_end=period_end, each=each, reports=reports_dir,
            out=out, keep=keep, timeout_seconds=timeout, lock_wait_seconds=lock_wait, jobs=jobs)
    except ConfigurationError as error:
        _fail(str(error))
    result = run_reports(configuration=configuration)
    _say(f"Reports: {result.index_path}")
    _say(f"Summary: {result.summary_path}")
    if result.latest_updated:
        _say(f"Open: {result.run_dir.parent / 'latest' / 'index.html'}")
    if not result.ok:
        raise typer.Exit(1)


plan_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                       help="Run plans: check one before a scheduler uses it.")
app.add_typer(plan_app, name="plan")


@plan_app.command("check")
def plan_check(path: Annotated[Path, typer.Argument(metavar="PLAN", help="The run plan YAML to check.")]):
    """Check a run plan without running it: keys, files, period rule, notebooks, filter."""
    from salesnb.report.plans import load_plan

    checked = load_plan(path)
    _say(f"Plan {path} is valid:")
    for line in checked.describe():
        _say(f"  {line}")


@app.command("import")
def import_command(
    # Text, not a Path: a database URL (duckdb:///crm.duckdb) must reach the importer whole.
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="An export file, a folder of export files, or a "
                                          "database URL (duckdb:///crm.duckdb, sqlite:///crm.db).")],
    out: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder to write the canonical dataset to.")],
    mapping: MappingOption = None,
    preset: PresetOption = None,
):
    """Turn CRM exports into a dataset in the canonical model."""
    from salesnb.data.importing import import_dataset, import_findings

    written = import_dataset(source, out, mapping=mapping, preset=preset)
    # On the terminal, not only in import_report.json: sheets left unread, misspelt columns.
    for finding in import_findings(out):
        _say(f"WARNING {finding.message}", typer.colors.YELLOW, err=True)
    _say(f"Imported {', '.join(sorted(written))} into {out}")


def main(argv: list[str] | None = None) -> int:
    # Typer bundles its own click: its usage errors are typer._click exceptions, not the
    # installed click's (catching click.ClickException let them through as tracebacks).
    from duckdb import OutOfMemoryException
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    try:
        # Without standalone mode click returns typer.Exit's code instead of raising it.
        code = app(args=argv, prog_name="salesnb", standalone_mode=False)
    except SalesnbError as error:
        _say(str(error), typer.colors.RED, err=True)
        # Most errors mean "nothing ran, fix this" (2); a few have their own documented
        # code: another run holds the reports folder (75), interrupted (130, 143).
        return getattr(error, "exit_code", 2)
    except OutOfMemoryException as error:  # a query DuckDB could not spill past SALESNB_MEMORY_LIMIT
        from salesnb.data.backends import out_of_memory_message

        _say(out_of_memory_message(error), typer.colors.RED, err=True)
        return 2
    except typer.Exit as exit_:
        return exit_.exit_code
    except (typer.Abort, KeyboardInterrupt):
        return 130
    except NoArgsIsHelpError as error:  # `salesnb` alone: the help, as a usage error
        typer.echo(error.ctx.get_help(), err=True)
        return 2
    except ClickException as error:  # unknown option, missing --data, --jobs abc ...
        error.show()
        return 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
