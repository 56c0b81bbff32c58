"""``coordination.k8s.io/v1`` Leases as the agent's replicas read and write them.

A Lease's spec is the record of who holds it: ``holderIdentity``,
``acquireTime`` and ``renewTime`` (MicroTime: RFC 3339 with microseconds),
``leaseDurationSeconds`` and ``leaseTransitions``, as client-go's
``LeaseLock`` keeps its ``LeaderElectionRecord``.  Every write after the
first carries the resourceVersion that was read, so two replicas that race
for one Lease cannot both win: the loser gets a Conflict and reads again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from agent.cluster.base import ClusterClient
from agent.errors import AgentError
from agent.kube.errors import AlreadyExists, Conflict, NotFound

API_VERSION = "coordination.k8s.io/v1"
KIND = "Lease"
ROLE_LABEL = "gitops-agent.io/lease"  # member, leader or app
MANAGED_BY = {"app.kubernetes.io/managed-by": "gitops-agent"}
CAPACITY = "gitops-agent.io/capacity"
APP = "gitops-agent.io/app"
ADDRESS = "gitops-agent.io/address"  # where the replica's HTTP API is reached (for forwarding)
JSON = dict[str, Any]
_NAME_MAX = 253
# Internal, for tests only: shifts this replica's wall clock by that many seconds
# (a node whose clock is off).  The Leases' expiry never compares wall clocks, so
# replicas skewed this way must still agree on one leader and one owner per app.
CLOCK_SKEW = "GITOPS_AGENT_CLOCK_SKEW_SECONDS"


class Clock(Protocol):
    """Two clocks: the monotonic one judges every duration (expiry, renew
    deadlines); the wall clock only fills ``acquireTime`` and ``renewTime``,
    which other replicas never compare with their own."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class SystemClock:
    """The process's clocks; ``offset`` shifts the wall clock (a skewed node)."""

    offset: float = 0.0

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


def clock_skew() -> float:
    """``$GITOPS_AGENT_CLOCK_SKEW_SECONDS`` (internal, for tests), else 0."""
    text = os.environ.get(CLOCK_SKEW, "").strip()
    try:
        return float(text) if text else 0.0
    except ValueError:
        raise AgentError(f"{CLOCK_SKEW} must be a number of seconds, not {text!r}") from None


def micro_time(moment: datetime) -> str:
    """A MicroTime as the API server writes it: ``2026-01-02T03:04:05.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str | None) -> datetime | None:
    """A MicroTime (or a plain RFC 3339 time) back; None when absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def lease_name(prefix: str, value: str) -> str:
    """A Lease name for ``value`` (an identity or an app name): lowercase DNS
    characters, with a short hash when anything had to be changed, so two
    values never share a name."""
    cleaned = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-.") or "x"
    name = f"{prefix}-{cleaned}"
    if cleaned != value or len(name) > _NAME_MAX:
        digest = hashlib.sha256(value.encode()).hexdigest()[:10]
        name = f"{name[: _NAME_MAX - 11].rstrip('-.')}-{digest}"
    return name


@dataclass(frozen=True)
class LeaseRecord:
    """A Lease's spec, and the annotations that travel with it (the capacity)."""

    holder: str = ""
    duration: int = 0
    acquire_time: str = ""
    renew_time: str = ""
    transitions: int = 0
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> LeaseRecord:
        spec = obj.get("spec") or {}
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        ours = {k: v for k, v in annotations.items() if k.startswith("gitops-agent.io/")}
        return cls(
            holder=spec.get("holderIdentity") or "",
            duration=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=spec.get("acquireTime") or "",
            renew_time=spec.get("renewTime") or "",
            transitions=int(spec.get("leaseTransitions") or 0),
            annotations=ours,
        )

    def spec(self) -> JSON:
        out: JSON = {"leaseDurationSeconds": self.duration, "leaseTransitions": self.transitions}
        if self.holder:
            out["holderIdentity"] = self.holder
        if self.acquire_time:
            out["acquireTime"] = self.acquire_time
        if self.renew_time:
            out["renewTime"] = self.renew_time
        return out


@dataclass
class Lease:
    """A Lease as read: its name, record and the resourceVersion a write must carry."""

    name: str
    record: LeaseRecord
    resource_version: str
    labels: Mapping[str, str] = field(default_factory=dict)


class LeaseStore:
    """Leases of one namespace, through any :class:`ClusterClient`."""

    def __init__(self, client: ClusterClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._namespace_seen = False

    def get(self, name: str) -> Lease | None:
        obj = self.client.get(API_VERSION, KIND, name, self.namespace)
        return _lease(obj) if obj else None

    def list(self, role: str) -> list[Lease]:
        """The namespace's Leases of one role (``member``, ``leader``, ``app``)."""
        return [_lease(o) for o in self.client.list(API_VERSION, KIND, self.namespace, {ROLE_LABEL: role})]

    def create(self, name: str, role: str, record: LeaseRecord) -> Lease | None:
        """A new Lease; None when another replica created it first (AlreadyExists)."""
        obj = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {**MANAGED_BY, ROLE_LABEL: role},
                "annotations": dict(record.annotations),
            },
            "spec": record.spec(),
        }
        self._ensure_namespace()
        try:
            return _lease(self.client.create(obj))
        except AlreadyExists:
            return None

    def update(self, lease: Lease, record: LeaseRecord) -> Lease:
        """Replace the record of ``lease`` as read: Conflict when anyone wrote it since."""
        obj = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {
                "name": lease.name,
                "namespace": self.namespace,
                "labels": dict(lease.labels),
                "annotations": dict(record.annotations),
                "resourceVersion": lease.resource_version,
            },
            "spec": record.spec(),
        }
        return _lease(self.client.replace(obj))

    def delete(self, lease: Lease) -> bool:
        """Delete ``lease`` as read: only if nobody wrote it since (a resourceVersion
        precondition), so a Lease renewed meanwhile is kept.  True when deleted."""
        try:
            self.client.delete(
                API_VERSION,
                KIND,
                lease.name,
                self.namespace,
                preconditions={"resourceVersion": lease.resource_version},
            )
        except (Conflict, NotFound):
            return False
        return True

    def _ensure_namespace(self) -> None:
        if self._namespace_seen:
            return
        if self.client.get("v1", "Namespace", self.namespace) is None:
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
            with contextlib.suppress(AlreadyExists):  # another replica made it first
                self.client.create(namespace)
        self._namespace_seen = True


def _lease(obj: Mapping[str, Any]) -> Lease:
    metadata = obj.get("metadata") or {}
    if not metadata.get("name"):
        raise NotFound("a Lease without a name")
    return Lease(
        name=metadata["name"],
        record=LeaseRecord.of(obj),
        resource_version=str(metadata.get("resourceVersion") or ""),
        labels=dict(metadata.get("labels") or {}),
    )
