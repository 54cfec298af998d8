"""One run at a time per reports folder: a lock with a bounded wait and stale-lock takeover.

The lock is ``<reports folder>/.salesnb.lock``, held with ``flock`` (the operating system
releases it when the process ends, however it ends: a SIGKILLed run cannot leave the
folder locked). The file also says who holds it (process id, host, run, since when), for
the message a waiting run prints; a run that ends normally empties it. A lock file that
still names a holder when the lock is free was left by a run that was killed: the next
run takes it over and says so in its log line.

The file is never deleted: deleting a lock file others may be waiting on lets two runs
hold "the" lock on two different files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from salesnb.errors import SalesnbError
from salesnb.report.runs import LOCK_FILE, RunWriteError

# How long a run waits for the one before it by default: a weekly report that normally
# takes minutes should not be skipped because the previous one ran late.
DEFAULT_LOCK_WAIT_SECONDS = 600
# The exit code of a run that gave up waiting (EX_TEMPFAIL from sysexits.h: try again later).
LOCK_BUSY_EXIT_CODE = 75


class LockBusyError(SalesnbError):
    """Another run holds the reports folder's lock for longer than this run would wait."""

    exit_code = LOCK_BUSY_EXIT_CODE


def _holder(handle) -> dict:
    handle.seek(0)
    text = handle.read()
    try:
        holder = json.loads(text) if text.strip() else {}
    except ValueError:
        holder = {"unreadable": text[:80]}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict) -> str:
    if not holder:
        return "another run"
    parts = [f"run {holder.get('run', '?')}", f"process {holder.get('pid', '?')}"]
    if holder.get("host") and holder.get("host") != socket.gethostname():
        parts.append(f"on {holder['host']}")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return " ".join(parts[:1]) + " (" + ", ".join(parts[1:]) + ")"


@contextlib.contextmanager
def reports_lock(reports_dir: Path, *, wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS, run_name: str = "",
                 say: Callable[[str], None] = print) -> Iterator[Callable[[str], None]]:
    """Hold the lock of ``reports_dir`` for the ``with`` block; it yields ``record(run)``,
    which names the run folder in the lock file once it exists.

    Waits at most ``wait_seconds`` (saying once who it waits for), then raises
    :class:`LockBusyError`, which names the holder and what to do. ``say`` prints the
    progress lines (waiting, stale lock taken over).
    """
    reports_dir = Path(reports_dir)
    path = reports_dir / LOCK_FILE
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")
    except OSError as error:
        raise RunWriteError(path, error) from None
    with handle:
        deadline = time.monotonic() + max(wait_seconds, 0)
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(handle)
                if time.monotonic() >= deadline:
                    raise LockBusyError(
                        f"Another salesnb run is writing to {reports_dir}: {_describe(holder)}. Waited "
                        f"{wait_seconds:g} s for it to finish; this run did not start. Run again later, give a "
                        f"longer wait (--lock-wait, or lock_wait_seconds: in the plan), or use another reports "
                        f"folder. (Exit code {LOCK_BUSY_EXIT_CODE}.)"
                    ) from None
                if not announced:
                    say(f"salesnb: waiting up to {wait_seconds:g} s for {_describe(holder)} to finish with {reports_dir}")
                    announced = True
                time.sleep(min(0.5, max(deadline - time.monotonic(), 0.01)))
        previous = _holder(handle)
        if previous:
            # Free lock, yet the file names a holder: that run never released it (killed).
            say(f"salesnb: took over a stale lock on {reports_dir} left by {_describe(previous)}: "
                "that process is gone (killed?); its run folder is marked incomplete.")
        since = dt.datetime.now().isoformat(timespec="seconds")

        def record(run: str) -> None:
            """Name the holder's run in the lock file (for a waiting run's message)."""
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "run": run, "since": since}))
            handle.flush()

        try:
            record(run_name)
        except OSError as error:
            fcntl.flock(handle, fcntl.LOCK_UN)
            raise RunWriteError(path, error) from None
        try:
            yield record
        finally:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()  # released cleanly: nobody will call it stale
                handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
