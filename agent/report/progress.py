"""Progress of syncs that take more than a moment, on standard error.

On a terminal: a spinner line (rich) that is replaced as the sync goes.
Elsewhere (a pipe, a CI log): plain lines, one every few seconds while a
sync runs (``app: what it does now (N s, M objects written)``), so a long
sync is not silent until its end; with ``verbose``, one line per step as it
happens.  Reports on standard output stay clean either way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.markup import escape

from agent.sync.apply import Progress

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

    from agent.sync.plan import Step


@dataclass
class SyncProgress:
    bar: Bar | None
    task: TaskID | None = None

    def for_app(self, app: str) -> Progress:
        if self.bar is None:
            return Progress()
        bar = self.bar
        if self.task is None:
            self.task = bar.add_task("", total=None)
        task = self.task
        bar.update(task, description=f"{escape(app)}: syncing")

        def step(s: Step) -> None:
            bar.update(task, description=f"{escape(app)}: {s.action} {escape(str(s.key))}")

        def wait(message: str) -> None:
            bar.update(task, description=f"{escape(app)}: {escape(message)}")

        return Progress(on_step=step, on_wait=wait)


class LineProgress:
    """Plain progress lines: the current step every ``every`` seconds (a
    ticker thread), and each step at once when ``verbose``."""

    def __init__(self, console: Console, every: float, *, verbose: bool = False) -> None:
        self.console, self.every, self.verbose = console, every, verbose
        self._lock = threading.Lock()
        self._now: tuple[str, str, float, int] | None = None  # app, doing, since, written
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)

    def for_app(self, app: str) -> Progress:
        with self._lock:
            self._now = (app, "syncing", time.monotonic(), 0)

        def step(s: Step) -> None:
            self._set(f"{s.action} {s.key}", written=1, show=self.verbose)

        def wait(message: str) -> None:
            self._set(message, written=0, show=self.verbose)

        return Progress(on_step=step, on_wait=wait)

    def _set(self, doing: str, *, written: int, show: bool) -> None:
        with self._lock:
            if self._now is None:
                return
            app, _, since, count = self._now
            self._now = (app, doing, since, count + written)
        if show:
            self._line()

    def _line(self) -> None:
        with self._lock:
            if self._now is None:
                return
            app, doing, since, written = self._now
        seconds = time.monotonic() - since
        self.console.print(
            f"{app}: {doing} ({seconds:.0f} s, {written} written)", markup=False, highlight=False
        )

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            self._line()

    def __enter__(self) -> LineProgress:
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._ticker.join()


PROGRESS_SECONDS = 5.0  # between two progress lines where no terminal shows a spinner


@contextmanager
def sync_progress(
    console: Console, *, enabled: bool = True, verbose: bool = False, every: float = PROGRESS_SECONDS
) -> Iterator[SyncProgress | LineProgress]:
    if not enabled:
        yield SyncProgress(None)
        return
    if verbose or not console.is_terminal:
        with LineProgress(console, every, verbose=verbose) as lines:
            yield lines
        return
    # rich.progress (~10 ms) only where a bar is drawn: not for -o json, pipes or CI logs.
    from rich.progress import Progress as Bar  # noqa: PLC0415
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Bar(*columns, console=console, transient=True) as bar:
        yield SyncProgress(bar)
