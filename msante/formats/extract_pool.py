"""Long-lived PDF extraction workers under time and memory limits.

For a caller importing thousands of files that hashes and encrypts each one in its own process
while the workers extract the next ones:

    with ExtractionPool(limits=Limits(seconds=30)) as pool:
        for ticket, extraction in pool.map(paths, password):
            store(ticket.path, extraction)        # completion order; each path exactly once

`map` submits lazily (at most two files per worker in flight), so memory stays flat however
many paths there are. `submit(path)` then `results()` does the same for files known up front.
Every file gets an `Extraction`, never an exception: a file that takes more than
`Limits.seconds` gets the flag "limits" ("took more than 30 s") and its worker is killed and
replaced; a worker that dies (memory limit, segfault, killed) gives the same flag with the reason,
and the pool carries on with a fresh worker.

Workers are processes of the "spawn" context: fresh interpreters that inherit none of the
parent's memory (no vault key can leak into a process parsing hostile files), each importing
pypdf once for the whole batch. Each worker sets RLIMIT_AS to `Limits.memory_mib` (falling back
to RLIMIT_DATA where RLIMIT_AS cannot be set), RLIMIT_CORE to 0, lowers its priority (nice +5),
ignores SIGINT (the parent owns Ctrl-C) and, on Linux, asks to be SIGKILLed when the thread that
started it exits (PR_SET_PDEATHSIG): use a pool from the thread that created it. Workers
receive paths, not bytes: the caller guarantees the file is readable. `close()` (also on context
exit, exceptions and KeyboardInterrupt, and at garbage collection) stops idle workers and kills
busy ones; workers are daemonic, so none outlives the parent.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import get_context, resource_tracker
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Protocol

from msante.errors import EnvironmentProblem
from msante.formats.pdf_in import Extraction, extract
from msante.i18n import _

READY = "ready"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 2.0
NICENESS = 5
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """The limits of one extraction."""

    seconds: float = 30.0
    """Wall time allowed per file."""
    memory_mib: int = 512
    """Address space of each worker (RLIMIT_AS)."""
    max_stream_mib: int = 64
    """Largest decompressed stream (pypdf's limits: bigger is a decompression bomb)."""


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Ticket:
    """A submitted file: its number in this pool (from 1) and its path."""

    id: int
    path: str


class Extractor(Protocol):
    """What a worker runs on each file (`pdf_in.extract`; tests inject others)."""

    def __call__(self, path: str, password: str | None, *, max_stream_mib: int) -> Extraction:
        """Extract one file."""
        ...


@dataclass(frozen=True)
class _Job:
    """A ticket and the password to open its file."""

    ticket: Ticket
    password: str | None


class _Worker:
    """One worker process, the parent's end of its pipe, and its current job."""

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.ready = False
        self.job: _Job | None = None
        self.deadline = time.monotonic() + STARTUP_SECONDS

    def start(self, job: _Job, seconds: float) -> bool:
        """Send a job and start its clock; False if the worker is gone (its death will be
        seen through its sentinel)."""
        try:
            self.conn.send((job.ticket.id, job.ticket.path, job.password))
        except OSError:
            return False
        self.job = job
        self.deadline = time.monotonic() + seconds
        return True

    def kill(self) -> None:
        """Kill the process now and reap it."""
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


def _start_tracker() -> None:
    """Start multiprocessing's resource tracker even when sys.stderr has no real descriptor.

    The tracker hands `sys.stderr.fileno()` to its child; a host that replaced sys.stderr with
    an object answering -1 (Textual does, while the TUI runs) makes every spawn fail with "bad
    value(s) in fds_to_keep". The tracker then gets /dev/null: its warnings must not scribble
    over a full-screen interface anyway.
    """
    try:
        if sys.stderr is not None and sys.stderr.fileno() >= 0:
            return
    except (AttributeError, ValueError, OSError):
        pass
    with open(os.devnull, "w") as null:
        saved, sys.stderr = sys.stderr, null
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


class ExtractionPool:
    """Worker processes extracting PDFs under `Limits`; a context manager."""

    def __init__(self, workers: int | None = None, limits: Limits = DEFAULT_LIMITS, *,
                 extractor: Extractor = extract) -> None:
        self.limits = limits
        self._extractor = extractor
        self._size = max(1, workers or min(4, os.cpu_count() or 1))
        self._context = get_context("spawn")
        _start_tracker()
        self._pending: deque[_Job] = deque()
        self._done: deque[tuple[Ticket, Extraction]] = deque()
        self._workers: list[_Worker] = []
        self._next_id = 0
        self._finalizer = weakref.finalize(self, _kill_all, self._workers)
        self._workers.extend(self._spawn() for _worker in range(self._size))

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def submit(self, path: str | Path, password: str | None = None) -> Ticket:
        """Queue a file and start it at once if a worker is free; its result comes out of
        `results()` (results finished meanwhile are kept until then)."""
        if not self._workers:
            raise ValueError("submit to a closed extraction pool")
        self._next_id += 1
        ticket = Ticket(self._next_id, str(path))
        self._pending.append(_Job(ticket, password))
        self._done.extend(self._step(timeout=0.0))
        return ticket

    def results(self) -> Iterator[tuple[Ticket, Extraction]]:
        """Results of every submitted file, in completion order, each once."""
        while self._done or self._pending or self._busy():
            if self._done:
                self._dispatch()  # a worker that just finished starts its next file now,
                yield self._done.popleft()  # not after the caller has handled this result
            else:
                self._done.extend(self._step())

    def map(self, paths: Iterable[str | Path],
            password: str | None = None) -> Iterator[tuple[Ticket, Extraction]]:
        """Extract `paths` lazily, keeping the workers busy; results in completion order
        (with those of earlier `submit()`s)."""
        source = iter(paths)
        for path in source:
            self.submit(path, password)
            while len(self._pending) + self._busy() >= 2 * self._size or self._done:
                yield from self._drain_one()
        yield from self.results()

    def pids(self) -> list[int]:
        """The process ids of the live workers (for monitoring)."""
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def close(self) -> None:
        """Stop idle workers, kill busy ones, and reap them all; idempotent."""
        self._pending.clear()
        self._done.clear()
        for worker in self._workers:
            _send_stop(worker)
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self._workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
        _kill_all(self._workers)
        self._workers.clear()

    # ---------------------------------------------------------------- the event loop

    def _drain_one(self) -> Iterator[tuple[Ticket, Extraction]]:
        """Yield the results ready, or wait for the next event."""
        if self._done:
            self._dispatch()
            yield self._done.popleft()
        else:
            self._done.extend(self._step())

    def _busy(self) -> int:
        """How many workers are extracting a file."""
        return sum(worker.job is not None for worker in self._workers)

    def _step(self, timeout: float | None = None) -> list[tuple[Ticket, Extraction]]:
        """Dispatch, wait for the next event (a result, a death, a deadline) at most `timeout`
        seconds, and handle what happened."""
        self._dispatch()
        waitables = [w.conn for w in self._workers] + [w.process.sentinel for w in self._workers]
        ready = set(wait(waitables, self._timeout(timeout)))
        done: list[tuple[Ticket, Extraction]] = []
        for worker in list(self._workers):
            if worker.conn in ready or worker.process.sentinel in ready:
                done += self._collect(worker)
            elif worker.deadline <= time.monotonic() and (worker.job or not worker.ready):
                done += self._replace(worker, self._overtime(worker))
        return done

    def _overtime(self, worker: _Worker) -> str:
        """Why a worker past its deadline is killed."""
        if not worker.ready:
            return f"it did not start within {STARTUP_SECONDS:g} s"
        return f"took more than {self.limits.seconds:g} s"

    def _timeout(self, limit: float | None) -> float | None:
        """How long to wait: until the nearest deadline (a job's, or a start's), or `limit`."""
        deadlines = [w.deadline for w in self._workers if w.job or not w.ready]
        if not deadlines:
            return limit
        nearest = max(0.0, min(deadlines) - time.monotonic())
        return nearest if limit is None else min(nearest, limit)

    def _dispatch(self) -> None:
        """Give pending jobs to the ready, idle workers."""
        for worker in self._workers:
            if self._pending and worker.ready and worker.job is None:
                job = self._pending.popleft()
                if not worker.start(job, self.limits.seconds):
                    self._pending.appendleft(job)

    def _collect(self, worker: _Worker) -> list[tuple[Ticket, Extraction]]:
        """Read what a worker sent: "ready" or a result; a closed pipe means it died."""
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            return self._replace(worker, _death(worker.process))
        if message == READY:
            worker.ready = True
            return []
        job, worker.job = worker.job, None
        return [(job.ticket, message[1])] if job is not None else []

    def _replace(self, worker: _Worker, reason: str) -> list[tuple[Ticket, Extraction]]:
        """Kill a worker, start another, and flag the file it was extracting."""
        worker.kill()
        self._workers.remove(worker)
        if not worker.ready:
            raise EnvironmentProblem(
                _("The text-extraction worker could not start: {reason}.").format(reason=reason))
        self._workers.append(self._spawn())
        job = worker.job
        return [(job.ticket, Extraction.failed("limits", reason))] if job is not None else []

    def _spawn(self) -> _Worker:
        """Start one worker process."""
        parent_end, child_end = self._context.Pipe()
        args = (child_end, self.limits, self._extractor, os.getpid())
        process = self._context.Process(target=_serve, args=args, name="msante-extract",
                                        daemon=True)
        process.start()
        child_end.close()
        return _Worker(process, parent_end)


def _send_stop(worker: _Worker) -> None:
    """Ask an idle worker to exit; kill a busy one."""
    if worker.job is not None:
        worker.process.kill()
        return
    try:
        worker.conn.send(None)
    except OSError:  # already dead
        pass


def _kill_all(workers: list[_Worker]) -> None:
    """Kill and reap whatever worker is still alive."""
    for worker in workers:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()


def _death(process: BaseProcess) -> str:
    """Why a worker process ended, as a short sentence."""
    process.join(timeout=5)
    code = process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        why = " (the memory limit, or the system out of memory)" if code == -signal.SIGKILL else ""
        return f"the extraction worker was killed by {name}{why}"
    return f"the extraction worker died (exit code {code})"


# ---------------------------------------------------------------- the worker process

def _serve(conn: Connection, limits: Limits, extractor: Extractor, parent: int) -> None:
    """A worker's life: harden itself, import pypdf, then extract files until told to stop."""
    _harden(limits, parent)
    import pypdf  # noqa: F401  (imported once for the whole batch)

    conn.send(READY)
    while (job := _receive(conn)) is not None:
        job_id, path, password = job
        conn.send((job_id, _run(extractor, path, password, limits)))


def _receive(conn: Connection) -> tuple[int, str, str | None] | None:
    """The next job, or None when the parent says stop or has gone."""
    try:
        job: tuple[int, str, str | None] | None = conn.recv()
    except (EOFError, OSError):
        return None
    return job


def _run(extractor: Extractor, path: str, password: str | None, limits: Limits) -> Extraction:
    """Extract one file; memory and unexpected errors become flags."""
    try:
        return extractor(path, password, max_stream_mib=limits.max_stream_mib)
    except MemoryError:
        return Extraction.failed("limits", f"out of memory (limit {limits.memory_mib} MiB)")
    except Exception as exc:  # the extractor must not take the worker down
        return Extraction.failed("unreadable", f"extraction failed: {type(exc).__name__}: {exc}")


def _harden(limits: Limits, parent: int) -> None:
    """Limit memory and core dumps, lower priority, leave Ctrl-C to the parent, die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    size = limits.memory_mib << 20
    try:
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_DATA, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(NICENESS)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request above: follow it
        os._exit(1)
