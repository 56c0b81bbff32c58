"""``apps``: the fleet, each app with where it comes from.

Argo CD's ``argocd app list`` and Flux's ``flux get kustomizations`` list
what the controller serves; here the list is resolved as the daemon
resolves it (``agent.yaml``'s apps, its AppSets', the Application and
AppSet documents in the apps' repositories), so what it prints is what a
sync of all apps would sync.  What could not be read is listed after the
apps (and makes the exit code 3); nothing is written to the cluster.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agent.cli.base import ConfigOption, SelectorOption, out, session
from agent.exits import ExitCode

if TYPE_CHECKING:
    from agent.fleet import Fleet, FleetApp


class AppsOutput(StrEnum):
    text = "text"
    json = "json"


def apps(
    config: ConfigOption = Path("agent.yaml"),
    output: Annotated[AppsOutput, typer.Option("--output", "-o", help="Output format.")] = AppsOutput.text,
    selector: SelectorOption = None,
) -> None:
    """List the apps of the fleet: agent.yaml's, and those declared in Git.

    Each app with its cluster, namespace, source (repo@revision path),
    origin (config, app PARENT for an Application document in PARENT's
    repository, appset NAME for a generated app) and labels; the problems
    (a parent that cannot be rendered, a generator that failed, a deletion
    budget that held) after them.  Exit 3 when there are problems."""
    with session(config, None, fleet=True, selector=selector, report=True) as s:
        fleet = s.fleet
        shown = s.apps
    if fleet is None:  # the session always resolves without names
        raise typer.Exit(ExitCode.INTERNAL)
    chosen = [f for f in fleet.apps if any(a is f.app for a in shown)]
    if output is AppsOutput.json:
        sys.stdout.write(json.dumps(apps_document(chosen, fleet), indent=2) + "\n")
    else:
        print_apps(chosen, fleet)
    raise typer.Exit(ExitCode.ERROR if fleet.problems else ExitCode.OK)


def _source(f: FleetApp) -> str:
    return f"{f.app.repo}@{f.app.revision} {f.app.path}"


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "-"


def print_apps(chosen: list[FleetApp], fleet: Fleet) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("NAME", "CLUSTER", "NAMESPACE", "SOURCE", "ORIGIN", "LABELS"):
        table.add_column(column, no_wrap=column != "LABELS", overflow="fold")
    for f in chosen:
        a = f.app
        table.add_row(
            escape(a.name),
            escape(a.cluster),
            escape(a.namespace),
            escape(_source(f)),
            str(f.origin),
            _labels(a.labels),
        )
    if chosen:
        out.print(table)
    else:
        out.print("no apps", markup=False)
    if fleet.problems:
        out.print(f"\n{len(fleet.problems)} problem(s):", markup=False)
        for p in fleet.problems:
            out.print(f"- {p}", markup=False)


def apps_document(chosen: list[FleetApp], fleet: Fleet) -> dict[str, Any]:
    return {
        "apps": [
            {
                "name": f.app.name,
                "cluster": f.app.cluster,
                "namespace": f.app.namespace,
                "repo": f.app.repo,
                "revision": f.app.revision,
                "path": f.app.path,
                "origin": {"kind": f.origin.kind, "parent": f.origin.parent},
                "labels": dict(f.app.labels),
                "dependsOn": list(f.app.depends_on),
            }
            for f in chosen
        ],
        "problems": list(fleet.problems),
    }
