"""The daemon's parts wired together, and ``gitops-agent run``.

Start: start the scheduler (one job per app) and the HTTP server; each
cluster the apps go to has its own reconcile context (its connection,
capabilities, shared view and records; :class:`~agent.sync.contexts.Contexts`),
made as its first app runs.  ``/readyz`` turns ready once every such
cluster has answered.  SIGTERM (or Ctrl-C) drains: the scheduler stops taking
work, webhooks and API requests answer 503, ``/readyz`` answers 503 so the
Service stops routing here, running reconciles get ``shutdownGraceSeconds``
to finish, then the HTTP server stops and the process exits.

Composition and signals only: :class:`Daemon` builds the parts (the
reconcile contexts, metrics, notifier, reconciler, scheduler) and offers the
HTTP app the small :class:`~agent.daemon.protocol.DaemonView` it needs;
:func:`run` serves that app and turns SIGTERM into a drain.  The app and its
routers never import this module (the composition root is imported by
nothing but the CLI), so there is no circle between them.  The caller that
connected to the cluster closes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Generator, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import uvicorn

from agent import __version__
from agent.config import AgentConfig, Application, SyncWindow
from agent.daemon.api import create_app
from agent.daemon.fleetrefresh import FleetRefresher
from agent.daemon.fleetwatch import ConfigWatch
from agent.daemon.forward import Forwarding
from agent.daemon.gates import Gates
from agent.daemon.limits import protocol_with_header_timeout
from agent.daemon.matching import selected
from agent.daemon.membership import FleetChange, Membership
from agent.daemon.reconciler import Reconciler
from agent.daemon.remembered import Remembered
from agent.daemon.replicas import Sharing
from agent.daemon.scheduler import Scheduler
from agent.daemon.state import AppSnapshot, AppState, Manual, Outcome, RunResult
from agent.daemon.tree import Related, related
from agent.daemon.webhooks import Push
from agent.errors import AgentError
from agent.fleet import Fleet
from agent.fleet.suspend import Suspensions, suspensions_of
from agent.models import HealthStatus, SyncStatus
from agent.report.metrics import Metrics
from agent.report.notifications import Notifier
from agent.results import Trigger
from agent.sync.contexts import Contexts
from agent.sync.record import RevisionRecord, now

log = logging.getLogger("gitops_agent.daemon")


class Daemon:
    """The daemon's parts, wired; a :class:`~agent.daemon.protocol.DaemonView`."""

    def __init__(self, config: AgentConfig, contexts: Contexts) -> None:
        self.config = config
        self.metrics = Metrics()
        self.contexts = contexts  # per cluster; one watch per kind for all its apps ("follow")
        self.contexts.source.on_checkout = self.metrics.git_fetch_seconds.observe
        self.notifier = Notifier(config.daemon.notifications)
        self._reconcilers: dict[str, Reconciler] = {}
        self.gates = Gates(self._windows, self._apps, self.snapshot, self._suspensions)
        self.scheduler = Scheduler(config, self._run, on_queue=self.metrics.queue.set)
        self.scheduler.after_run = lambda name, result: self.gates.after_run(name, result, self.request)
        self.gates.generation = lambda: self.scheduler.generation
        self._reached: set[str] = set()  # the clusters that answered
        self._guard = threading.Lock()
        clusters = [c.name for c in config.all_clusters()]
        self.watch: ConfigWatch | None = None
        self.sharing = (
            Sharing(config, contexts, self.scheduler, self.metrics) if config.daemon.ha.enabled else None
        )
        writes = (lambda: True) if self.sharing is None else self.sharing.leads
        remembered = Remembered.over(contexts, writes)  # each cluster's apps' last definitions
        self.membership = Membership(
            self.scheduler, self.metrics, self.contexts.of, self._serve, clusters, remembered=remembered
        )
        self.membership.cascades_here = writes  # the leader alone deletes removed apps' objects
        self._swap = threading.Lock()  # one change of self.config at a time
        # the apps Git declares (app-of-apps, AppSets) join agent.yaml's: resolved in the background
        period = min((a.interval_seconds for a in config.apps), default=60.0)
        self.refresher = FleetRefresher(
            contexts,
            config,
            self.replace_fleet,
            period=min(period, 60.0),
            first_round=self._ran_once,
            writes=writes,
        )
        self.started = now()
        self._stop = threading.Event()

    def reconciler(self, cluster: str) -> Reconciler:
        """The Reconciler of the apps that go to ``cluster`` (its Context)."""
        with self._guard:
            found = self._reconcilers.get(cluster)
        if found is None:
            made = Reconciler(self.contexts.get(cluster), self.metrics, self.notifier, self.gates)
            with self._guard:
                found = self._reconcilers.setdefault(cluster, made)
        return found

    # -- what the gates read (agent.daemon.gates) --------------------------------------
    def _windows(self) -> list[SyncWindow]:
        return self.config.sync_windows

    def _apps(self) -> Iterable[Application]:
        return self.scheduler.apps.values()

    def _suspensions(self, app: Application) -> Suspensions:
        return suspensions_of(self.contexts.of(app))

    def _run(self, app: Application, state: AppState, trigger: Trigger, manual: Manual | None) -> RunResult:
        if self.sharing is None:
            return self._reconcile(app, state, trigger, manual)
        if not self.sharing.begin(app.name):  # owned by another replica (or not yet by this one)
            at = now()
            owner = self.sharing.owner(app.name)[0] or "no replica yet"
            return RunResult(trigger, at, at, 0.0, Outcome.FAILED, message=f"{app.name} is owned by {owner}")
        try:
            return self._reconcile(app, state, trigger, manual)
        finally:
            self.sharing.end(app.name)

    def _reconcile(
        self, app: Application, state: AppState, trigger: Trigger, manual: Manual | None
    ) -> RunResult:
        before = _commit(state)
        with self.contexts.source.round(state.round_since):  # one ls-remote per repository per round
            result = self.reconciler(app.cluster).run(app, state, trigger, manual)
        if before is not None and _commit(state) != before:
            self.refresher.poke()  # a new commit may declare apps, or no longer
        obs = state.observation
        if obs is not None and obs.revision is not None:
            self._answered(app.cluster)  # reading live objects worked: the cluster answers
        return result

    def _ran_once(self) -> bool:
        """Every app served has run at least once (observed, or failed)."""
        states = list(self.scheduler.states.values())
        return all(s.observation is not None or s.failures for s in states)

    def _app(self, name: str) -> Application:
        found = self.scheduler.apps.get(name)
        return found if found is not None else self.config.app(name)

    def clusters(self) -> list[str]:
        """The clusters the apps go to, in the configuration's order
        (``cluster:`` when there are no apps)."""
        used = {a.cluster for a in self.scheduler.apps.values()} or {self.config.cluster.name}
        return [c.name for c in self.config.all_clusters() if c.name in used]

    def _answered(self, cluster: str) -> None:
        with self._guard:
            self._reached.add(cluster)
        self.metrics.cluster_reachable.labels(cluster).set(1)

    # -- the fleet, changed while running ------------------------------------------------
    def replace_fleet(self, fleet: Fleet) -> FleetChange:
        """Serve ``fleet`` from now on: apps added, changed and removed
        (:mod:`agent.daemon.membership`)."""
        return self.membership.replace(fleet)

    def _serve(self, apps: list[Application]) -> None:
        """The apps the views and the webhook matcher see."""
        with self._swap:
            self.config = self.config.model_copy(update={"apps": apps})

    def follow(self, path: Path) -> None:
        """Read ``path`` again whenever it changes (:mod:`agent.daemon.fleetwatch`)."""
        self.watch = ConfigWatch(path, self.config, self._reconfigured, self.membership.config_problem)

    def _reconfigured(self, config: AgentConfig) -> None:
        with self._swap:
            self.config = self.config.model_copy(
                update={"app_sets": config.app_sets, "sync_windows": config.sync_windows}
            )
        # resolved again with the apps Git declares: replacing the fleet with agent.yaml's
        # apps alone first would remove those for a moment
        self.refresher.reconfigured(config)

    def fleet_status(self) -> dict[str, Any]:
        status = self.membership.status()
        if self.sharing is not None:
            status["replicas"] = self.sharing.status(self.scheduler.names())
        return status

    # -- what the HTTP app sees (DaemonView) ------------------------------------------
    @property
    def draining(self) -> bool:
        return self.scheduler.draining

    def is_ready(self) -> bool:
        """Every cluster the apps go to has answered (once)."""
        with self._guard:
            return all(c in self._reached for c in self.clusters())

    def stalled_for(self) -> float:
        return self.scheduler.stalled_for()

    def snapshot(self, name: str) -> AppSnapshot | None:
        state = self.scheduler.states.get(name)
        return None if state is None else state.snapshot()

    def next_run(self, name: str) -> str:
        return self.scheduler.next_run(name)

    def request(
        self, names: Sequence[str], trigger: Trigger, manual: Manual | None = None
    ) -> list[Future[RunResult]]:
        if self.sharing is not None and manual is None:  # a push: only the apps owned here
            names = [n for n in names if self.sharing.owns(n)]
        return self.scheduler.request(names, trigger, manual)

    def history(self, name: str) -> Sequence[RevisionRecord]:
        """From the records in the state namespace of the app's cluster."""
        return self.contexts.of(self._app(name)).records().history(name)

    def related(self, name: str) -> Related:
        state = self.scheduler.states.get(name)
        obs = None if state is None else state.snapshot().observation
        return Related() if obs is None else related(self.contexts.of(self._app(name)).cluster, obs.objects)

    def targets(self, pushes: Sequence[Push]) -> list[str]:
        apps = [(a.name, self.config.repo_location(a), a.revision) for a in self.scheduler.apps.values()]
        self.refresher.poke()  # a push may add or remove apps Git declares (an AppSet's folders, say)
        return selected(apps, pushes)

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        for a in self.config.apps:
            self.metrics.app_status(a.name, SyncStatus.UNKNOWN, HealthStatus.UNKNOWN, 0)
            self.metrics.app_info.labels(a.name, a.cluster).set(1)
        for name in self.clusters():
            self.metrics.cluster_reachable.labels(name).set(0)
        threading.Thread(target=self._contact, name="cluster-contact", daemon=True).start()
        self.scheduler.start()
        if self.sharing is not None:
            self.sharing.start()
        self.refresher.start()
        if self.watch is not None:
            self.watch.start()

    def _contact(self) -> None:
        """Ready once every cluster the apps go to has answered; each is
        asked until it does (with back-off), independently of the others."""
        delay = 0.5
        while not self._stop.is_set():
            with self._guard:
                waiting = [c for c in self.clusters() if c not in self._reached]
            if not waiting:
                return
            for name in waiting:
                try:
                    self.contexts.get(name).cluster.list("v1", "Namespace")
                except AgentError as e:  # ClusterError, or why it could not be connected to
                    log.warning("cluster %s not reachable yet: %s", name, e, extra={"stage": "cluster"})
                    continue
                self._answered(name)
                log.info("cluster %s reachable", name, extra={"stage": "cluster"})
            if self.is_ready():
                log.info("every cluster reachable: ready", extra={"stage": "cluster"})
                return
            self._stop.wait(delay)
            delay = min(delay * 2, 30)

    def stop(self, grace: float) -> bool:
        """Drain; True when every running reconcile finished in time."""
        self._stop.set()
        self.refresher.stop()
        if self.watch is not None:
            self.watch.stop()
        running = self.scheduler.running()
        if running:
            log.info(
                "shutting down: waiting up to %.0fs for %d running reconcile(s): %s",
                grace,
                len(running),
                ", ".join(running),
                extra={"stage": "shutdown"},
            )
        clean = self.scheduler.drain(grace)
        if self.sharing is not None:  # after the drain: the others take over at once
            self.sharing.stop()
        self.contexts.stop()  # the views' watches end; the caller closes the connections
        if not clean:
            log.warning(
                "shutdown grace period over; cut off: %s (safe to run again)",
                ", ".join(self.scheduler.running()),
                extra={"stage": "shutdown"},
            )
        return clean


