"""The registry: the API verbs over storage and admission, by resource type.

What the API server's generic registry (``apiserver/pkg/registry/generic``)
does for every kind: read, list a page, watch, create, update, patch (merge,
JSON, strategic, server-side apply), delete and delete a collection, each
write through :mod:`agent.emulator.admission` inside one store transaction,
then announced to the lifecycle (finalizers, garbage collection), the
controllers and the watches.  Both front doors use it: the REST layer
(:mod:`agent.emulator.rest`) by the type a URL names, the in-process client
(:class:`agent.emulator.cluster.EmulatedCluster`) by apiVersion and kind.
It is the :class:`agent.emulator.ports.Cluster` of the parts beside it.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agent.emulator import applying, conversion, watch
from agent.emulator.admission.causes import check_patch_options
from agent.emulator.allocation import Allocator
from agent.emulator.bootstrap import bootstrap
from agent.emulator.catalog import Catalog
from agent.emulator.controllers import Controllers
from agent.emulator.faults import FaultConfig, Faults
from agent.emulator.fields import managed, patching
from agent.emulator.lifecycle import Lifecycle
from agent.emulator.objects import JSON, as_version, now
from agent.emulator.options import Options
from agent.emulator.ports import SYSTEM_MANAGER, Change, Listener
from agent.emulator.served import ConvertedWrites
from agent.emulator.storage.listing import ListResult, list_from
from agent.emulator.storage.store import Events, Store
from agent.emulator.writes import Writes
from agent.kube.errors import AlreadyExists, BadRequest, Invalid, NotFound, UnsupportedMediaType
from agent.kube.kinds import ResourceType
from agent.kube.nodes import Node

Objects = list[JSON]
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}


class Registry:
    def __init__(self, path: str | Path = ":memory:", options: Options | None = None) -> None:
        self.options = options or Options()
        self.store = Store(path)
        self.requests: Counter[str] = Counter()  # verb -> count of client requests, for tests and metrics
        self.catalog = Catalog(self.store)
        self._listeners: list[Listener] = []
        saved = self.store.get_meta("faults")
        config = self.options.faults
        if config is None and saved:
            config = FaultConfig.model_validate(json.loads(saved))
        self.faults = Faults(
            config, save=lambda text: self.store.set_meta("faults", text), seed=self.options.seed
        )
        if self.options.faults is not None:
            self.store.set_meta("faults", json.dumps(self.faults.to_json()))
        self.allocator = Allocator(self.store, self.options.service_cidr)
        self.lifecycle = Lifecycle(self)
        self.controllers = Controllers(self)
        self._writes = Writes(self.store, self.catalog, self.allocator, self.lifecycle, self._announced)
        self._converted = ConvertedWrites(self._writes, self.types)
        bootstrap(self)
        self.controllers.resume()

    def system_create(self, rt: ResourceType, body: JSON, ns: str, manager: str = SYSTEM_MANAGER) -> Any:
        """Create as a controller would; None when it exists or is refused."""
        try:
            return self._writes.create(rt, body, ns, manager, dry_run=False)
        except (AlreadyExists, Invalid, NotFound):
            return None

    def system_delete(self, rt: ResourceType, ns: str, name: str) -> None:
        self.lifecycle.delete(rt, name, ns, dry_run=False, policy=None, preconditions=None)

    def _announced(self, rt: ResourceType, obj: JSON, rv: int, removed: bool) -> None:
        self.committed(rt, obj, rv, removed=removed)

    def close(self) -> None:
        self.controllers.stop()
        self.store.close()

    # -- types (the catalog) and the ports the background parts use ------------------------------
    def types(self) -> dict[tuple[str, str], ResourceType]:
        return self.catalog.types()

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        return self.catalog.resource_type(api_version, kind)

    def add_listener(self, fn: Listener) -> None:
        """``fn(resourceVersion, group, plural)`` after every committed write (watch wake-ups)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def notify(self, rv: int, group: str, plural: str) -> None:
        for fn in list(self._listeners):
            fn(rv, group, plural)

    def committed(self, rt: ResourceType, obj: JSON, rv: int, *, removed: bool = False) -> None:
        if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
            self.catalog.invalidate()
        self.lifecycle.after_write(rt, obj, removed)
        self.controllers.after_write(rt, obj, removed)
        self.notify(rv, rt.group, rt.plural)

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
        return self._writes.system_write(rt, ns, name, change, manager=manager, subresource=subresource)

    def run_due(self) -> None:
        self.controllers.tick()

    def next_due(self) -> float | None:
        return self.controllers.next_due()

    def request(self, verb: str, rt: ResourceType | None = None) -> None:
        """A client request: counted, through the fault gate, and the controllers' due work run."""
        self.requests[verb] += 1
        self.faults.gate(verb, rt.kind if rt else "", rt.plural if rt else "")
        self.controllers.tick()

    def count(self, verb: str) -> None:
        """Count a request past the fault gate that runs no controllers (an HTTP watch runs them)."""
        self.requests[verb] += 1

    @property
    def writes(self) -> int:
        return sum(self.requests[v] for v in WRITE_VERBS)

    def _writer(self, rt: ResourceType) -> Writes | ConvertedWrites:
        """The writes of a type; through a converting layer in a version it is not stored in."""
        return self._converted if conversion.converted(rt.group, rt.kind, rt.version) else self._writes

    # -- reads -----------------------------------------------------------------------------------
    def get(self, rt: ResourceType, name: str, namespace: str = "") -> JSON | None:
        self.request("get", rt)
        return self.read(rt, name, namespace)

    def read(self, rt: ResourceType, name: str, namespace: str = "") -> JSON | None:
        obj = self.store.get(rt.group, rt.plural, namespace if rt.namespaced else "", name)
        return None if obj is None else as_version(obj, rt)

    def list(
        self,
        rt: ResourceType,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
        *,
        field_selector: str | None = None,
        limit: int = 0,
        continue_token: str = "",
        exact: int | None = None,
    ) -> ListResult:
        """``exact``: the list as it was at that resourceVersion (``resourceVersionMatch=Exact``)."""
        self.request("list", rt)
        options = {"field_selector": field_selector, "limit": limit, "continue_token": continue_token}
        return self.list_page(rt, namespace, label_selector, exact=exact, **options)  # type: ignore[arg-type]

    def list_page(
        self,
        rt: ResourceType,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
        *,
        field_selector: str | None = None,
        limit: int = 0,
        continue_token: str = "",
        exact: int | None = None,
    ) -> ListResult:
        """A page of objects, without counting a request (watches and the REST layer list too)."""
        ns = namespace if (rt.namespaced and namespace) else None
        return list_from(
            self.store,
            rt,
            ns,
            lambda o: as_version(o, rt),
            label_selector=label_selector,
            field_selector=field_selector,
            limit=limit,
            continue_token=continue_token,
            exact=exact,
        )

    def watch(
        self,
        rt: ResourceType,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
        *,
        timeout: float = 60,
        stop: threading.Event | None = None,
    ) -> Iterator[tuple[str, JSON]]:
        self.request("watch", rt)
        return watch.watch(self, rt, namespace, label_selector, timeout=timeout, stop=stop)

    def current_rv(self) -> int:
        return self.store.current_rv()

    def oldest_rv(self) -> int:
        """The lowest resourceVersion a watch may still start from (plus one)."""
        return self.store.oldest_event_rv()

    def events_since(self, rv: int, rt: ResourceType, namespace: str = "") -> Events:
        """The log after ``rv`` of one type (in one namespace, if given): what watches replay."""
        return self.store.events_since(rv, rt.group, rt.plural, namespace or None)

    # -- writes ----------------------------------------------------------------------------------
    def resolve(self, obj: Mapping[str, Any], namespace: str | None) -> tuple[ResourceType, JSON, str]:
        """The type, a copy of the body (its namespace settled) and the namespace of a written object."""
        return self._writes.resolve(obj, namespace)

    def create(self, rt: ResourceType, body: JSON, ns: str, *, manager: str, dry_run: bool = False) -> JSON:
        """Create ``body`` (as :meth:`resolve` made it)."""
        self.request("create", rt)
        return self._writer(rt).create(rt, body, ns, manager, dry_run=dry_run)

    def update(
        self,
        rt: ResourceType,
        body: JSON,
        ns: str,
        *,
        name: str | None = None,
        manager: str,
        dry_run: bool = False,
        subresource: str = "",
    ) -> JSON:
        """PUT ``body`` (as :meth:`resolve` made it): ``metadata.resourceVersion``, when set,
        is a precondition (409 on mismatch)."""
        self.request("update", rt)
        target = name or body["metadata"].get("name")
        if not target:
            raise BadRequest("name is required: metadata.name: Required value")
        if name and body["metadata"].get("name") and body["metadata"]["name"] != name:
            raise BadRequest(
                f"the name of the object ({body['metadata']['name']}) does not match the name "
                f"on the URL ({name})"
            )
        body["metadata"]["name"] = target
        return self._writer(rt).update(
            rt, ns, target, lambda live: body, manager=manager, dry_run=dry_run, subresource=subresource
        )

    def patch(  # noqa: PLR0913 - the PATCH request's parts, keyword-only past the patch
        self,
        rt: ResourceType,
        name: str,
        namespace: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        manager: str,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
        owned: bool = False,
    ) -> JSON:
        """PATCH: ``merge`` (RFC 7386), ``json`` (RFC 6902), ``strategic`` or ``apply`` (or
        their media types).  ``owned``: the caller hands ``patch`` over (the REST layer's
        freshly decoded body), so it need not be copied."""
        patch_type = PATCH_TYPES.get(patch_type, patch_type)
        if patch_type not in ("merge", "json", "strategic", "apply"):
            raise UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(PATCH_TYPES)
            )
        if patch_type == "apply":
            return self.apply(
                rt,
                name,
                namespace,
                patch,
                manager=manager,
                force=force,
                dry_run=dry_run,
                subresource=subresource,
                owned=owned,
            )[0]
        self.request("patch", rt)
        check_patch_options(apply=False, manager=manager, force_given=force)
        node = self.catalog.schema_of(rt)
        builtin = self.catalog.crd_of(rt) is None

        patched = _patcher(patch_type, patch, node, builtin=builtin)
        ns = namespace if rt.namespaced else ""
        options: dict[str, Any] = {"dry_run": dry_run, "subresource": subresource, "from_patch": True}
        return self._writer(rt).update(rt, ns, name, patched, manager=manager, **options)

    def apply(  # noqa: PLR0913 - the apply request's parts, keyword-only past the patch
        self,
        rt: ResourceType,
        name: str,
        namespace: str,
        patch: Any,
        *,
        manager: str,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
        owned: bool = False,
    ) -> tuple[JSON, bool]:
        """Server-side apply: the object, and whether the apply created it (the REST
        layer answers 201 then).  ``owned``: ``patch`` is the caller's to give away."""
        self.request("patch", rt)
        ns = namespace if rt.namespaced else ""
        node = self.catalog.schema_of(rt)
        builtin = self.catalog.crd_of(rt) is None
        applied = applying.prepare(
            rt, name, ns, patch, manager=manager, node=node, builtin=builtin, owned=owned
        )
        writer = managed.Writer(manager, rt.api_version, now(), subresource)
        return self._writer(rt).apply(applied, writer, force=force, dry_run=dry_run)

    def delete(
        self,
        rt: ResourceType,
        name: str,
        namespace: str = "",
        *,
        dry_run: bool = False,
        policy: str | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> JSON | None:
        """Delete now, or mark for deletion while finalizers remain (the object is returned then)."""
        self.request("delete", rt)
        ns = namespace if rt.namespaced else ""
        return self.lifecycle.delete(
            rt, name, ns, dry_run=dry_run, policy=policy, preconditions=preconditions
        )

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str = "",
        label_selector: str | None = None,
        field_selector: str | None = None,
        *,
        dry_run: bool = False,
        policy: str | None = None,
    ) -> Objects:
        self.request("deletecollection", rt)
        page = self.list_page(rt, namespace, label_selector, field_selector=field_selector)
        deleted: Objects = []
        for obj in page.items:
            meta = obj["metadata"]
            try:
                self.lifecycle.delete(
                    rt, meta["name"], meta.get("namespace", ""), dry_run=dry_run, policy=policy
                )
            except NotFound:
                continue
            deleted.append(obj)
        return deleted


def _patcher(patch_type: str, patch: Any, node: Node, *, builtin: bool) -> Change:
    """The change a merge, JSON or strategic merge patch makes to the live object."""

    def patched(live: JSON) -> JSON:
        result: Any
        if patch_type == "merge":
            result = patching.merge_patch(live, patch)
        elif patch_type == "json":
            result = patching.json_patch(live, patch)
        else:
            result = patching.strategic_merge_patch(live, patch, node, builtin=builtin)
        if not isinstance(result, dict):
            raise BadRequest("the patched object is not a JSON object")
        return result

    return patched
