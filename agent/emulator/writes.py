"""The write pipeline: admission, the store transaction, and the announcement after it.

Every write the cluster makes goes through here, whichever verb asked for it:
the object read and changed inside one transaction, admitted
(:mod:`agent.emulator.admission`), compared with the live object (a write that
changes nothing changes nothing, not even resourceVersion), stored with the
next resourceVersion, and announced once the transaction has committed.  Cut
from the registry so the verbs (request accounting, patch types, options)
read apart from the transaction mechanics, as the API server's
``registry/generic/registry/store.go`` sits under its REST handlers.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from agent.emulator.admission import Admission, admit
from agent.emulator.admission import causes as checks
from agent.emulator.allocation import Allocator
from agent.emulator.applying import Applied, last_applied_fields, update_last_applied
from agent.emulator.catalog import Catalog
from agent.emulator.controllers.volumes import default_class
from agent.emulator.fields import managed
from agent.emulator.lifecycle import Lifecycle, finalized
from agent.emulator.objects import JSON, as_version, clone, modified, not_found, qualified
from agent.emulator.ports import SYSTEM_MANAGER, Change
from agent.emulator.rbac import escalation
from agent.emulator.storage.store import Store, Transaction
from agent.kube.errors import AlreadyExists, BadRequest, ClusterError, Conflict, Invalid, NotFound
from agent.kube.kinds import ResourceType

Event = tuple[ResourceType, JSON, int, bool]  # announced once its transaction commits
Announce = Callable[[ResourceType, JSON, int, bool], None]


class Writes:
    def __init__(
        self, store: Store, catalog: Catalog, allocator: Allocator, lifecycle: Lifecycle, announce: Announce
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.allocator = allocator
        self.lifecycle = lifecycle
        self._announce_to = announce

    def _announce(self, event: Event) -> None:
        self._announce_to(*event)

    def resolve(self, obj: Mapping[str, Any], namespace: str | None) -> tuple[ResourceType, JSON, str]:
        """The type, a copy of the body (with its namespace settled) and the namespace of a
        written object."""
        if not isinstance(obj, Mapping):
            raise BadRequest("the request body must be a JSON or YAML object")
        body = copy.deepcopy(dict(obj))
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            raise BadRequest(
                "Object 'Kind' is missing in the request body"
                if not kind
                else "Object 'apiVersion' is missing"
            )
        rt = self.catalog.resource_type(api_version, kind)
        meta = body.get("metadata")
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise BadRequest("metadata: must be an object")
        body["metadata"] = meta = dict(meta)
        return rt, body, _settle_namespace(rt, meta, namespace)

    def admit(
        self,
        rt: ResourceType,
        body: JSON,
        live: JSON | None,
        manager: str,
        subresource: str,
        *,
        entries: managed.Entries | None = None,
        keep_fields: bool = False,
        serialized: bool = False,
    ) -> JSON:
        crd = self.catalog.crd_of(rt)
        request = Admission(
            rt=rt,
            body=body,
            live=live,
            manager=manager,
            subresource=subresource,
            node=self.catalog.schema_of(rt),
            builtin=crd is None,
            custom=None if crd is None else crd_version(crd, rt.version),
            allocator=self.allocator,
            entries=entries,
            keep_fields=keep_fields,
            serialized=serialized,
        )
        admitted = admit(request)
        guard = escalation.GUARD.get()
        if guard is not None:  # a non-admin's write of an RBAC object: no escalation
            guard(rt, admitted)
        return admitted

    def create(
        self,
        rt: ResourceType,
        body: JSON,
        ns: str,
        manager: str,
        *,
        dry_run: bool,
        entries: managed.Entries | None = None,
        serialized: bool = False,
    ) -> JSON:
        meta = body["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)
            )
        if meta.get("resourceVersion"):  # the storage layer's refusal, as etcd3's store answers it
            raise ClusterError(
                "resourceVersion should not be set on objects to be created", code=500, reason=""
            )
        checks.raise_invalid(rt, str(meta.get("name") or ""), checks.name_causes(rt, meta.get("name")))
        with self.store.transaction() as tx:
            if (rt.group, rt.kind) == ("", "PersistentVolumeClaim"):
                _default_storage_class(self.store, body)
            if rt.namespaced:
                self.lifecycle.require_namespace(ns, rt, str(meta["name"]))
            if self.store.get(rt.group, rt.plural, ns, meta["name"]) is not None:
                raise AlreadyExists(
                    f'{qualified(rt)} "{meta["name"]}" already exists',
                    details={"name": meta["name"], "group": rt.group, "kind": rt.plural},
                )
            new = self.admit(rt, body, None, manager, "", entries=entries, serialized=serialized)
            if dry_run:
                new["metadata"]["resourceVersion"] = ""
                return as_version(new, rt)
            rv = tx.next_rv("ADDED", rt.group, rt.plural, ns, new["metadata"]["name"])
            new["metadata"]["resourceVersion"] = str(rv)
            tx.put(rt.group, rt.plural, ns, new["metadata"]["name"], rv, new, created=True)
        self._announce_to(rt, new, rv, False)
        return as_version(new, rt)

    def update(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        change: Change,
        *,
        manager: str,
        dry_run: bool,
        subresource: str,
        from_patch: bool = False,
    ) -> JSON:
        with self.store.transaction() as tx:
            live = self.store.get(rt.group, rt.plural, ns, name)
            if live is None:
                raise not_found(rt, name)
            as_version(live, rt)
            body = change(clone(live))
            if not isinstance(body, dict):
                raise BadRequest("the patched object is not a JSON object")
            body.setdefault("metadata", {})
            want_rv = body["metadata"].get("resourceVersion")
            if want_rv and want_rv != live["metadata"]["resourceVersion"]:
                raise modified(rt, name)
            body["apiVersion"], body["kind"] = rt.api_version, rt.kind
            body["metadata"]["name"] = name
            if rt.namespaced:
                body["metadata"]["namespace"] = ns
            new = self.admit(rt, body, live, manager, subresource, keep_fields=from_patch)
            result, event = self._store_update(tx, rt, ns, live, new, dry_run=dry_run)
        if event is not None:
            self._announce(event)
        return result

    @staticmethod
    def _store_update(
        tx: Transaction, rt: ResourceType, ns: str, live: JSON, new: JSON, *, dry_run: bool
    ) -> tuple[JSON, Event | None]:
        """Write an admitted update; the event to announce once the transaction commits."""
        name = new["metadata"]["name"]
        if finalized(live, new):
            if dry_run:
                return as_version(new, rt), None
            rv = tx.next_rv("DELETED", rt.group, rt.plural, ns, name)
            new["metadata"]["resourceVersion"] = str(rv)
            tx.remove(rt.group, rt.plural, ns, name, rv, new)
            return as_version(new, rt), (rt, new, rv, True)
        if _same(live, new):
            return as_version(live, rt), None  # a no-op write changes nothing, not even resourceVersion
        if dry_run:
            return as_version(new, rt), None
        rv = tx.next_rv("MODIFIED", rt.group, rt.plural, ns, name)
        new["metadata"]["resourceVersion"] = str(rv)
        tx.put(rt.group, rt.plural, ns, name, rv, new, previous=live)
        return as_version(new, rt), (rt, new, rv, False)

    def apply(
        self, applied: Applied, writer: managed.Writer, *, force: bool, dry_run: bool
    ) -> tuple[JSON, bool]:
        """Merge a prepared apply (:func:`agent.emulator.applying.prepare`) into the live
        object and write it: the object, and whether it was created."""
        rt, name, ns, node = applied.rt, applied.name, applied.ns, applied.node
        manager, subresource = writer.manager, writer.subresource
        with self.store.lock:  # read, merge and write as one step
            live = self.store.get(rt.group, rt.plural, ns, name)
            if live is not None:
                as_version(live, rt)
            allowed = last_applied_fields(live, node, manager)
            entries = managed.read_entries((live or {}).get("metadata") or {}, stored=True)
            merged, entries = managed.apply(
                live, applied.body, node, entries, writer, force=force, allowed=allowed, fields=applied.fields
            )
            merged["apiVersion"], merged["kind"] = rt.api_version, rt.kind
            if allowed is not None:
                update_last_applied(merged, applied.patch)
            if live is None:
                merged.setdefault("metadata", {}).pop("resourceVersion", None)
                # ``merged`` is the applied object, serialized above: admission need not again
                made = self.create(rt, merged, ns, manager, dry_run=dry_run, entries=entries, serialized=True)
                return made, True
            if applied.want_rv and applied.want_rv != live["metadata"]["resourceVersion"]:
                raise modified(rt, name, details=False)
            merged["metadata"]["managedFields"] = managed.write_entries(entries)
            with self.store.transaction() as tx:
                new = self.admit(rt, merged, live, manager, subresource, entries=entries)
                result, event = self._store_update(tx, rt, ns, live, new, dry_run=dry_run)
        if event is not None:
            self._announce(event)
        return result, False

    def system_write(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        change: Change,
        *,
        manager: str = SYSTEM_MANAGER,
        subresource: str = "",
    ) -> JSON | None:
        """Change an object as a controller would; None when it is gone or unchanged."""
        try:
            with self.store.transaction() as tx:
                live = self.store.get(rt.group, rt.plural, ns, name)
                if live is None:
                    return None
                as_version(live, rt)
                body = change(clone(live))
                if body is None or body == live:  # nothing to change: no admission either
                    return None
                new = self.admit(rt, body, live, manager, subresource)
                if _same(live, new):
                    return None
                result, event = self._store_update(tx, rt, ns, live, new, dry_run=False)
        except (Invalid, Conflict, NotFound):
            return None
        if event is not None:
            self._announce(event)
        return result


def _default_storage_class(store: Store, body: JSON) -> None:
    """The DefaultStorageClass admission: a claim created without a class gets the default."""
    spec = body.get("spec")
    if isinstance(spec, dict) and spec.get("storageClassName") is None:
        default = default_class(store)
        if default is not None:
            spec["storageClassName"] = default


def _settle_namespace(rt: ResourceType, meta: JSON, namespace: str | None) -> str:
    in_body = str(meta.get("namespace") or "")
    if not rt.namespaced:
        meta.pop("namespace", None)
        return ""
    ns = in_body or (namespace or "")
    if namespace and in_body and namespace != in_body:
        raise BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    if not ns:
        raise BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request "
            "(none was set)"
        )
    meta["namespace"] = ns
    return ns


def _same(live: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    a = {k: v for k, v in live.items() if k != "metadata"}
    b = {k: v for k, v in new.items() if k != "metadata"}
    if a != b:
        return False
    strip = ("resourceVersion", "managedFields")
    ma = {k: v for k, v in live["metadata"].items() if k not in strip}
    mb = {k: v for k, v in new["metadata"].items() if k not in strip}
    fa = [{k: v for k, v in e.items() if k != "time"} for e in live["metadata"].get("managedFields") or ()]
    fb = [{k: v for k, v in e.items() if k != "time"} for e in new["metadata"].get("managedFields") or ()]
    return ma == mb and fa == fb


def crd_version(crd: JSON, version: str) -> JSON:
    """The entry of ``spec.versions`` a custom resource of ``version`` is checked against."""
    for v in (crd.get("spec") or {}).get("versions") or ():
        if v.get("name") == version:
            return dict(v)
    return {}
