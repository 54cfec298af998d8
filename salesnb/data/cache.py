"""Where the kit keeps what it derives from a user's data: converted Parquet and imports.

The cache lives outside the user's folders (the kit never writes there):
``$SALESNB_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/salesnb``, else ``~/.cache/salesnb``.
Entries are keyed on the CONTENT of the user's files (:func:`content_digest`): a file
rewritten with the same size and modification time is still seen as changed. How much of it
is kept (``SALESNB_CACHE_LIMIT``, least recently used entries removed first) is
:mod:`salesnb.data.cachelimit`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager, suppress
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


# ----------------------------------------------------------------------------- cache entries
#
# An entry is a folder named by :func:`entry_key`: one typed Parquet file per table,
# ``findings.json`` (the checks' findings) and, once a report has asked, ``facts/`` (small
# facts of the data: the data date and the checks that need it, the first date, the category
# values; below), ``derived/`` (tables many reports start from, below) and ``queries/`` (the
# SQL the reports' queries compiled to: salesnb.data.compiled). Entries are built in a staging
# folder and published by one rename, so a parallel reader sees a whole entry or none.

FINDINGS_FILE = "findings.json"
# Hexadecimal characters in the name of an entry (and of an import): what salesnb.data.cachelimit
# recognises as the kit's own folders.
NAME_LENGTH = 24
QUERIES_FOLDER = "queries"
DATE_FACTS = "data_date"  # the fact (facts/data_date.json) of the data date and its checks


def entry_key(files: dict[str, Path], playbook, code_files: list[Path]) -> str:
    """The entry's name: the kit's version, the model, the playbook, the code that types and
    checks the data (``code_files``: a changed rule must not be served stale findings) and
    the files' content, not their size and time (a file rewritten with the same size and
    modification time, by a copy with -p or a sync tool, must not be served old findings)."""
    from salesnb import __version__
    from salesnb.data.model import MODEL_VERSION

    # The playbook by its content: where its file was read from does not type or check anything
    # (the kit's own playbook moves with each install, a user's with a copied folder: at xlarge
    # each move rebuilt a four-minute entry).
    content = dataclasses.replace(playbook, source_path=None) if dataclasses.is_dataclass(playbook) else playbook
    digest = hashlib.sha256()
    digest.update(f"model={MODEL_VERSION};kit={__version__};playbook={content!r}".encode())
    for path in code_files:
        digest.update(Path(path).read_bytes())
    for name, path in sorted(files.items()):
        digest.update(f"|{name}|{path.suffix}|{content_digest(path)}".encode())
    return digest.hexdigest()[:NAME_LENGTH]


def read_entry(connection, entry: Path, files: dict[str, Path]):
    """(findings, tables) from a cache entry, or None when there is none or it cannot be
    read (truncated by a full disk, edited, half-deleted): such an entry is a miss, and is
    moved aside so it is rebuilt."""
    import duckdb

    from salesnb.data.validate import Finding

    if not entry.exists():
        return None
    try:
        findings = [Finding(**item) for item in json.loads((entry / FINDINGS_FILE).read_text())]
        # Typed tables exist for the tables whose required columns are all there.
        tables = {
            name: connection.read_parquet(entry / f"{name}.parquet", table_name=name)
            for name in files
            if (entry / f"{name}.parquet").exists() or not any(f.table == name and f.check == "missing_column"
                                                              for f in findings)
        }
        return findings, tables
    except (OSError, ValueError, TypeError, duckdb.Error):
        discard(entry)
        return None


def discard(entry: Path) -> None:
    """Move a broken cache entry out of the way (renaming is atomic: a parallel reader sees
    the old entry or none) and delete it."""
    try:
        retired = Path(tempfile.mkdtemp(prefix=".broken-", dir=entry.parent))
        entry.rename(retired / entry.name)
        shutil.rmtree(retired, ignore_errors=True)
    except OSError:
        pass  # another process discarded it first


@contextmanager
def building(entry: Path):
    """A staging folder to write a new entry into; published as ``entry`` when the block
    ends without an error. A full disk or a read-only cache is a :class:`CacheError`, and
    nothing half-written is left to be read as an entry."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=entry.parent))
    except OSError as error:
        raise cache_write_error(entry.parent, error) from None
    try:
        yield staging
        try:
            staging.rename(entry)
        except OSError:
            pass  # another process (a parallel notebook) finished the same entry first
    except OSError as error:
        raise cache_write_error(entry.parent, error) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_findings(staging: Path, findings) -> None:
    (staging / FINDINGS_FILE).write_text(json.dumps([finding.to_dict() for finding in findings], default=str))


def read_date_facts(entry: Path | None):
    """(data date, later findings) kept in an entry (:func:`read_fact`), or None (absent or
    unreadable: computed again). The data date is None for data without dates."""
    from salesnb.data.validate import Finding

    facts = read_fact(entry, DATE_FACTS)
    if facts is None:
        return None
    try:
        as_of = None if facts["as_of"] is None else dt.date.fromisoformat(facts["as_of"])  # None: no dates
        return as_of, [Finding(**item) for item in facts["later"]]
    except (ValueError, TypeError, KeyError):
        return None


