"""The one loader: a data folder, a backend (Spark, a warehouse) or in-memory frames
becomes Ibis tables.

Every table is converted to its canonical types (``salesnb.data.model``) and checked
(``salesnb.data.validate``). A file dataset is read by DuckDB in-process and converted once to
Parquet in a cache outside the user's folder (``$SALESNB_CACHE_DIR`` or ``~/.cache/salesnb``),
reused while the source files are unchanged; the user's files are only ever read. A backend
dataset (``backend=``, see ``salesnb.data.backends``) is typed and checked where its tables
live, and every metric then runs there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from functools import cached_property
from pathlib import Path

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandas as pd

from salesnb.data import attributes, backends, cache, cachelimit, currency, model, querycache, tablefiles, validate
from salesnb.data.importing import import_findings
from salesnb.data.model import TABLE_NAMES, TABLES, convert, ibis_type
from salesnb.data.backends import as_count
from salesnb.data.periods import EARLIEST_PERIOD_DATE, LATEST_PERIOD_DATE, Period
from salesnb.data.playbook import Playbook, load_playbook
from salesnb.errors import DatasetNotFoundError, DataValidationError, MissingTableError, NeedsDatesError

# The data date leaves out the latest event days while they lie far after the next event: more
# than DATA_DATE_GAP_DAYS, and more than DATA_DATE_GAP_SPACINGS times the data's own spacing
# between event days (sparse data, a deal a year, has long gaps of its own); "a few" events
# are left out at most: DATA_DATE_OUTLIERS_MIN, or DATA_DATE_OUTLIER_SHARE of the events if
# that is more (see Dataset.as_of).
DATA_DATE_GAP_DAYS = 366
DATA_DATE_GAP_SPACINGS = 10
DATA_DATE_OUTLIERS_MIN = 3
DATA_DATE_OUTLIER_SHARE = 0.01


def _outliers_at_the_end(latest: list[tuple[dt.date, int]], most: int, first: dt.date, days: int) -> int:
    """How many of the ``latest`` days (newest first, with their event counts) to leave out of
    the data date: the most days, holding at most ``most`` events together, that end with a
    gap far larger than the data's own (see ``DATA_DATE_GAP_DAYS``) before the next day.
    ``first`` is the data's first event day and ``days`` its number of distinct event days.
    0 when there is no such gap."""
    chosen, events = 0, 0
    for index in range(len(latest) - 1):
        events += latest[index][1]
        if events > most:
            break
        rest = latest[index + 1][0]  # the data date if the days before this one are left out
        spacing = (rest - first).days / max(1, days - index - 2)
        gap = (latest[index][0] - rest).days
        if gap > max(DATA_DATE_GAP_DAYS, DATA_DATE_GAP_SPACINGS * spacing):
            chosen = index + 1
    return chosen


# The code that types and checks the data: part of every cache entry's key.
CODE_FILES = [Path(validate.__file__), Path(model.__file__), Path(tablefiles.__file__), Path(currency.__file__),
              Path(attributes.__file__),
              Path(__file__)]


def connect() -> ibis.BaseBackend:
    """The embedded default backend: DuckDB in-process, with the kit's memory settings."""
    return backends.connect_duckdb()


