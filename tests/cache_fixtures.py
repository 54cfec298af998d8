"""What a cache folder holds, for tests that count its entries."""

from __future__ import annotations

from pathlib import Path


def cache_entries(cache: Path) -> list[Path]:
    """The cache's dataset entries: not hidden files, not DuckDB's spill folder (the default
    ``SALESNB_TEMP_DIR`` is ``<cache>/duckdb-spill``, created when a connection opens), not the
    folder of imports (``salesnb import``'s datasets)."""
    return sorted(path for path in cache.iterdir()
                  if not path.name.startswith(".") and path.name not in ("duckdb-spill", "imports"))
