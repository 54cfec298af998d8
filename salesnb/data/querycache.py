"""Query results kept per dataset: an expression a report executes twice runs once.

A report asks the same question more than once (a view and the finding that reads it, the
same per-rep activity counts for three sections, a period and its comparison sharing a
sub-query): each time Ibis compiled the expression to SQL again (tens of milliseconds) and
the engine ran it again. :func:`attach` gives a dataset's connection a cache in front of
its ``execute``: the key is the expression itself (Ibis operations are immutable values,
hashed and compared by structure, and name their connection), so two expressions built the
same way share one entry, and an entry never serves another connection's tables.

- **Per dataset**: the cache belongs to the dataset (``dataset.query_cache``) and lives as
  long as it. A connection the kit opens serves one dataset; a connection a caller passes
  in (``backend=`` an Ibis connection) gets a new, empty cache with each dataset opened on
  it, so a dataset never reads entries made before it was opened (the tables may have been
  rewritten in between).
- **Copies**: every caller gets its own copy of a frame (the kit's code adds columns to what
  a query returns); the kept one is never handed out.
- **Bounded**: results with more than :data:`MAX_ROWS` rows are not kept (at scale, the
  per-deal frames a forecast reads are read once), and the least recently used entries go
  past :data:`MAX_BYTES`.
- Only plain executions are kept: with ``params=``, a row limit or other options the call
  goes straight to the engine.
- **In use**: executions mark the dataset's cache entry used, at most every ten minutes, so
  bounding the cache's size never removes an entry a notebook is still querying
  (:mod:`salesnb.data.cachelimit`).

Backend-neutral: it wraps whatever connection the dataset has (DuckDB, Spark, a warehouse).
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from pathlib import Path

import pandas as pd

from salesnb.data.backends import engine_execute
from salesnb.data.cachelimit import mark_used
from salesnb.data.compiled import CompiledQueries
from salesnb.errors import CacheError

# A report's views are a few hundred rows; per-deal frames at scale are read once: not kept.
MAX_ROWS = 100_000
MAX_BYTES = 64 * 1024 * 1024  # what the kept frames take, text included (pandas' deep memory usage)
# How often a dataset that keeps querying marks its cache entry used (salesnb.data.cachelimit):
# a notebook open for hours keeps its entry, at one file-time update per ten minutes at most.
MARK_USED_EVERY_SECONDS = 600


class QueryCache:
    """Executed results by expression, least recently used first; ``hits`` and ``misses``
    count the executions it answered and the ones it sent to the engine."""

    def __init__(self, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES):
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.entries: OrderedDict = OrderedDict()
        self.sizes: dict = {}
        self.hits = self.misses = 0
        self.compiled = CompiledQueries()
        self.entry: Path | None = None  # the cache entry the dataset reads (Dataset.cache_entry)
        self._marked_at: float | None = None

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def bytes(self) -> int:
        return sum(self.sizes.values())

    def clear(self) -> None:
        self.entries.clear()
        self.sizes.clear()

    def execute(self, engine_execute, expr, /, *, params=None, limit=None, **kwargs):
        """``engine_execute(expr, ...)``, or a copy of what it returned for an equal expression."""
        self._note_use()
        if params or kwargs or limit not in (None, "default"):
            return self._run(engine_execute, expr, params=params, limit=limit, **kwargs)
        key = (type(expr), expr.op())
        if key in self.entries:
            self.hits += 1
            self.entries.move_to_end(key)
            return _copy(self.entries[key])
        self.misses += 1
        result = self._run(engine_execute, expr, params=params, limit=limit)
        self._keep(key, result)
        return result

    def _run(self, engine_execute, expr, **options):
        try:
            return engine_execute(expr, **options)
        except Exception as error:
            # The entry's files removed under a dataset left open (a day unused, then the cache
            # bounded by another build, or deleted by hand): say so, not DuckDB's "No files found".
            if self.entry is not None and type(error).__name__ == "IOException" and not self.entry.exists():
                raise CacheError(
                    f"The cache entry this dataset was reading ({self.entry}) is gone: removed to keep the cache under "
                    "SALESNB_CACHE_LIMIT after a day unused, or deleted by hand. Open the data again (in a notebook, "
                    "run it again from the top): the entry is rebuilt from your files, which were not changed."
                ) from None
            raise

    def _note_use(self) -> None:
        """Mark the cache entry used, at most every :data:`MARK_USED_EVERY_SECONDS`: an entry
        in use is never removed to bound the cache's size."""
        now = time.monotonic()
        if self.entry is not None and (self._marked_at is None or now - self._marked_at >= MARK_USED_EVERY_SECONDS):
            self._marked_at = now
            mark_used(self.entry)

    def _keep(self, key, result) -> None:
        if isinstance(result, (pd.DataFrame, pd.Series)):
            if len(result) > self.max_rows:
                return
            size = int(result.memory_usage(index=True, deep=True).sum() if isinstance(result, pd.DataFrame)
                       else result.memory_usage(index=True, deep=True))
            result = result.copy(deep=True)  # the caller may change the one it was given
        else:
            size = 64  # a scalar
        if size > self.max_bytes:
            return
        self.entries[key], self.sizes[key] = result, size
        while self.bytes > self.max_bytes:
            oldest, _ = self.entries.popitem(last=False)
            del self.sizes[oldest]


def _copy(result):
    return result.copy(deep=True) if isinstance(result, (pd.DataFrame, pd.Series)) else result


def attach(connection) -> QueryCache:
    """A new, empty cache in front of ``connection.execute`` (replacing one attached before),
    with the SQL of what it sends to the engine kept in ``cache.compiled``
    (:mod:`salesnb.data.compiled`; in memory until the dataset names its cache entry)."""
    cache = QueryCache()
    # The class's own execute (never a wrapper), on DuckDB read column by column through Arrow.
    connection.execute = functools.partial(cache.execute, engine_execute(connection, cache.compiled))
    return cache
