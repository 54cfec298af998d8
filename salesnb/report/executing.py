"""Executing a run's notebooks: one kernel each, a pool of workers, time limits and signals.

:func:`execute_all` runs every :class:`NotebookJob` with papermill on a pool of threads,
each notebook in its own kernel process, and returns one :class:`NotebookResult` per job.

- Each kernel starts in its notebook's folder, given to the kernel's own process (never a
  ``chdir`` of the runner: papermill's ``cwd=`` changes the working directory of the whole
  process, and a kernel started by another thread meanwhile started in the user's folder).
- A kernel does not put its working folder on its import path, so ``import salesnb`` is the
  installed package whatever folder the run or the notebooks are in (a clone named
  ``salesnb`` next to them would otherwise shadow it, and ``salesnb.data.dataset`` fail).
- A notebook over its time limit is stopped (its kernel's process group killed) and failed;
  the others go on. Ctrl-C or SIGTERM raise :class:`RunInterrupted` in the main thread and
  stop every kernel.
- When a kernel has ended, its DuckDB spill folder goes too (kernels are ended at once, so
  their own clean-up at exit never runs; up to gigabytes at scale).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from salesnb.errors import SalesnbError, printable
from salesnb.report.packs import Pack
from salesnb.report.runs import RunWriteError, write_error_in

KERNEL_NAME = "python3"
TIMED_OUT = "TimeoutError"
# The kernel's working folder stays off its import path (IPython's InteractiveShellApp.ignore_cwd).
KERNEL_ARGUMENTS = ["--IPKernelApp.ignore_cwd=True"]
# A kernel that died before answering its first message is started again, once: jupyter_client
# picks free ports, closes them and hands them to the kernel, and a process starting at the same
# moment (another kernel of the run) can take one first; the kernel then exits with "Address
# already in use" (jupyter/jupyter_client#154, nteract/papermill#511). No cell has run, so a
# second start with fresh ports is the same notebook run. Seen once in a whole test run.
KERNEL_DIED_AT_START = "Kernel died before replying to kernel_info"
KERNEL_START_ATTEMPTS = 2


class RunInterrupted(SalesnbError):
    """The run was stopped by Ctrl-C (SIGINT) or SIGTERM; its folder is marked incomplete."""

    def __init__(self, message: str, exit_code: int):
        self.exit_code = exit_code
        super().__init__(message)


@dataclass(frozen=True)
class NotebookJob:
    """One notebook to execute into one folder (the run folder, or a pack's subfolder)."""

    path: Path
    folder: Path
    parameters: dict
    pack: Pack | None = None
    period: object = None  # the ReportPeriod it covers (salesnb.report.configuration)

    @property
    def label(self) -> str:
        return self.path.stem + (f" [{self.pack.label}]" if self.pack else "")


@dataclass
class NotebookResult:
    """How one notebook went: ``status`` is ``ok`` or ``failed``."""

    name: str
    status: str = "pending"
    duration: float = 0.0
    notebook_path: Path | None = None
    html_path: Path | None = None
    kpis: dict = field(default_factory=dict)
    title: str | None = None  # the notebook's first heading
    headline: dict | None = None  # the tiles the report shows first (kpis.headline)
    findings: list = field(default_factory=list)  # the findings lists it showed (kpis.findings)
    error_name: str | None = None
    error_message: str | None = None
    pack: Pack | None = None  # with --each: the value this copy ran for
    period: object = None  # the ReportPeriod it covered
    kernel_messages: list[str] = field(default_factory=list)  # the kernel's stderr, for run.log

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def label(self) -> str:
        return self.name + (f" [{self.pack.label}]" if self.pack else "")

    @property
    def error(self) -> str | None:
        """``ErrorName: message`` for a failed notebook, else None."""
        if self.error_name is None:
            return None
        return f"{self.error_name}: {self.error_message}" if self.error_message else self.error_name


class Progress:
    """``[2/3] 02_conversion ... ok (14.2 s)`` lines on stderr; safe to call from worker threads."""

    def __init__(self, total: int = 0):
        from rich.console import Console

        self.total = total
        self.done = 0
        self.lock = threading.Lock()
        # stderr: stdout stays for the result lines a script may capture.
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)

    def say(self, line: str) -> None:
        with self.lock:
            # A line can quote the data: control characters are shown, never sent to the terminal.
            self.console.print(printable(line), markup=False)

    def started(self, job: NotebookJob) -> None:
        with self.lock:
            self.console.print(printable(f"running {job.label} ..."), style="dim", markup=False)

    def finished(self, result: NotebookResult) -> None:
        with self.lock:
            self.done += 1
            line = f"[{self.done}/{self.total}] {result.label} ... {result.status} ({result.duration:.1f} s)"
            if result.error:
                line += f"\n      {result.error.splitlines()[0] if result.error.splitlines() else result.error}"
            self.console.print(printable(line), style="green" if result.ok else "bold red", markup=False)


