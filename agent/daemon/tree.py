"""An app's resource tree, as Argo CD's application view draws it.

Each object of the app keeps, from the reconcile that saw it, what the page
needs (:class:`LiveObject`: its sync status, uid, owners and its last change,
the newest ``managedFields`` entry, with the field manager that made it).
The objects the cluster's controllers made for them (ReplicaSets of a
Deployment, Pods, Jobs of a CronJob) and the Events about any of them are
read when the page is asked for (:func:`related`), a few lists in the app's
namespaces; a kind the agent may not list is left out, not an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.cluster import ClusterClient
from agent.health import assess
from agent.kube.errors import ClusterError
from agent.models import JSONDict
from agent.sync.plan import Step

# Kinds a controller makes for its owner, in the order they are looked for,
# each with the kinds that can own it.
_CHILD_KINDS = (
    ("batch/v1", "Job", ("CronJob",)),
    ("apps/v1", "ReplicaSet", ("Deployment",)),
    ("v1", "Pod", ("ReplicaSet", "StatefulSet", "DaemonSet", "Job")),
)
MAX_EVENTS = 30


@dataclass(frozen=True)
class LiveObject:
    """One object of the app as the page shows it."""

    key: str
    api_version: str
    kind: str
    namespace: str
    name: str
    status: str  # the diff status: in-sync, modified, missing, extraneous
    uid: str = ""
    owners: tuple[str, ...] = ()  # uids of its ownerReferences
    changed_by: str = ""  # the field manager of its newest change
    changed_at: str = ""
    health: str = ""  # children only: the app's own objects carry it in the observation
    rule: str = ""

    def to_dict(self) -> JSONDict:
        return {
            "object": self.key,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "status": self.status,
            "uid": self.uid,
            "owners": list(self.owners),
            "changedBy": self.changed_by,
            "changedAt": self.changed_at,
        }


def last_change(live: Mapping[str, Any]) -> tuple[str, str]:
    """The field manager and time of the newest ``managedFields`` entry (of
    entries in the same second, the later one listed), or the creation time
    with no manager when there are none."""
    meta = live.get("metadata") or {}
    entries = [e for e in meta.get("managedFields") or () if isinstance(e, Mapping) and e.get("time")]
    if not entries:
        return "", str(meta.get("creationTimestamp") or "")
    _, _, newest = max((str(e["time"]), i, e) for i, e in enumerate(entries))
    return str(newest.get("manager") or ""), str(newest["time"])


def live_object(step: Step) -> LiveObject:
    """What the page keeps of one planned object (a plan step: its key,
    API version, diff and live object, None when missing).  A drifted
    object's last change is the newest write to a field that differs, as
    the drift report names it; otherwise its newest ``managedFields`` entry."""
    live, diff = step.live, step.diff
    meta = (live or {}).get("metadata") or {}
    manager, at = last_change(live) if live is not None else ("", "")
    written = sorted((c.time, c.manager) for c in diff.changes if c.manager) or (
        [(diff.time, diff.manager)] if diff.manager else []
    )
    if written:
        at, manager = written[-1]
    owners = tuple(str(r.get("uid", "")) for r in meta.get("ownerReferences") or () if r.get("uid"))
    key = step.key
    return LiveObject(
        str(key),
        step.api_version,
        key.kind,
        key.namespace,
        key.name,
        str(diff.status),
        str(meta.get("uid") or ""),
        owners,
        manager,
        at,
    )


def _child(obj: Mapping[str, Any], api_version: str, kind: str) -> LiveObject:
    meta = obj.get("metadata") or {}
    manager, at = last_change(obj)
    h = assess(obj)
    return LiveObject(
        f"{kind}/{meta.get('namespace', '')}/{meta.get('name', '')}",
        api_version,
        kind,
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
        "",
        str(meta.get("uid") or ""),
        tuple(str(r.get("uid", "")) for r in meta.get("ownerReferences") or () if r.get("uid")),
        manager,
        at,
        h.status.label,
        h.rule,
    )


@dataclass(frozen=True)
class Related:
    """What the cluster's controllers made for the app, and the recent Events."""

    children: tuple[LiveObject, ...] = ()
    events: tuple[JSONDict, ...] = ()


def _list(cluster: ClusterClient, api_version: str, kind: str, namespace: str) -> list[JSONDict]:
    try:
        return cluster.list(api_version, kind, namespace)
    except ClusterError:  # forbidden or not served: the page shows what it may
        return []


def related(cluster: ClusterClient, objects: Sequence[LiveObject]) -> Related:
    """The children of the app's objects (by ownerReferences, at any depth)
    and the newest Events about any of them."""
    namespaces = sorted({o.namespace for o in objects if o.namespace})
    known = {o.uid: o.kind for o in objects if o.uid}
    children: list[LiveObject] = []
    for api_version, kind, owner_kinds in _CHILD_KINDS:
        if not any(k in owner_kinds for k in known.values()):
            continue
        for ns in namespaces:
            for obj in _list(cluster, api_version, kind, ns):
                refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
                if not any(r.get("uid") in known for r in refs):
                    continue
                child = _child(obj, api_version, kind)
                children.append(child)
                known[child.uid] = kind
    events = [e for ns in namespaces for e in _list(cluster, "v1", "Event", ns)]
    return Related(tuple(children), tuple(_events(events, set(known))))


def _events(events: Iterable[JSONDict], uids: set[str]) -> list[JSONDict]:
    rows = []
    for e in events:
        about = e.get("involvedObject") or e.get("regarding") or {}
        if about.get("uid") not in uids:
            continue
        meta = e.get("metadata") or {}
        at = e.get("lastTimestamp") or e.get("eventTime") or meta.get("creationTimestamp") or ""
        source = e.get("reportingComponent") or (e.get("source") or {}).get("component") or ""
        rows.append(
            {
                "at": str(at),
                "type": str(e.get("type") or "Normal"),
                "reason": str(e.get("reason") or ""),
                "object": f"{about.get('kind', '')}/{about.get('name', '')}",
                "message": str(e.get("message") or e.get("note") or ""),
                "count": int(e.get("count") or 1),
                "source": str(source),
            }
        )
    rows.sort(key=lambda r: str(r["at"]), reverse=True)
    return rows[:MAX_EVENTS]


def tree(objects: Sequence[LiveObject], children: Sequence[LiveObject]) -> list[tuple[str, list[Any]]]:
    """The app's objects grouped by kind (the kinds in the order a sync
    applies them), each followed by what it owns, depth first:
    ``[(kind, [(object, depth), ...]), ...]``."""
    owned: dict[str, list[LiveObject]] = {}
    for c in children:
        for uid in c.owners:
            owned.setdefault(uid, []).append(c)
    groups: dict[str, list[Any]] = {}
    app_uids = {o.uid for o in objects if o.uid}
    for o in objects:
        if any(uid in app_uids for uid in o.owners):
            continue  # drawn under its owner
        rows = groups.setdefault(o.kind, [])
        _walk(o, 0, owned, rows, objects)
    return list(groups.items())


def _walk(
    o: LiveObject,
    depth: int,
    owned: dict[str, list[LiveObject]],
    rows: list[Any],
    objects: Sequence[LiveObject],
) -> None:
    rows.append((o, depth))
    if depth > 8 or not o.uid:
        return
    below = [a for a in objects if o.uid in a.owners] + owned.get(o.uid, [])
    for c in sorted(below, key=lambda c: (c.kind, c.name)):
        _walk(c, depth + 1, owned, rows, objects)
