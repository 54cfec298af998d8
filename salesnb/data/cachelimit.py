"""How much disk the kit's cache may take: old entries and imports removed, least recently used first.

Every new version of the data is a new cache entry (an entry is named by the files' content),
and so is every new version of the kit or of the playbook. Nothing removed them: a scheduled
run on a daily export added one entry a day, 0.7 GB each at the ``large`` sample and 4.7 GB
of typed tables alone at ``xlarge`` (docs/scaling.md), until the disk was full and the run stopped with
"cache cannot be written". The same held for ``salesnb import``'s folders.

The rule, applied each time a process adds an entry or an import:

- ``SALESNB_CACHE_LIMIT`` (default ``10GB``; ``none`` for no limit) bounds the entries and
  imports together. Over it, the least recently used go first until the cache is under it.
- One used in the last :data:`IN_USE_HOURS` hours is never removed, over the limit or not: a
  run, a scheduled report or an analyst's notebook may still be reading it. A cache whose
  recent entries alone are over the limit stays over it until they age.
- "Used" is the folder's modification time, which :func:`mark_used` sets each time a process
  opens the entry (or reuses the import) and, at most every ten minutes, while a dataset
  queries it (:mod:`salesnb.data.querycache`).
- Only folders the kit names (``cache.NAME_LENGTH`` hexadecimal characters) are ever removed; the DuckDB spill
  folder and anything else a user put there are left alone. Half-built entries left by a killed
  process (an entry's or an import's staging folder) are removed once they are a day old.

An entry is removed as :func:`salesnb.data.cache.discard` removes a broken one: renamed away
first (a process opening it then sees no entry and builds it again), then deleted.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import time
from contextlib import suppress
from pathlib import Path

from salesnb.data.cache import NAME_LENGTH, cache_root, discard
from salesnb.errors import ConfigError

LIMIT_VARIABLE = "SALESNB_CACHE_LIMIT"
DEFAULT_LIMIT = "10GB"
# A day: longer than any run or report (the xlarge run takes about 15 minutes), and a notebook
# opened in the morning still finds its entry in the afternoon.
IN_USE_HOURS = 24
IMPORTS_FOLDER = "imports"  # salesnb.data.importing.import_to_cache writes there

_KIT_NAME = re.compile(f"[0-9a-f]{{{NAME_LENGTH}}}")
# Folders a killed process left: an entry's staging (.building-), a broken entry moved aside
# (.broken-), an import's staging or the import it replaced (.<name>.importing-, .<name>.old-).
_LEFTOVER = re.compile(rf"\.(building-|broken-|[0-9a-f]{{{NAME_LENGTH}}}\.(importing|old)-)")
# Decimal units as DuckDB's memory limit reads them (SALESNB_MEMORY_LIMIT), and binary ones.
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


def cache_limit() -> int | None:
    """``SALESNB_CACHE_LIMIT`` in bytes (default 10 GB), or None for no limit (``none``)."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip() or DEFAULT_LIMIT
    return parse_size(text, LIMIT_VARIABLE)


def parse_size(text: str, variable: str) -> int | None:
    """``"10GB"``, ``"500MB"``, ``"1.5GiB"`` or ``"0"`` as bytes; ``"none"`` as None."""
    value = text.strip().lower()
    if value in ("none", "unlimited"):
        return None
    if value == "0":
        return 0
    match = _SIZE.fullmatch(value)
    if match is None or match.group(2) not in _UNITS:
        raise ConfigError(
            f"{variable} must be a size such as 10GB, 500MB or 2GiB, or 'none' for no limit; not {text!r} "
            "(docs/scaling.md)."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def mark_used(folder: Path | None) -> None:
    """Note that ``folder`` (an entry or an import) is in use now. A cache that cannot be
    written is not an error: the folder only looks older than it is."""
    if folder is not None:
        with suppress(OSError):
            os.utime(folder)


@dataclasses.dataclass(frozen=True)
class Pruned:
    """What :func:`prune` removed, and whether the cache is still over its limit."""

    removed: tuple[Path, ...] = ()
    freed_bytes: int = 0
    over_limit: bool = False


def prune(limit: int | None, keep: Path | None = None, now: float | None = None) -> Pruned:
    """Remove the least recently used entries and imports until the cache holds at most
    ``limit`` bytes; never ``keep`` (what the caller just wrote or opened) and never one used in
    the last :data:`IN_USE_HOURS` hours. Half-built leftovers a day old are removed in any case.
    Nothing here is an error: a folder another process removes or locks first is skipped."""
    root = cache_root()
    now = time.time() if now is None else now
    in_use_since = now - IN_USE_HOURS * 3600
    _remove_leftovers(root, in_use_since)
    if limit is None:
        return Pruned()
    folders = [(folder, *_last_use_and_bytes(folder)) for folder in kit_folders(root)]
    total = sum(size for _, _, size in folders)
    removed, freed = [], 0
    # Least recently used first; the name breaks ties, so the same cache loses the same entries.
    for folder, last_use, size in sorted(folders, key=lambda item: (item[1], item[0].name)):
        if total <= limit:
            break
        if last_use >= in_use_since or (keep is not None and folder == keep):
            continue
        discard(folder)
        if not folder.exists():
            removed.append(folder)
            freed += size
            total -= size
    return Pruned(tuple(removed), freed, total > limit)


def kit_folders(root: Path) -> list[Path]:
    """The cache's entries and imports: the folders the kit named, nothing else."""
    places = [root, root / IMPORTS_FOLDER]
    found = []
    for place in places:
        with suppress(OSError):
            found += [path for path in place.iterdir() if _KIT_NAME.fullmatch(path.name) and path.is_dir()]
    return sorted(found)


def _last_use_and_bytes(folder: Path) -> tuple[float, int]:
    try:
        last_use = folder.stat().st_mtime
    except OSError:
        return 0.0, 0  # removed by another process meanwhile: discard() skips it
    size = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            with suppress(OSError):
                size += os.lstat(os.path.join(parent, name)).st_size
    return last_use, size


def _remove_leftovers(root: Path, before: float) -> None:
    """Staging folders of entries and imports whose process was killed, and what a crash left
    half-removed; a day old, so never one another process is writing now."""
    for place in (root, root / IMPORTS_FOLDER):
        with suppress(OSError):
            for path in place.iterdir():
                if _LEFTOVER.match(path.name) and path.is_dir():
                    with suppress(OSError):
                        if path.stat().st_mtime < before:
                            shutil.rmtree(path, ignore_errors=True)