# ----------------------------------------------------------------------------- one kernel


def remove_spill_folder(pid: int | None) -> None:
    """Remove the DuckDB spill folder of the ended kernel process ``pid`` (salesnb.data.backends)."""
    from salesnb.data.backends import SPILL_PREFIX, duckdb_temp_dir

    if pid:
        shutil.rmtree(duckdb_temp_dir() / f"{SPILL_PREFIX}{pid}", ignore_errors=True)


class KernelWatch:
    """One notebook's kernel, reachable from other threads: a time limit or an interrupt
    stops it by killing its process group, and nbclient then ends that notebook."""

    def __init__(self, working_dir: Path):
        self.working_dir = working_dir
        self.manager = None
        self.pid: int | None = None
        self.expired = False
        self.stopped = False
        self._lock = threading.Lock()
        # The kernel's own stderr (ipykernel's log lines and shutdown noise): kept out of
        # the run's terminal and cron mail; a failed notebook's lines go into run.log.
        self.stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")

    def kernel_messages(self) -> list[str]:
        """What the kernel process wrote to stderr, without ipykernel's routine warnings."""
        self.stderr.flush()
        self.stderr.seek(0)
        lines = [line.rstrip() for line in self.stderr.read().splitlines() if line.strip()]
        self.stderr.close()
        return [line for line in lines if "running over TCP without encryption" not in line]

    def started(self, manager) -> None:
        with self._lock:
            self.manager = manager
            self.pid = getattr(manager.provisioner, "pid", None)
            stop_now = self.expired or self.stopped
        if stop_now:
            self.kill()

    def expire(self) -> None:
        self.expired = True
        self.kill()

    def stop(self) -> None:
        self.stopped = True
        self.kill()

    def kill(self) -> None:
        with self._lock:
            provisioner = getattr(self.manager, "provisioner", None)
        pid, pgid = getattr(provisioner, "pid", None), getattr(provisioner, "pgid", None)
        with contextlib.suppress(OSError):
            if pgid:
                os.killpg(pgid, signal.SIGKILL)  # the kernel and anything it started
            elif pid:
                os.kill(pid, signal.SIGKILL)

    def kernel_manager_class(self):
        """An AsyncKernelManager that starts its kernel in this watch's folder and reports
        itself to the watch once the kernel runs."""
        from jupyter_client.manager import AsyncKernelManager

        watch = self

        class RunKernelManager(AsyncKernelManager):
            async def _async_launch_kernel(self, kernel_cmd, **kwargs):
                kwargs["stdout"] = kwargs["stderr"] = watch.stderr
                kwargs["cwd"] = str(watch.working_dir)  # the kernel's own, not the runner's
                return await super()._async_launch_kernel([*kernel_cmd, *KERNEL_ARGUMENTS], **kwargs)

            async def _async_post_start_kernel(self, **kwargs):
                await super()._async_post_start_kernel(**kwargs)
                watch.started(self)

            async def _async_interrupt_kernel(self):
                # jupyter_client sends SIGINT before every shutdown request; a kernel that is
                # between messages logs "KeyboardInterrupt caught in kernel" as an ERROR on the
                # run's terminal. A finished notebook has nothing to interrupt.
                if self.shutting_down:
                    return
                await super()._async_interrupt_kernel()

        return RunKernelManager


