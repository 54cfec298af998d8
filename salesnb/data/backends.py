"""Where the metrics run: the embedded DuckDB (folders), or a connection to where the tables live.

A dataset is either a folder of files, read by an in-process DuckDB, or a backend URL that
Ibis connects to (``pyspark``, ``duckdb:///crm.duckdb``, ``postgres://user@host/db`` ...):
the canonical tables are read where they live, checked there and every metric runs there;
only results come back to pandas. This module is the one place with backend-specific
setup; metric code never is.

DuckDB settings (environment variables, read when a connection opens; docs/scaling.md):

- ``SALESNB_MEMORY_LIMIT``: DuckDB's memory limit, e.g. ``4GB`` (default: half the machine's
  memory shared by the run's parallel kernels and the runner, at most 700 MB per process:
  :func:`default_memory_limit_mb`); beyond it DuckDB spills intermediate results to disk
  instead of failing.
- ``SALESNB_TEMP_DIR``: where it spills (default ``<cache>/duckdb-spill``, outside the
  user's folders and the notebooks folder), in one subfolder per process.
- ``SALESNB_THREADS``: DuckDB threads (default: DuckDB's own, the number of cores).
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from pathlib import Path

import ibis
import ibis.expr.types as ir

from salesnb.data.cache import cache_root
from salesnb.errors import ConfigError, DatasetNotFoundError

# Bare names people type for a local engine.
_BARE_NAMES = {"pyspark": "pyspark://", "spark": "pyspark://", "duckdb": "duckdb://"}
# Backends whose URL names a database file on this machine.
FILE_SCHEMES = ("duckdb", "sqlite")


def database_file(url: str) -> Path:
    """The database file a ``duckdb://`` or ``sqlite://`` URL names, which must exist.

    ``duckdb:///srv/crm.duckdb`` (three slashes, then the path from ``/``) is the absolute
    path /srv/crm.duckdb; ``duckdb://crm.duckdb`` (two slashes) is read as crm.duckdb in the
    working folder, and the message says so. Nothing is ever created at the path: DuckDB and
    SQLite would make an empty database there and the kit would report "no tables".
    """
    scheme, _, rest = str(url).strip().partition("://")
    rest = rest.split("?", 1)[0]
    usage = (f"Write {scheme}:///absolute/path/to/file (three slashes, then the path from /), e.g. "
             f"{scheme}:///srv/crm.{'duckdb' if scheme == 'duckdb' else 'db'}.")
    if rest in ("", "/", ":memory:", "/:memory:"):
        raise DatasetNotFoundError(
            f"{scheme}://{rest} names no database file (it would be a new, empty in-memory database, with no tables). "
            + usage)
    if rest.startswith("/"):
        # duckdb:///srv/crm.duckdb is /srv/crm.duckdb (four slashes too); as in SQLAlchemy's
        # sqlite:///crm.db, the path relative to the working folder is tried next.
        candidates = [Path("/" + rest.lstrip("/")), Path(rest.lstrip("/"))]
        read_as = f"the file {candidates[0]} (or {candidates[1]} in the working folder {Path.cwd()})"
    else:
        candidates = [Path(rest).expanduser()]
        read_as = f"the file {rest} in the working folder {Path.cwd()}, as the URL has two slashes"
    path = next((candidate for candidate in candidates if candidate.exists()), candidates[0])
    if path.is_dir():
        raise DatasetNotFoundError(f"{scheme}://{rest} was read as {read_as}, which is a folder, not a database file. "
                                   + usage)
    if not path.is_file():
        raise DatasetNotFoundError(f"{scheme}://{rest} was read as {read_as}, which does not exist. " + usage)
    return path.absolute()


# The default DuckDB memory limit per process (docs/scaling.md): half the machine's memory shared
# by the processes of a run (the parallel kernels and the runner), at most MEMORY_LIMIT_CAP_MB and
# at least MEMORY_LIMIT_FLOOR_MB. The cap keeps a process within the kit's targets (a kernel under
# 1.5 GB, validate under 1 GB: a kernel's Python, pandas and matplotlib take 300 to 700 MB beside
# DuckDB): measured on the large sample, a larger buffer pool only fills up before DuckDB gives
# anything back, and was no faster (benchmarks/README.md); past the limit DuckDB spills to disk.
MEMORY_SHARE = 0.5
MEMORY_LIMIT_CAP_MB = 700
MEMORY_LIMIT_FLOOR_MB = 256
# Set by the runner for its kernels: how many notebooks run at once (its --jobs).
PARALLEL_KERNELS_VARIABLE = "SALESNB_PARALLEL_KERNELS"


ALLOCATOR_FLUSH_THRESHOLD = "16MB"


def default_memory_limit_mb(total_bytes: int, parallel_kernels: int) -> int:
    """DuckDB's default memory limit in MB (10^6 bytes, as DuckDB reads "MB") for one process of a
    run of ``parallel_kernels`` notebooks at once on a machine of ``total_bytes`` of memory:
    ``MEMORY_SHARE`` of the memory divided among the kernels and the runner, within
    [``MEMORY_LIMIT_FLOOR_MB``, ``MEMORY_LIMIT_CAP_MB``]. ``parallel_kernels`` 0 is a process
    alone (``salesnb validate``, a notebook opened by hand)."""
    processes = max(int(parallel_kernels), 0) + 1
    share = int(total_bytes * MEMORY_SHARE / processes // 10**6)
    return min(max(share, MEMORY_LIMIT_FLOOR_MB), MEMORY_LIMIT_CAP_MB)


def parallel_kernels() -> int:
    """The notebooks a run executes at once, as the runner told its kernels (0 outside a run)."""
    value = os.environ.get(PARALLEL_KERNELS_VARIABLE, "").strip()
    return int(value) if value.isdigit() else 0


@contextlib.contextmanager
def kernels_at_once(count: int):
    """Within the block, processes started (a run's kernels) derive their memory limit for
    ``count`` kernels at once (:func:`parallel_kernels`)."""
    previous = os.environ.get(PARALLEL_KERNELS_VARIABLE)
    os.environ[PARALLEL_KERNELS_VARIABLE] = str(max(int(count), 1))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PARALLEL_KERNELS_VARIABLE, None)
        else:
            os.environ[PARALLEL_KERNELS_VARIABLE] = previous


def duckdb_memory_limit() -> str:
    """``SALESNB_MEMORY_LIMIT``, or :func:`default_memory_limit_mb` for this machine and run."""
    configured = os.environ.get("SALESNB_MEMORY_LIMIT", "").strip()
    if configured:
        return configured
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return f"{MEMORY_LIMIT_FLOOR_MB}MB"
    return f"{default_memory_limit_mb(total, parallel_kernels())}MB"


# The limit while the process also holds large data of its own beside DuckDB's (memory_lowered):
# - Building a cache entry: DuckDB's Parquet writer holds its row groups outside the limit. With
#   700 MB the entry peaked at 1.0 to 1.2 GB (the large sample, and xlarge at 1,197 MB), over the
#   1 GB target for `salesnb validate`; with 450 MB xlarge peaked at 872 MB in about the same time
#   (216.9 s against 207.0 s).
# - Scoring: the examples, the learning samples and the models stay in the kernel while DuckDB
#   joins the stage history and the activities. The large sample's deals peaked at 1,566 MB with
#   700 MB and 1,310 MB with 450 MB, in the same time (22.7 s against 23.1 s).
# Both are in benchmarks/README.md.
LOWERED_MEMORY_LIMIT_MB = 450
# What a connection the kit configured has as its limit now (memory_lowered puts it back).
_LIMIT_ATTRIBUTE = "salesnb_memory_limit"


@contextlib.contextmanager
def memory_lowered(connection, limit_mb: int = LOWERED_MEMORY_LIMIT_MB):
    """DuckDB's memory limit lowered to ``limit_mb`` within the block, then put back as it was.

    Only on a connection the kit configured (:func:`connect_duckdb`) with its default limit: a
    limit the user set (``SALESNB_MEMORY_LIMIT``) is left as it is, and so is a connection passed
    in by the caller or a limit already that low (a small machine, or an enclosing block)."""
    in_effect = getattr(connection, _LIMIT_ATTRIBUTE, None)
    if in_effect is None or int(in_effect.removesuffix("MB")) <= limit_mb:
        yield
        return
    import duckdb

    connection.con.execute("SET memory_limit = ?", [f"{limit_mb}MB"])
    setattr(connection, _LIMIT_ATTRIBUTE, f"{limit_mb}MB")
    try:
        yield
    except duckdb.OutOfMemoryException as error:
        # The limit is put back before anyone reports the error: it says which one it hit.
        if getattr(error, _LIMIT_ATTRIBUTE, None) is None:
            setattr(error, _LIMIT_ATTRIBUTE, f"{limit_mb}MB")
        raise
    finally:
        connection.con.execute("SET memory_limit = ?", [in_effect])
        setattr(connection, _LIMIT_ATTRIBUTE, in_effect)


def write_parquet(connection, expression: ir.Table, path) -> None:
    """``expression`` (a table of ``connection``) written to the Parquet file ``path``, its rows
    in whatever order the engine's threads finish them.

    On DuckDB, ``preserve_insertion_order`` is off for the write only (then put back): keeping
    the source files' row order makes DuckDB funnel every thread's rows through one ordered
    stream. Measured on the large sample's first validate, the cache's Parquet writes took
    19.6 s in order and 9.4 s without, and the whole validate 31 s and 21 s, its peak 849 and
    721 MB (benchmarks/README.md, round 8). Nothing reads an order from the kit's files: every
    metric orders what it reads by a key, or adds up in an order-independent way (the exact
    sums of :mod:`salesnb.metrics.totals`), so the same data gives the same numbers whatever
    order the rows were written in."""
    if not is_duckdb(connection):
        expression.to_parquet(path)
        return
    raw = connection.con
    previous = raw.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    raw.execute("SET preserve_insertion_order = false")
    try:
        expression.to_parquet(path)
    finally:
        raw.execute("SET preserve_insertion_order = ?", [previous])


OUT_OF_MEMORY = "OutOfMemoryException"  # DuckDB's exception, by name as a notebook's kernel reports it


def out_of_memory_message(error, in_this_process: bool = True) -> str:
    """What to do when DuckDB stops at its memory limit: a query it could not spill to disk.
    The limit is named when it is this process's; a notebook's kernel reports only its error.
    DuckDB's own advice (threads, insertion order) is left out: those are not the kit's settings."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else OUT_OF_MEMORY
    lowered = getattr(error, _LIMIT_ATTRIBUTE, None)  # hit inside memory_lowered: that limit, not the default
    limit = (f"{lowered} (the kit lowers its default of {duckdb_memory_limit()} to that while it builds the "
             "cache or learns the scores)") if lowered else duckdb_memory_limit()
    where = f"at this process's limit of {limit}" if in_this_process else "at the notebook's memory limit"
    return (f"DuckDB ran out of memory {where} ({reason}). Raise the limit, e.g. SALESNB_MEMORY_LIMIT=2GB, or run "
            "fewer notebooks at once (--jobs); see docs/scaling.md. Nothing was written into your data folder.")


def duckdb_temp_dir() -> Path:
    """``SALESNB_TEMP_DIR`` or ``<cache>/duckdb-spill``: the folder that holds each process's spill folder."""
    configured = os.environ.get("SALESNB_TEMP_DIR", "").strip()
    return Path(configured).expanduser() if configured else cache_root() / "duckdb-spill"


SPILL_PREFIX = "process-"


def duckdb_spill_dir() -> Path:
    """This process's own spill folder, ``<temp dir>/process-<pid>``.

    DuckDB names its spill files the same in every process (``duckdb_temp_storage*.tmp``,
    ``duckdb_temp_block-*.block``) and removes them when it closes: two kernels spilling
    into one folder overwrite and delete each other's blocks. Measured on the ``xlarge``
    sample with two notebooks at once: one kernel failed with "INTERNAL Error: Cannot
    perform IO in in-memory database - CreateBlock!" and two died in DuckDB (a general
    protection fault); the same notebook alone passed. Folders left by processes that no
    longer run (a killed kernel) are removed when the next connection opens.
    """
    return duckdb_temp_dir() / f"{SPILL_PREFIX}{os.getpid()}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or cannot tell): leave its folder alone
    return True


def remove_stale_spill_dirs(temp_dir: Path) -> None:
    """Remove the spill folders of processes that have ended (killed kernels leave theirs)."""
    import shutil

    try:
        folders = [path for path in temp_dir.iterdir() if path.is_dir() and path.name.startswith(SPILL_PREFIX)]
    except OSError:
        return  # not created yet, or unreadable: nothing to clean
    for folder in folders:
        pid = folder.name[len(SPILL_PREFIX):]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _remove_own_spill_dir(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _configure_duckdb(connection) -> None:
    """The kit's settings on a new DuckDB connection: memory limit, spill folder, threads, and
    UTC as the session time zone (so a timestamp with a time zone in a database reads the same
    on every machine, not in the zone of the one running the kit)."""
    import atexit

    import duckdb

    spill = duckdb_spill_dir()
    try:
        # DuckDB creates only the last folder of its temp_directory, when it first spills.
        spill.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # unwritable: DuckDB says so if it ever needs to spill; nothing else needs it
    remove_stale_spill_dirs(spill.parent)
    atexit.register(_remove_own_spill_dir, spill)
    settings = {"memory_limit": duckdb_memory_limit(), "temp_directory": str(spill), "TimeZone": "UTC"}
    threads = os.environ.get("SALESNB_THREADS", "").strip()
    if threads:
        settings["threads"] = threads
    for name, value in settings.items():
        try:
            connection.con.execute(f"SET {name} = ?", [value])
        except duckdb.Error as error:
            raise ConfigError(f"DuckDB refused {name} = {value!r} ({str(error).strip().splitlines()[0]}); check "
                              "SALESNB_MEMORY_LIMIT, SALESNB_TEMP_DIR and SALESNB_THREADS (docs/scaling.md).") from None
    if not os.environ.get("SALESNB_MEMORY_LIMIT", "").strip():  # the kit's own limit, which it may lower
        setattr(connection, _LIMIT_ATTRIBUTE, settings["memory_limit"])
    try:
        # No progress bar: DuckDB prints it to stdout on long queries, into logs and notebooks.
        connection.con.execute("SET enable_progress_bar = false")
    except duckdb.Error:
        pass  # inside Jupyter without ipywidgets DuckDB refuses the setting and shows no bar anyway
    # DuckDB's allocator keeps the memory a query freed for reuse until a task has allocated more
    # than this; at its default (128 MB) a kernel's resident memory stayed hundreds of MB above
    # what DuckDB held. Measured on the large sample's scoring reads: peak 1,478 -> 1,243 MB, the
    # same time (benchmarks/README.md, Scoring).
    connection.con.execute("SET allocator_flush_threshold = ?", [ALLOCATOR_FLUSH_THRESHOLD])
    # Likewise after a large result is freed at once (DuckDB keeps up to 512 MB of it by default).
    connection.con.execute("SET allocator_bulk_deallocation_flush_threshold = ?", [ALLOCATOR_FLUSH_THRESHOLD])


def connect_duckdb(database: str = ":memory:", read_only: bool = False) -> ibis.BaseBackend:
    """DuckDB in-process (a folder dataset's engine), with the kit's memory settings."""
    connection = ibis.duckdb.connect(database, read_only=read_only)
    _configure_duckdb(connection)
    return connection


def connect(backend) -> ibis.BaseBackend:
    """An Ibis connection for a backend URL, or the connection itself when given one.

    ``pyspark`` (or ``spark``) is a local Spark session, ``duckdb:///path/crm.duckdb`` a DuckDB
    database file, ``postgres://user:password@host:5432/database`` a PostgreSQL database, and
    any other URL ``ibis.connect`` knows (its backend's driver must be installed).
    """
    if isinstance(backend, ibis.BaseBackend):
        return backend
    url = _BARE_NAMES.get(str(backend).strip().lower(), str(backend).strip())
    if "://" not in url:
        raise DatasetNotFoundError(
            f"--backend {describe(url)!r} is not a backend URL: write e.g. 'pyspark', 'duckdb:///crm.duckdb' "
            "or 'postgres://user@host/database' (docs/scaling.md); for a folder of files use --data."
        )
    scheme = url.split("://", 1)[0].lower()
    path = database_file(url) if scheme in FILE_SCHEMES else None
    try:
        if scheme == "duckdb":
            # Read-only: the kit never writes into a user's database, and only read-only
            # connections can be shared by the runner and its parallel notebooks.
            return connect_duckdb(str(path), read_only=True)
        if scheme == "sqlite":
            return ibis.sqlite.connect(path)
        if scheme == "pyspark":
            return connect_spark(url)
        return ibis.connect(url)
    except ImportError as error:
        raise DatasetNotFoundError(
            f"The {scheme} backend needs a driver that is not installed ({error}). Install the Ibis extra, "
            f"e.g. pip install 'ibis-framework[{scheme}]' (for Spark: pip install 'salesnb[spark]')."
        ) from None
    except Exception as error:  # a refused connection: a clear message, not a driver traceback
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatasetNotFoundError(f"Cannot connect to {describe(url)} ({first}).") from None


# A local Spark session for reports: no console progress bars (they would land in the
# notebooks and logs), no web UI, few shuffle partitions (report queries are small).
SPARK_DEFAULTS = {
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
}


def connect_spark(url: str = "pyspark://") -> ibis.BaseBackend:
    """The Spark session a ``pyspark://`` URL names: the active one (e.g. on a cluster, or
    built by a test), else a local one. Query parameters are Spark settings
    (``pyspark://?spark.master=spark://host:7077``); a path is the warehouse directory."""
    from pyspark.sql import SparkSession

    parsed = urllib.parse.urlparse(url)
    settings = dict(urllib.parse.parse_qsl(parsed.query))
    if parsed.path not in ("", "/"):
        settings["spark.sql.warehouse.dir"] = str(Path(parsed.path).absolute())
    session = SparkSession.getActiveSession()
    if session is None:
        builder = SparkSession.builder.appName("salesnb")
        if "spark.master" not in settings:
            builder = builder.master("local[*]")
        for key, value in {**SPARK_DEFAULTS, **settings}.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)


def describe(backend) -> str:
    """The backend as people may see it in a report: the URL without user name or password."""
    if isinstance(backend, ibis.BaseBackend):
        return f"{backend.name} connection"
    parsed = urllib.parse.urlparse(str(backend))
    if not parsed.scheme:
        return str(backend)
    host = parsed.hostname or ""
    if parsed.port:
        host += f":{parsed.port}"
    return f"{parsed.scheme}://{host}{parsed.path}"


def read_as(backend) -> str:
    """Where a backend URL was read from, for messages: the URL without credentials, and for a
    database file the file itself (``duckdb://crm.duckdb (the file /home/ann/crm.duckdb)``)."""
    where = describe(backend)
    if isinstance(backend, str) and backend.split("://", 1)[0].lower() in FILE_SCHEMES:
        try:
            where += f" (the file {database_file(backend)})"
        except DatasetNotFoundError:
            pass
    return where


def is_duckdb(connection) -> bool:
    return getattr(connection, "name", None) == "duckdb"


def engine_execute(connection, compiled=None):
    """``connection.execute`` (the class's own), for DuckDB without a detour through Python objects.

    Ibis' DuckDB ``execute`` turns every result column that holds a NULL into a Python list
    (``to_pylist``) before typing it: a float with one empty value becomes millions of Python
    floats (scoring's 40 million lead outcomes at xlarge, the open leads' empty). This
    reads each column with Arrow's own conversion instead, then types it with Ibis' converter,
    as Ibis does. The frame is the same, dtypes and values: tests/data/test_backends.py checks
    every column type against Ibis' own ``execute``. Only numbers, flags, texts, dates and
    timestamps take Arrow's route, and only when at least one value is there (with none, Ibis
    gives Python ``None`` and Arrow ``NaN``); other types keep Ibis'. Other engines: their own
    ``execute``.

    ``compiled`` (a :class:`salesnb.data.compiled.CompiledQueries`) gives the SQL of plain
    executions, kept from an earlier compilation of the same expression.
    """
    execute = type(connection).execute.__get__(connection)
    if not is_duckdb(connection):
        return execute

    def execute_by_columns(expr, /, *, params=None, limit=None, **kwargs):
        from ibis.backends.duckdb.converter import DuckDBPandasData

        if limit == "default":
            limit = ibis.options.sql.default_limit
        if compiled is not None and not params and limit is None and not kwargs:
            # What the pinned Ibis 12's _to_duckdb_relation does, with the SQL kept.
            connection._run_pre_execute_hooks(expr)
            relation = connection.con.sql(compiled.sql(connection, expr.as_table()))
        else:
            # The same relation Ibis' execute reads (the pinned Ibis 12's own method).
            relation = connection._to_duckdb_relation(expr, params=params, limit=limit, **kwargs)
        table = relation.to_arrow_table()
        large = table.nbytes >= LARGE_RESULT_BYTES
        frame = arrow_frame(table, expr.as_table().schema(), DuckDBPandasData)
        del table
        if large:
            release_arrow_memory()
        return expr.__pandas_result__(frame)

    return execute_by_columns


def arrow_frame(table, schema, converter=None):
    """An Arrow table as the frame Ibis' ``execute`` gives for ``schema``: each column by Arrow's
    own conversion where that gives what Ibis' does (:func:`read_as_python`), then typed by
    ``converter`` (the engine's Ibis converter; default Ibis' own, for any engine)."""
    import pandas as pd

    if converter is None:
        from ibis.formats.pandas import PandasData as converter
    frame = pd.DataFrame({name: column.to_pylist() if read_as_python(column) else column.to_pandas()
                          for name, column in zip(table.column_names, table.columns)})
    return converter.convert_table(frame, schema)


# A result this large is followed by release_arrow_memory (a report's views are far smaller).
LARGE_RESULT_BYTES = 64 * 1024 * 1024


def release_arrow_memory() -> None:
    """Give the memory Arrow's allocator kept from freed buffers back to the system. Arrow's
    default pool (mimalloc) keeps it for reuse: after scoring's 40 million lead keys were
    sorted and turned into a frame at xlarge, 770 MB of a 2.4 GB process was such memory."""
    import pyarrow

    pyarrow.default_memory_pool().release_unused()


def read_as_python(column) -> bool:
    """Whether :func:`engine_execute` reads a result column (an Arrow array) through Python
    objects, as Ibis does, rather than with Arrow's own conversion (see there)."""
    import pyarrow.types as arrow_types

    kind = column.type
    if arrow_types.is_nested(kind) or arrow_types.is_dictionary(kind):
        return True  # as Ibis
    if not column.null_count:
        return False  # as Ibis
    # With an empty value: Arrow's conversion where it gives what Ibis' does.
    plain = (arrow_types.is_integer(kind) or arrow_types.is_floating(kind) or arrow_types.is_decimal(kind)
             or arrow_types.is_boolean(kind) or arrow_types.is_string(kind) or arrow_types.is_large_string(kind)
             or arrow_types.is_date(kind) or arrow_types.is_timestamp(kind))
    return not plain or column.null_count == len(column)


def materialize(connection, name: str, expression: ir.Table) -> ir.Table:
    """``expression`` computed once and kept in the backend, for tables many queries read.

    DuckDB: a temporary table. Other engines: Ibis ``Table.cache`` (Spark persists the
    DataFrame, SQL warehouses make a temporary table); where an engine cannot, the expression
    itself (recomputed by each query: slower, the same numbers).
    """
    if is_duckdb(connection):
        return connection.create_table(name, expression, temp=True, overwrite=True)
    try:
        return expression.cache()
    except (NotImplementedError, ibis.common.exceptions.UnsupportedOperationError):
        return expression


def empty_table(schema: dict[str, str]) -> ir.Table:
    """A typed table with no rows, usable on any backend (a memtable)."""
    return ibis.memtable(ibis.schema(schema).to_pyarrow().empty_table())


def as_count(value) -> int:
    """A count or sum from an engine as an int: an empty group's SUM is NULL, which comes back
    as None from DuckDB and as NaN from Spark; both are 0 rows."""
    if value is None or value != value:
        return 0
    return int(value)
