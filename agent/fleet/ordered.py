"""The one-shot ``sync`` of several apps, in dependency order, and what
keeps an app from a sync asked for by hand.

Apps go in waves (:func:`agent.fleet.graph.waves`), each wave on the bounded
pool of :func:`agent.sync.fleet.each_app`; an app whose dependency failed,
was refused or was itself skipped is not synced: its result is a failure
naming the dependency and why (Flux holds a Kustomization whose dependency
is not ready the same way).  A suspended app is refused unless the command
is told to ignore the suspension; an app outside its sync windows is refused
unless an open window lets manual syncs through (Argo CD's ``manualSync``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from agent.config import AgentConfig, Application
from agent.errors import AgentError
from agent.fleet.graph import waves
from agent.fleet.suspend import Suspension, suspensions_of
from agent.fleet.windows import Closed, closed
from agent.models import HealthStatus, SyncStatus
from agent.results import AppStatus, Failure, Reason, Stage, SyncResult
from agent.source import GitSource
from agent.sync.context import Context
from agent.sync.fleet import each_app


def refusals(
    config: AgentConfig,
    context_of: Callable[[Application], Context],
    apps: Sequence[Application],
    *,
    ignore_suspend: bool = False,
    now: datetime | None = None,
) -> dict[str, str]:
    """Each app a sync by hand must leave alone, with the message saying why
    and what would let it through."""
    moment = now or datetime.now(UTC)
    out: dict[str, str] = {}
    for app in apps:
        suspension = None if ignore_suspend else _suspension(context_of, app)
        if suspension is not None:
            out[app.name] = f"{app.name}: {suspension.message}; pass --ignore-suspend to sync it anyway"
            continue
        window = closed(app, config.sync_windows, moment, manual=True)
        if window is not None:
            let = "only a window with manualSync: true lets a sync by hand through"
            out[app.name] = f"{app.name}: {window.message}; {let}"
    return out


def _suspension(context_of: Callable[[Application], Context], app: Application) -> Suspension | None:
    """The app's suspension; None when its cluster cannot tell (then the
    app's own work fails with that cluster's error, and only its apps)."""
    try:
        return suspensions_of(context_of(app)).of(app)
    except AgentError:
        return None


def unready_outside(
    known: Sequence[Application], apps: Sequence[Application], read: Callable[[Application], AppStatus]
) -> dict[str, str]:
    """The dependencies of ``apps`` that are not among them and are not
    Synced and Healthy now (``read``: their status), each with why: a sync
    of some apps of a fleet waits for the others as the daemon does.
    ``known``: every app of the fleet, where the dependencies are found."""
    chosen = {a.name for a in apps}
    out: dict[str, str] = {}
    for name in dict.fromkeys(d for a in apps for d in a.depends_on if d not in chosen):
        dep = next((a for a in known if a.name == name), None)
        if dep is None:
            continue  # not in the fleet: the fleet's own check names it
        status = read(dep)
        if status.health is not HealthStatus.HEALTHY:
            out[name] = f"is {status.health.label}"
        elif status.sync_status is not SyncStatus.SYNCED:
            out[name] = f"is {status.sync_status}"
    return out


def gated(
    config: AgentConfig,
    context_of: Callable[[Application], Context],
    apps: Sequence[Application],
    statuses: Sequence[AppStatus],
    now: datetime | None = None,
) -> list[AppStatus]:
    """``status``'s view of the daemon's gates: a suspended app says so; an
    app out of sync says which dependency (among those read) it waits for,
    or which window defers its sync."""
    moment = now or datetime.now(UTC)
    found = {s.app: s for s in statuses}
    out = []
    for app, status in zip(apps, statuses, strict=True):
        why = _gate(app, status, found, context_of, closed(app, config.sync_windows, moment))
        out.append(status if why is None else replace(status, message=why))
    return out


def _gate(
    app: Application,
    status: AppStatus,
    found: Mapping[str, AppStatus],
    context_of: Callable[[Application], Context],
    window: Closed | None,
) -> str | None:
    if status.failure is not None:
        return None  # its cluster or source failed: that is what it says
    suspension = _suspension(context_of, app)
    if suspension is not None:
        return suspension.message
    if status.sync_status is SyncStatus.SYNCED:
        return None
    for dep in app.depends_on:
        other = found.get(dep)
        if other is not None and other.health is not HealthStatus.HEALTHY:
            return f"Waiting for {dep}: {other.health.label}"
        if other is not None and other.sync_status is not SyncStatus.SYNCED:
            return f"Waiting for {dep}: {other.sync_status}"
    return None if window is None else window.message


def _skipped(app: Application, dep: str, why: str) -> SyncResult:
    message = f"not synced: it depends on {dep}, which {why}"
    return SyncResult(app.name, None, failure=Failure(Stage.PLAN, message, Reason.PLAN_REFUSED))


def in_order(
    apps: Sequence[Application],
    work: Callable[[Application], SyncResult],
    source: GitSource | None = None,
    refused: Mapping[str, str] | None = None,
    unready_deps: Mapping[str, str] | None = None,
) -> list[SyncResult]:
    """``work`` for each app not ``refused``, wave after wave; results in
    the apps' order (none for a refused app).  ``unready_deps``: apps not
    synced here whose dependents are skipped (name: why)."""
    unready: dict[str, str] = {**(unready_deps or {}), **{name: "was refused" for name in refused or {}}}
    results: dict[str, SyncResult] = {}
    for wave in waves(apps):
        runnable = []
        for app in wave:
            if app.name in unready:
                continue
            blocker = next((d for d in app.depends_on if d in unready), None)
            if blocker is None:
                runnable.append(app)
                continue
            results[app.name] = _skipped(app, blocker, unready[blocker])
            unready[app.name] = f"was not synced ({blocker} {unready[blocker]})"
        for app, result in zip(runnable, each_app(runnable, work, source), strict=True):
            results[app.name] = result
            if not result.ok:
                why = str(result.failure) if result.failure is not None else f"is held: {result.held}"
                unready[app.name] = f"failed ({why})" if result.failure is not None else why
    return [results[a.name] for a in apps if a.name in results]


__all__ = ["gated", "in_order", "refusals", "unready_outside"]