def write_date_facts(entry: Path | None, as_of: dt.date | None, later) -> None:
    """Keep the data date and the checks that need it beside the entry (:func:`write_fact`), so
    a second opening of unchanged files runs none of them again."""
    write_fact(entry, DATE_FACTS, {"as_of": as_of and as_of.isoformat(),
                                   "later": [finding.to_dict() for finding in later]})


# ----------------------------------------------------------------------------- facts
#
# Small facts of the whole data that every report asks again when it starts (the data date and
# the checks that need it, the first dated event, each category column's values): kept in the
# entry's ``facts`` folder, one JSON file per fact, by the first process that works one out. The entry's key holds the files, the
# playbook and the code that computes them (``dataset.CODE_FILES``), so a fact never outlives
# the data or the definition it was computed from. On the large sample they were about 0.45 s
# of queries in each of a run's nine processes.

FACTS_FOLDER = "facts"


def read_fact(entry: Path | None, name: str):
    """The fact ``name`` kept in ``entry`` as JSON, or None (no entry, not kept yet, or
    unreadable: the caller works it out again)."""
    path = None if entry is None else entry / FACTS_FOLDER / f"{name}.json"
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())["value"]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def write_fact(entry: Path | None, name: str, value) -> None:
    """Keep ``value`` (JSON-able) as the fact ``name`` of ``entry``. Written whole or not at
    all (a parallel kernel reads the old file or the new one); a read-only or full cache is not
    an error: the next process works the fact out again."""
    if entry is None or not entry.is_dir():
        return
    # A finding's example dates as text.
    write_whole(entry / FACTS_FOLDER / f"{name}.json", json.dumps({"value": value}, default=str))


def write_whole(path: Path, text: str) -> bool:
    """``text`` written to ``path`` (its folder created) whole or not at all: a parallel
    process reads the old file or the new one, never half of one. False when the cache cannot
    be written (read-only, full, a file in the way): not an error, the caller works it out again."""
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(exist_ok=True)
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, path)
        return True
    except OSError:
        with suppress(OSError):
            staging.unlink()
        return False


# ----------------------------------------------------------------------------- derived tables
#
# The large tables every report derives the same way from the whole data (one row per lead,
# the deals with their owners, each deal's states) were built again by every notebook's
# kernel, and held in its memory: at the large sample one row per lead took 9 s and about
# 650 MB in each of three kernels. They are kept in the entry's ``derived`` folder instead,
# named by the query that builds them (its SQL and the engine's version), so a changed
# definition, playbook or data date builds a new file and never reads an old one.

DERIVED_FOLDER = "derived"
_EXCLUDE = re.compile(r"EXCLUDE \(([^()]*)\)")


def derived_path(entry: Path, name: str, query: str) -> Path:
    """Where the table ``name`` built by the SQL ``query`` is kept in ``entry``."""
    import duckdb

    signature = hashlib.sha256(f"duckdb={duckdb.__version__}\n{canonical_sql(query)}".encode()).hexdigest()[:16]
    return entry / DERIVED_FOLDER / f"{name}-{signature}.parquet"


def canonical_sql(query: str) -> str:
    """``query`` as every process writes it. Ibis lists the columns a query drops (EXCLUDE)
    from a set, in an order that changes with each process's string hashing: sorted, the same
    query has one text in every kernel."""
    return _EXCLUDE.sub(lambda match: f"EXCLUDE ({', '.join(sorted(match.group(1).split(', ')))})", query)


def keep_derived(path: Path, write) -> bool:
    """The derived table ``path`` is there, written now by ``write(staging_path)`` if it was
    not. One process writes it at a time: a kernel that asks while another writes it waits for
    that one and reads its file, instead of building the same table on the same cores (two
    kernels start together in a run). False when the cache cannot keep it."""
    if path.is_file():
        return True
    try:
        path.parent.mkdir(exist_ok=True)
        lock = open(path.with_name(f".{path.stem}.lock"), "w")
    except OSError:
        return False
    with lock:
        _exclusive(lock)  # released by the system if the process dies
        return path.is_file() or write_derived(path, write)


def _exclusive(handle) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no lock, two kernels may both build it (and one publishes it)
        return
    fcntl.flock(handle, fcntl.LOCK_EX)


def write_derived(path: Path, write) -> bool:
    """``write(staging_path)``, then published as ``path`` by a hard link, so a parallel
    kernel reads a whole file or none. When two kernels build it at once (no lock, on Windows)
    the first to finish publishes it and the second drops its own file and reads that one: a
    published file is never replaced under a kernel reading it. False when the cache cannot be
    written (read-only, full): the caller keeps the table in memory, as before."""
    import duckdb

    staging = path.with_name(f".{path.stem}.{os.getpid()}.parquet")
    try:
        path.parent.mkdir(exist_ok=True)
        write(staging)
        with suppress(FileExistsError):
            os.link(staging, path)
        return True
    except (OSError, duckdb.Error):
        return False
    finally:
        with suppress(OSError):
            staging.unlink(missing_ok=True)