class Dataset:
    """Canonical tables as Ibis expressions, the playbook, and the validation findings.

    Metric functions take a ``Dataset``; tables are lazy expressions until executed.
    """

    def __init__(self, connection, tables: dict[str, ir.Table], playbook: Playbook,
                 findings: list[validate.Finding], source: str | None = None,
                 attribute_tables: dict[str, ir.Table] | None = None):
        self.connection = connection
        self._tables = tables
        self._attributes = attribute_tables or {}  # salesnb.data.attributes: extra columns kept
        self.playbook = playbook
        self.findings = findings
        self.source = source
        self._memo: dict = {}
        self._derived_views: set[str] = set()
        # An expression a report executes twice is compiled and run once (salesnb.data.querycache).
        self.query_cache = querycache.attach(connection)
        self.cache_entry = None

    @property
    def cache_entry(self) -> Path | None:
        """The cache entry the tables were read from (open_dataset): where derived() keeps its
        tables, facts are kept and the compiled SQL of its queries (salesnb.data.compiled)."""
        return self._cache_entry

    @cache_entry.setter
    def cache_entry(self, entry: Path | None) -> None:
        self._cache_entry = entry
        self.query_cache.compiled.keep_in(entry)
        self.query_cache.entry = entry  # queries mark it used, so a long session keeps it

    def has(self, name: str) -> bool:
        return name in self._tables

    @property
    def table_names(self) -> list[str]:
        return [name for name in TABLE_NAMES if name in self._tables]

    @property
    def missing_tables(self) -> list[str]:
        return [name for name in TABLE_NAMES if name not in self._tables]

    def table(self, name: str, needed_for: str = "this analysis") -> ir.Table:
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}")
        if name not in self._tables:
            raise MissingTableError(name, needed_for, TABLES[name].enables)
        return self._tables[name]

    def attributes(self, name: str) -> ir.Table | None:
        """The attributes of table ``name`` (its key and the extra columns of the user's own,
        :mod:`salesnb.data.attributes`), or None when it has none."""
        return self._attributes.get(name)

    def attribute_kinds(self, name: str) -> dict[str, str]:
        """Attribute name -> ``number`` or ``category`` for table ``name`` (empty without any)."""
        table = self._attributes.get(name)
        return {} if table is None else attributes.kinds_of(name, table)

    # Events recorded when they happen: they date the snapshot. Activities and orders are
    # left out: meetings and renewals are often entered ahead of time, and one scheduled or
    # mistyped date would move every default period (they are checked against as_of instead).
    SNAPSHOT_EVENTS = (("opportunities", "created_at"), ("opportunity_history", "changed_at"),
                       ("leads", "created_at"))
    LATER_EVENTS = (("activities", "occurred_at"), ("orders", "ordered_at"))

    def _snapshot_events(self) -> list[tuple[str, str, ir.Table]]:
        """(table, column, rows) of the events that date the data: ``SNAPSHOT_EVENTS`` and the
        close of a closed deal."""
        events = [(name, column, self._tables[name]) for name, column in self.SNAPSHOT_EVENTS if self.has(name)]
        if self.has("opportunities"):
            opportunities = self._tables["opportunities"]
            closed = opportunities.filter(opportunities.stage.isin(self.playbook.closed_stages))
            events.append(("opportunities", "close_date", closed))
        return events

    @staticmethod
    def _days(table: ir.Table, column: str):
        return table[column].cast("date") if table[column].type().is_timestamp() else table[column]

    def _latest_event_day(self, events) -> dt.date | None:
        """The latest day of ``events`` that is not far after all the others (see :attr:`as_of`)."""
        low, high = ibis.literal(EARLIEST_PERIOD_DATE), ibis.literal(LATEST_PERIOD_DATE)
        dated = []
        for _, column, table in events:
            day = self._days(table, column)
            dated.append(table.filter(day.between(low, high)).select(day=day))
        if not dated:
            return None
        days = dated[0].union(*dated[1:]) if len(dated) > 1 else dated[0]
        facts = days.aggregate(total=days.count(), first=days.day.min(), distinct=days.day.nunique()).execute()
        total = as_count(facts["total"].iloc[0])
        if not total:
            return None
        # At most this many events may be left out: "a few", and none in data too small to tell.
        most = (0 if total < validate.OUTLYING_DATE_MIN_VALUES
                else max(DATA_DATE_OUTLIERS_MIN, int(total * DATA_DATE_OUTLIER_SHARE)))
        # The latest distinct days with their events: only the first `most + 1` can matter.
        top = (days.group_by("day").aggregate(events=days.count()).order_by(ibis.desc("day")).limit(most + 1)
               .execute())
        latest = [(pd.Timestamp(day).date(), int(count)) for day, count in zip(top["day"], top["events"])]
        first, distinct = pd.Timestamp(facts["first"].iloc[0]).date(), as_count(facts["distinct"].iloc[0])
        return latest[_outliers_at_the_end(latest, most, first, distinct)][0]

    @property
    def dated(self) -> bool:
        """Whether any deal, lead, activity or order carries a date. Data without dates (a
        lead-scoring extract, a win/loss table) loads: its reports cover every row
        (``periods.UNDATED``), and what needs dates says so (:class:`NeedsDatesError`)."""
        return self._data_date is not None

    @property
    def as_of(self) -> dt.date:
        """The data's snapshot date (see :attr:`_data_date`); a :class:`NeedsDatesError` for
        data without dates, whose analyses that need it say so."""
        if self._data_date is None:
            raise NeedsDatesError("The data's date (as of)")
        return self._data_date

    @cached_property
    def _data_date(self) -> dt.date | None:
        """The data's snapshot date: the latest creation or stage change of a deal or lead,
        or close of a closed deal; None when no row is dated.

        Expected close dates of open deals are plans, not events, so they do not count;
        activities and orders only when nothing else is dated (see ``SNAPSHOT_EVENTS``).
        A few dates far after all the others do not count either: one won deal closed
        "2052" in data that ends in 2025 must not move every default period to 2052. The
        latest days are left out while they lie more than ``DATA_DATE_GAP_DAYS`` (and more
        than ``DATA_DATE_GAP_SPACINGS`` times the data's mean spacing between event days)
        after the next event, and hold at most ``DATA_DATE_OUTLIERS_MIN`` events (or
        ``DATA_DATE_OUTLIER_SHARE`` of them, if more; none in data of fewer than
        ``validate.OUTLYING_DATE_MIN_VALUES`` events); dates outside
        ``periods.EARLIEST_PERIOD_DATE`` .. ``LATEST_PERIOD_DATE`` never count (9999-12-31
        is a placeholder, and no period can be reported around it). Such rows are named by
        :meth:`events_after_as_of`.
        """
        latest = self._latest_event_day(self._snapshot_events())
        if latest is None:
            later = [(name, column, self._tables[name]) for name, column in self.LATER_EVENTS if self.has(name)]
            latest = self._latest_event_day(later)
        return latest

    @cached_property
    def first_date(self) -> dt.date:
        """The first dated event of the data, from the same events as :attr:`as_of`, leaving
        out dates far before the rest of their column (``validate.date_fences``: a close
        date decades early must not stretch a whole-history period by decades). Kept in the
        cache entry once worked out (``cache.read_fact``): every report of a run asks it."""
        kept = cache.read_fact(self.cache_entry, "first_date")
        if isinstance(kept, str):
            with contextlib.suppress(ValueError):
                return dt.date.fromisoformat(kept)
        first = self._first_date()
        cache.write_fact(self.cache_entry, "first_date", first.isoformat())
        return first

    def _first_date(self) -> dt.date:
        events = [(name, column) for name, column in self.SNAPSHOT_EVENTS if self.has(name)]
        closed = None
        if self.has("opportunities"):
            opportunities = self._tables["opportunities"]
            closed = opportunities.filter(opportunities.stage.isin(self.playbook.closed_stages))
            events.append(("opportunities", "close_date"))
        dates = [self._earliest(name, column, closed if column == "close_date" else None) for name, column in events]
        dates = [date for date in dates if date is not None]
        if not dates:
            dates = [self._earliest(name, column) for name, column in self.LATER_EVENTS if self.has(name)]
            dates = [date for date in dates if date is not None]
        return min(dates) if dates else self.as_of

    def _earliest(self, name: str, column: str, table: ir.Table | None = None):
        table = self._tables[name] if table is None else table
        fences = validate.date_fences(self._tables[name], column)
        day = table[column].cast("date") if table[column].type().is_timestamp() else table[column]
        if fences is not None:
            table = table.filter(day >= ibis.literal(fences[0]))
            day = table[column].cast("date") if table[column].type().is_timestamp() else table[column]
        value = day.min().execute()
        return None if value is None or pd.isna(value) else pd.Timestamp(value).date()

    @property
    def span(self) -> Period:
        """The data's own span: :attr:`first_date` .. :attr:`as_of` (what period 'all' means)."""
        return Period(min(self.first_date, self.as_of), self.as_of)

    def category_values(self) -> dict[str, list[str]]:
        """Every value of each category column (source, team, segment, ...) across the
        dataset's tables, sorted: what fixes each value's colour for all the charts of a run
        (``report.plots.set_category_values``). Kept in the cache entry once worked out, as
        :attr:`first_date` is."""
        kept = cache.read_fact(self.cache_entry, "category_values")
        if isinstance(kept, dict) and all(isinstance(values, list) for values in kept.values()):
            return kept
        values: dict[str, set] = {}
        for name in self.table_names:
            table = self._tables[name]
            for column in TABLES[name].columns:
                if column.type == "category" and column.name in table.columns:
                    found = table.select(column.name).distinct().execute()[column.name]
                    values.setdefault(column.name, set()).update(value for value in found if isinstance(value, str))
        result = {column: sorted(found) for column, found in values.items()}
        cache.write_fact(self.cache_entry, "category_values", result)
        return result

    def pipeline_findings(self) -> list[validate.Finding]:
        """Open-deal hygiene at the data date (``validate.check_open_deal_close_dates``)."""
        if not self.has("opportunities"):
            return []
        if not self.dated:  # no dated row at all: nothing is overdue
            return []
        return validate.check_open_deal_close_dates(self._tables["opportunities"], self.playbook, self.as_of)

    def events_after_as_of(self) -> list[validate.Finding]:
        """Warnings for rows dated after the snapshot date: activities and orders (booked
        ahead, or mistyped), and deal or lead events far after all the others, which the data
        date leaves out (see :attr:`as_of`)."""
        findings = []
        if not self.dated:
            return findings
        events = [(name, column, self._tables[name], "after_data_date") for name, column in self.LATER_EVENTS
                  if self.has(name)]
        events += [(name, column, rows, "far_after_data_date") for name, column, rows in self._snapshot_events()]
        for name, column, table, check in events:
            later = self._days(table, column) > self.as_of
            count = as_count(table.filter(later).count().execute())
            if not count:
                continue
            spec = TABLES[name]
            examples = validate.example_rows(table, later, [spec.key or "opportunity_id", column])
            if check == "after_data_date":
                problem = f"are dated after the data date {self.as_of:%Y-%m-%d} (the latest deal or lead event)"
                fix = ("Scheduled or mistyped dates? They do not move the data date, and reports count them only "
                       "where their date falls in the period.")
            else:
                problem = (f"are dated far after every other deal or lead event, so they do not set the data date "
                           f"(which is {self.as_of:%Y-%m-%d})")
                fix = ("A year typed wrong (2052 for 2025) or a placeholder date? Correct them in the CRM; until then "
                       "reports count them only where their date falls in the period.")
            findings.append(validate.make_finding("warning", spec, column, check, count, problem, fix, examples))
        return findings

    # Rows that place a period in the data: a deal created or closing (or expected to close)
    # in it, a lead created in it, an order placed in it.
    PERIOD_ROWS = (("deals", "opportunities", ("created_at", "close_date")), ("leads", "leads", ("created_at",)),
                   ("orders", "orders", ("ordered_at",)))

    def rows_in_period(self, period: Period) -> dict[str, int]:
        """How many deals, leads and orders of the data fall in ``period`` (for the tables the
        dataset has): a deal created or closing in it (an open deal: expected to close in it),
        a lead created in it, an order placed in it. All zero: no report has anything to show."""
        counts = {}
        for label, name, columns in self.PERIOD_ROWS:
            if not self.has(name):
                continue
            table = self._tables[name]
            inside = [self._days(table, column).between(period.start, period.end).fill_null(False)
                      for column in columns]
            condition = inside[0] if len(inside) == 1 else ibis.or_(*inside)
            counts[label] = as_count(table.filter(condition).count().execute())
        return counts

    def empty_period_message(self, period: Period) -> str | None:
        """A sentence saying that ``period`` holds no deal, lead or order of the data, or None
        when it holds some. For the runner to print and put in ``status.json``: a run whose
        period is empty is not "all ok"."""
        counts = self.rows_in_period(period)
        if any(counts.values()):
            return None
        kinds = " or ".join(label[:-1] for label in counts) or "row"  # "deal, lead or order"
        return (f"The period {period.label()} holds no {kinds} of the data, whose events run from "
                f"{self.first_date:%d %b %Y} to the data date {self.as_of:%d %b %Y}: every report would be empty. "
                "Choose a period within the data (--period all, or --period-start and --period-end), and check the "
                "dates 'salesnb validate' warns about.")

    def table_or_empty(self, name: str) -> ir.Table:
        """The table, or an empty one with the model's columns when the dataset lacks it.

        For joins that enrich one table with another that is optional (leads with their
        deals): the missing side then simply matches nothing.
        """
        if name in self._tables:
            return self._tables[name]
        key = ("empty", name)
        if key not in self._memo:
            self._memo[key] = backends.empty_table({column.name: ibis_type(column.type) for column in TABLES[name].columns})
        return self._memo[key]

    def materialized(self, key, build) -> ir.Table:
        """``build()`` materialized once per dataset in the backend (``backends.materialize``).

        For intermediate tables many metrics start from (deals with their rep and segment,
        one row per lead): without it every metric re-runs the same joins.
        """
        if key not in self._memo:
            name = f"salesnb_{len(self._memo)}_{hashlib.sha1(repr(key).encode()).hexdigest()[:8]}"
            self._memo[key] = backends.materialize(self.connection, name, build())
        return self._memo[key]

    def derived(self, name: str, build) -> ir.Table:
        """``build()``, a table of the whole data many reports start from (one row per lead, the
        deals with their owners, every deal's states), materialized once per dataset as
        :meth:`materialized` does; when the dataset was read from the cache (a data folder on
        DuckDB, the default) it is also written into the cache entry the first time and read
        from there by every later kernel on the same data (``salesnb.data.cache``: derived
        tables). Such a table is neither built again nor held in each kernel's memory: on the
        large sample one row per lead took 9 s and about 650 MB in each of three reports.

        Kept only when the query reads nothing but the entry's files (no in-memory table, no
        other materialized table), so the same query text always means the same rows.
        """
        key = ("derived", name)
        if key not in self._memo:
            expression = build()
            kept = self._kept_table(name, expression) if self.cache_entry is not None else None
            self._memo[key] = kept if kept is not None else self.materialized(name, lambda: expression)
        return self._memo[key]

    def _kept_table(self, name: str, expression: ir.Table) -> ir.Table | None:
        import duckdb

        operation = expression.op()
        sources = {table.name for table in operation.find(ops.DatabaseTable)}
        if operation.find(ops.InMemoryTable) or not sources <= set(self._entry_views()):
            return None
        path = cache.derived_path(self.cache_entry, name, self.query_cache.compiled.sql(self.connection, expression))
        if not cache.keep_derived(path, lambda staging: backends.write_parquet(self.connection, expression, staging)):
            return None
        view = f"derived_{path.stem.replace('-', '_')}"
        try:
            table = self.connection.read_parquet(path, table_name=view)
        except duckdb.Error:  # damaged since it was written: built again, in memory
            path.unlink(missing_ok=True)
            return None
        self._derived_views.add(view)  # a derived table may start from another (deal_timeline from deal_states)
        return table

    def _entry_views(self) -> list[str]:
        """The names of the views on the cache entry's files: tables, extra attributes, rates, derived tables."""
        tables = [*self._tables.values(), *self._attributes.values(), *getattr(self, "original_tables", {}).values()]
        return [table.op().name for table in tables if isinstance(table.op(), ops.DatabaseTable)] + \
            sorted(self._derived_views)

    def memo(self, key, compute):
        """``compute()`` once per dataset: a small fact several metrics ask (whether any deal
        has an amount, the first date of a table), kept beside the materialized tables."""
        key = ("memo", key)
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


