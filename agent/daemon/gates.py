"""What must hold before the daemon syncs an app: it is not suspended, the
apps it depends on are ready, and a sync window lets it.

- **Suspended** (``gitops-agent suspend``, or ``suspend: true``): the app is
  not reconciled at all (Flux's ``suspend``); its status says so.
- **dependsOn**: each dependency is Synced and Healthy as its last
  reconcile saw it, which did not fail or stop at a gate; otherwise the app
  is held with ``Waiting for <dep>: <its status>``.  When a dependency's
  run ends, the apps waiting for it are asked to run again, so the first
  reconcile of a fleet follows the graph: independent apps side by side,
  each dependent once its dependencies are there.  Dependencies may go to
  another cluster: the state read is the app's, wherever it goes.
  A sync asked for by hand (``POST /api/v1/apps/NAME/sync``) waits the
  same way: it is held (:meth:`Gates.hold`) and runs, with what it asked
  for, once its dependencies are ready.  ``force`` does not pass this gate
  (it applies a commit held after a rollback, nothing more): Flux's
  ``flux reconcile kustomization --with-source`` still honours
  ``spec.dependsOn`` (a Kustomization "will not reconcile until all
  dependencies have completed their reconciliation", Kustomization API),
  and the one-shot ``sync`` skips an app whose dependency is not ready.
- **Sync windows** (:mod:`agent.fleet.windows`): outside, the app is still
  observed (drift is reported) but not synced, ``Sync deferred by window
  ... until ...``.

The daemon's state is read through snapshots (:class:`AppSnapshot`), never
by waiting on another app's lock while holding one's own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from agent.config import Application, SyncWindow
from agent.daemon.protocol import Draining, QueueFull
from agent.daemon.state import GATED, AppSnapshot, Manual, Outcome, RunResult
from agent.fleet.suspend import Suspensions
from agent.fleet.windows import Closed, closed
from agent.models import HealthStatus, SyncStatus
from agent.results import Trigger

Requester = Callable[[Sequence[str], Trigger, Manual | None], list[Future[Any]]]


def readiness(snap: AppSnapshot | None) -> str | None:
    """None when a dependency is ready, else its status in a word or two."""
    obs = None if snap is None else snap.observation
    last = None if snap is None else snap.last_run
    if snap is None or obs is None or last is None:
        return "not in the fleet" if snap is None else "not reconciled yet"
    if last.outcome in GATED:
        return last.message or str(last.outcome)
    if obs.health is not HealthStatus.HEALTHY:
        return obs.health.label
    if obs.sync_status is not SyncStatus.SYNCED:
        return str(obs.sync_status)
    return "Failed" if last.outcome == Outcome.FAILED else None


class Gates:
    """The daemon's gates, over its agent-wide windows, its apps (both read
    at each use, as agent.yaml may change) and their states (``snapshot``)."""

    def __init__(
        self,
        windows: Callable[[], Sequence[SyncWindow]],
        apps: Callable[[], Iterable[Application]],
        snapshot: Callable[[str], AppSnapshot | None],
        suspensions: Callable[[Application], Suspensions],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.windows = windows
        self.apps = apps
        self.snapshot = snapshot
        self.suspensions = suspensions
        self.clock = clock
        self._guard = threading.Lock()
        self._timers: dict[str, threading.Timer] = {}  # deferred apps' runs at their window's end
        self._held: dict[str, Manual] = {}  # syncs asked for by hand, waiting for dependencies
        self.generation: Callable[[], int] | None = None  # the app set's changes (None: unknown)
        self._index: tuple[int, dict[str, list[str]]] | None = None  # dependency -> its dependents

    def suspended(self, app: Application) -> str | None:
        """The message of the app's suspension, or None.  ClusterError when
        the cluster could not say."""
        found = self.suspensions(app).of(app)
        return None if found is None else found.message

    def waiting(self, app: Application) -> str | None:
        """``Waiting for <dep>: <status>`` for the first dependency not ready."""
        for dep in app.depends_on:
            status = readiness(self.snapshot(dep))
            if status is not None:
                return f"Waiting for {dep}: {status}"
        return None

    def hold(self, name: str, manual: Manual) -> None:
        """Keep a sync asked for by hand until ``name``'s dependencies are
        ready (a later one replaces it)."""
        with self._guard:
            self._held[name] = manual

    def ready_held(self, app: Application) -> Manual | None:
        """The sync held for ``app`` by hand, once its dependencies are
        ready (then no longer held), else None: whichever run of the app
        comes first then (woken by a dependency, or its own timer) is it."""
        with self._guard:
            if app.name not in self._held:
                return None
        if self.waiting(app) is not None:
            return None
        with self._guard:
            return self._held.pop(app.name, None)

    def window(self, app: Application, *, manual: bool = False) -> Closed | None:
        return closed(app, self.windows(), self.clock(), manual=manual)

    def after_run(self, name: str, result: RunResult, request: Requester) -> None:
        """A run of ``name`` ended: the apps waiting for it (or deciding
        whether to, right now) are asked to run again."""
        if result.outcome == Outcome.DEFERRED:
            self._when_open(name, request)
        if result.outcome in GATED:
            return  # nothing changed in the cluster for its dependents
        woken = []
        for dependent in self._dependents(name):
            snap = self.snapshot(dependent)
            last = None if snap is None else snap.last_run
            if snap is not None and (snap.running or (last is not None and last.outcome == Outcome.WAITING)):
                woken.append(dependent)
        if woken:  # a sync held for them by hand runs then (Reconciler.run asks ``ready_held``)
            with contextlib.suppress(QueueFull, Draining):  # their next poll looks again
                request(woken, Trigger.SCHEDULE, None)

    def _dependents(self, name: str) -> list[str]:
        """The apps that depend on ``name``, from an index built again only
        when the app set changed (a scan of every app at each run's end made
        a round of the fleet cost the square of its size)."""
        generation = None if self.generation is None else self.generation()
        with self._guard:
            if generation is None or self._index is None or self._index[0] != generation:
                index: dict[str, list[str]] = {}
                for app in list(self.apps()):
                    for dep in app.depends_on:
                        index.setdefault(dep, []).append(app.name)
                self._index = (generation if generation is not None else -1, index)
            return list(self._index[1].get(name, ()))

    def _when_open(self, name: str, request: Requester) -> None:
        """A deferred app runs again when its window lets it, when that
        comes before its next poll."""
        app = next((a for a in self.apps() if a.name == name), None)
        shut = None if app is None else self.window(app)
        if app is None or shut is None or shut.until is None:
            return
        delay = (shut.until - self.clock()).total_seconds() + 1.0
        if delay >= app.interval_seconds:
            return  # the next poll comes first
        with self._guard:
            old = self._timers.pop(name, None)
            if old is not None:
                old.cancel()
            timer = threading.Timer(delay, self._request_quietly, args=(request, name))
            timer.daemon = True
            self._timers[name] = timer
        timer.start()

    @staticmethod
    def _request_quietly(request: Requester, name: str) -> None:
        with contextlib.suppress(QueueFull, Draining, KeyError):  # gone, or shutting down: nothing to do
            request([name], Trigger.SCHEDULE, None)


__all__ = ["Gates", "readiness"]
