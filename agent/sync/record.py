"""Revision records, kept in the cluster itself (like Helm's release Secrets).

Each sync that changed something, or moved to a new commit, writes one
Secret ``gitops-agent.<app>.v<N>`` in the state namespace, holding a gzipped
JSON record: number, commit, inventory (what the app owns after the sync),
the rendered manifests, the result and times.  The agent keeps no state of
its own, so any replica (or a restarted agent) knows what an app owns.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from agent.cluster.base import ClusterClient
from agent.errors import RecordFailed
from agent.kube.errors import AlreadyExists, ClusterError, NotFound
from agent.models import ObjectKey
from agent.sync.ownership import MANAGED_BY, MANAGED_BY_LABEL

RECORD_OF_LABEL = "gitops-agent.io/record-of"
RECORD_NUMBER_LABEL = "gitops-agent.io/revision"
RECORD_TYPE = "gitops-agent.io/revision.v1"
HISTORY_LIMIT = 10
SUCCEEDED = "Succeeded"
FAILED = "Failed"


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
    result: str  # SUCCEEDED | FAILED
    started: str
    finished: str
    inventory: tuple[InventoryItem, ...] = ()
    manifests: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    message: str = ""
    health: str = ""  # the app's health when the sync ended ("" when not measured)
    operation: str = "sync"  # "sync" | "rollback"
    trigger: str = "manual"  # manual | schedule | webhook | automatic (a rollback after a failure)
    rollback_of: int | None = None  # for a rollback: the revision that failed (None when by hand)
    hold: str = ""  # commit not to apply again until the source moves on (after a rollback)

    @property
    def succeeded(self) -> bool:
        return self.result == SUCCEEDED

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
        return cls(**data)


def record_name(app: str, number: int) -> str:
    return f"gitops-agent.{app}.v{number}"


class EncodedManifests:
    """A record's manifests, serialized and compressed before the rest of
    the record is known: a sync makes one while it writes (the bulk of a
    record's encoding, off the path between the last write and the record)
    and :meth:`RecordStore.write` finishes the record from it.

    The record is one gzip stream of its JSON with ``manifests`` first; the
    compressor's state after them is kept and copied for the rest.  Each
    manifest is encoded on its own, and ``pause`` is called between them: a
    thread encoding beside the writes passes ``os.sched_yield``, giving the
    interpreter back to the writing threads at once, not every few
    milliseconds."""

    def __init__(
        self, manifests: tuple[dict[str, Any], ...], pause: Callable[[], None] | None = None
    ) -> None:
        self.manifests = manifests
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: the gzip format
        parts = [self._compressor.compress(b'{"manifests":[')]
        for i, m in enumerate(manifests):
            if pause is not None:
                pause()
            text = json.dumps(m, separators=(",", ":"))
            parts.append(self._compressor.compress((text if i == 0 else "," + text).encode()))
        parts.append(self._compressor.compress(b"]"))
        self._head = b"".join(parts)

    def finish(self, record: RevisionRecord) -> str:
        """The record's encoding (base64 of gzipped JSON), for ``record``
        with these manifests."""
        if record.manifests is not self.manifests and record.manifests != self.manifests:
            raise ValueError("the record's manifests are not the ones encoded")
        rest = record.to_json()
        del rest["manifests"]
        compressor = self._compressor.copy()
        tail = compressor.compress(("," + json.dumps(rest, separators=(",", ":"))[1:]).encode())
        return base64.b64encode(self._head + tail + compressor.flush()).decode()


def _encode(record: RevisionRecord) -> str:
    return EncodedManifests(record.manifests).finish(record)


def _decode(secret: dict[str, Any]) -> RevisionRecord:
    blob = (secret.get("data") or {}).get("record", "")
    raw = gzip.decompress(base64.b64decode(blob))
    return RevisionRecord.from_json(json.loads(raw))


class RecordStore:
    """Reads and writes an app's revision records through a ClusterClient."""

    def __init__(self, cluster: ClusterClient, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def history(self, app: str) -> list[RevisionRecord]:
        """Records of ``app``, oldest first."""
        try:
            secrets = self.cluster.list("v1", "Secret", self.namespace, {RECORD_OF_LABEL: app})
        except NotFound:
            return []
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
            self.cluster.create(secret)
            for old in history[: max(0, len(history) + 1 - limit)]:
                self.cluster.delete("v1", "Secret", record_name(old.app, old.number), self.namespace)
        except ClusterError as e:
            raise RecordFailed(f"cannot write revision record {record.number} of {record.app}: {e}") from None

    def _ensure_namespace(self) -> None:
        if self.cluster.get("v1", "Namespace", self.namespace) is not None:
            return
        with contextlib.suppress(AlreadyExists):
            self.cluster.create(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": self.namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
                }
            )