# ----------------------------------------------------------------------------- loading


def _typed_table(name: str, raw: ir.Table) -> ir.Table:
    """Every model column in its canonical type; absent optional columns as typed NULLs."""
    spec = TABLES[name]
    columns = {}
    for column in spec.columns:
        if column.name in raw.columns:
            columns[column.name] = convert(raw[column.name], column.type)
        else:
            columns[column.name] = ibis.null().cast(ibis_type(column.type))
    return raw.select(**columns)


def _check_and_type(connection, raw_tables: dict[str, ir.Table], playbook: Playbook, typed_dir: Path | None = None):
    findings, typed = [], {}
    for name, raw in raw_tables.items():
        missing = validate.check_columns(name, raw)
        # Typed once: every check (and the cache) then reads the typed rows instead of
        # re-running the conversions (84 s -> 53 s to check the large sample). With a cache
        # folder they are streamed into its Parquet file and read back from it, so no table is
        # ever held whole in memory (large sample: 3.2 GB peak before).
        if missing:
            table = None
        elif typed_dir is not None:
            import duckdb

            path = typed_dir / f"{name}.parquet"
            try:
                backends.write_parquet(connection, _typed_table(name, raw), path)
            except duckdb.Error as error:  # a full disk or a read-only cache, as DuckDB reports it
                raise cache.cache_write_error(typed_dir.parent, error) from None
            table = connection.read_parquet(path, table_name=f"typed_{name}")
        else:
            table = backends.materialize(connection, f"typed_{name}", _typed_table(name, raw))
        findings += validate.validate_table(name, raw, table, playbook)
        if table is not None:
            typed[name] = table
    findings += validate.validate_dataset(typed)  # cross-table checks (references)
    return typed, findings


