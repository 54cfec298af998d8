"""Where the kit keeps what it derives from a user's data: converted Parquet and imports.

The cache lives outside the user's folders (the kit never writes there):
``$SALESNB_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/salesnb``, else ``~/.cache/salesnb``.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    configured = os.environ.get("SALESNB_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "salesnb"
