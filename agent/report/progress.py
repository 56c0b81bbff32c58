"""A progress line for syncs that take more than a moment (rich).

Shown on the terminal's standard error only when it is a terminal, so
reports on standard output, pipes and CI logs stay clean.
"""

from __future__ import annotations

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


@contextmanager
def sync_progress(console: Console, *, enabled: bool = True) -> Iterator[SyncProgress]:
    if not enabled or not console.is_terminal:
        yield SyncProgress(None)
        return
    # rich.progress (~10 ms) only where a bar is drawn: not for -o json, pipes or CI logs.
    from rich.progress import Progress as Bar  # noqa: PLC0415
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Bar(*columns, console=console, transient=True) as bar:
        yield SyncProgress(bar)
