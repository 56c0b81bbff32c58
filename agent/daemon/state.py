"""What the daemon knows about each app between reconciles.

The status API and page read this, never the cluster or Git: a page view
costs nothing, and what it shows is what the last reconcile saw (with the
time it saw it).  Each :class:`AppState` is changed only under its lock.
"""

from __future__ import annotations

import enum
import threading
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from agent.daemon.tree import LiveObject
from agent.models import DiffStatus, HealthStatus, JSONDict, Revision, SyncStatus
from agent.results import DriftReport, ObjectHealth, Operation, RollbackResult, SyncResult, Trigger


class Outcome(enum.StrEnum):
    """What one run of an app's job came to (the ``outcome`` of the status
    API and the ``result`` label of ``gitops_agent_reconcile_total``)."""

    SYNCED = "synced"
    UNCHANGED = "unchanged"
    DRIFT = "drift"
    HELD = "held"
    FAILED = "failed"
    ROLLED_BACK = "rolled-back"
    SUSPENDED = "suspended"  # not reconciled: suspended (agent.fleet.suspend)
    WAITING = "waiting"  # observed, not synced: a dependency is not ready (dependsOn)
    DEFERRED = "deferred"  # observed, not synced: outside its sync windows


# the runs a gate stopped (agent.daemon.gates): their message says why
GATED = frozenset({Outcome.SUSPENDED, Outcome.WAITING, Outcome.DEFERRED})


@dataclass(frozen=True)
class Observation:
    """Git against the cluster, as one reconcile saw it."""

    at: str
    revision: Revision | None
    sync_status: SyncStatus
    health: HealthStatus
    drift: DriftReport | None
    held: str | None = None
    message: str = ""
    resources: tuple[ObjectHealth, ...] = ()  # each object's health and deciding rule, worst first
    objects: tuple[LiveObject, ...] = ()  # each object as the app's page draws it, in plan order
    last_synced: str = ""  # when the last recorded sync finished (by anyone: the records say)

    @property
    def drifted(self) -> int:
        return len(self.drift.drifted) if self.drift is not None else 0

    def to_dict(self) -> JSONDict:
        counts: dict[str, int] = {}
        if self.drift is not None:
            # counted here: the report's to_dict renders (and keeps) every drifted object's YAML diff
            every = Counter(d.status.value for d in self.drift.diffs)
            counts = {s.value: every[s.value] for s in DiffStatus if every[s.value]}
        return {
            "observedAt": self.at,
            "syncStatus": str(self.sync_status),
            "health": str(self.health),
            "revision": None if self.revision is None else self.revision.__dict__,
            "held": self.held,
            "message": self.message,
            "drift": {
                "drifted": self.drifted,
                "counts": counts,
                "objects": [str(d.key) for d in self.drift.drifted] if self.drift else [],
            },
            "resources": [r.to_dict() for r in self.resources],
        }


@dataclass(frozen=True)
class RunResult:
    """One run of an app's job: what it decided and what came of it."""

    trigger: Trigger
    started: str
    finished: str
    duration: float
    outcome: Outcome
    sync: SyncResult | None = None
    rollback: RollbackResult | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != Outcome.FAILED

    def to_dict(self) -> JSONDict:
        return {
            "trigger": str(self.trigger),
            "started": self.started,
            "finished": self.finished,
            "durationSeconds": round(self.duration, 3),
            "outcome": str(self.outcome),
            "message": self.message,
            "sync": None if self.sync is None else self.sync.to_dict(),
            "rollback": None if self.rollback is None else self.rollback.to_dict(),
        }


@dataclass(frozen=True)
class Manual:
    """A sync or rollback asked for through the API."""

    action: Operation
    revision: str | None = None
    prune: bool | None = None
    force: bool = False
    to: int | None = None


@dataclass
class AppState:
    name: str
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    running: bool = False
    pending: Trigger | None = None  # trigger of a requested run not started yet
    requested_at: float | None = None  # when that run was asked for (monotonic)
    round_since: float = 0.0  # the run's round began then: git answers since are fresh enough
    manual: list[tuple[Manual, Future[Any]]] = field(default_factory=list)
    observation: Observation | None = None
    last_run: RunResult | None = None
    last_sync: str = ""  # when a sync last applied a change
    failures: int = 0
    drifted_keys: frozenset[str] = frozenset()

    def snapshot(self) -> AppSnapshot:
        """What a reader may show, copied under the lock."""
        with self.lock:
            return AppSnapshot(
                observation=self.observation,
                last_run=self.last_run,
                running=self.running,
                queued=self.pending is not None,
                failures=self.failures,
                last_sync=self.last_sync,
            )


@dataclass(frozen=True)
class AppSnapshot:
    """One app's state at one moment, for the status API and page."""

    observation: Observation | None
    last_run: RunResult | None
    running: bool
    queued: bool
    failures: int
    last_sync: str
