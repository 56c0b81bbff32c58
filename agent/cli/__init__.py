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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from agent import __version__
from agent.cli import config, daemon, extras, fleet, helptext, init, inspect, render, revisions, suspend, sync
from agent.cli.base import app, options, out
from agent.exits import internal_error, leave

__all__ = [
    "app",
    "config",
    "daemon",
    "extras",
    "fleet",
    "helptext",
    "init",
    "inspect",
    "main",
    "render",
    "revisions",
    "run_command",
    "suspend",
    "sync",
]


def _version(value: bool) -> None:
    if value:
        out.print(f"gitops-agent {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    *,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            metavar="FILE",
            help="Use this kubeconfig's cluster instead of the configuration's (as kubectl).",
        ),
    ] = None,
    context: Annotated[
        str | None,
        typer.Option(
            "--context", metavar="NAME", help="The kubeconfig context to use (default: its current)."
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster", metavar="NAME", help="The kubeconfig cluster to use (default: the context's)."
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print each step as it happens, on standard error.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No header, notes or progress: reports and errors only.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Keep Kubernetes clusters equal to Git.

    The cluster is the one the configuration names (default: the embedded
    emulated cluster); --kubeconfig, --context and --cluster choose another,
    as they do for kubectl.  Every command names its cluster on standard
    error first."""
    if verbose and quiet:
        raise typer.BadParameter("--verbose and --quiet exclude each other")
    options.kubeconfig, options.context, options.cluster = kubeconfig, context, cluster
    options.verbose, options.quiet = verbose, quiet


for command in (
    sync.sync,
    inspect.diff,
    inspect.status,
    fleet.apps,
    inspect.history,
    revisions.manifests,
    sync.rollback,
    suspend.suspend,
    suspend.resume,
    render.render_cmd,
    render.health,
    daemon.run,
    init.init,
    extras.version,
    extras.completion,
):
    app.command(command.__name__.removesuffix("_cmd"))(command)
app.add_typer(config.group, name="config")
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
    if extras.COMPLETE_VAR in os.environ:  # the shell asks for completions (see `completion`)
        from typer._completion_classes import completion_init

        completion_init()
    try:
        from typer.main import get_command

        command = helptext.tidy(get_command(app))  # what Typer's app(...) runs, with readable help
        given = list(args) if args is not None else sys.argv[1:]
        command(args=helptext.hoist_global_options(given), prog_name=extras.PROG)
    except SystemExit as e:
        return e.code
    except Exception as e:  # the last line of defence: no traceback reaches the user
        return internal_error(e)
    return 0
