"""``diff``, ``status`` and ``history``: the commands that read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.base import (
    AppArgument,
    AppsArgument,
    ConfigOption,
    Output,
    OutputOption,
    out,
    session,
    write,
)
from agent.exits import diff_exit, status_exit


def diff(
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    revision: Annotated[
        str | None, typer.Option("--revision", help="Compare this branch, tag or commit.")
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Show how the cluster differs from Git; exit 1 when it does."""
    from agent.report import drift_document, print_drift
    from agent.sync.status import drift

    with session(config, apps) as s:
        reports = [drift(s.context, a, ref=revision) for a in s.apps]
    write(output, lambda console: print_drift(reports, console), lambda fmt: drift_document(reports, fmt))
    raise typer.Exit(diff_exit(reports))


def status(
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    output: OutputOption = Output.text,
) -> None:
    """Sync status, health, revision and last result of each app."""
    from agent.report import print_status
    from agent.report.documents import status_document
    from agent.sync.status import status as app_status

    with session(config, apps) as s:
        statuses = [app_status(s.context, a) for a in s.apps]
    if output is Output.json:
        sys.stdout.write(status_document(statuses))
    else:  # Markdown and HTML: the terminal's table
        print_status(statuses, out)
    raise typer.Exit(status_exit(statuses))


def history(
    app_name: AppArgument, config: ConfigOption = Path("agent.yaml"), output: OutputOption = Output.text
) -> None:
    """List the revisions recorded for an app, oldest first."""
    from agent.report import print_history
    from agent.report.documents import history_document

    with session(config, [app_name]) as s:
        records = s.context.records().history(s.apps[0].name)
    if output is Output.json:
        sys.stdout.write(history_document(app_name, records))
    else:
        print_history(app_name, records, out)
