"""The command line: ``gitops-agent sync|diff|status|history|rollback|render|run|emulator|...``.

Commands only, one module per group (:mod:`.sync`, :mod:`.inspect`,
:mod:`.render`, :mod:`.daemon`) on what they share (:mod:`.base`): each
loads the configuration and connects through the one session helper, calls
a stage, hands the result to :mod:`agent.report`, and leaves with the exit
code :mod:`agent.exits` decides from the result (the table is there).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from typing import Annotated

import typer

from agent import __version__
from agent.cli import daemon, inspect, render, sync
from agent.cli.base import app, out
from agent.exits import internal_error, leave

__all__ = ["app", "daemon", "inspect", "main", "render", "run_command", "sync"]


def _version(value: bool) -> None:
    if value:
        out.print(f"gitops-agent {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    pass


for command in (
    sync.sync,
    inspect.diff,
    inspect.status,
    inspect.history,
    sync.rollback,
    render.render_cmd,
    render.health,
    daemon.run,
):
    app.command(command.__name__.removesuffix("_cmd"))(command)
app.add_typer(daemon.emulator_group(), name="emulator")


def main() -> None:
    os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
    # A sync allocates hundreds of thousands of small objects (imports, the
    # rendered objects, the live ones) and frees them by reference counting;
    # at the default threshold of 700 the cycle collector ran some 300 times
    # in a sync of 1,000 objects, a tenth of its time, and found next to
    # nothing.  Young collections now run every 20,000 allocations.
    gc.set_threshold(20_000, 50, 100)
    leave(run_command())


def run_command(args: Sequence[str] | None = None) -> object:
    """The command's exit code; an exception no stage turned into an error
    is one ``error:`` line and exit 4 (:func:`agent.exits.internal_error`)."""
    try:
        app(args=list(args) if args is not None else None)
    except SystemExit as e:
        return e.code
    except Exception as e:  # the last line of defence: no traceback reaches the user
        return internal_error(e)
    return 0
