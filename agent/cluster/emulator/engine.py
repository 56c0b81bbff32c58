"""The emulated cluster's API semantics, in process.

Implements :class:`agent.cluster.base.ClusterClient` over :class:`Store` the
way a Kubernetes API server behaves towards clients: uid, creationTimestamp,
a global resourceVersion, ``generation`` that moves only when the body other
than metadata and status changes, namespaces that must exist (and whose
deletion removes their objects), ``generateName``, resourceVersion
preconditions on update, status kept from the live object on update (it is
written only through the status subresource), Secret ``stringData`` folded
into ``data``, and ``dryRun``.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.cluster.base import (
    FIELD_MANAGER,
    JSON,
    AlreadyExists,
    BadRequest,
    Conflict,
    Invalid,
    NotFound,
)
from agent.cluster.emulator.store import Store
from agent.kinds import ResourceType, builtin, crd_resource_types
from agent.models import split_api_version

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAMED_KINDS = {"Namespace", "Service"}
_SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")
WRITE_VERBS = ("create", "update", "delete")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = json_merge_patch(out.get(key), value)
    return out


def _spec_part(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an object whose change moves ``generation``."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class EmulatedCluster:
    """The embedded emulated cluster (a ClusterClient)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.store = Store(path)
        self.requests: Counter[str] = Counter()  # verb -> count, for tests and metrics
        self._lock = threading.RLock()
        self._crd_types: list[ResourceType] | None = None

    # -- discovery --------------------------------------------------------------
    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        group, version = split_api_version(api_version)
        known = builtin(group, kind)
        if known is not None and known.version == version:
            return known
        for t in self._custom_types():
            if t.group == group and t.kind == kind and t.version == version:
                return t
        raise NotFound(f"the server could not find the requested resource ({kind} in {api_version})")

    def _custom_types(self) -> list[ResourceType]:
        with self._lock:
            if self._crd_types is None:
                types: list[ResourceType] = []
                for crd in self.store.list("apiextensions.k8s.io", "customresourcedefinitions"):
                    types.extend(crd_resource_types(crd))
                self._crd_types = types
            return self._crd_types

    @property
    def writes(self) -> int:
        return sum(self.requests[v] for v in WRITE_VERBS)

    # -- reads ------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> JSON | None:
        self.requests["get"] += 1
        rt = self.resource_type(api_version, kind)
        obj = self.store.get(rt.group, rt.plural, namespace if rt.namespaced else "", name)
        return None if obj is None else self._as_version(obj, rt)

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | None = None,
    ) -> list[JSON]:
        self.requests["list"] += 1
        rt = self.resource_type(api_version, kind)
        items = self.store.list(rt.group, rt.plural, namespace if (rt.namespaced and namespace) else None)
        if label_selector:
            want = dict(label_selector)
            items = [
                o for o in items if want.items() <= ((o.get("metadata") or {}).get("labels") or {}).items()
            ]
        return [self._as_version(o, rt) for o in items]

    @staticmethod
    def _as_version(obj: JSON, rt: ResourceType) -> JSON:
        obj["apiVersion"] = rt.api_version
        return obj

    # -- writes -----------------------------------------------------------------
    def create(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON:
        self.requests["create"] += 1
        body, rt, namespace = self._admit(obj)
        meta = body["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        self._validate_name(rt, meta.get("name"))
        with self.store.transaction() as tx:
            if rt.namespaced:
                self._require_namespace(namespace)
            if self.store.get(rt.group, rt.plural, namespace, meta["name"]) is not None:
                raise AlreadyExists(
                    f'{rt.plural}{"." + rt.group if rt.group else ""} "{meta["name"]}" already exists'
                )
            for f in _SERVER_META:
                meta.pop(f, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now()
            meta["generation"] = 1
            body.pop("status", None)
            if rt.kind == "Namespace":
                body["status"] = {"phase": "Active"}
            if dry_run:
                meta["resourceVersion"] = str(self.store.current_rv())
                return body
            rv = tx.next_rv("ADDED", rt.group, rt.plural, namespace, meta["name"])
            meta["resourceVersion"] = str(rv)
            tx.put(rt.group, rt.plural, namespace, meta["name"], rv, body)
        self._changed(rt)
        return body

    def replace(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON:
        self.requests["update"] += 1
        body, rt, namespace = self._admit(obj)
        meta = body["metadata"]
        name = meta.get("name")
        if not name:
            raise Invalid("metadata.name: Required value: name is required")
        with self.store.transaction() as tx:
            live = self.store.get(rt.group, rt.plural, namespace, name)
            if live is None:
                raise NotFound(f'{rt.plural} "{name}" not found')
            live_meta = live["metadata"]
            want_rv = meta.get("resourceVersion")
            if want_rv and want_rv != live_meta["resourceVersion"]:
                raise Conflict(
                    f'Operation cannot be fulfilled on {rt.plural} "{name}": the object has been '
                    f"modified; please apply your changes to the latest version and try again"
                )
            for f in ("uid", "creationTimestamp"):
                meta[f] = live_meta[f]
            meta.pop("managedFields", None)
            changed = _spec_part(body) != _spec_part(live)
            meta["generation"] = live_meta.get("generation", 1) + (1 if changed else 0)
            body.pop("status", None)
            if "status" in live:
                body["status"] = live["status"]
            if dry_run:
                return body
            rv = tx.next_rv("MODIFIED", rt.group, rt.plural, namespace, name)
            meta["resourceVersion"] = str(rv)
            tx.put(rt.group, rt.plural, namespace, name, rv, body)
        self._changed(rt)
        return body

    def delete(
        self, api_version: str, kind: str, name: str, namespace: str = "", *, dry_run: bool = False
    ) -> None:
        self.requests["delete"] += 1
        rt = self.resource_type(api_version, kind)
        namespace = namespace if rt.namespaced else ""
        with self.store.transaction() as tx:
            live = self.store.get(rt.group, rt.plural, namespace, name)
            if live is None:
                raise NotFound(f'{rt.plural}{"." + rt.group if rt.group else ""} "{name}" not found')
            if dry_run:
                return
            if rt.kind == "Namespace" and not rt.group:
                for grp, resource, child, body in tx.namespaced_in(name):
                    rv = tx.next_rv("DELETED", grp, resource, name, child)
                    tx.remove(grp, resource, name, child, rv, body)
            rv = tx.next_rv("DELETED", rt.group, rt.plural, namespace, name)
            tx.remove(rt.group, rt.plural, namespace, name, rv, live)
        self._changed(rt)

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        patch: Mapping[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        dry_run: bool = False,
    ) -> JSON:
        """JSON merge patch (RFC 7386), as ``kubectl patch --type merge``."""
        self.requests["patch"] += 1
        live = self.get(api_version, kind, name, namespace)
        if live is None:
            raise NotFound(f'{kind.lower()} "{name}" not found')
        patched = json_merge_patch(live, patch)
        patched["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        return self.replace(patched, field_manager=field_manager, dry_run=dry_run)

    def close(self) -> None:
        self.store.close()

    # -- admission ----------------------------------------------------------------
    def _admit(self, obj: Mapping[str, Any]) -> tuple[JSON, ResourceType, str]:
        body = copy.deepcopy(dict(obj))
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            raise BadRequest("Object 'Kind' or 'apiVersion' is missing")
        rt = self.resource_type(api_version, kind)
        meta = body.get("metadata")
        if not isinstance(meta, dict):
            raise Invalid("metadata: Required value")
        body["metadata"] = meta = dict(meta)
        namespace = str(meta.get("namespace") or "")
        if rt.namespaced:
            if not namespace:
                raise BadRequest(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request (none was set)"
                )
        else:
            meta.pop("namespace", None)
            namespace = ""
        for empty in ("labels", "annotations"):
            if empty in meta and not meta[empty]:
                del meta[empty]
        if rt.kind == "Secret" and not rt.group:
            self._fold_string_data(body)
        return body, rt, namespace

    @staticmethod
    def _fold_string_data(body: JSON) -> None:
        string_data = body.pop("stringData", None)
        if string_data:
            data = dict(body.get("data") or {})
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            body["data"] = data
        body.setdefault("type", "Opaque")

    @staticmethod
    def _validate_name(rt: ResourceType, name: Any) -> None:
        if not isinstance(name, str) or not name:
            raise Invalid(
                f"{rt.kind} is invalid: metadata.name: Required value: name or generateName is required"
            )
        pattern = DNS1123_LABEL if rt.kind in _LABEL_NAMED_KINDS else DNS1123_SUBDOMAIN
        limit = 63 if rt.kind in _LABEL_NAMED_KINDS else 253
        if len(name) > limit or not pattern.match(name):
            raise Invalid(
                f'{rt.kind} "{name}" is invalid: metadata.name: Invalid value: "{name}": a lowercase '
                f"RFC 1123 {'label' if limit == 63 else 'subdomain'} must consist of lower case "
                f"alphanumeric characters, '-' or '.'"
            )

    def _require_namespace(self, namespace: str) -> None:
        if self.store.get("", "namespaces", "", namespace) is None:
            raise NotFound(f'namespaces "{namespace}" not found')

    def _changed(self, rt: ResourceType) -> None:
        if rt.kind == "CustomResourceDefinition":
            with self._lock:
                self._crd_types = None