def open_dataset(data_dir=None, config: str | Path | Playbook | None = None, *,
                 strict: bool = True, use_cache: bool = True, backend=None) -> Dataset:
    """Load and check the dataset in ``data_dir``, or the tables of ``backend``.

    Parameters
    ----------
    data_dir : folder with one CSV or Parquet file per table (``opportunities.csv`` ...).
    config : playbook YAML path, a :class:`Playbook`, or None for the default playbook.
    strict : raise :class:`DataValidationError` when the data has errors (default). With
        ``strict=False`` the dataset is returned with its findings (for the health report).
    use_cache : reuse the Parquet conversion while the source files are unchanged.
    backend : instead of a folder, a backend URL (``pyspark``, ``duckdb:///crm.duckdb``,
        ``postgres://...``) or an Ibis connection whose current database holds the canonical
        tables by name; they are typed and checked there and every metric runs there
        (``data_dir`` is then not read). See ``salesnb.data.backends``.
    """
    if backend not in (None, ""):
        return _open_backend(backend, config, strict)
    if data_dir is None:
        raise DatasetNotFoundError("Give a data folder (--data) or a backend URL (--backend).")
    folder = Path(data_dir).expanduser()
    if config is None and (folder / "playbook.yaml").is_file():
        config = folder / "playbook.yaml"  # the playbook 'salesnb import' wrote beside the data
    playbook = config if isinstance(config, Playbook) else load_playbook(config)
    if folder.exists() and not folder.is_dir():
        raise DatasetNotFoundError(
            f"--data {folder} is a file, not a folder. Pass the folder that holds the tables "
            f"(--data {folder.parent}), or import an export file with 'salesnb import {folder} --preset NAME "
            "--out FOLDER' (or run with --preset / --mapping)."
        )
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"Data folder {folder} does not exist. Create the sample with "
            f"'salesnb sample --out {folder}' or point --data at a folder of CRM tables."
        )
    files = tablefiles.find_table_files(folder)
    if not files:
        present = sorted(p.name for p in folder.iterdir())[:10]
        raise DatasetNotFoundError(
            f"Data folder {folder} has none of the kit's tables (it has: {', '.join(present) or 'nothing'}); "
            "it needs at least one of them, e.g. opportunities.csv (deals), leads.csv or orders.csv. See "
            "docs/data-model.md, or import a CRM export with 'salesnb import'."
        )
    connection = connect()
    limit = cachelimit.cache_limit() if use_cache else None  # a mistyped SALESNB_CACHE_LIMIT stops here
    entry = cache.cache_root() / cache.entry_key(files, playbook, CODE_FILES) if use_cache else None
    cached = cache.read_entry(connection, entry, files) if use_cache else None
    if use_cache and folder.resolve().parent == (cache.cache_root() / cachelimit.IMPORTS_FOLDER).resolve():
        cachelimit.mark_used(folder)  # an import the runner made: in use as long as its entry
    if cached is not None:
        findings, tables = cached
        cachelimit.mark_used(entry)
        extra = attributes.read_cached(connection, entry)
    else:
        raw_tables = {name: tablefiles.read_raw(connection, name, path) for name, path in files.items()}
        if use_cache:
            with cache.building(entry) as staging, backends.memory_lowered(connection):
                typed, findings = _check_and_type(connection, raw_tables, playbook, typed_dir=staging)
                attributes.type_tables(connection, raw_tables, typed, typed_dir=staging)
                cache.write_findings(staging, findings)
            cachelimit.prune(limit, keep=entry)
            tables = {name: connection.read_parquet(entry / f"{name}.parquet", table_name=name) for name in typed}
            extra = attributes.read_cached(connection, entry)
        else:
            tables, findings = _check_and_type(connection, raw_tables, playbook)
            extra = attributes.type_tables(connection, raw_tables, tables)
    findings = findings + import_findings(folder)  # e.g. duplicate rows an import dropped
    dataset = Dataset(connection, tables, playbook, findings, source=str(folder), attribute_tables=extra)
    dataset.cache_entry = entry
    return _checked(dataset, strict, entry)


