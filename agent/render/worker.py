"""Charts render in a worker process that can be stopped for real.

The budget (:mod:`agent.render.limits`) counts every loop step, call,
filter and operator and reads the clock at each, so a template that makes
many steps stops within one of its budget, with a message naming the
template and line.  One step can still run long where no check reaches it:
Python dividing two numbers of millions of bits, or comparing two deeply
shared structures, runs inside the interpreter until it is done.  So the
Jinja render of a chart runs in a worker process; the caller waits until
the budget's deadline and :data:`GRACE_SECONDS` more, then kills the worker
(SIGKILL) and answers "rendering took longer than N s; stopped".  A render
never outlives its budget by more than that second, in the command line and
in the daemon, and the daemon's thread is free again at once (Argo CD's
repo server bounds manifest generation the same way, by a timeout on the
process that renders).

The worker's heap is capped too: before each render its data segment
limit (``RLIMIT_DATA``) is set to what it uses plus ``max_memory_bytes``, so
an allocation beyond that fails inside the worker (a RenderFailed "out of
memory") instead of growing the agent.

Workers are forked from the agent and kept warm: compiled templates stay
cached in a worker between renders, and a chart goes back to a worker that
rendered it before when one is idle.  A worker whose render failed, was
stopped or died is not reused; the next render forks a fresh one (a few
milliseconds).  Everything crosses the pipe pickled: the chart folder,
values and release in, manifests and notes out.  A template asking
``capabilities.api_versions`` when the caller has not asked the cluster yet
asks the caller through the same pipe, so discovery still happens only when
a template needs it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from agent.errors import RenderFailed
from agent.render import limits
from agent.render.context import APIVersions, Capabilities, Release
from agent.render.limits import Limits

GRACE_SECONDS = 1.0  # how long past its deadline a render may run before its worker is killed
IDLE_MAX = 8  # idle workers kept warm
SEEN_MAX = 512  # chart folders a worker remembers (to send a chart back to it)


@dataclass(frozen=True)
class ChartJob:
    folder: Path  # the chart, resolved
    shown: str  # how messages name it
    repo: Path  # the checkout it must stay inside
    layers: Sequence[Mapping[str, Any]]  # values over the chart's own, in order
    release: Release
    kube_version: Any  # the capabilities' KubeVersion
    api_versions: tuple[str, ...] | None  # None: ask the caller when a template needs them
    limits: Limits
    deadline: float  # time.monotonic() the render must end by


@dataclass(frozen=True)
class ChartOutput:
    crds: list[Any]  # Manifests of the charts' crds/ folders
    manifests: list[Any]  # Manifests of the templates
    notes: str


def render_chart(job: ChartJob, capabilities: Capabilities) -> ChartOutput:
    """Render ``job`` in a worker; ``capabilities`` answers the worker's
    question for the served API versions."""
    worker = _pool.take(job.folder)
    try:
        kind, payload = _exchange(worker, job, capabilities)
    except BaseException:  # stopped, died, or the caller interrupted: never reused
        worker.stop()
        raise
    if kind == "ok":
        _pool.give(worker, job.folder)
        return payload  # type: ignore[no-any-return]
    worker.stop()  # a failed render may have left the worker in any state
    if kind == "failed":
        raise RenderFailed(payload)
    raise payload  # an unexpected error in the worker, as it was raised there


def _exchange(worker: _Worker, job: ChartJob, capabilities: Capabilities) -> tuple[str, Any]:
    try:
        worker.conn.send(job)
        while True:
            left = job.deadline + GRACE_SECONDS - time.monotonic()
            if left <= 0 or not worker.conn.poll(left):
                raise RenderFailed(
                    f"{job.shown}: rendering took longer than {job.limits.max_seconds:g} s; stopped"
                )
            kind, payload = worker.conn.recv()
            if kind != "ask":
                return kind, payload
            worker.conn.send(tuple(capabilities.api_versions))
    except (EOFError, OSError):
        raise RenderFailed(f"{job.shown}: the render process ended unexpectedly (out of memory?)") from None


class _Worker:
    def __init__(self) -> None:
        forks = "fork" in multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if forks else None)
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, os.getpid()), name="render", daemon=True)
        self.process.start()
        child.close()
        self.seen: set[Path] = set()

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Kill the worker at once (it may be in the middle of one long operation)."""
        with contextlib.suppress(ProcessLookupError, ValueError, AttributeError):
            self.process.kill()
        self.process.join(5)
        self.conn.close()
        with contextlib.suppress(ValueError):
            self.process.close()


