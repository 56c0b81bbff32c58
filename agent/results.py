"""What one operation on one app came to: the results every output is made of.

:class:`SyncResult`, :class:`RollbackResult`, :class:`DriftReport` and
:class:`AppStatus` are the JSON report schema (``to_dict``): the CLI's
``--output json``, the daemon's API, the HTML and Markdown reports and the
notifications are all made from them.  A :class:`Failure` names the stage it
came from and a typed :class:`Reason` (as Flux's conditions carry a reason
beside the message).  :class:`Trigger`, :class:`Operation` and
:class:`RecordResult` are the words the revision records and the daemon use.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from agent.models import ChangeSet, DiffStatus, HealthStatus, JSONDict, ResourceDiff, Revision, SyncStatus


class Stage(enum.StrEnum):
    """Where a failure came from; every error names one."""

    CONFIG = "Config"
    SOURCE = "Source"
    RENDER = "Render"
    PLAN = "Plan"
    APPLY = "Apply"
    PRUNE = "Prune"
    HEALTH = "Health"
    RECORD = "Record"
    CLUSTER = "Cluster"


class Reason(enum.StrEnum):
    """The typed reason of a failure, one or two per stage."""

    CONFIG_INVALID = "ConfigInvalid"
    SOURCE_FAILED = "SourceFailed"
    RENDER_FAILED = "RenderFailed"
    PLAN_REFUSED = "PlanRefused"
    APPLY_FAILED = "ApplyFailed"
    PRUNE_FAILED = "PruneFailed"
    HEALTH_DEGRADED = "HealthDegraded"  # an object went Degraded: the sync failed at once
    HEALTH_TIMEOUT = "HealthTimeout"  # not Healthy within the health timeout
    RECORD_FAILED = "RecordFailed"
    CLUSTER_UNAVAILABLE = "ClusterUnavailable"  # no answer, or 5xx / 429 after retries
    CLUSTER_REFUSED = "ClusterRefused"  # the API server answered with another error


STAGE_REASONS: dict[Stage, Reason] = {
    Stage.CONFIG: Reason.CONFIG_INVALID,
    Stage.SOURCE: Reason.SOURCE_FAILED,
    Stage.RENDER: Reason.RENDER_FAILED,
    Stage.PLAN: Reason.PLAN_REFUSED,
    Stage.APPLY: Reason.APPLY_FAILED,
    Stage.PRUNE: Reason.PRUNE_FAILED,
    Stage.HEALTH: Reason.HEALTH_TIMEOUT,
    Stage.RECORD: Reason.RECORD_FAILED,
    Stage.CLUSTER: Reason.CLUSTER_REFUSED,
}


class Trigger(enum.StrEnum):
    """What started an operation (kept in the revision record)."""

    MANUAL = "manual"  # a person, with the CLI or the API
    SCHEDULE = "schedule"  # the daemon's poll loop
    WEBHOOK = "webhook"  # a push announced by a Git host or a CI
    AUTOMATIC = "automatic"  # the agent itself: a rollback after a failed sync


class Operation(enum.StrEnum):
    SYNC = "sync"
    ROLLBACK = "rollback"


class RecordResult(enum.StrEnum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class Failure:
    """Why a sync (or a rollback, or a drift check) did not succeed: the
    stage, a typed reason a program can switch on, and a message for people."""

    stage: Stage
    message: str
    reason: Reason | None = None  # None: the stage's usual reason

    def __post_init__(self) -> None:
        if self.reason is None:
            object.__setattr__(self, "reason", STAGE_REASONS[self.stage])

    def __str__(self) -> str:
        return f"{self.stage} failed: {self.message}"

    def to_dict(self) -> JSONDict:
        return {"stage": str(self.stage), "reason": str(self.reason), "message": self.message}


@dataclass(frozen=True)
class RollbackResult:
    """A return to an earlier revision: after a failed sync, or by hand."""

    to_revision: int
    commit: str
    reason: str
    changeset: ChangeSet = field(default_factory=ChangeSet)
    failure: Failure | None = None
    record: int | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_dict(self) -> JSONDict:
        return {
            "toRevision": self.to_revision,
            "commit": self.commit,
            "reason": self.reason,
            "ok": self.ok,
            "record": self.record,
            "summary": self.changeset.summary(),
            "objects": [e.to_dict() for e in self.changeset.entries],
            "failure": None if self.failure is None else self.failure.to_dict(),
        }


@dataclass(frozen=True)
class SyncResult:
    """Outcome of one reconcile of one app."""

    app: str
    revision: Revision | None
    changeset: ChangeSet = field(default_factory=ChangeSet)
    failure: Failure | None = None
    dry_run: bool = False
    record: int | None = None  # revision record number written, if any
    notes: tuple[str, ...] = field(default=())
    rollback: RollbackResult | None = None
    held: str | None = None  # why the revision was not applied (held after a rollback)
    started: str = ""  # RFC 3339 times of the sync, from the fetch to the record
    finished: str = ""
    seconds: float | None = None  # how long it took (rollback included)
    unrecorded: str | None = (
        None  # converged, but the record could not be written (why); the next sync writes it
    )
    health: tuple[ObjectHealth, ...] = ()  # each awaited object's last verdict and deciding rule

    @property
    def ok(self) -> bool:
        return self.failure is None and self.held is None

    def to_dict(self) -> JSONDict:
        return {
            "app": self.app,
            "revision": None if self.revision is None else self.revision.__dict__,
            "ok": self.ok,
            "dryRun": self.dry_run,
            "record": self.record,
            "summary": self.changeset.summary(),
            "objects": [e.to_dict() for e in self.changeset.entries],
            "failure": None if self.failure is None else self.failure.to_dict(),
            "rollback": None if self.rollback is None else self.rollback.to_dict(),
            "held": self.held,
            "recordNotWritten": self.unrecorded,
            "notes": list(self.notes),
            "startedAt": self.started or None,
            "finishedAt": self.finished or None,
            "durationSeconds": None if self.seconds is None else round(self.seconds, 3),
            "health": [h.to_dict() for h in self.health],
        }


@dataclass(frozen=True)
class DriftReport:
    """Drift of one app: what differs between Git and the cluster."""

    app: str
    revision: Revision | None
    diffs: tuple[ResourceDiff, ...] = ()
    failure: Failure | None = None
    health: HealthStatus | None = None  # of the live objects, when the caller assessed it

    @property
    def sync_status(self) -> SyncStatus:
        if self.failure is not None:
            return SyncStatus.UNKNOWN
        return SyncStatus.OUT_OF_SYNC if any(d.drifted for d in self.diffs) else SyncStatus.SYNCED

    @property
    def drifted(self) -> tuple[ResourceDiff, ...]:
        return tuple(d for d in self.diffs if d.drifted)

    def to_dict(self) -> JSONDict:
        return {
            "app": self.app,
            "revision": None if self.revision is None else self.revision.__dict__,
            "syncStatus": str(self.sync_status),
            "health": None if self.health is None else self.health.label,
            "counts": {s.value: sum(1 for d in self.diffs if d.status is s) for s in DiffStatus},
            "objects": [d.to_dict() for d in self.diffs],
            "failure": None if self.failure is None else self.failure.to_dict(),
        }


@dataclass(frozen=True)
class ObjectHealth:
    """One live object's health and the rule that decided it (``status -o json``)."""

    object: str
    health: str
    rule: str = ""
    message: str = ""

    def to_dict(self) -> JSONDict:
        return {"object": self.object, "health": self.health, "rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class AppStatus:
    """What ``gitops-agent status`` shows for one app."""

    app: str
    sync_status: SyncStatus
    health: HealthStatus
    revision: Revision | None
    last_revision: int | None = None
    last_result: str = ""
    last_operation: str = ""
    last_finished: str = ""
    message: str = ""
    drifted: int = 0
    resources: tuple[ObjectHealth, ...] = ()  # each object's health, worst first
    failure: Failure | None = None  # why the status could not be read (then Unknown)
    cluster: str = "default"  # the cluster the app goes to (``destination.cluster``)

    def to_dict(self) -> JSONDict:
        return {
            "app": self.app,
            "cluster": self.cluster,
            "syncStatus": str(self.sync_status),
            "health": str(self.health),
            "revision": None if self.revision is None else self.revision.__dict__,
            "lastRevision": self.last_revision,
            "lastResult": self.last_result,
            "lastOperation": self.last_operation,
            "lastFinished": self.last_finished,
            "drifted": self.drifted,
            "message": self.message,
            "resources": [r.to_dict() for r in self.resources],
            "failure": None if self.failure is None else self.failure.to_dict(),
        }