def _open_backend(backend, config, strict: bool) -> Dataset:
    """The canonical tables where they live (Spark, a warehouse, a DuckDB file), typed and
    checked there; no cache: the engine keeps the data."""
    playbook = config if isinstance(config, Playbook) else load_playbook(config)
    connection = backends.connect(backend)
    where = backends.read_as(backend)
    try:
        present = {name.lower(): name for name in connection.list_tables()}
    except Exception as error:  # a driver error listing tables: say where, not a traceback
        raise DatasetNotFoundError(f"Cannot list the tables of {where} ({str(error).strip()[:200]}).") from None
    raw_tables = {name: connection.table(present[name]) for name in TABLE_NAMES if name in present}
    if not raw_tables:
        raise DatasetNotFoundError(
            f"{where} has none of the kit's tables in its current database (it has: "
            f"{', '.join(sorted(present)[:10]) or 'nothing'}); it needs at least 'opportunities'. "
            "See docs/data-model.md for the tables and docs/scaling.md for choosing the database."
        )
    typed, findings = _check_and_type(connection, raw_tables, playbook)
    extra = attributes.type_tables(connection, raw_tables, typed)
    return _checked(Dataset(connection, typed, playbook, findings, source=backends.describe(backend),
                            attribute_tables=extra), strict)


