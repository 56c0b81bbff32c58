"""What the HTTP app may ask of the daemon, and nothing more.

The routers see the daemon only through :class:`DaemonView`: app states as
snapshots, a way to ask for a run, the revision records, the push matcher and
the metrics to count requests in.  The daemon (:mod:`agent.daemon.service`)
satisfies it structurally; nothing under :mod:`agent.daemon.routers` imports
the service, so the app and its composition root do not import each other
(as kopf's handlers see a small ``Memo``/settings surface, and controller-
runtime's webhooks a client interface, never the manager that wires them).

A test can serve the HTTP app over a stub that implements this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from agent.daemon.state import AppSnapshot, Manual, RunResult
    from agent.daemon.tree import Related
    from agent.daemon.webhooks import Push
    from agent.report.metrics import Metrics
    from agent.results import Trigger
    from agent.sync.record import RevisionRecord


class QueueFull(Exception):
    """Too many apps are already waiting for a reconcile."""


class Draining(Exception):
    """The daemon is shutting down and takes no new work."""


class AppRemoved(LookupError):
    """The app left the fleet: it is no longer reconciled."""


class DaemonView(Protocol):
    """The daemon as the HTTP app sees it."""

    @property
    def config(self) -> AgentConfig:
        """The agent's configuration (the apps, ``daemon:`` settings)."""

    @property
    def metrics(self) -> Metrics:
        """The registry served at ``/metrics``, and the request counters."""

    @property
    def started(self) -> str:
        """When the daemon started (RFC 3339)."""

    @property
    def draining(self) -> bool:
        """True once shutdown began: no new work is taken."""

    def is_ready(self) -> bool:
        """True after the first successful contact with the cluster."""

    def stalled_for(self) -> float:
        """Seconds since the scheduler last ticked (its heartbeat job ran)."""

    def snapshot(self, name: str) -> AppSnapshot | None:
        """The app's state now; None for an app the configuration lacks."""

    def fleet_status(self) -> dict[str, Any]:
        """``problems``: what could not be taken into the fleet (an unreadable
        ``agent.yaml`` first); ``removed``: the apps that left lately."""

    def next_run(self, name: str) -> str:
        """When the app's next scheduled run is due (RFC 3339, or "")."""

    def request(
        self, names: Sequence[str], trigger: Trigger, manual: Manual | None = None
    ) -> list[Future[RunResult]]:
        """Ask for a run of each app; futures for a manual request.
        Raises :class:`QueueFull` or :class:`Draining`."""

    def targets(self, pushes: Sequence[Push]) -> list[str]:
        """The apps that follow any of the pushed repositories and refs."""

    def history(self, name: str) -> Sequence[RevisionRecord]:
        """The app's revision records, read from the cluster (raises
        :class:`~agent.errors.AgentError` when that fails)."""

    def related(self, name: str) -> Related:
        """What the cluster's controllers made for the app's objects, and
        the recent Events about them, read from the cluster now."""