class Execution:
    """What every notebook of a run shares: the time limit, progress, the stop switch, and
    ``after``, called in the worker thread with each notebook's result (rendering)."""

    def __init__(self, *, timeout: float | None, progress: Progress, run_dir: Path,
                 after: Callable[[NotebookResult, NotebookJob], None]):
        self.timeout, self.progress, self.run_dir, self.after = timeout, progress, run_dir, after
        self.abort = threading.Event()
        self.watches: set[KernelWatch] = set()
        self.lock = threading.Lock()

    def stop_all(self) -> None:
        self.abort.set()
        with self.lock:
            watches = list(self.watches)
        for watch in watches:
            watch.stop()

    def run(self, job: NotebookJob) -> NotebookResult:
        result = NotebookResult(name=job.path.stem, pack=job.pack, period=job.period,
                                notebook_path=job.folder / f"{job.path.stem}.ipynb",
                                html_path=job.folder / f"{job.path.stem}.html")
        if self.abort.is_set():
            result.status, result.error_name = "failed", "not run: the run was stopped"
            return result
        self.progress.started(job)
        began = time.monotonic()
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            watch = KernelWatch(job.path.parent)
            self._execute(job, result, watch)
            messages = watch.kernel_messages()
            if not _died_at_start(result) or attempt == KERNEL_START_ATTEMPTS or watch.stopped or self.abort.is_set():
                break
            self.progress.say(f"{job.label}: its kernel died as it started; starting it again")
            result.status, result.error_name, result.error_message = "pending", None, None
        result.duration = time.monotonic() - began
        result.kernel_messages = messages
        if watch.stopped:
            return result  # the run is being stopped: no page to render
        if watch.expired:
            result.status = "failed"
            result.error_name = TIMED_OUT
            result.error_message = (f"timed out after {self.timeout:g} s (the per-notebook time limit: --timeout, "
                                    "or timeout_seconds: in the plan); the kernel was stopped and the other "
                                    "notebooks went on")
        self.after(result, job)
        self.progress.finished(result)
        return result

    def _execute(self, job: NotebookJob, result: NotebookResult, watch: KernelWatch) -> None:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        with self.lock:
            self.watches.add(watch)
        timer = threading.Timer(self.timeout, watch.expire) if self.timeout else None
        try:
            if timer:
                timer.daemon = True
                timer.start()
            papermill.execute_notebook(
                str(job.path), str(result.notebook_path), parameters=job.parameters,
                kernel_name=KERNEL_NAME, progress_bar=False, kernel_manager_class=watch.kernel_manager_class(),
                # Once the last cell's outputs are in, the kernel has nothing left to do: end it
                # at once. A polite shutdown request races with ipykernel closing its sockets and
                # prints a ZMQ traceback from the kernel now and then.
                shutdown_kernel="immediate",
            )
            result.status = "ok"
        except PapermillExecutionError as error:
            result.status = "failed"
            result.error_name, result.error_message = error.ename, _explained(error.ename, str(error.evalue))
        except Exception as error:  # kernel died, notebook unreadable...: fail this one, run the rest
            fault = write_error_in(error)
            if fault is not None:
                raise RunWriteError(fault.filename or result.notebook_path, fault, self.run_dir) from None
            result.status = "failed"
            result.error_name, result.error_message = type(error).__name__, str(error)
        finally:
            if timer:
                timer.cancel()
            with self.lock:
                self.watches.discard(watch)
            remove_spill_folder(watch.pid)  # the kernel has ended (or was killed)


def _died_at_start(result: NotebookResult) -> bool:
    """Whether the notebook failed because its kernel died before running anything."""
    return result.status == "failed" and result.error_name == "RuntimeError" and \
        KERNEL_DIED_AT_START in (result.error_message or "")


def _explained(name: str, message: str) -> str:
    """A notebook's error as the run reports it: DuckDB running out of memory says which
    setting to change (as the commands do), the rest as raised."""
    from salesnb.data.backends import OUT_OF_MEMORY, out_of_memory_message

    return out_of_memory_message(message, in_this_process=False) if name == OUT_OF_MEMORY else message


# ----------------------------------------------------------------------------- the pool


def default_jobs() -> int:
    """Notebooks run at once by default: one per core (each is its own kernel process, and a
    report's own work is mostly single-threaded Python and small queries)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def execute_all(jobs: list[NotebookJob], execution: Execution, workers: int,
                start_order: list[int] | None = None) -> list[NotebookResult]:
    """Run the jobs on ``workers`` threads, started in ``start_order`` (the jobs' positions;
    default: as given), results in the jobs' order; on a stop (signal, disk fault) kill every
    kernel and raise."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="salesnb-run")
    # The pool starts its tasks in the order they are submitted.
    submitted = {index: pool.submit(execution.run, jobs[index])
                 for index in (start_order if start_order is not None else range(len(jobs)))}
    futures = [submitted[index] for index in range(len(jobs))]
    try:
        with _signals_raise():
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                for future in done:
                    future.result()  # a disk fault in a worker stops the run here
    except BaseException:
        # Second Ctrl-C while the kernels are being stopped: ignored, the cleanup is short.
        with _signals_ignored():
            execution.stop_all()
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [future.result() for future in futures]


@contextlib.contextmanager
def _signals_raise():
    """Ctrl-C (SIGINT) and SIGTERM raise :class:`RunInterrupted` in the main thread, where
    the run waits for its notebooks (they run in worker threads, which signals never reach,
    so no library prints a traceback from the middle of a kernel call)."""
    def interrupted(signum, frame):
        raise RunInterrupted(signal.Signals(signum).name, 130 if signum == signal.SIGINT else 143)

    with _signal_handlers(interrupted):
        yield


@contextlib.contextmanager
def _signals_ignored():
    with _signal_handlers(signal.SIG_IGN):
        yield


@contextlib.contextmanager
def _signal_handlers(handler):
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (a run started from a worker thread)
        return
    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
