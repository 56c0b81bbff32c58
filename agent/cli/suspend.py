"""``suspend`` and ``resume``: stop and restart the daemon's reconciles of apps.

The suspension is kept in the cluster (a ConfigMap in the state namespace,
:mod:`agent.fleet.suspend`), so every replica of the agent honours it.  A
suspended app is reported, never synced by the daemon; ``sync`` refuses it
unless given ``--ignore-suspend``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.base import ConfigOption, complete_apps, fail, out, session
from agent.exits import ExitCode

if TYPE_CHECKING:
    from agent.cli.base import Session
    from agent.config import Application
    from agent.fleet.suspend import Suspensions

NamesArgument = Annotated[
    list[str], typer.Argument(metavar="APP", help="The apps.", autocompletion=complete_apps)
]


def store(s: Session, app: Application) -> Suspensions:
    """The suspensions of the cluster ``app`` goes to."""
    from agent.fleet.suspend import suspensions_of

    return suspensions_of(s.context_of(app))


def suspend(apps: NamesArgument, config: ConfigOption = Path("agent.yaml")) -> None:
    """Stop reconciling apps (kept in the cluster: every replica sees it).

    The daemon leaves a suspended app alone (its status says Suspended) until
    `gitops-agent resume APP`; `sync APP` refuses it unless --ignore-suspend."""
    _change(apps, config, suspend=True)


def resume(apps: NamesArgument, config: ConfigOption = Path("agent.yaml")) -> None:
    """Reconcile suspended apps again (the daemon's next poll syncs them)."""
    _change(apps, config, suspend=False)


def _change(apps: list[str], config: Path, *, suspend: bool) -> None:
    with session(config, apps, fleet=True) as s:  # apps declared in Git too
        for app in s.apps:
            suspensions = store(s, app)
            if suspend:
                done = suspensions.suspend(app.name)
                out.print(f"{app.name}: {'suspended' if done else 'already suspended'}")
            elif app.suspend:
                fail(f"{app.name} is suspended by its definition (suspend: true): change it in Git")
            else:
                done = suspensions.resume(app.name)
                out.print(f"{app.name}: {'resumed' if done else 'was not suspended'}")
    raise typer.Exit(ExitCode.OK)