def _checked(dataset: Dataset, strict: bool, entry: Path | None = None) -> Dataset:
    """Raise on errors (strict), else add the checks that need the data date (kept in the
    cache ``entry``, when there is one, for the next opening)."""
    if strict and validate.errors(dataset.findings):
        raise DataValidationError(dataset.findings)
    facts = cache.read_date_facts(entry)
    if facts is not None:
        dataset._data_date, later = facts  # fills the cached_property (None: data without dates)
        dataset.findings = dataset.findings + later
        return _converted(dataset, strict)
    if not validate.errors(dataset.findings):
        later = dataset.events_after_as_of() + dataset.pipeline_findings()
        dataset.findings = dataset.findings + later
        cache.write_date_facts(entry, dataset._data_date, later)
    return _converted(dataset, strict)


def _converted(dataset: Dataset, strict: bool) -> Dataset:
    """Amounts in several currencies checked against the rates (they need the data date) and
    converted to the playbook currency (``salesnb.data.currency``); a dataset in one currency
    is returned as it is. Data without dates has no date to choose a rate by: amounts in
    another currency are an error there, never summed unconverted."""
    as_of = dataset._data_date
    if as_of is None:
        if currency.needs_conversion(dataset._tables, dataset.playbook):
            dataset.findings = dataset.findings + [validate.Finding(
                "error", "opportunities", "currency", "no_dates_for_exchange_rates", 0,
                f"Some amounts are in another currency than {currency.reporting_currency(dataset.playbook)}, and the "
                "data has no dates to choose their exchange rates by. Export the amounts in one currency, or add "
                "close_date (deals) and order_date (orders) so each amount converts at its date's rate.")]
            if strict:
                raise DataValidationError(dataset.findings)
        return dataset
    checks = validate.check_currency_rates(dataset._tables, dataset.playbook, as_of)
    dataset.findings = dataset.findings + checks
    if strict and validate.errors(checks):
        raise DataValidationError(dataset.findings)
    currency.apply(dataset)
    return dataset


def dataset_from_frames(frames: dict[str, pd.DataFrame], config: str | Path | Playbook | None = None,
                        *, strict: bool = True) -> Dataset:
    """A dataset from in-memory pandas frames (tests, and data already in a notebook)."""
    playbook = config if isinstance(config, Playbook) else load_playbook(config)
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise DatasetNotFoundError(f"Unknown table name(s) {', '.join(unknown)}; the tables are {', '.join(TABLE_NAMES)}.")
    if not frames:
        raise DatasetNotFoundError("A dataset needs at least one table (normally 'opportunities').")
    connection = connect()
    raw_tables = {name: connection.create_table(f"raw_{name}", frame) for name, frame in frames.items()}
    tables, findings = _check_and_type(connection, raw_tables, playbook)
    extra = attributes.type_tables(connection, raw_tables, tables)
    return _checked(Dataset(connection, tables, playbook, findings, source=None, attribute_tables=extra), strict)
