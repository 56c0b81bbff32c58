"""The record stage: revision records, kept in the cluster itself (like
Helm's release Secrets).

Each sync that changed something, or moved to a new commit, writes one
Secret ``gitops-agent.<app>.v<N>`` in the state namespace, holding a gzipped
JSON record: number, commit, inventory (what the app owns after the sync),
the rendered manifests, the result and times.  The agent keeps no state of
its own, so any replica (or a restarted agent) knows what an app owns.

A record is built in one place, :func:`new_record`, for a sync
(:func:`record_sync`) and a rollback alike.  The bulk of its encoding (the
digest of the manifests, their gzipped JSON) is made while the sync writes,
by :mod:`agent.sync.encoding` (its thread and its pause live there, not in
the pipeline); :func:`record_sync` and :class:`RecordStore` finish it.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from agent.cluster.base import ClusterClient
from agent.config import Application, RetryPolicy
from agent.errors import RecordFailed
from agent.kube.errors import ClusterError, ClusterUnavailable, NotFound
from agent.models import Action, ChangeSet, ChangeSetEntry, HealthStatus, Manifest, ObjectKey, Revision
from agent.results import Failure, Operation, RecordResult, Trigger
from agent.sync.encoding import EncodedManifests, digest
from agent.sync.ownership import MANAGED_BY, MANAGED_BY_LABEL
from agent.sync.plan import Plan
from agent.sync.retry import create_once, delete_once, ensure_namespace, with_retries

RECORD_OF_LABEL = "gitops-agent.io/record-of"
RECORD_NUMBER_LABEL = "gitops-agent.io/revision"
RECORD_TYPE = "gitops-agent.io/revision.v1"
HISTORY_LIMIT = 10


@dataclass(frozen=True)
class InventoryItem:
    api_version: str
    kind: str
    namespace: str
    name: str

    @property
    def key(self) -> ObjectKey:
        group = self.api_version.rpartition("/")[0]
        return ObjectKey(group, self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class RevisionRecord:
    app: str
    number: int
    commit: str
    ref: str
    repo: str
    digest: str  # sha256 of the rendered manifests
    result: RecordResult | str  # a str: a word of a newer agent, kept as written
    started: str
    finished: str
    inventory: tuple[InventoryItem, ...] = ()
    manifests: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    message: str = ""
    health: str = ""  # the app's health when the sync ended ("" when not measured)
    operation: Operation | str = Operation.SYNC
    trigger: Trigger | str = Trigger.MANUAL  # automatic: a rollback after a failure
    rollback_of: int | None = None  # for a rollback: the revision that failed (None when by hand)
    hold: str = ""  # commit not to apply again until the source moves on (after a rollback)
    # what produced the manifests: renderer, engine version, chart name/version/digest or the
    # Kustomize tree digest, the capabilities the render saw (a rollback re-applies the
    # manifests above as recorded, whatever a chart repository serves today)
    render: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.result == RecordResult.SUCCEEDED

    @property
    def healthy(self) -> bool:
        """A revision worth rolling back to."""
        return self.succeeded and self.health in ("", "Healthy")

    def to_json(self) -> dict[str, Any]:
        """Plain data for JSON.  The manifests are already plain data and go
        as they are (``asdict`` would copy every one of them, deeply)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["inventory"] = [asdict(i) for i in self.inventory]
        out["manifests"] = list(self.manifests)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RevisionRecord:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}  # records of newer agents still read
        data["inventory"] = tuple(InventoryItem(**i) for i in data.get("inventory") or ())
        data["manifests"] = tuple(data.get("manifests") or ())
        data["result"] = _word(RecordResult, data["result"])
        data["operation"] = _word(Operation, data.get("operation", Operation.SYNC))
        data["trigger"] = _word(Trigger, data.get("trigger", Trigger.MANUAL))
        return cls(**data)


def _word(words: type[StrEnum], value: str) -> StrEnum | str:
    """One of ``words``, or the value as written: a record of a newer agent
    (a trigger or result this one does not know) still reads."""
    try:
        return words(value)
    except ValueError:
        return str(value)


