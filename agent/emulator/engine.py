"""The emulated cluster's API semantics, in process.

Implements :class:`agent.cluster.base.ClusterClient` over :class:`Store` the
way a Kubernetes API server behaves towards clients.  Every write goes
through one admission pipeline (:meth:`EmulatedCluster._admit`): server-owned
metadata kept from the live object, Secret ``stringData`` folded into
``data``, serialization as the API server does it (empty maps and lists
dropped, quantities canonical), defaulting, validation (422 naming the
field), ``generation`` moved only by a change outside metadata and status,
status written only through the status subresource, and managedFields
recorded.  Deletion, finalizers, namespaces and garbage collection live in
:mod:`lifecycle`; the simulated controllers in :mod:`controllers`.
"""

from __future__ import annotations

import base64
import contextvars
import copy
import json
import secrets
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.emulator.admission import validation
from agent.emulator.admission.defaulting import apply_defaults
from agent.emulator.controllers import Controllers
from agent.emulator.faults import FaultConfig, Faults
from agent.emulator.fields import fieldsets, managed, patching
from agent.emulator.lifecycle import Lifecycle
from agent.emulator.objects import IN_PROCESS_MANAGER, JSON, now, qualified, spec_part
from agent.emulator.storage import watch as watching
from agent.emulator.storage.listing import ListResult, list_page
from agent.emulator.storage.store import Store
from agent.kube import kinds, shapes
from agent.kube import nodes as schema
from agent.kube.errors import AlreadyExists, BadRequest, Conflict, Invalid, NotFound, UnsupportedMediaType
from agent.kube.kinds import ResourceType, crd_resource_types
from agent.models import split_api_version

JSONList = list[JSON]
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
# Kinds whose registry strategy keeps metadata.generation (custom resources always do).
GENERATION_KINDS = {
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "PodDisruptionBudget"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
}
_SERVER_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
)
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}
# Set by the REST server, which injects faults itself (with asyncio-friendly latency).
faults_checked: contextvars.ContextVar[bool] = contextvars.ContextVar("faults_checked", default=False)


def json_merge_patch(target: Any, patch: Any) -> Any:
    return patching.merge_patch(target, patch)


@dataclass
class Options:
    """How the emulated cluster behaves beyond the API: timing and faults."""

    rollout_seconds: float = 0.0  # until simulated controllers report a rollout (0: at once)
    time_factor: float = 1.0  # scales deadlines such as progressDeadlineSeconds
    faults: FaultConfig | None = None
    seed: int | None = None
    service_cidr: str = "10.96.0.0/12"
    extra: dict[str, Any] = field(default_factory=dict)