class _Server(uvicorn.Server):
    """uvicorn, with SIGTERM/SIGINT draining the daemon before the server stops."""

    def __init__(self, config: uvicorn.Config, daemon: Daemon) -> None:
        super().__init__(config)
        self.daemon = daemon
        self.clean = True
        self._draining: threading.Thread | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGTERM, signal.SIGINT)
        original = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, _frame: Any) -> None:
        if self._draining is not None:
            if sig == signal.SIGINT:  # a second Ctrl-C: stop now
                self.force_exit = self.should_exit = True
            return
        log.info("received %s: stopping", signal.Signals(sig).name, extra={"stage": "shutdown"})
        self._draining = threading.Thread(target=self._drain, name="drain", daemon=True)
        self._draining.start()

    def _drain(self) -> None:
        self.clean = self.daemon.stop(self.daemon.config.daemon.shutdown_grace_seconds)
        self.should_exit = True


def run(config: AgentConfig, contexts: Contexts, path: Path | None = None) -> int:
    """Serve until SIGTERM; 0 after a clean stop, 1 when reconciles were cut
    off (the process ends at once), 3 when the server could not listen.
    ``path``: the configuration file, followed while running.  The clusters
    stay open: the caller of ``contexts`` closes them."""
    settings = config.daemon
    daemon = Daemon(config, contexts)
    if path is not None:
        daemon.follow(path)
    sharing = daemon.sharing
    app = create_app(daemon, None if sharing is None else (lambda inner: Forwarding(inner, daemon, sharing)))
    server = _Server(
        uvicorn.Config(
            app,
            host=settings.address,
            port=settings.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            http=protocol_with_header_timeout(settings.header_timeout_seconds),
            timeout_keep_alive=5,
            timeout_graceful_shutdown=5,
            server_header=False,
        ),
        daemon,
    )
    for provider, secret in settings.webhook.secrets.model_dump().items():
        if secret is None and provider != "generic_token":
            log.debug("webhook provider %s accepts unsigned requests (no secret configured)", provider)
    log.info(
        "gitops-agent %s: %d app(s), listening on http://%s:%d",
        __version__,
        len(config.apps),
        settings.address,
        settings.port,
        extra={"stage": "start"},
    )
    daemon.start()
    try:
        server.run()
    except SystemExit:  # uvicorn could not listen (the port is taken, say); it logged why
        daemon.stop(0)
        return 3
    daemon.notifier.close(wait=server.clean)
    log.info("stopped", extra={"stage": "shutdown"})
    logging.shutdown()
    if not server.clean:
        os._exit(1)  # reconcile threads still run; they hold nothing a restart cannot redo
    return 0


def _commit(state: AppState) -> str | None:
    obs = state.observation
    return obs.revision.commit if obs is not None and obs.revision is not None else None


__all__ = ["Daemon", "run"]
