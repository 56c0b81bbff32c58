"""The daemon's parts wired together, and ``gitops-agent run``.

Start: connect to the cluster, start the scheduler (one job per app) and the
HTTP server.  ``/readyz`` turns ready after the first successful contact
with the cluster.  SIGTERM (or Ctrl-C) drains: the scheduler stops taking
work, webhooks and API requests answer 503, ``/readyz`` answers 503 so the
Service stops routing here, running reconciles get ``shutdownGraceSeconds``
to finish, then the HTTP server stops and the process exits.

Composition and signals only: :class:`Daemon` builds the parts (the
reconcile context, metrics, notifier, reconciler, scheduler) and offers the
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
from typing import Any

import uvicorn

from agent import __version__
from agent.cluster import ClusterClient
from agent.cluster.view import ClusterView
from agent.config import AgentConfig, Application
from agent.daemon.api import create_app
from agent.daemon.gates import Gates
from agent.daemon.limits import protocol_with_header_timeout
from agent.daemon.matching import selected
from agent.daemon.reconciler import Reconciler
from agent.daemon.scheduler import Scheduler
from agent.daemon.state import AppSnapshot, AppState, Manual, RunResult
from agent.daemon.tree import Related, related
from agent.daemon.webhooks import Push
from agent.fleet.suspend import Suspensions
from agent.kube.errors import ClusterError
from agent.models import HealthStatus, SyncStatus
from agent.report.metrics import Metrics
from agent.report.notifications import Notifier
from agent.results import Trigger
from agent.sync.context import Context
from agent.sync.record import RevisionRecord, now

log = logging.getLogger("gitops_agent.daemon")


class Daemon:
    """The daemon's parts, wired; a :class:`~agent.daemon.protocol.DaemonView`."""

    def __init__(self, config: AgentConfig, cluster: ClusterClient) -> None:
        self.config = config
        self.metrics = Metrics()
        self.ctx = Context.create(config, cluster, shared="follow")  # one watch per kind for all apps
        self.ctx.source.on_checkout = self.metrics.git_fetch_seconds.observe
        self.notifier = Notifier(config.daemon.notifications)
        self.gates = Gates(config, self._apps, self.snapshot, self._suspensions)
        self.reconciler = Reconciler(self.ctx, self.metrics, self.notifier, self.gates)
        self.scheduler = Scheduler(config, self._run, on_queue=self.metrics.queue.set)
        self.scheduler.after_run = lambda name, result: self.gates.after_run(name, result, self.request)
        self._ready = threading.Event()
        self.started = now()
        self._stop = threading.Event()

    def _apps(self) -> Iterable[Application]:
        return self.scheduler.apps.values()

    def _suspensions(self, app: Application) -> Suspensions:
        return Suspensions(self.ctx.cluster, self.config.cluster.state_namespace)

    def _run(self, app: Application, state: AppState, trigger: Trigger, manual: Manual | None) -> RunResult:
        with self.ctx.source.round(state.round_since):  # one ls-remote per repository per round
            result = self.reconciler.run(app, state, trigger, manual)
        obs = state.observation
        if obs is not None and obs.revision is not None:
            self._ready.set()  # reading live objects worked: the cluster answers
        return result

    # -- what the HTTP app sees (DaemonView) ------------------------------------------
    @property
    def draining(self) -> bool:
        return self.scheduler.draining

    def is_ready(self) -> bool:
        return self._ready.is_set()

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
        return self.scheduler.request(names, trigger, manual)

    def history(self, name: str) -> Sequence[RevisionRecord]:
        return self.ctx.records().history(name)

    def related(self, name: str) -> Related:
        state = self.scheduler.states.get(name)
        obs = None if state is None else state.snapshot().observation
        return Related() if obs is None else related(self.ctx.cluster, obs.objects)

    def targets(self, pushes: Sequence[Push]) -> list[str]:
        apps = [(a.name, self.config.repo_location(a), a.revision) for a in self.config.apps]
        return selected(apps, pushes)

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        threading.Thread(target=self._contact, name="cluster-contact", daemon=True).start()
        self.scheduler.start()
        for a in self.config.apps:
            self.metrics.app_status(a.name, SyncStatus.UNKNOWN, HealthStatus.UNKNOWN, 0)

    def _contact(self) -> None:
        """Ready after the first successful contact with the cluster."""
        delay = 0.5
        while not self._ready.is_set() and not self._stop.is_set():
            try:
                self.ctx.cluster.list("v1", "Namespace")
            except ClusterError as e:
                log.warning("cluster not reachable yet: %s", e, extra={"stage": "cluster"})
                self._stop.wait(delay)
                delay = min(delay * 2, 30)
                continue
            self._ready.set()
            log.info("cluster reachable: ready", extra={"stage": "cluster"})

    def stop(self, grace: float) -> bool:
        """Drain; True when every running reconcile finished in time."""
        self._stop.set()
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
        if isinstance(self.ctx.cluster, ClusterView):
            self.ctx.cluster.stop()  # its watches end; the caller closes the connection
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


def run(config: AgentConfig, cluster: ClusterClient) -> int:
    """Serve until SIGTERM; 0 after a clean stop, 1 when reconciles were cut
    off (the process ends at once), 3 when the server could not listen.
    The cluster stays open: its caller closes it."""
    settings = config.daemon
    daemon = Daemon(config, cluster)
    app = create_app(daemon)
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


__all__ = ["Daemon", "run"]
