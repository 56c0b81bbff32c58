"""The sync progress line: drawn on a terminal only."""

from __future__ import annotations

import io

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


def test_no_progress_line_for_pipes_or_machine_readable_output() -> None:
    for console, enabled in ((_console(terminal=False), True), (_console(terminal=True), False)):
        with sync_progress(console, enabled=enabled) as progress:
            assert progress.bar is None
            progress.for_app("web").wait("waiting")  # callbacks are harmless without a bar
        assert console.file.getvalue() == ""  # type: ignore[attr-defined]