class _Pool:
    """Idle workers, the one that rendered a chart before first."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def take(self, folder: Path) -> _Worker:
        with self._lock:
            found = next((w for w in reversed(self._idle) if folder in w.seen), None)
            if found is None and self._idle:
                found = self._idle[-1]
            if found is not None:
                self._idle.remove(found)
        if found is not None and found.alive():
            return found
        if found is not None:
            found.stop()
        return _forker.new_worker()

    def give(self, worker: _Worker, folder: Path) -> None:
        if len(worker.seen) >= SEEN_MAX:
            worker.seen.clear()
        worker.seen.add(folder)
        with self._lock:
            self._idle.append(worker)
            extra = self._idle[:-IDLE_MAX] if len(self._idle) > IDLE_MAX else []
            del self._idle[: len(extra)]
        for w in extra:
            w.stop()


class _Forker:
    """Forks every worker from one thread that lives as long as the agent:
    the kernel's parent-death signal follows the thread that forked, and a
    worker must not die when a short-lived thread that once asked for it ends."""

    def __init__(self) -> None:
        self._asks: queue.SimpleQueue[queue.SimpleQueue[_Worker | BaseException]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def new_worker(self) -> _Worker:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="render-forker", daemon=True)
                self._thread.start()
        answer: queue.SimpleQueue[_Worker | BaseException] = queue.SimpleQueue()
        self._asks.put(answer)
        made = answer.get()
        if isinstance(made, BaseException):
            raise made
        return made

    def _serve(self) -> None:
        while True:
            answer = self._asks.get()
            try:
                answer.put(_Worker())
            except BaseException as e:  # handed to the thread that asked
                answer.put(e)


_pool = _Pool()
_forker = _Forker()


# -- in the worker ------------------------------------------------------------------
def _serve(conn: Connection, parent: int) -> None:
    """The worker's loop: one job at a time, until the agent closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the agent's to handle; it stops us
    # A fork keeps the agent's handlers: the daemon's SIGTERM handler would make
    # the worker "shut down" without ending, and the agent, ending, would wait
    # for it for ever.  The worker ends on SIGTERM as any process does, and its
    # signals no longer wake the agent's event loop.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    _close_inherited(conn.fileno())
    _die_with_parent(parent)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_run(job, conn))


def _run(job: ChartJob, conn: Connection) -> tuple[str, Any]:
    from agent.render.chart import load_chart  # noqa: PLC0415 - the worker's own imports
    from agent.render.templates import render_tree  # noqa: PLC0415

    _cap_memory(job.limits.max_memory_bytes)

    def ask() -> tuple[str, ...]:
        conn.send(("ask", None))
        answer: tuple[str, ...] = conn.recv()
        return answer

    served = job.api_versions if job.api_versions is not None else ask
    capabilities = Capabilities(job.kube_version, APIVersions(served))
    try:
        with limits.budget(job.limits, job.deadline):
            chart = load_chart(job.folder, job.shown, job.repo)
            out = render_tree(chart, job.layers, job.release, capabilities)
    except RenderFailed as e:
        return "failed", e.message
    except MemoryError:
        return "failed", f"{job.shown}: out of memory while rendering; refused"
    except Exception as e:  # a fault of the agent's own: raised as is in the caller
        return "error", _picklable(e)
    return "ok", ChartOutput(out.crds, out.manifests, out.notes)


def _picklable(error: Exception) -> Exception:
    import pickle  # noqa: PLC0415 - only on this rare path

    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, as the pipe would carry it
    except Exception:  # any error that does not survive the pipe is described instead
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _cap_memory(most: int) -> None:
    """Let the heap grow by at most ``most`` bytes from here (Linux: the data
    segment, which counts every private writable mapping malloc makes)."""
    try:
        import resource  # noqa: PLC0415 - POSIX only

        with open("/proc/self/statm", encoding="ascii") as f:
            data_pages = int(f.read().split()[5])
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        soft = data_pages * os.sysconf("SC_PAGE_SIZE") + most
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    except (ImportError, OSError, ValueError, IndexError):
        pass  # no /proc or no limits here: the clock still bounds the render


def _close_inherited(keep: int) -> None:
    """Close every descriptor the fork copied from the agent but the
    worker's pipe and standard streams.  A fork keeps what the agent had open
    at that instant, among them the pipe on which a ``subprocess.Popen`` in
    another thread (a Kustomize or helm build, a git command) waits until its
    child has started: held open here, that Popen would wait for as long as
    this worker lives (the classic fork-in-a-threaded-process leak)."""
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536)


def _die_with_parent(parent: int) -> None:
    """On Linux, the kernel kills the worker when the agent dies (even by
    SIGKILL), so a runaway render cannot outlive it."""
    try:
        import ctypes  # noqa: PLC0415

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the agent died before the signal was asked for
        os._exit(1)