class EmulatedCluster:
    """The embedded emulated cluster (a ClusterClient)."""

    def __init__(self, path: str | Path = ":memory:", options: Options | None = None) -> None:
        self.options = options or Options()
        self.store = Store(path)
        self.requests: Counter[str] = Counter()  # verb -> count of client requests, for tests and metrics
        self._lock = threading.RLock()
        self._types: dict[tuple[str, str], ResourceType] | None = None
        self._crds: dict[tuple[str, str], JSON] = {}
        self._listeners: list[Callable[[int, str, str], None]] = []
        saved = self.store.get_meta("faults")
        config = self.options.faults
        if config is None and saved:
            config = FaultConfig.model_validate(json.loads(saved))
        self.faults = Faults(
            config, save=lambda text: self.store.set_meta("faults", text), seed=self.options.seed
        )
        if self.options.faults is not None:
            self.store.set_meta("faults", json.dumps(self.faults.to_json()))
        self.lifecycle = Lifecycle(self)
        self.controllers = Controllers(self)
        self._system_namespaces()
        self.controllers.resume()

    def _system_namespaces(self) -> None:
        """The namespaces every cluster starts with (kubectl's context defaults to ``default``)."""
        rt = self.resource_type("v1", "Namespace")
        for name in SYSTEM_NAMESPACES:
            if self.store.get(rt.group, rt.plural, "", name) is None:
                body: JSON = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                self._create(rt, body, "", "kube-apiserver", False)

    # -- discovery --------------------------------------------------------------------------
    def types(self) -> dict[tuple[str, str], ResourceType]:
        """Every served resource type by (group, plural): built-ins and CRDs, preferred versions."""
        with self._lock:
            if self._types is None:
                types = {(t.group, t.plural): t for t in kinds.BUILTIN}
                crds: dict[tuple[str, str], JSON] = {}
                for crd in self.store.list("apiextensions.k8s.io", "customresourcedefinitions"):
                    if (crd.get("metadata") or {}).get("deletionTimestamp"):
                        continue
                    served = crd_resource_types(crd)
                    if served:
                        t = sorted(served, key=lambda t: t.versions.index(t.version))[0]
                        types.setdefault((t.group, t.plural), t)
                        crds[(t.group, t.plural)] = crd
                self._types, self._crds = types, crds
            return self._types

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        group, version = split_api_version(api_version)
        for t in self.types().values():
            if t.group == group and t.kind == kind and version in self.served_versions(t):
                return t if t.version == version else _at_version(t, version)
        raise NotFound(f"the server could not find the requested resource ({kind} in {api_version})")

    def resource_by_plural(self, group: str, version: str, plural: str) -> ResourceType:
        t = self.types().get((group, plural))
        if t is None or version not in self.served_versions(t):
            raise NotFound("the server could not find the requested resource")
        return t if t.version == version else _at_version(t, version)

    def served_versions(self, t: ResourceType) -> tuple[str, ...]:
        """Custom resources in every served version (their conversion is the identity); a
        built-in kind only in its preferred version, since the emulator converts no schemas."""
        if self.crd_of(t) is not None:
            return t.versions or (t.version,)
        return (t.version,)

    def crd_of(self, rt: ResourceType) -> JSON | None:
        self.types()
        return self._crds.get((rt.group, rt.plural))

    def schema_of(self, rt: ResourceType) -> schema.Node:
        crd = self.crd_of(rt)
        if crd is None:
            return schema.root(rt)
        for v in (crd.get("spec") or {}).get("versions") or ():
            if v.get("name") == rt.version:
                raw = (v.get("schema") or {}).get("openAPIV3Schema") or {
                    "x-kubernetes-preserve-unknown-fields": True
                }
                return schema.root(rt, raw)
        return schema.root(rt, {"x-kubernetes-preserve-unknown-fields": True})

    def has_status(self, rt: ResourceType) -> bool:
        return "status" in rt.subresources

    def _invalidate_types(self) -> None:
        with self._lock:
            self._types = None

    @property
    def writes(self) -> int:
        return sum(self.requests[v] for v in WRITE_VERBS)

    def add_listener(self, fn: Callable[[int, str, str], None]) -> None:
        """``fn(resourceVersion, group, plural)`` after every committed write (watch wake-ups)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[int, str, str], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _request(self, verb: str, rt: ResourceType | None = None) -> None:
        self.requests[verb] += 1
        if not faults_checked.get():
            self.faults.gate(verb, rt.kind if rt else "", rt.plural if rt else "")
        self.controllers.tick()

    def server_version(self) -> str:
        return kinds.KUBERNETES_VERSION

    def server_info(self) -> tuple[str, list[str]]:
        served: set[str] = set()
        for t in self.types().values():
            for version in self.served_versions(t):
                gv = f"{t.group}/{version}" if t.group else version
                served.update((gv, f"{gv}/{t.kind}"))
        return kinds.KUBERNETES_VERSION, sorted(served)

    # -- reads ---------------------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> JSON | None:
        rt = self.resource_type(api_version, kind)
        self._request("get", rt)
        return self.read(rt, name, namespace)

    def read(self, rt: ResourceType, name: str, namespace: str = "") -> JSON | None:
        obj = self.store.get(rt.group, rt.plural, namespace if rt.namespaced else "", name)
        return None if obj is None else self._as_version(obj, rt)

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
    ) -> JSONList:
        rt = self.resource_type(api_version, kind)
        self._request("list", rt)
        return self.list_page(rt, namespace, label_selector).items

    def list_page(
        self,
        rt: ResourceType,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
        field_selector: str | None = None,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListResult:
        ns = namespace if (rt.namespaced and namespace) else None
        rv = self.store.current_rv()
        items = [self._as_version(o, rt) for o in self.store.list(rt.group, rt.plural, ns)]
        return list_page(items, rt, rv, label_selector, field_selector, limit, continue_token)

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
        *,
        timeout: float = 60,
        stop: threading.Event | None = None,
    ) -> Iterator[tuple[str, JSON]]:
        """``(event type, object)``: ADDED for each current object, then changes."""
        rt = self.resource_type(api_version, kind)
        self._request("watch", rt)
        return watching.watch(self, rt, namespace, label_selector, timeout, stop)

    @staticmethod
    def _as_version(obj: JSON, rt: ResourceType) -> JSON:
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        return obj

    # -- writes --------------------------------------------------------------------------------
    def create(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = IN_PROCESS_MANAGER,
        dry_run: bool = False,
        namespace: str | None = None,
    ) -> JSON:
        rt, body, ns = self._target(obj, namespace)
        self._request("create", rt)
        return self._create(rt, body, ns, field_manager, dry_run)

    def _create(
        self,
        rt: ResourceType,
        body: JSON,
        ns: str,
        manager: str,
        dry_run: bool,
        entries: managed.Entries | None = None,
        *,
        serialized: bool = False,
    ) -> JSON:
        meta = body["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)
            )
        validation.raise_invalid(rt, "", validation.name_causes(rt, meta.get("name")))
        with self.store.transaction() as tx:
            if rt.namespaced:
                self.lifecycle.require_namespace(ns)
            if self.store.get(rt.group, rt.plural, ns, meta["name"]) is not None:
                raise AlreadyExists(
                    f'{qualified(rt)} "{meta["name"]}" already exists',
                    details={"name": meta["name"], "group": rt.group, "kind": rt.plural},
                )
            new = self._admit(rt, body, None, ns, manager, "", entries, serialized=serialized)
            if dry_run:
                new["metadata"]["resourceVersion"] = ""
                return self._as_version(new, rt)
            rv = tx.next_rv("ADDED", rt.group, rt.plural, ns, new["metadata"]["name"])
            new["metadata"]["resourceVersion"] = str(rv)
            tx.put(rt.group, rt.plural, ns, new["metadata"]["name"], rv, new)
        self._committed(rt, new, rv)
        return self._as_version(new, rt)

    def replace(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = IN_PROCESS_MANAGER,
        dry_run: bool = False,
        subresource: str = "",
        namespace: str | None = None,
        name: str | None = None,
    ) -> JSON:
        """PUT: ``metadata.resourceVersion``, when set, is a precondition (409 on mismatch)."""
        rt, body, ns = self._target(obj, namespace)
        self._request("update", rt)
        target = name or body["metadata"].get("name")
        if not target:
            raise BadRequest("name is required: metadata.name: Required value")
        if name and body["metadata"].get("name") and body["metadata"]["name"] != name:
            raise BadRequest(
                f"the name of the object ({body['metadata']['name']}) does not match the name "
                f"on the URL ({name})"
            )
        body["metadata"]["name"] = target
        return self._update(rt, ns, target, lambda live: body, field_manager, dry_run, subresource)

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        field_manager: str = IN_PROCESS_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> JSON:
        """PATCH: ``merge`` (RFC 7386), ``json`` (RFC 6902), ``strategic`` or ``apply``."""
        rt = self.resource_type(api_version, kind)
        return self.patch_resource(
            rt,
            name,
            namespace,
            patch,
            patch_type=patch_type,
            field_manager=field_manager,
            force=force,
            dry_run=dry_run,
            subresource=subresource,
        )

    def patch_resource(
        self,
        rt: ResourceType,
        name: str,
        namespace: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        field_manager: str = IN_PROCESS_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
        owned: bool = False,
    ) -> JSON:
        """``owned``: the caller hands ``patch`` over (the REST server's
        freshly decoded body), so it need not be copied."""
        patch_type = PATCH_TYPES.get(patch_type, patch_type)
        if patch_type not in ("merge", "json", "strategic", "apply"):
            raise UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(PATCH_TYPES)
            )
        if patch_type == "apply":
            return self.apply_resource(
                rt,
                name,
                namespace,
                patch,
                field_manager=field_manager,
                force=force,
                dry_run=dry_run,
                subresource=subresource,
                owned=owned,
            )[0]
        self._request("patch", rt)
        ns = namespace if rt.namespaced else ""
        if force:
            raise BadRequest("force may not be specified for non-apply patch")
        node = self.schema_of(rt)

        def patched(live: JSON) -> JSON:
            result: Any
            if patch_type == "merge":
                result = patching.merge_patch(live, patch)
            elif patch_type == "json":
                result = patching.json_patch(live, patch)
            else:
                result = patching.strategic_merge_patch(live, patch, node, builtin=self.crd_of(rt) is None)
            if not isinstance(result, dict):
                raise BadRequest("the patched object is not a JSON object")
            return result

        return self._update(rt, ns, name, patched, field_manager, dry_run, subresource, from_patch=True)

    def apply_resource(
        self,
        rt: ResourceType,
        name: str,
        namespace: str,
        patch: Any,
        *,
        field_manager: str = IN_PROCESS_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
        owned: bool = False,
    ) -> tuple[JSON, bool]:
        """Server-side apply (PATCH ``application/apply-patch+yaml``): the
        object, and whether the apply created it (the REST server answers
        201 then, 200 otherwise)."""
        self._request("patch", rt)
        ns = namespace if rt.namespaced else ""
        return self._apply(rt, name, ns, patch, field_manager, force, dry_run, subresource, owned=owned)

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = IN_PROCESS_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> JSON:
        """Server-side apply of a whole object (creates it when missing)."""
        rt, body, ns = self._target(obj, None)
        self._request("patch", rt)
        return self._apply(
            rt,
            str(body["metadata"].get("name", "")),
            ns,
            body,
            field_manager,
            force,
            dry_run,
            subresource,
            owned=True,
        )[0]

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        patch: Mapping[str, Any],
        *,
        field_manager: str = IN_PROCESS_MANAGER,
        dry_run: bool = False,
    ) -> JSON:
        """JSON merge patch (RFC 7386), as ``kubectl patch --type merge``."""
        return self.patch(
            api_version,
            kind,
            name,
            namespace,
            patch,
            patch_type="merge",
            field_manager=field_manager,
            dry_run=dry_run,
        )

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        *,
        dry_run: bool = False,
        propagation_policy: str | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> JSON | None:
        """Delete now, or mark for deletion while finalizers remain (the object is returned then)."""
        rt = self.resource_type(api_version, kind)
        self._request("delete", rt)
        return self.lifecycle.delete(
            rt,
            name,
            namespace if rt.namespaced else "",
            dry_run=dry_run,
            policy=propagation_policy,
            preconditions=preconditions,
        )

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str = "",
        label_selector: str | None = None,
        field_selector: str | None = None,
        *,
        dry_run: bool = False,
        propagation_policy: str | None = None,
    ) -> JSONList:
        self._request("deletecollection", rt)
        page = self.list_page(rt, namespace, label_selector, field_selector)
        deleted: JSONList = []
        for obj in page.items:
            meta = obj["metadata"]
            try:
                self.lifecycle.delete(
                    rt, meta["name"], meta.get("namespace", ""), dry_run=dry_run, policy=propagation_policy
                )
            except NotFound:
                continue
            deleted.append(obj)
        return deleted

    def close(self) -> None:
        self.controllers.stop()
        self.store.close()

    # -- the write pipeline -------------------------------------------------------------------
    def _target(self, obj: Mapping[str, Any], namespace: str | None) -> tuple[ResourceType, JSON, str]:
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
        rt = self.resource_type(api_version, kind)
        meta = body.get("metadata")
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise BadRequest("metadata: must be an object")
        body["metadata"] = meta = dict(meta)
        in_body = str(meta.get("namespace") or "")
        if not rt.namespaced:
            meta.pop("namespace", None)
            return rt, body, ""
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
        return rt, body, ns

    def _update(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        change: Callable[[JSON], JSON],
        manager: str,
        dry_run: bool,
        subresource: str,
        *,
        from_patch: bool = False,
    ) -> JSON:
        with self.store.transaction() as tx:
            live = self.store.get(rt.group, rt.plural, ns, name)
            if live is None:
                raise NotFound(
                    f'{qualified(rt)} "{name}" not found',
                    details={"name": name, "group": rt.group, "kind": rt.plural},
                )
            self._as_version(live, rt)
            body = change(copy.deepcopy(live))
            if not isinstance(body, dict):
                raise BadRequest("the patched object is not a JSON object")
            body.setdefault("metadata", {})
            want_rv = body["metadata"].get("resourceVersion")
            if want_rv and want_rv != live["metadata"]["resourceVersion"]:
                raise Conflict(
                    f'Operation cannot be fulfilled on {qualified(rt)} "{name}": the object has been '
                    f"modified; please apply your changes to the latest version and try again",
                    details={"name": name, "group": rt.group, "kind": rt.plural},
                )
            body["apiVersion"], body["kind"] = rt.api_version, rt.kind
            body["metadata"]["name"] = name
            if rt.namespaced:
                body["metadata"]["namespace"] = ns
            new = self._admit(rt, body, live, ns, manager, subresource, None, keep_fields=from_patch)
            result, event = self._store_update(tx, rt, ns, live, new, dry_run)
        if event is not None:
            self._committed(*event)
        return result

    def _apply(
        self,
        rt: ResourceType,
        name: str,
        ns: str,
        patch: Any,
        manager: str,
        force: bool,
        dry_run: bool,
        subresource: str,
        *,
        owned: bool = False,
    ) -> tuple[JSON, bool]:
        """The applied object and whether it was created.  ``owned``:
        ``patch`` is this engine's own copy (from :meth:`_target`), free to
        change; a caller's patch is copied first."""
        if not isinstance(patch, Mapping):
            raise BadRequest("an apply patch must be a single object")
        if not manager:
            raise BadRequest("PATCH /apply requires fieldManager to be set")
        if owned:  # only the top level and metadata change below; the rest is normalized into a copy
            applied = dict(patch)
            if isinstance(applied.get("metadata"), Mapping):
                applied["metadata"] = dict(applied["metadata"])
        else:
            applied = copy.deepcopy(dict(patch))
        if (applied.get("kind") and applied.get("kind") != rt.kind) or not applied.get("apiVersion"):
            raise BadRequest("apiVersion and kind must be set and match the URL in an apply patch")
        meta = applied.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise BadRequest(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        if rt.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        node = self.schema_of(rt)
        applied = self._serialize(rt, applied, node)
        # list-map key fields defaulted, as the API server does before merging by keys
        if self.crd_of(rt) is None:
            shapes.default_list_keys(applied, shapes.shape_of(node))
        else:
            schema.default_list_keys(applied, node)
        with self.store.lock:  # read, merge and write as one step
            live = self.store.get(rt.group, rt.plural, ns, name)
            if live is not None:
                self._as_version(live, rt)
            entries = managed.read_entries((live or {}).get("metadata") or {})
            allowed = _last_applied_fields(live, node, manager)
            merged, entries = managed.apply(
                live,
                applied,
                node,
                entries,
                manager,
                rt.api_version,
                now(),
                force=force,
                subresource=subresource,
                allowed=allowed,
            )
            merged["apiVersion"], merged["kind"] = rt.api_version, rt.kind
            if allowed is not None:
                _update_last_applied(merged, patch)
            if live is None:
                merged.setdefault("metadata", {}).pop("resourceVersion", None)
                # ``merged`` is the applied object, serialized above: admission need not again
                return self._create(rt, merged, ns, manager, dry_run, entries, serialized=True), True
            want_rv = meta.get("resourceVersion")
            if want_rv and want_rv != live["metadata"]["resourceVersion"]:
                raise Conflict(
                    f'Operation cannot be fulfilled on {qualified(rt)} "{name}": '
                    "the object has been modified; "
                    "please apply your changes to the latest version and try again"
                )
            merged["metadata"]["managedFields"] = managed.write_entries(entries)
            with self.store.transaction() as tx:
                new = self._admit(rt, merged, live, ns, manager, subresource, entries)
                result, event = self._store_update(tx, rt, ns, live, new, dry_run)
        if event is not None:
            self._committed(*event)
        return result, False

    def _store_update(
        self, tx: Any, rt: ResourceType, ns: str, live: JSON, new: JSON, dry_run: bool
    ) -> tuple[JSON, tuple[ResourceType, JSON, int, bool] | None]:
        """Write an admitted update; the event to announce once the transaction commits."""
        name = new["metadata"]["name"]
        if self.lifecycle.finalized(live, new):
            if dry_run:
                return self._as_version(new, rt), None
            rv = tx.next_rv("DELETED", rt.group, rt.plural, ns, name)
            new["metadata"]["resourceVersion"] = str(rv)
            tx.remove(rt.group, rt.plural, ns, name, rv, new)
            removed = True
        else:
            if _same(live, new):
                return self._as_version(
                    live, rt
                ), None  # a no-op write changes nothing, not even resourceVersion
            if dry_run:
                return self._as_version(new, rt), None
            rv = tx.next_rv("MODIFIED", rt.group, rt.plural, ns, name)
            new["metadata"]["resourceVersion"] = str(rv)
            tx.put(rt.group, rt.plural, ns, name, rv, new)
            removed = False
        return self._as_version(new, rt), (rt, new, rv, removed)

    def _serialize(self, rt: ResourceType, body: JSON, node: schema.Node) -> JSON:
        if self.crd_of(rt) is None:
            if rt.kind == "Secret" and not rt.group:
                _fold_string_data(body)
            try:
                return dict(shapes.normalize(body, shapes.shape_of(node)))
            except schema.SchemaError as e:
                raise BadRequest(str(e)) from None
        out = dict(shapes.normalize_custom(body, node))
        return out

    def _admit(
        self,
        rt: ResourceType,
        body: JSON,
        live: JSON | None,
        ns: str,
        manager: str,
        subresource: str,
        entries: managed.Entries | None,
        *,
        keep_fields: bool = False,
        serialized: bool = False,
    ) -> JSON:
        """The object as it will be stored: the API server's admission, in order.
        ``serialized``: ``body`` is already as :meth:`_serialize` makes it
        (a server-side apply that creates), so that step is skipped."""
        meta = body["metadata"]
        sent_fields = meta.pop("managedFields", None)
        meta.pop("selfLink", None)
        meta.pop("resourceVersion", None)
        if live is not None:
            live_meta = live["metadata"]
            if subresource == "status" or (self.has_status(rt) and subresource == ""):
                if subresource == "status":
                    status = body.get("status")
                    body = copy.deepcopy(live)
                    body["metadata"].pop("resourceVersion", None)
                    body["metadata"].pop("managedFields", None)
                    if status is None:
                        body.pop("status", None)
                    else:
                        body["status"] = status
                    meta = body["metadata"]
                elif "status" in live:
                    body["status"] = copy.deepcopy(live["status"])
                else:
                    body.pop("status", None)
            for f in _SERVER_META:
                if f in live_meta:
                    meta[f] = live_meta[f]
                else:
                    meta.pop(f, None)
        else:
            for f in _SERVER_META:
                meta.pop(f, None)
            if self.has_status(rt):
                body.pop("status", None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now()
        node = self.schema_of(rt)
        if not serialized:
            body = self._serialize(rt, body, node)
        meta = body["metadata"]
        if self.crd_of(rt) is None:
            if live is not None:
                self.lifecycle.carry_allocations(rt, live, body)
            apply_defaults(rt.group, rt.kind, body, self.lifecycle)
        name = str(meta.get("name", ""))
        causes = (
            validation.object_causes(rt, body)
            if self.crd_of(rt) is None
            else validation.name_causes(rt, name)
        )
        if live is not None:
            causes += validation.update_causes(rt, live, body)
            causes += self.lifecycle.finalizer_causes(live, body)
        validation.raise_invalid(rt, name, causes)
        if (rt.group, rt.kind) in GENERATION_KINDS or self.crd_of(rt) is not None:
            if live is None:
                meta["generation"] = 1
            else:
                gen = int(live["metadata"].get("generation", 1))
                moved = spec_part(body) != spec_part(live) or (
                    meta.get("deletionTimestamp") and not live["metadata"].get("deletionTimestamp")
                )
                meta["generation"] = gen + 1 if moved else gen
        base_entries = entries
        if base_entries is None:
            live_fields = ((live or {}).get("metadata") or {}).get("managedFields")
            # A patch carries the live managedFields along; one that changes them sets them, as
            # kubectl does when it moves client-side apply's fields to server-side apply.
            if (
                isinstance(sent_fields, list)
                and sent_fields
                and (not keep_fields or sent_fields != live_fields)
            ):
                base_entries = managed.read_entries({"managedFields": sent_fields})
            else:
                base_entries = managed.read_entries((live or {}).get("metadata") or {})
            base_entries = managed.record_update(
                live, body, node, base_entries, manager, rt.api_version, now(), subresource
            )
        meta["managedFields"] = managed.write_entries(base_entries)
        if not meta["managedFields"]:
            del meta["managedFields"]
        return body

    def _committed(self, rt: ResourceType, obj: JSON, rv: int, removed: bool = False) -> None:
        if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
            self._invalidate_types()
        self.lifecycle.after_write(rt, obj, removed)
        self.controllers.after_write(rt, obj, removed)
        for fn in list(self._listeners):
            fn(rv, rt.group, rt.plural)

    # -- writes by the emulated cluster itself (controllers, lifecycle) ------------------------
    def system_write(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        change: Callable[[JSON], JSON | None],
        manager: str = "kube-controller-manager",
        subresource: str = "",
    ) -> JSON | None:
        """Change an object as a controller would; None when it is gone or unchanged."""
        try:
            with self.store.transaction() as tx:
                live = self.store.get(rt.group, rt.plural, ns, name)
                if live is None:
                    return None
                self._as_version(live, rt)
                body = change(copy.deepcopy(live))
                if body is None:
                    return None
                new = self._admit(rt, body, live, ns, manager, subresource, None)
                if _same(live, new):
                    return None
                result, event = self._store_update(tx, rt, ns, live, new, False)
        except (Invalid, Conflict, NotFound):
            return None
        if event is not None:
            self._committed(*event)
        return result


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


def _at_version(t: ResourceType, version: str) -> ResourceType:
    return replace(t, version=version)


def _fold_string_data(body: JSON) -> None:
    string_data = body.pop("stringData", None)
    if string_data:
        data = dict(body.get("data") or {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        body["data"] = data


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _last_applied_fields(live: JSON | None, node: schema.Node, manager: str) -> set[fieldsets.Path] | None:
    """The fields of kubectl's last-applied annotation, when ``kubectl apply --server-side``
    takes over an object made by client-side apply: the API server lets it take them
    without ``--force-conflicts`` (its ``lastAppliedManager``)."""
    if manager != "kubectl" or live is None:
        return None
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(_LAST_APPLIED)
    if not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    return fieldsets.object_set(last, node) if isinstance(last, dict) else None


def _update_last_applied(merged: JSON, applied: Mapping[str, Any]) -> None:
    """Keep the annotation equal to what kubectl applied (the API server's
    ``lastAppliedUpdater``), so a later client-side apply computes its patch from it."""
    annotations = (merged.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and _LAST_APPLIED in annotations:
        body = copy.deepcopy(dict(applied))
        (body.get("metadata") or {}).get("annotations", {}).pop(_LAST_APPLIED, None)
        annotations[_LAST_APPLIED] = json.dumps(body, separators=(",", ":"), sort_keys=True)
