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
    Listing,
    ListingOption,
    Output,
    OutputOption,
    SelectorOption,
    fail,
    out,
    session,
    write,
)
from agent.exits import ExitCode, diff_exit, status_exit


def diff(
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    *,
    revision: Annotated[
        str | None, typer.Option("--revision", metavar="REV", help="Compare this branch, tag or commit.")
    ] = None,
    output: OutputOption = Output.text,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="REV", help="With --to: a revision number or a commit."),
    ] = None,
    to: Annotated[str | None, typer.Option("--to", metavar="REV", help="With --from.")] = None,
    selector: SelectorOption = None,
) -> None:
    """Show how the cluster differs from Git; exit 1 when it does.

    With --from and --to, show what changed between two recorded revisions
    (numbers) or two commits (branch, tag, SHA) of one app instead; the live
    objects are not read."""
    from agent.report import drift_document, print_drift
    from agent.sync.fleet import each_app
    from agent.sync.status import drift

    if from_ is not None or to is not None:
        from agent.cli.revisions import diff_revisions

        if from_ is None or to is None or len(apps or []) != 1:
            fail("--from and --to go together, with one APP", ExitCode.USAGE)
        diff_revisions((apps or [""])[0], from_, to, config, output.value)

    with session(config, apps, fleet=True, selector=selector) as s:
        reports = each_app(s.apps, lambda a: drift(s.context_of(a), a, ref=revision), s.contexts.source)
    write(output, lambda console: print_drift(reports, console), lambda fmt: drift_document(reports, fmt))
    raise typer.Exit(diff_exit(reports))


def status(
    apps: AppsArgument = None,
    config: ConfigOption = Path("agent.yaml"),
    output: ListingOption = Listing.text,
    selector: SelectorOption = None,
) -> None:
    """Sync status, health, revision and last result of each app.

    -o wide adds the full commit, the repository and the drifted objects;
    -o markdown and -o html are documents (each app's objects and their
    health in a collapsed section)."""
    from agent.fleet.ordered import gated
    from agent.report import print_status
    from agent.report.listings import status_output
    from agent.sync.status import status as app_status

    with session(config, apps, fleet=True, selector=selector) as s:
        statuses = gated(s.config, s.context_of, s.apps, [app_status(s.context_of(a), a) for a in s.apps])
        where = s.where()
    if output in (Listing.text, Listing.wide):
        print_status(statuses, out, wide=output is Listing.wide)
    else:
        sys.stdout.write(status_output(statuses, output.value, where))
    raise typer.Exit(status_exit(statuses))


def history(
    app_name: AppArgument, config: ConfigOption = Path("agent.yaml"), output: ListingOption = Listing.text
) -> None:
    """List the revisions recorded for an app, oldest first.

    -o markdown and -o html link each revision to its manifests and to the
    diff from the revision before (in the same document); on the command
    line: gitops-agent manifests APP --revision N, and gitops-agent diff APP
    --from N-1 --to N."""
    from agent.report import print_history
    from agent.report.listings import history_output

    with session(config, [app_name], fleet=True) as s:
        records = s.context_of(s.apps[0]).records().history(s.apps[0].name)
    if output in (Listing.text, Listing.wide):
        print_history(app_name, records, out, wide=output is Listing.wide)
    else:
        sys.stdout.write(history_output(app_name, records, output.value))
