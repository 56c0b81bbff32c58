"""The small shared vocabulary of the pipeline.

Every stage speaks these types, and one structure (a :class:`ChangeSet` of
:class:`ChangeSetEntry`) feeds logs, reports, metrics and the revision record
alike, as Flux's ``ssa.ChangeSet`` does.  All of them are immutable.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

JSONDict = dict[str, Any]


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> ``("apps", "v1")``; ``v1`` -> ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Identity of an object in a cluster: group, kind, namespace, name.

    The API version is not part of identity (the same object is served under
    several versions); ``namespace`` is ``""`` for cluster-scoped objects.
    """

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectKey:
        group, _ = split_api_version(str(obj.get("apiVersion", "")))
        meta = obj.get("metadata") or {}
        # a hook the API server names (generateName, no name) is known by its generateName
        name = meta.get("name") or meta.get("generateName") or ""
        return cls(group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(name))

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group and "." in self.group else self.kind
        if self.namespace:
            return f"{kind}/{self.namespace}/{self.name}"
        return f"{kind}/{self.name}"

    def to_dict(self) -> dict[str, str]:
        return {"group": self.group, "kind": self.kind, "namespace": self.namespace, "name": self.name}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> ObjectKey:
        return cls(data.get("group", ""), data["kind"], data.get("namespace", ""), data["name"])


@dataclass(frozen=True)
class Manifest:
    """One desired object and where it came from (file and document index)."""

    obj: JSONDict
    source: str = ""
    index: int = 0

    @cached_property
    def key(self) -> ObjectKey:
        """Computed once: the planner and the sync ask for it many times per
        object (``obj`` is not changed after a Manifest is made)."""
        return ObjectKey.of(self.obj)

    @property
    def api_version(self) -> str:
        return str(self.obj["apiVersion"])

    @property
    def origin(self) -> str:
        """``templates/web.yaml#2`` — for error messages and reports."""
        return f"{self.source}#{self.index}" if self.source else ""


@dataclass(frozen=True)
class Revision:
    """What the source stage resolved: the exact commit the pipeline reads."""

    repo: str  # masked, printable form of the repository URL
    ref: str  # what the app asked for (branch, tag, commit, HEAD)
    commit: str  # full SHA

    @property
    def short(self) -> str:
        return self.commit[:7]


class Action(enum.StrEnum):
    """What happened (or, in a dry run / plan, would happen) to one object."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    PRUNED = "pruned"
    SKIPPED = "skipped"
    FAILED = "failed"


class ChangeKind(enum.StrEnum):
    CHANGED = "changed"  # declared in Git, live value differs
    REMOVED_IN_GIT = "removed-in-git"  # dropped from Git, still live
    ADDED_OUT_OF_BAND = "added-out-of-band"  # present live only (strict mode)


@dataclass(frozen=True)
class FieldChange:
    """One field that differs. Values are already masked where secret."""

    path: str
    desired: Any
    live: Any
    kind: ChangeKind = ChangeKind.CHANGED
    manager: str = ""  # who last wrote the live value (from managedFields), when known
    time: str = ""  # and when

    def to_dict(self) -> JSONDict:
        out: JSONDict = {
            "path": self.path,
            "desired": self.desired,
            "live": self.live,
            "kind": str(self.kind),
        }
        if self.manager:
            out["manager"] = self.manager
            out["time"] = self.time
        return out


class DiffStatus(enum.StrEnum):
    IN_SYNC = "in-sync"
    MODIFIED = "modified"
    MISSING = "missing"  # desired, not live
    EXTRANEOUS = "extraneous"  # live and owned, no longer desired


@dataclass(frozen=True)
class ResourceDiff:
    key: ObjectKey
    status: DiffStatus
    changes: tuple[FieldChange, ...] = ()
    # The unified YAML diff (live -> Git, secrets masked), or how to make it:
    # most diffs are never shown, so it is only rendered when asked for.
    unified_source: str | Callable[[], str] = field(default="", repr=False, compare=False)
    manager: str = ""  # extraneous objects: the field manager that created it, when known
    time: str = ""  # and when

    @property
    def unified(self) -> str:
        source = self.unified_source
        if callable(source):
            source = source()
            object.__setattr__(self, "unified_source", source)
        return source

    @property
    def drifted(self) -> bool:
        return self.status is not DiffStatus.IN_SYNC

    def to_dict(self) -> JSONDict:
        out: JSONDict = {
            "object": str(self.key),
            "key": self.key.to_dict(),
            "status": str(self.status),
            "changes": [c.to_dict() for c in self.changes],
            "diff": self.unified,
        }
        if self.manager:
            out["manager"] = self.manager
            out["time"] = self.time
        return out


class HealthStatus(enum.Enum):
    """Health with an order, worst last (as Argo CD's ``IsWorse``)."""

    HEALTHY = ("Healthy", 0)
    SUSPENDED = ("Suspended", 1)
    PROGRESSING = ("Progressing", 2)
    MISSING = ("Missing", 3)
    DEGRADED = ("Degraded", 4)
    UNKNOWN = ("Unknown", 5)

    def __init__(self, label: str, rank: int) -> None:
        self.label = label
        self.rank = rank

    def is_worse(self, other: HealthStatus) -> bool:
        return self.rank > other.rank

    @classmethod
    def worst(cls, statuses: Iterable[HealthStatus]) -> HealthStatus:
        result = cls.HEALTHY
        for status in statuses:
            if status.is_worse(result):
                result = status
        return result

    def __str__(self) -> str:
        return self.label


class SyncStatus(enum.StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class ChangeSetEntry:
    key: ObjectKey
    action: Action
    diff: ResourceDiff | None = None
    error: str | None = None

    def to_dict(self) -> JSONDict:
        out: JSONDict = {"object": str(self.key), "key": self.key.to_dict(), "action": str(self.action)}
        if self.diff is not None and self.diff.changes:
            out["changes"] = [c.to_dict() for c in self.diff.changes]
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class ChangeSet:
    entries: tuple[ChangeSetEntry, ...] = ()

    def count(self, action: Action) -> int:
        return sum(1 for e in self.entries if e.action is action)

    def summary(self) -> dict[str, int]:
        return {str(a): self.count(a) for a in Action if self.count(a)}

    @property
    def changed(self) -> bool:
        return any(e.action in (Action.CREATED, Action.CONFIGURED, Action.PRUNED) for e in self.entries)