def record_name(app: str, number: int) -> str:
    return f"gitops-agent.{app}.v{number}"


def now() -> str:
    """The time of day as records and results write it (RFC 3339, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def inventory(
    last: RevisionRecord | None, the_plan: Plan, entries: Sequence[ChangeSetEntry]
) -> tuple[InventoryItem, ...]:
    """What the app owns after a sync: every desired object that exists,
    every owned object that was not pruned (nothing is ever orphaned)."""
    done = {e.key: e.action for e in entries}
    items: dict[ObjectKey, InventoryItem] = {}
    if last is not None:
        for item in last.inventory:
            items[item.key] = item
    for step in the_plan.resources:
        item = InventoryItem(step.api_version, step.key.kind, step.key.namespace, step.key.name)
        action = done.get(step.key)
        if action is Action.PRUNED:
            items.pop(step.key, None)
        elif action in (Action.CREATED, Action.CONFIGURED, Action.UNCHANGED) or step.live is not None:
            items[step.key] = item
    return tuple(sorted(items.values(), key=lambda i: (i.kind, i.namespace, i.name)))


class Done(Protocol):
    """What an apply did (:class:`~agent.sync.apply.ApplyResult`)."""

    @property
    def entries(self) -> list[ChangeSetEntry]: ...
    @property
    def failure(self) -> Failure | None: ...
    @property
    def health(self) -> HealthStatus | None: ...


@dataclass(frozen=True)
class Change:
    """What an operation applied, and when it began: the facts a record keeps."""

    revision: Revision  # where the manifests come from
    manifests: tuple[dict[str, Any], ...]
    digest: str
    plan: Plan
    done: Done
    started: str
    render: Mapping[str, Any] = field(default_factory=dict)  # the render's inputs


def new_record(
    app: str,
    last: RevisionRecord | None,
    change: Change,
    *,
    operation: Operation,
    trigger: Trigger,
    message: str,
    rollback_of: int | None = None,
    hold: str = "",
) -> RevisionRecord:
    """The record of ``change``, numbered after ``last``, finished now."""
    done = change.done
    return RevisionRecord(
        app=app,
        number=(last.number if last else 0) + 1,
        commit=change.revision.commit,
        ref=change.revision.ref,
        repo=change.revision.repo,
        digest=change.digest,
        result=RecordResult.FAILED if done.failure else RecordResult.SUCCEEDED,
        started=change.started,
        finished=now(),
        inventory=inventory(last, change.plan, done.entries),
        manifests=change.manifests,
        message=message,
        operation=operation,
        trigger=trigger,
        health=done.health.label if done.health is not None else "",
        rollback_of=rollback_of,
        hold=hold,
        render=dict(change.render),
    )


class Desired(Protocol):
    """What a sync knew before its first write (:class:`~agent.sync.pipeline.Prepared`)."""

    @property
    def revision(self) -> Revision: ...
    @property
    def manifests(self) -> tuple[Manifest, ...]: ...
    @property
    def plan(self) -> Plan: ...
    @property
    def history(self) -> list[RevisionRecord]: ...
    @property
    def last(self) -> RevisionRecord | None: ...
    @property
    def render(self) -> Mapping[str, Any]: ...


def _unchanged(desired: Desired, done: Done, the_digest: str) -> bool:
    """Nothing new to remember: the last record is a successful sync of the same manifests."""
    last = desired.last
    return (
        not ChangeSet(tuple(done.entries)).changed
        and done.failure is None
        and last is not None
        and last.commit == desired.revision.commit
        and last.digest == the_digest
        and last.succeeded
        and last.operation == Operation.SYNC
    )


def record_sync(
    store: RecordStore,
    app: Application,
    desired: Desired,
    done: Done,
    *,
    started: str,
    trigger: Trigger,
    ahead: Future[tuple[str, EncodedManifests]] | None = None,
) -> int | None:
    """Write the record of a sync (its number), or nothing when there is
    nothing new to remember.  ``ahead``: the digest and encoding made during
    the writes (None: made here, the encoding only when a record is written)."""
    encoded = ahead.result() if ahead is not None else None
    the_digest = encoded[0] if encoded is not None else digest(desired.manifests)
    if _unchanged(desired, done, the_digest):
        return None
    manifests = encoded[1].manifests if encoded is not None else tuple(m.obj for m in desired.manifests)
    change = Change(desired.revision, manifests, the_digest, desired.plan, done, started, desired.render)
    message = str(done.failure) if done.failure else ""
    record = new_record(
        app.name, desired.last, change, operation=Operation.SYNC, trigger=trigger, message=message
    )
    store.write(record, desired.history, app.history_limit, encoded[1] if encoded is not None else None)
    return record.number


def _encode(record: RevisionRecord) -> str:
    return EncodedManifests(record.manifests).finish(record)


def _decode(secret: dict[str, Any]) -> RevisionRecord:
    blob = (secret.get("data") or {}).get("record", "")
    raw = gzip.decompress(base64.b64decode(blob))
    return RevisionRecord.from_json(json.loads(raw))


class RecordStore:
    """Reads and writes an app's revision records through a ClusterClient."""

    def __init__(
        self,
        cluster: ClusterClient,
        namespace: str,
        retry: RetryPolicy | None = None,
        ready: set[str] | None = None,
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self._ready = ready if ready is not None else set()  # namespaces known to exist (shared)
        self.retry = retry or RetryPolicy()  # the apply's policy: a passing error is retried

    def history(self, app: str) -> list[RevisionRecord]:
        """Records of ``app``, oldest first."""
        try:
            secrets = with_retries(
                self.retry, lambda: self.cluster.list("v1", "Secret", self.namespace, {RECORD_OF_LABEL: app})
            )
        except NotFound:
            return []
        except ClusterUnavailable:
            raise  # the cluster did not answer: a Cluster failure, not the records'
        except ClusterError as e:
            raise RecordFailed(f"cannot read revision records of {app}: {e}") from None
        records = []
        for s in secrets:
            try:
                records.append(_decode(s))
            except (ValueError, OSError, TypeError, KeyError) as e:
                raise RecordFailed(f"revision record {s['metadata']['name']} is unreadable: {e}") from None
        return sorted(records, key=lambda r: r.number)

    def last(self, app: str) -> RevisionRecord | None:
        records = self.history(app)
        return records[-1] if records else None

    def write(
        self,
        record: RevisionRecord,
        history: list[RevisionRecord],
        limit: int = HISTORY_LIMIT,
        encoded: EncodedManifests | None = None,
    ) -> None:
        """Store ``record`` and trim the app's history to ``limit`` records
        (``encoded``: its manifests, encoded ahead)."""
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": RECORD_TYPE,
            "metadata": {
                "name": record_name(record.app, record.number),
                "namespace": self.namespace,
                "labels": {
                    MANAGED_BY_LABEL: MANAGED_BY,
                    RECORD_OF_LABEL: record.app,
                    RECORD_NUMBER_LABEL: str(record.number),
                },
            },
            "data": {"record": encoded.finish(record) if encoded is not None else _encode(record)},
        }
        try:
            self._ensure_namespace()
            create_once(self.cluster, secret, self.retry)
            for old in history[: max(0, len(history) + 1 - limit)]:
                name = record_name(old.app, old.number)
                delete_once(self.cluster, "v1", "Secret", name, self.namespace, policy=self.retry)
        except ClusterError as e:
            self._ready.discard(self.namespace)  # it may be gone: the next write looks again
            raise RecordFailed(f"cannot write revision record {record.number} of {record.app}: {e}") from None

    def _ensure_namespace(self) -> None:
        """The state namespace, asked for once per context, not once per record."""
        if self.namespace in self._ready:
            return
        ensure_namespace(self.cluster, self.namespace, self.retry)
        self._ready.add(self.namespace)
