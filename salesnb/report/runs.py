"""The reports folder: run folders, their ``status.json``, the ``latest`` link and retention.

A run folder says what state it is in through ``status.json``, written when the run starts
(``state: running``, with the runner's process id) and rewritten, atomically, as the very
last file of the run (``state: finished``). Whatever stops a run before that (SIGKILL, a
full disk, Ctrl-C) leaves the folder *incomplete*: ``running`` with a process that is gone,
or ``aborted``. Only finished runs become ``latest``, count as "the previous run" for
trends, or are ever deleted by retention.

Every file of a run is written through :func:`write_text` (a temporary file renamed into
place), so a full disk never leaves a truncated report that looks complete.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from salesnb.errors import SalesnbError

STATUS_FILE = "status.json"
LATEST_LINK = "latest"
LOCK_FILE = ".salesnb.lock"
RUNNING, FINISHED, ABORTED = "running", "finished", "aborted"
INCOMPLETE = "incomplete"  # derived: running with its process gone, or aborted

# What a write error means for the person running the kit, and what to do about it.
_WRITE_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space (e.g. delete old runs, or set keep: in the plan)",
    errno.EDQUOT: "the disk quota is used up: free some space",
    errno.EROFS: "the location is read-only: choose a folder you can write to",
    errno.EACCES: "permission denied: choose a folder you can write to, or fix its permissions",
    errno.EPERM: "permission denied: choose a folder you can write to, or fix its permissions",
}
WRITE_ERRNOS = frozenset(_WRITE_ADVICE)


class RunWriteError(SalesnbError):
    """A run folder (or the reports folder) could not be written: full, read-only, no permission."""

    def __init__(self, path: Path, error: OSError, run_dir: Path | None = None):
        self.path, self.error, self.run_dir = Path(path), error, run_dir
        advice = _WRITE_ADVICE.get(error.errno, "check the disk and the folder's permissions")
        message = f"Could not write {path}: {error.strerror or error}; {advice}."
        if run_dir is not None:
            message += (f" The run stopped; its folder {run_dir} is marked incomplete, and reports/latest "
                        "still points at the previous complete run.")
        super().__init__(message)


def write_error_in(error: BaseException) -> OSError | None:
    """The OSError behind ``error`` (itself, or a cause or context) if it is a disk or
    permission problem (full, read-only, no access), else None."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in WRITE_ERRNOS:
            return error
        error = error.__cause__ or error.__context__
    return None


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` all at once: a temporary file in the same folder, renamed
    over ``path``. A failed write (full disk) removes the temporary file and raises
    :class:`RunWriteError`; ``path`` is either the old content or the whole new one."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())  # the rename must not land before the data does
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise RunWriteError(path, error) from None
    return path


def write_json(path: Path, payload) -> Path:
    """``payload`` as indented JSON with sorted keys, written atomically."""
    return write_text(path, json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------- folders


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or inside it (both resolved, links followed)."""
    path, folder = Path(path).expanduser().resolve(), Path(folder).expanduser().resolve()
    return path == folder or folder in path.parents


def make_folder(path: Path, *, exist_ok: bool) -> None:
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        raise
    except OSError as error:
        raise RunWriteError(path, error) from None


def new_run_dir(reports_dir: Path, now: dt.datetime) -> Path:
    """``reports/<timestamp>``, with a suffix when two runs start in the same second."""
    make_folder(reports_dir, exist_ok=True)
    base = now.strftime("%Y-%m-%dT%H-%M-%S")
    for attempt in range(1, 1000):
        candidate = reports_dir / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            make_folder(candidate, exist_ok=False)  # atomic: two runners never share a folder
            return candidate
        except FileExistsError:
            continue
    raise SalesnbError(f"Could not create a new run folder in {reports_dir}; clean out old runs.")


def prepare_out_dir(out: Path) -> Path:
    """The ``--out`` folder: new, or empty; created here."""
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise SalesnbError(f"--out {out} is a file; give a folder for the run.")
    if out.is_dir() and any(out.iterdir()):
        # A run folder is the record of one run: never mix two runs' files.
        raise SalesnbError(f"--out {out} is not empty; give a new or empty folder (runs are never overwritten).")
    make_folder(out, exist_ok=True)
    return out


# ----------------------------------------------------------------------------- status.json


def process_alive(pid: int | None, host: str | None = None) -> bool:
    """Whether the process that wrote a status or lock is still running (on this machine;
    a process on another host is assumed alive: it cannot be checked from here)."""
    if not pid:
        return False
    if host and host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def read_status(run_dir: Path) -> dict | None:
    """A run folder's ``status.json``, or None when it has none (or it cannot be read)."""
    try:
        status = json.loads((Path(run_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def state_of(status: dict | None) -> str | None:
    """``running`` (in progress), ``finished``, or ``incomplete`` (killed or aborted); None
    for a folder without a readable status (not a run this kit can vouch for)."""
    if status is None:
        return None
    state = status.get("state")
    if state == FINISHED:
        return FINISHED
    if state == RUNNING and process_alive(status.get("pid"), status.get("host")):
        return RUNNING
    return INCOMPLETE


@dataclass(frozen=True)
class RunFolder:
    path: Path
    status: dict
    state: str

    @property
    def started(self) -> str:
        return str(self.status.get("started") or "")


def list_runs(reports_dir: Path) -> list[RunFolder]:
    """The run folders of a reports folder with a readable ``status.json``, oldest first.

    ``latest``, the lock, ``README.md`` and anything else without a status are not runs."""
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        return []
    runs = []
    for path in reports_dir.iterdir():
        if path.is_symlink() or not path.is_dir() or path.name.startswith("."):
            continue
        status = read_status(path)
        if status is not None:
            runs.append(RunFolder(path, status, state_of(status)))
    return sorted(runs, key=lambda run: (run.started, run.path.name))


def starting_status(run_dir: Path, **fields) -> dict:
    """The status a run writes first: ``running``, by this process, on this host."""
    return {"run": Path(run_dir).name, "state": RUNNING, "pid": os.getpid(), "host": socket.gethostname(), **fields}


# ----------------------------------------------------------------------------- latest


def check_latest(reports_dir: Path) -> None:
    """Refuse to start when ``reports/latest`` is not the link the kit maintains (a real
    folder or file someone put there): the run could never move it."""
    link = Path(reports_dir) / LATEST_LINK
    if link.exists() and not link.is_symlink():
        kind = "folder" if link.is_dir() else "file"
        raise SalesnbError(
            f"{link} is a real {kind}, not the link salesnb keeps pointing at the newest complete run, so a "
            f"run could not move it. Rename or move it away (e.g. 'mv {link} {link}-old') and run again."
        )


def latest_target(reports_dir: Path) -> Path | None:
    link = Path(reports_dir) / LATEST_LINK
    return link.resolve() if link.is_symlink() else None


def update_latest(reports_dir: Path, run_dir: Path) -> Path:
    """Point ``reports_dir/latest`` at ``run_dir`` (a relative link), atomically: a new link
    renamed over the old one, so readers never see it missing. No temporary link is left
    behind, whatever fails."""
    link = Path(reports_dir) / LATEST_LINK
    check_latest(reports_dir)
    temporary = Path(reports_dir) / f".{LATEST_LINK}-{os.getpid()}-{threading.get_ident()}"
    target = os.path.relpath(Path(run_dir).resolve(), Path(reports_dir).resolve())
    try:
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(target, target_is_directory=True)
        os.replace(temporary, link)
    except OSError as error:
        raise RunWriteError(link, error) from None
    finally:
        if temporary.is_symlink():
            temporary.unlink()
    return link


# ----------------------------------------------------------------------------- retention


def apply_retention(reports_dir: Path, keep: int | None, current: Path | None = None) -> list[Path]:
    """Delete the finished runs beyond the ``keep`` newest; return the folders deleted.

    Never deleted: the run ``latest`` points at, ``current`` (the run doing the cleaning),
    runs in progress and incomplete runs (kept for inspection), and anything that is not a
    run folder (``README.md``, the lock). A folder is renamed out of sight before it is
    removed, so a deletion cut short never leaves a half-deleted run looking finished.
    """
    if keep is None:
        return []
    protected = {path.resolve() for path in (latest_target(reports_dir), current) if path is not None}
    finished = [run for run in list_runs(reports_dir) if run.state == FINISHED]
    removable = [run for run in finished[: max(len(finished) - keep, 0)] if run.path.resolve() not in protected]
    removed = []
    for run in removable:
        hidden = run.path.with_name(f".deleting-{run.path.name}")
        try:
            run.path.rename(hidden)
        except OSError:
            continue  # someone else is tidying up: leave it
        shutil.rmtree(hidden, ignore_errors=True)
        removed.append(run.path)
    return removed
