"""Where the kit keeps what it derives from a user's data: converted Parquet and imports.

The cache lives outside the user's folders (the kit never writes there):
``$SALESNB_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/salesnb``, else ``~/.cache/salesnb``.
Entries are keyed on the CONTENT of the user's files (:func:`content_digest`): a file
rewritten with the same size and modification time is still seen as changed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import xxhash

from salesnb.errors import CacheError


def cache_root() -> Path:
    configured = os.environ.get("SALESNB_CACHE_DIR")
    if configured:
        root = Path(configured).expanduser()
        if root.exists() and not root.is_dir():
            raise CacheError(
                f"SALESNB_CACHE_DIR points at {root}, which is a file, not a folder. Point it at a folder "
                "(it is created if missing), or unset it to use ~/.cache/salesnb."
            )
        return root
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "salesnb"


def content_digest(path: Path) -> str:
    """A hash of the file's bytes: XXH3-128, not a cryptographic hash (nobody forges a CRM
    export to fool a cache) but about 4x faster than SHA-256. Every notebook kernel hashes
    the dataset when it opens it: 0.06 s instead of 0.25 s for the large sample's 250 MB,
    0.6 s instead of 2.5 s at xlarge (benchmarks/README.md)."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, xxhash.xxh3_128).hexdigest()


def cache_write_error(folder: Path, error: Exception) -> CacheError:
    """The message for a cache that cannot be written (disk full, read-only, not a folder)."""
    reason = getattr(error, "strerror", None) or str(error).strip().splitlines()[0]
    return CacheError(
        f"The kit's cache folder {folder} cannot be written ({reason}). Free some disk space there, or set "
        "SALESNB_CACHE_DIR to a writable folder with room. Your data files were not changed."
    )
