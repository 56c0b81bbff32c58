"""Sync progress: a spinner line on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io
import time

from rich.console import Console

from agent.report import sync_progress


def _console(terminal: bool) -> Console:
    return Console(file=io.StringIO(), force_terminal=terminal, width=120)


def test_a_terminal_gets_a_progress_line_that_follows_the_sync() -> None:
    with sync_progress(_console(terminal=True)) as progress:
        assert progress.bar is not None
        watcher = progress.for_app("web")
        watcher.wait("waiting for Deployment/web/web")
        (task,) = progress.bar.tasks
        assert task.description == "web: waiting for Deployment/web/web"
        progress.for_app("db").wait("waiting for StatefulSet/db/db")
        assert [t.description for t in progress.bar.tasks] == ["db: waiting for StatefulSet/db/db"]


def test_nothing_when_disabled_and_no_line_for_a_quick_sync_in_a_pipe() -> None:
    for console, enabled in ((_console(terminal=False), True), (_console(terminal=True), False)):
        with sync_progress(console, enabled=enabled, every=60) as progress:
            progress.for_app("web").wait("waiting")  # callbacks are harmless without a bar
        assert console.file.getvalue() == ""  # type: ignore[attr-defined]


def test_a_pipe_gets_a_line_every_few_seconds_and_verbose_each_step() -> None:
    piped = _console(terminal=False)
    with sync_progress(piped, every=0.05) as progress:
        progress.for_app("web").wait("waiting for Deployment/web/web")
        deadline = time.monotonic() + 10
        while piped.file.getvalue().count("\n") < 2 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
    lines = piped.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert len(lines) >= 2 and all(line.startswith("web: waiting for Deployment/web/web (") for line in lines)
    verbose = _console(terminal=True)
    with sync_progress(verbose, verbose=True, every=60) as progress:
        watcher = progress.for_app("db")
        watcher.wait("waiting for StatefulSet/db/db")
        watcher.wait("healthy")
    said = verbose.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert [line.split(" (")[0] for line in said] == ["db: waiting for StatefulSet/db/db", "db: healthy"]
