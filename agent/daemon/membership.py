"""Which apps the daemon serves, changed while it runs.

:meth:`Membership.replace` takes the whole new fleet (from ``agent.yaml``
read again, or from the apps Git declares) and compares it with the apps
served now, by name: an added app is scheduled and runs at once; a changed
definition is read at the app's next run (a new interval reschedules it); a
removed app is unscheduled, its running reconcile finishes, its waiting
manual requests fail, its metric series go, and its objects stay in the
cluster (orphaned) unless its last definition says ``cascadeDelete: true``
(:mod:`.cascade`).  The status API and page list what could not be taken
(an unreadable ``agent.yaml``, an app bound for a cluster the running agent
has no connection to) and what was removed lately, with what came of it.

An app whose ``destination.cluster`` changed is, for its old cluster, a
removal: its objects there stay (orphaned, and the log and the status API
say so) unless its last definition there said ``cascadeDelete: true``; its
new cluster has no records of it, so its next run is a first sync there.
Argo CD keeps what an Application deployed on its old destination when
the destination changes, its resources finalizer notwithstanding
(argo-cd#1640 and #9172, open: users ask for the old cluster to be
cleaned); here ``cascadeDelete`` says it for the move as for a removal.

Each cluster keeps the last definition of its apps (:mod:`agent.fleet.memory`,
:mod:`.remembered`): once the whole fleet is known (``Fleet.complete``), an
app it names that the fleet no longer sends there left while the agent was
not running, or its cascade deletion was cut off; it is treated as above,
so a cascade is resumed at the next start.

As Argo CD's ApplicationSet controller compares generated Applications with
those it owns (create, update, delete), and Flux's kustomize-controller
garbage-collects by inventory only when ``prune`` says so.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.config import Application
from agent.daemon.cascade import Cascade, cascade_delete
from agent.daemon.logs import app_log
from agent.daemon.protocol import Draining, QueueFull
from agent.daemon.remembered import Remembered
from agent.daemon.scheduler import Scheduler
from agent.daemon.state import AppState, Outcome, RunResult
from agent.fleet import Fleet
from agent.models import HealthStatus, SyncStatus
from agent.report.metrics import Metrics
from agent.results import Trigger
from agent.sync.context import Context
from agent.sync.record import now

log = logging.getLogger("gitops_agent.fleet")
_Going = tuple[AppState | None, RunResult | None]  # a run going on: its app's state, the run before it
REMOVALS_KEPT = 20  # the last removals the status API shows


@dataclass(frozen=True)
class FleetChange:
    """The names a replacement added, removed and changed."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def changed_fields(old: Application, new: Application) -> list[str]:
    """The fields (as ``agent.yaml`` writes them) whose values differ."""
    a, b = old.model_dump(by_alias=True), new.model_dump(by_alias=True)
    return [k for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def compare(served: Mapping[str, Application], wanted: Sequence[Application]) -> FleetChange:
    names = {a.name for a in wanted}
    return FleetChange(
        added=tuple(a.name for a in wanted if a.name not in served),
        removed=tuple(n for n in served if n not in names),
        changed=tuple(a.name for a in wanted if a.name in served and changed_fields(served[a.name], a)),
    )


def forget(metrics: Metrics, app: str) -> None:
    """Drop a removed app's series from ``/metrics``."""
    triggers, outcomes = [str(t) for t in Trigger], [str(o) for o in Outcome]
    series: list[tuple[Any, tuple[str, ...]]] = [
        (metrics.reconcile_seconds, (app,)),
        (metrics.drifted, (app,)),
        *((metrics.reconciles, (app, t, o)) for t in triggers for o in outcomes),
        *((metrics.rollbacks, (app, t)) for t in triggers),
        *((metrics.sync_status, (app, s.value)) for s in SyncStatus),
        *((metrics.health, (app, h.label)) for h in HealthStatus),
    ]
    for metric, labels in series:
        try:
            metric.remove(*labels)
        except KeyError:
            continue


class Membership:
    """The daemon's app set: one replacement at a time."""

    def __init__(
        self,
        scheduler: Scheduler,
        metrics: Metrics,
        context_for: Callable[[Application], Context],
        on_apps: Callable[[list[Application]], None],
        clusters: Collection[str],
        *,
        remembered: Remembered | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.metrics = metrics
        self.context_for = context_for
        self.on_apps = on_apps  # the apps the HTTP views and the webhook matcher see
        self.clusters = set(clusters)  # connected at start; another needs a restart
        self._lock = threading.Lock()
        self._problems: tuple[str, ...] = ()  # the fleet's own, and clusters not connected
        self._config_problem = ""  # agent.yaml could not be read again
        self._removals: deque[dict[str, Any]] = deque(maxlen=REMOVALS_KEPT)
        self.cascades: list[threading.Thread] = []
        self.remembered = remembered  # the last definitions each cluster keeps
        self._pending: dict[tuple[str, str], Application] = {}  # (cluster, app): cascade not done
        # with replicas (daemon.ha), only the leader deletes what a removed app owned
        self.cascades_here: Callable[[], bool] = lambda: True

    # -- what the status API shows ------------------------------------------------------
    def problems(self) -> list[str]:
        first = [self._config_problem] if self._config_problem else []
        unread = self.remembered.problems.values() if self.remembered is not None else ()
        return [*first, *self._problems, *unread]

    def status(self) -> dict[str, Any]:
        # copies: a cascade thread may be adding to an entry meanwhile
        return {"problems": self.problems(), "removed": [dict(e) for e in list(self._removals)]}

    def config_problem(self, message: str) -> None:
        """``agent.yaml`` could not be taken ("" once it could)."""
        self._config_problem = message

    # -- the replacement --------------------------------------------------------------
    def replace(self, fleet: Fleet) -> FleetChange:
        with self._lock:
            served = dict(self.scheduler.apps)
            wanted, problems = self._reachable(fleet, served)
            change = compare(served, wanted)
            for name in change.removed:
                self._remove(served[name])
            self.on_apps(wanted)
            for app in wanted:
                if app.name in change.added:
                    self.metrics.app_status(app.name, SyncStatus.UNKNOWN, HealthStatus.UNKNOWN, 0)
                    self.metrics.app_info.labels(app.name, app.cluster).set(1)
                    self.scheduler.add(app)
                    log.info("joined the fleet", **app_log(app.name, stage="fleet"))
                elif app.name in change.changed:
                    self._update(served[app.name], app)
            self._problems = (*fleet.problems, *problems)
            # an empty fleet decides nothing, as an emptied agent.yaml changes nothing (fleetwatch)
            self._remember(wanted, served, complete=fleet.complete and not problems and bool(wanted))
            return change

    def _update(self, old: Application, app: Application) -> None:
        """A changed definition: its next run reads it, and that run is
        asked for now (as Argo CD refreshes an Application whose spec
        changed), unless the queue is full: then it waits for its timer."""
        fields = ", ".join(changed_fields(old, app))
        state = self.scheduler.states.get(app.name)
        before = None if state is None else state.snapshot()
        self.scheduler.update(app)
        if old.cluster != app.cluster:  # served from the new cluster first: the old one is left
            with contextlib.suppress(KeyError):
                self.metrics.app_info.remove(old.name, old.cluster)
            self.metrics.app_info.labels(app.name, app.cluster).set(1)
            # a run going on now is the old definition's: its cascade waits for it to end
            going = (state, before.last_run) if before is not None and before.running else None
            self._depart(old, self._entry(old, moved_to=app.cluster), after=going)
        try:
            self.scheduler.request([app.name], Trigger.SCHEDULE)
        except (QueueFull, Draining):
            when = "at its next scheduled run"
        else:
            when = "now"
        log.info("definition changed (%s): reconciled %s", fields, when, **app_log(app.name, stage="fleet"))

    def _reachable(
        self, fleet: Fleet, served: Mapping[str, Application]
    ) -> tuple[list[Application], list[str]]:
        """The fleet's apps, but an app bound for a cluster the agent did not
        connect to at start: kept as it was served, or left out."""
        wanted: list[Application] = []
        problems: list[str] = []
        for entry in fleet.apps:
            app = entry.app
            if app.cluster in self.clusters:
                wanted.append(app)
                continue
            kept = served.get(app.name)
            meanwhile = "the earlier definition is kept" if kept else "not added"
            problems.append(
                f"app {app.name!r}: destination.cluster {app.cluster!r} is not connected; "
                f"restart the agent to connect to it ({meanwhile})"
            )
            if kept is not None:
                wanted.append(kept)
        return wanted, problems

    # -- departures: removed, moved, or gone while the agent was not running -------------------
    def _remember(
        self, wanted: list[Application], served: Mapping[str, Application], *, complete: bool
    ) -> None:
        """Compare the clusters' last definitions with ``wanted``: an app they
        keep and the fleet no longer sends there departs (when ``complete``;
        else it stays kept, undecided); then keep ``wanted``'s."""
        if self.remembered is None or not self.remembered.read(self.clusters):
            return
        by_name = {a.name: a for a in wanted}
        undecided = []
        for app in self.remembered.gone(by_name):
            seen = served.get(app.name)
            if (app.cluster, app.name) in self._pending or (seen is not None and seen.cluster == app.cluster):
                continue  # being deleted, or seen leaving (replace() dealt with it)
            if not complete:
                undecided.append(app)
                continue
            current = by_name.get(app.name)
            entry = self._entry(app, moved_to=None if current is None else current.cluster, away=True)
            self._depart(app, entry)
        self.remembered.write(wanted, [*undecided, *self._pending.values()])

    def _entry(self, app: Application, *, moved_to: str | None = None, away: bool = False) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": app.name,
            "at": now(),
            "cluster": app.cluster,
            "cascadeDelete": app.cascade_delete,
        }
        if moved_to is not None:
            entry["movedTo"] = moved_to
        if away:
            entry["whileStopped"] = True
        self._removals.append(entry)
        return entry

    def _remove(self, app: Application) -> None:
        entry = self._entry(app)
        if app.cascade_delete:  # kept in its cluster's memory until done: a restart resumes it
            self._pending[(app.cluster, app.name)] = app
        self.scheduler.remove(app.name, then=lambda: self._removed(app, entry))

    def _removed(self, app: Application, entry: dict[str, Any]) -> None:
        """The removed app's last run is over: forget it, then its objects."""
        forget(self.metrics, app.name)
        with contextlib.suppress(KeyError):
            self.metrics.app_info.remove(app.name, app.cluster)
        self._depart(app, entry)

    def _depart(self, app: Application, entry: dict[str, Any], after: _Going | None = None) -> None:
        """``app`` (as last defined) no longer goes to its cluster: say so;
        delete what it owned there if it asked for that (in a thread of its
        own: deletes wait)."""
        what = entry["message"] = _departure(app, entry)
        if not app.cascade_delete:
            entry["result"] = "orphaned"
            log.log(
                logging.WARNING if "movedTo" in entry else logging.INFO,
                "%s",
                what,
                **app_log(app.name, stage="fleet"),
            )
            return
        log.info("%s", what, **app_log(app.name, stage="fleet"))
        if not self.cascades_here():  # a new leader resumes it from the cluster's memory
            entry["result"] = "deleted by the leader"
            self._pending.pop((app.cluster, app.name), None)
            return
        entry["result"] = "deleting"
        self._pending[(app.cluster, app.name)] = app
        worker = threading.Thread(
            target=self._cascade, args=(app, entry, after), name=f"cascade-{app.name}", daemon=True
        )
        self.cascades.append(worker)
        worker.start()

    def _cascade(self, app: Application, entry: dict[str, Any], after: _Going | None = None) -> None:
        key = (app.cluster, app.name)
        if after is not None:
            _ended(*after)
        served = self.scheduler.apps.get(app.name)
        if served is not None and served.cluster == app.cluster:  # back meanwhile: nothing to delete
            entry["result"] = "back in the fleet"
            self._pending.pop(key, None)
            return
        done: Cascade = cascade_delete(self.context_for(app), app)
        entry["result"] = "failed" if done.error else "deleted"
        entry["cascade"] = done.to_dict()
        entry["message"] = f"{entry['message']}: {done.summary()}"
        where = f" (cluster {app.cluster})" if "movedTo" in entry else ""
        if done.error:  # kept in the cluster's memory: the next start tries again
            log.error("left the fleet%s: %s", where, done.summary(), **app_log(app.name, stage="cascade"))
            return
        log.info("left the fleet%s: %s", where, done.summary(), **app_log(app.name, stage="cascade"))
        with self._lock:
            self._pending.pop(key, None)
            if self.remembered is not None:
                self.remembered.forget(app)


def _ended(state: AppState | None, last: RunResult | None, poll: float = 0.2) -> None:
    """Wait until the run that was going on when ``last`` was the last one
    has ended (``state.last_run`` is another), or the app is gone."""
    while state is not None:
        with state.lock:
            if state.last_run is not last or not state.running:
                return
        time.sleep(poll)


def _departure(app: Application, entry: dict[str, Any]) -> str:
    """The log line of a departure, before its cascade (if any) is done."""
    when = " while the agent was not running" if entry.get("whileStopped") else ""
    moved = entry.get("movedTo")
    if moved is not None:
        head = f"moved from cluster {app.cluster} to {moved}{when}"
        if app.cascade_delete:
            return f"{head}: its objects on {app.cluster} are deleted (cascadeDelete)"
        return (
            f"{head}: its objects on {app.cluster} stay there, orphaned (cascadeDelete: true "
            f"deletes them); it is synced to {moved} afresh"
        )
    if app.cascade_delete:
        return f"left the fleet{when}: its objects are deleted (cascadeDelete)"
    return f"left the fleet{when}: its objects stay (orphaned)"


__all__ = ["FleetChange", "Membership", "changed_fields", "compare", "forget"]
