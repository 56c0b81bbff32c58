"""``sync`` and ``rollback``: the commands that change the cluster."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from agent.cli.base import (
    AppArgument,
    AppsArgument,
    ConfigOption,
    Output,
    OutputOption,
    SelectorOption,
    TimeoutOption,
    err,
    options,
    out,
    session,
    with_timeout,
    write,
)
from agent.exits import ExitCode, rollback_exit, sync_exit, worst

if TYPE_CHECKING:
    from agent.cli.base import Session


class Brief(StrEnum):
    """What a rollback's result is shown as."""

    text = "text"
    json = "json"


def sync(  # noqa: PLR0913 - a command's options are its parameters
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    *,
    prune: Annotated[
        bool | None, typer.Option("--prune/--no-prune", help="Override the apps' prune policy.")
    ] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", help="Sync this branch, tag or commit.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Apply a commit that is held after a rollback.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Send every change with dryRun=All: checked, not made.")
    ] = False,
    ignore_suspend: Annotated[
        bool, typer.Option("--ignore-suspend", help="Sync suspended apps too (they stay suspended).")
    ] = False,
    output: OutputOption = Output.text,
    timeout: TimeoutOption = None,
    selector: SelectorOption = None,
) -> None:
    """Apply Git to the cluster and print what changed.

    Waits for each wave and the app to be healthy (healthTimeoutSeconds, or
    --timeout) and rolls back a change that fails, where the app allows it.
    Apps go in dependency order (dependsOn); an app whose dependency failed
    is not synced.  A suspended app, or one outside its sync windows, is
    refused (exit 1) unless --ignore-suspend, or a window with manualSync.
    """
    from agent.fleet.ordered import in_order
    from agent.report import print_sync, sync_document, sync_progress
    from agent.sync.pipeline import reconcile

    every = float(os.environ.get("GITOPS_AGENT_PROGRESS_SECONDS", "5"))
    watching = sync_progress(err, enabled=not options.quiet, verbose=options.verbose, every=every)
    # the AppSets' memory is written by a sync that changes the cluster, never by a dry run
    chosen = session(config, apps, fleet=True, selector=selector, remember=not dry_run)
    with chosen as s, watching as progress:
        shown = {a.name: progress.for_app(a.name) for a in s.apps}
        refused, unready = _gates(s, dry_run=dry_run, ignore_suspend=ignore_suspend)
        results = in_order(
            s.apps,
            lambda a: reconcile(
                s.context_of(a),
                with_timeout(a, timeout),
                ref=revision,
                prune=prune,
                force=force,
                dry_run=dry_run,
                progress=shown[a.name],
            ),
            s.contexts.source,
            refused,
            unready,
        )
    write(output, lambda console: print_sync(results, console), lambda fmt: sync_document(results, fmt))
    raise typer.Exit(worst([sync_exit(results), *(ExitCode.DRIFT for _ in refused)]))


def _gates(s: Session, *, dry_run: bool, ignore_suspend: bool) -> tuple[dict[str, str], dict[str, str]]:
    """The apps refused (suspended, outside their windows: each an error
    line) and the dependencies outside ``s.apps`` that are not ready."""
    from agent.fleet.ordered import refusals, unready_outside
    from agent.sync.status import status as app_status

    refused = {} if dry_run else refusals(s.config, s.context_of, s.apps, ignore_suspend=ignore_suspend)
    for message in refused.values():
        err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    known = [f.app for f in s.fleet.apps] if s.fleet is not None else s.config.apps
    return refused, unready_outside(known, s.apps, lambda a: app_status(s.context_of(a), a))


def rollback(
    app_name: AppArgument,
    to: Annotated[
        int | None,
        typer.Option(
            "--to", metavar="N", help="Revision number (default: the last healthy one before the current)."
        ),
    ] = None,
    config: ConfigOption = Path("agent.yaml"),
    output: Annotated[Brief, typer.Option("--output", "-o", help="Report format.")] = Brief.text,
    timeout: TimeoutOption = None,
) -> None:
    """Return an app to an earlier revision and hold it there until its
    source moves to a new commit."""
    from agent.report import print_rollback
    from agent.report.documents import rollback_document
    from agent.sync.rollback import rollback_by_hand

    with session(config, [app_name], fleet=True) as s:
        result = rollback_by_hand(s.context_of(s.apps[0]), with_timeout(s.apps[0], timeout), to)
    if output is Brief.json:
        sys.stdout.write(rollback_document(app_name, result))
    else:
        print_rollback(app_name, result, out)
    raise typer.Exit(rollback_exit(result))
