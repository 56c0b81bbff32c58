"""The daemon's fleet, resolved again when what declares it may have moved.

The apps the daemon serves are those :func:`agent.fleet.resolve.resolve`
finds: ``agent.yaml``'s, its AppSets', and those the apps' renders declare
(app-of-apps).  :class:`FleetRefresher` resolves in a thread of its own:

- at start, first without renders (``agent.yaml``'s apps and those its
  AppSets generate: a generated fleet starts syncing at once), then whole
  (with the apps the apps' renders declare) once every app has run once,
  so that the pass finds their renders in the cache instead of rendering
  beside the first syncs;
- when ``agent.yaml`` changed (:mod:`agent.daemon.fleetwatch`);
- when an app's run saw its commit move (any app may declare apps), or a
  webhook announced a push: :meth:`poke`, several pokes in a short while
  giving one pass;
- and every ``period`` seconds, for generators reading repositories that no
  app syncs (a new folder for a ``gitDirectories`` generator).

A pass reads each repository once (one ``ls-remote`` per repository and
ref) and renders through the same render cache as the syncs, so an app's
next sync at that commit renders nothing again.  What cannot be read keeps
what it declared before (the resolver's rule), so a failing pass removes
nothing.  With several replicas, every one resolves (each serves its share
of the same fleet), but only the leader writes what the AppSets made, the
memory their deletion budgets read.  As Argo CD's ApplicationSet controller
re-runs its generators on a requeue interval and on SCM webhooks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from agent.config import AgentConfig
from agent.fleet import Fleet
from agent.fleet.resolve import resolve
from agent.sync.contexts import Contexts

log = logging.getLogger("gitops_agent.fleet")
SETTLE_SECONDS = 1.0  # pokes within this gather into one pass
MIN_PERIOD = 5.0


class FleetRefresher:
    """Resolves the fleet in the background and hands each result to ``serve``."""

    def __init__(
        self,
        contexts: Contexts,
        declared: AgentConfig,
        serve: Callable[[Fleet], object],
        *,
        period: float = 60.0,
        first_round: Callable[[], bool] = lambda: True,
        writes: Callable[[], bool] = lambda: True,
    ) -> None:
        self.contexts = contexts
        self.declared = declared  # what agent.yaml says now
        self.serve = serve
        self.period = max(MIN_PERIOD, period)
        self.first_round = first_round  # True once every app served has run once
        self.writes = writes  # whether this replica keeps the AppSets' memory (the leader does)
        self.fleet: Fleet | None = None  # the last fleet resolved
        self.passes = 0
        self._poked = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fleet-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._poked.set()

    def poke(self) -> None:
        """Something that declares apps may have moved: resolve soon."""
        self._poked.set()

    def reconfigured(self, config: AgentConfig) -> None:
        with self._lock:
            self.declared = config
        self.poke()

    def _loop(self) -> None:
        self.refresh(renders=False)  # agent.yaml's and its AppSets' apps start syncing at once
        # their first runs render them: the whole pass then finds each render in the cache
        deadline = time.monotonic() + self.period
        while not (self._stop.is_set() or self.first_round()) and time.monotonic() < deadline:
            self._stop.wait(0.5)
        self._poked.clear()
        while not self._stop.is_set():
            self.refresh()
            self._poked.wait(self.period)
            if self._stop.is_set():
                return
            self._stop.wait(SETTLE_SECONDS)  # let a burst of pokes gather
            self._poked.clear()

    def refresh(self, *, renders: bool = True) -> Fleet | None:
        """One pass: resolve and serve the result (None when the pass failed
        unexpectedly; the fleet served stays).  ``renders=False``: without
        the apps the apps' renders declare (the first pass only: later, it
        would remove them for a while)."""
        with self._lock:
            declared = self.declared
        started = time.monotonic()
        try:
            with self.contexts.source.round(started):
                fleet = resolve(
                    self.contexts,
                    previous=self.fleet,
                    config=declared,
                    renders=renders,
                    remember=self.writes(),
                )
        except Exception:  # a bug here must not end the refresher (nor the daemon)
            log.exception("resolving the fleet failed; the apps served stay", extra={"stage": "fleet"})
            return None
        self.fleet = fleet
        self.passes += 1
        self.serve(fleet)
        log.debug(
            "fleet resolved: %d app(s), %d problem(s) in %.2fs",
            len(fleet.apps),
            len(fleet.problems),
            time.monotonic() - started,
            extra={"stage": "fleet"},
        )
        return fleet


__all__ = ["FleetRefresher"]
