"""Compiled SQL kept between processes: a report compiles each query once per dataset.

Ibis compiles every expression a report executes to SQL: 40 to 100 ms each, for the 30 to 100
queries of each report, in every notebook's own kernel, and again in the next run on the
same data. On the small sample it was a fifth of the kit's own work in a run
(benchmarks/README.md, round 9). What a query compiles to depends on the expression alone
(its operations, column names, types and literal values) and on the compiler's version,
never on the rows. So the SQL is kept in the dataset's cache entry, in a file named by a
fingerprint of the expression, and read back by the next process that builds the same
expression:

- **The fingerprint** (:func:`fingerprint`) is a hash of the whole expression: each
  operation's kind and every argument, literal values written out exactly (``repr``: a float
  round-trips, a timestamp keeps its microseconds), column types and names. Anything it does
  not know how to write out exactly (an in-memory table's rows, a user-defined function, a
  type from outside Ibis) makes the expression not kept: it is compiled as before. Two
  expressions with one fingerprint compile to the same SQL.
- **Keyed by the compiler too**: the folder is named after the Ibis and SQLGlot versions and
  the SQL dialect, and the fingerprint holds Ibis' SQL options.
- **Per dataset**: the files live in the entry's ``queries`` folder, so they go with the entry.
  A dataset without an entry (a connection the caller passed in) keeps its SQL in memory only.
- **Safe to share**: a file is written whole or not at all (``cache.write_whole``: a parallel
  kernel reads the old file or the new one); one that cannot be read or written is compiled
  again, never an error.

Only plain executions are kept: with ``params=``, a row limit or other options the query is
compiled as Ibis does.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import uuid
from pathlib import Path

import ibis
import ibis.expr.operations as ops
import sqlglot
from ibis.common.grounds import Concrete

from salesnb.data.cache import QUERIES_FOLDER, write_whole

# Leaf values written out by their type and repr: exact for every one of these types.
_EXACT_VALUES = (str, int, float, bool, type(None), bytes, dt.date, dt.time, dt.timedelta, decimal.Decimal, uuid.UUID)
# Where the classes of operations, types and schemas come from: any other class (a UDF's,
# an in-memory table's data) is not fingerprinted.
_IBIS_MODULES = ("ibis.expr.operations.", "ibis.expr.datatypes.", "ibis.expr.schema")


class _NotExact(Exception):
    """A value the fingerprint cannot write out exactly: the expression is not kept."""


def fingerprint(expr) -> str | None:
    """A hash of ``expr`` (an Ibis expression or operation) that two processes compute alike
    for equal expressions, or None when it holds something that cannot be written out
    exactly (see the module docstring)."""
    node = expr.op() if hasattr(expr, "op") else expr
    try:
        return _node_digest(node, {})
    except (_NotExact, RecursionError):
        return None


def _node_digest(node, memo: dict) -> str:
    """A Merkle hash: the node's class and its arguments, each argument node by its own digest."""
    key = id(node)
    if key in memo:
        return memo[key][0]
    kind = type(node)
    if not kind.__module__.startswith(_IBIS_MODULES) or isinstance(node, ops.InMemoryTable):
        raise _NotExact(kind)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{kind.__module__}.{kind.__qualname__}(".encode())
    for name, value in zip(node.__argnames__, node.__args__):
        if isinstance(node, ops.DatabaseTable) and name == "source":
            continue  # the connection: the SQL names the table, whichever connection runs it
        digest.update(f"{name}=".encode())
        digest.update(_value_text(value, memo).encode())
        digest.update(b",")
    result = digest.hexdigest()
    memo[key] = (result, node)  # the node is held so its id is not reused during the walk
    return result


def _value_text(value, memo: dict) -> str:
    if isinstance(value, Concrete):
        return "@" + _node_digest(value, memo)
    if isinstance(value, enum.Enum):
        return f"{type(value).__module__}.{type(value).__qualname__}.{value.name}"
    if isinstance(value, _EXACT_VALUES):
        return f"{type(value).__qualname__}:{value!r}"
    if isinstance(value, dict):  # Ibis' frozen mappings: their order is the columns' order
        return "{" + ",".join(f"{_value_text(key, memo)}:{_value_text(item, memo)}" for key, item in value.items()) + "}"
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(_value_text(item, memo) for item in value) + ")"
    if isinstance(value, frozenset):  # unordered: the same set in any process's hash order
        return "{" + ",".join(sorted(_value_text(item, memo) for item in value)) + "}"
    raise _NotExact(type(value))


def _compiler_signature(connection) -> str:
    return f"ibis-{ibis.__version__}-sqlglot-{sqlglot.__version__}-{connection.name}"


class CompiledQueries:
    """The SQL of the expressions a dataset's connection executes, kept in ``folder`` (None:
    in memory only); ``hits`` and ``misses`` count the compilations it saved and the ones it
    made."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder
        self._known: dict[str, str] = {}
        self.hits = self.misses = 0

    def keep_in(self, entry: Path | None) -> None:
        """Keep the SQL in the cache entry ``entry`` from now on (None: in memory only)."""
        self.folder = None if entry is None else Path(entry) / QUERIES_FOLDER

    def key(self, connection, table_expr) -> str | None:
        """The name ``table_expr``'s SQL is kept under on ``connection``: its fingerprint with
        the compiler's versions and options; None when it is not kept."""
        found = fingerprint(table_expr)
        if found is None:
            return None
        return hashlib.blake2b(f"{_compiler_signature(connection)}|{ibis.options.sql!r}|{found}".encode(),
                               digest_size=16).hexdigest()

    def file_for(self, connection, table_expr) -> Path | None:
        """The file ``table_expr``'s SQL is kept in (None: not kept, or kept in memory only)."""
        key = self.key(connection, table_expr)
        return None if key is None else self._path(key)

    def sql(self, connection, table_expr) -> str:
        """The SQL ``connection`` runs for ``table_expr``: kept, or compiled now and kept."""
        key = self.key(connection, table_expr)
        if key is None:
            self.misses += 1
            return connection.compile(table_expr)
        if key in self._known:
            self.hits += 1
            return self._known[key]
        sql = self._read(key)
        if sql is not None:
            self.hits += 1
        else:
            self.misses += 1
            sql = connection.compile(table_expr)
            self._write(key, sql)
        self._known[key] = sql
        return sql

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{key}.sql"

    def _read(self, key: str) -> str | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        # A file is the key's line, then the SQL: a file cut short or from elsewhere is compiled again.
        first, _, sql = text.partition("\n")
        return sql if first == key and sql else None

    def _write(self, key: str, sql: str) -> None:
        path = self._path(key)
        if path is None:
            return
        write_whole(path, f"{key}\n{sql}")
