"""OpenAPI documents: ``/openapi/v2`` and ``/openapi/v3`` as an API server publishes them.

kubectl reads them for three things: whether the server validates fields
itself (a ``fieldValidation`` parameter on the kind's PATCH operation in the
v3 document; then it sends ``fieldValidation=Strict`` instead of validating
on its side), the patch merge keys of client-side ``apply`` (the kind's v3
schema, found by ``x-kubernetes-group-version-kind``), and ``kubectl
explain``.  Both documents are generated from the same Kubernetes schemas the
emulator serializes and merges with (``kubernetes-validate``'s definitions
for built-in kinds, a CRD's ``openAPIV3Schema`` for custom resources),
turned back from their JSON-schema form into OpenAPI: ``type: [x, "null"]``
is ``type: x``, int-or-string and quantities are strings with a format, and
``$ref`` points into ``#/definitions`` (v2) or ``#/components/schemas`` (v3).

The v3 root lists one document per group version, each with a content hash
in its URL (clients cache by it); v2 is one document for everything.  Both
are served as JSON, and v2 as protobuf too (gnostic's message,
:mod:`agent.emulator.protobuf.openapiv2`) to a client that asks for it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import cache
from typing import Any

from agent.emulator.protobuf import openapiv2
from agent.emulator.rest.openapi_paths import DELETE_OPTIONS, PATCH, SCALE, STATUS, resource_paths
from agent.kube.kinds import KUBERNETES_VERSION, ResourceType, definitions

JSON = dict[str, Any]
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
_STRING_FORMATS = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "",
}


# -- schemas ------------------------------------------------------------------------------------
def _convert(schema: Any, prefix: str, v3: bool) -> Any:
    """One JSON-schema node of kubernetes-validate back into OpenAPI form."""
    if not isinstance(schema, Mapping):
        return schema
    out: JSON = {}
    for key, value in schema.items():
        if key == "$ref":
            out["$ref"] = prefix + str(value).rsplit("/", 1)[-1]
        elif key == "type":
            types = [t for t in (value if isinstance(value, list) else [value]) if t != "null"]
            if len(types) == 1:
                out["type"] = types[0]
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _convert(value, prefix, v3)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_convert(v, prefix, v3) for v in value]
        elif key == "properties":
            out[key] = {name: _convert(sub, prefix, v3) for name, sub in value.items()}
            for name in ("apiVersion", "kind"):
                if isinstance(out[key].get(name), dict):
                    out[key][name].pop("enum", None)  # added by kubernetes-validate, not by the server
        else:
            out[key] = value
    if "$ref" in out and len(out) > 1 and v3:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}]  # as the API server writes a $ref with siblings in v3
    return out


@cache
def _builtin_schema(name: str, v3: bool) -> JSON:
    raw = definitions()[name]
    if name in _STRING_FORMATS:
        out: JSON = {"type": "string", "description": raw.get("description", "")}
        if _STRING_FORMATS[name]:
            out["format"] = _STRING_FORMATS[name]
        return out
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    converted: JSON = _convert(raw, prefix, v3)
    return converted


def _refs(schema: Any, found: set[str]) -> None:
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rsplit("/", 1)[-1])
            else:
                _refs(value, found)
    elif isinstance(schema, list):
        for v in schema:
            _refs(v, found)


def _closure(names: Iterable[str], v3: bool, extra: Mapping[str, JSON]) -> dict[str, JSON]:
    """The named schemas and every schema they reference."""
    out: dict[str, JSON] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        schema = extra.get(name)
        if schema is None:
            if name not in definitions():
                continue
            schema = _builtin_schema(name, v3)
        out[name] = schema
        found: set[str] = set()
        _refs(schema, found)
        todo.extend(found - out.keys())
    return dict(sorted(out.items()))


def _reverse_group(group: str) -> str:
    return ".".join(reversed(group.split(".")))


def custom_schemas(rt: ResourceType, crd: Mapping[str, Any], v3: bool) -> dict[str, JSON]:
    """A custom resource's schema and its list's, named as the apiextensions server names them."""
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    raw: Mapping[str, Any] = {}
    for v in (crd.get("spec") or {}).get("versions") or ():
        if v.get("name") == rt.version:
            raw = (v.get("schema") or {}).get("openAPIV3Schema") or {}
    name = f"{_reverse_group(rt.group)}.{rt.version}.{rt.kind}"
    gvk = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
    props = dict(raw.get("properties") or {})
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    props["metadata"] = {"$ref": prefix + _OBJECT_META}
    if not raw:
        item: JSON = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": props}
    else:
        item = {**raw, "type": "object", "properties": props}
    item["x-kubernetes-group-version-kind"] = gvk
    listed = {
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"$ref": prefix + _LIST_META},
            "items": {"type": "array", "items": {"$ref": prefix + name}},
        },
        "x-kubernetes-group-version-kind": [{**gvk[0], "kind": f"{rt.kind}List"}],
    }
    return {name: item, f"{name}List": listed}


def _definition_of(rt: ResourceType, custom: Mapping[str, JSON]) -> tuple[str, str]:
    """The schema names of a kind and of its list."""
    if rt.definition:
        list_name = rt.definition + "List"
        return rt.definition, list_name if list_name in definitions() else ""
    name = f"{_reverse_group(rt.group)}.{rt.version}.{rt.kind}"
    return (name, f"{name}List") if name in custom else ("", "")


# -- documents ----------------------------------------------------------------------------------
CrdOf = Callable[[ResourceType], Mapping[str, Any] | None]


def _pieces(
    types: Iterable[ResourceType], crd_of: CrdOf, v3: bool
) -> tuple[dict[str, JSON], dict[str, JSON]]:
    paths: dict[str, JSON] = {}
    custom: dict[str, JSON] = {}
    roots: list[str] = [STATUS, DELETE_OPTIONS, PATCH]
    for rt in types:
        crd = crd_of(rt)
        if crd is not None:
            custom.update(custom_schemas(rt, crd, v3))
        names = _definition_of(rt, custom)
        if not names[0]:
            continue
        roots.extend(n for n in names if n)
        if "scale" in rt.subresources:
            roots.append(SCALE)
        paths.update(resource_paths(rt, names, v3, custom=crd is not None))
    return paths, _closure(roots, v3, custom)


def group_version_path(rt: ResourceType) -> str:
    """The key of a group version in the v3 root (``api/v1``, ``apis/apps/v1``)."""
    return f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"


def v3_document(types: Iterable[ResourceType], crd_of: CrdOf) -> JSON:
    """The v3 document of one group version (``types`` are its resource types)."""
    paths, schemas = _pieces(types, crd_of, v3=True)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}},
        },
        "security": [{"BearerToken": []}],
    }


def v2_document(types: Iterable[ResourceType], crd_of: CrdOf) -> JSON:
    paths, schemas = _pieces(types, crd_of, v3=False)
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "definitions": schemas,
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    }


def encode(doc: JSON) -> tuple[bytes, str]:
    """The document's bytes and the hash clients cache it by (upper-case hex, as the server's)."""
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return raw, hashlib.sha512(raw).hexdigest().upper()[:128]


class Documents:
    """The documents of one emulated cluster, rebuilt when its served types change (a CRD)."""

    def __init__(self, types: Callable[[], Mapping[Any, ResourceType]], versions_of: Any, crd_of: CrdOf):
        self._types, self._versions_of, self._crd_of = types, versions_of, crd_of
        self._lock = threading.Lock()
        self._seen: object = None
        self._v3: dict[str, tuple[bytes, str]] = {}
        self._v2: bytes | None = None
        self._v2_protobuf: bytes | None = None

    def _current(self) -> None:
        types = self._types()
        if types is not self._seen:
            self._seen, self._v3, self._v2, self._v2_protobuf = types, {}, None, None

    def _by_group_version(self) -> dict[str, list[ResourceType]]:
        out: dict[str, list[ResourceType]] = {}
        for t in self._types().values():
            for v in self._versions_of(t):
                at = t if t.version == v else replace(t, version=v)
                out.setdefault(group_version_path(at), []).append(at)
        return out

    def v3(self, path: str) -> tuple[bytes, str] | None:
        """The v3 document of ``api/v1`` or ``apis/{group}/{version}`` and its hash."""
        with self._lock:
            self._current()
            if path not in self._v3:
                types = self._by_group_version().get(path)
                if types is None:
                    return None
                self._v3[path] = encode(v3_document(types, self._crd_of))
            return self._v3[path]

    def v3_root(self) -> JSON:
        paths = {}
        for path in sorted(self._by_group_version()):
            found = self.v3(path)
            if found is not None:
                paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={found[1]}"}
        return {"paths": paths}

    def v2(self, *, protobuf: bool = False) -> bytes:
        """The v2 document as JSON, or as gnostic's protobuf message (kubectl 1.27/1.28)."""
        with self._lock:
            self._current()
            if self._v2 is None or (protobuf and self._v2_protobuf is None):
                types = [t for ts in self._by_group_version().values() for t in ts]
                doc = v2_document(types, self._crd_of)
                self._v2 = encode(doc)[0]
                self._v2_protobuf = openapiv2.encode_document(doc) if protobuf else None
            return self._v2_protobuf if protobuf and self._v2_protobuf is not None else self._v2
