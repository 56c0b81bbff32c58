"""Walking objects along their OpenAPI schema (pure).

Built-in kinds are described by the Kubernetes release's OpenAPI definitions
(:func:`agent.kube.kinds.definitions`), custom resources by their CRD's
``openAPIV3Schema``.  Both use the same vocabulary, which is all the emulator
needs to serialize like the API server and to merge like server-side apply:
struct vs map vs list, list types (``atomic``, ``set``, ``map`` with its
keys; the strategic-merge patch strategy where no list type is given, as the
API server's own conversion does), atomic maps, and which fields are
resource quantities.  The emulated cluster serializes and merges with it; the
diff stage normalizes desired objects and keys lists with it, so both agree
on what the server would store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from agent.kube.kinds import ResourceType, definitions

_QUANTITY_REF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"


@dataclass(frozen=True)
class Node:
    """One schema node, ``$ref`` resolved.  ``raw`` is the schema dict."""

    raw: Mapping[str, Any]
    ref: str = ""

    @property
    def shape(self) -> str:
        """``struct``, ``map``, ``list`` or ``scalar`` (``any`` when unknown)."""
        raw = self.raw
        if self.ref in (_QUANTITY_REF, INT_OR_STRING):
            return "scalar"
        if "properties" in raw:
            return "struct"
        if raw.get("additionalProperties", False) is not False:  # false: the strict schemas' closed structs
            return "map"
        return "list" if "items" in raw else self._shape_of_type()

    def _shape_of_type(self) -> str:
        """The shape a node without fields, values or items has by its ``type``."""
        types = self.raw.get("type")
        types = types if isinstance(types, list) else [types]
        if "object" in types:
            if self.raw.get("x-kubernetes-preserve-unknown-fields"):
                return "any"
            return "struct" if self.ref else "map"  # a named type without fields: an empty Go struct
        if "array" in types:
            return "list"
        return "scalar" if any(types) else "any"

    @property
    def is_quantity(self) -> bool:
        return self.ref == _QUANTITY_REF

    @property
    def atomic(self) -> bool:
        """Replaced as a whole by apply and owned as one field."""
        shape = self.shape
        if shape == "list":
            return self.list_type == "atomic"
        if shape in ("struct", "map"):
            return self.raw.get("x-kubernetes-map-type") == "atomic"
        return shape == "scalar"

    @property
    def list_type(self) -> str:
        explicit = self.raw.get("x-kubernetes-list-type")
        if explicit:
            return str(explicit)
        if self.raw.get("x-kubernetes-patch-strategy", "").startswith("merge"):
            return "map" if self.raw.get("x-kubernetes-patch-merge-key") else "set"
        return "atomic"

    @property
    def map_keys(self) -> tuple[str, ...]:
        keys = self.raw.get("x-kubernetes-list-map-keys")
        if keys:
            return tuple(keys)
        merge_key = self.raw.get("x-kubernetes-patch-merge-key")
        return (str(merge_key),) if merge_key else ()

    @property
    def merge_key(self) -> str:
        """The strategic-merge-patch key of a list of objects."""
        return str(self.raw.get("x-kubernetes-patch-merge-key") or "")

    def field(self, name: str) -> Node | None:
        props = self.raw.get("properties")
        if isinstance(props, Mapping) and name in props:
            return resolve(props[name])
        extra = self.raw.get("additionalProperties")
        if isinstance(extra, Mapping):
            return resolve(extra)
        return None

    def items(self) -> Node | None:
        items = self.raw.get("items")
        return resolve(items) if isinstance(items, Mapping) else None


def resolve(raw: Mapping[str, Any]) -> Node:
    ref = raw.get("$ref")
    if ref is None and isinstance(raw.get("allOf"), list) and len(raw["allOf"]) == 1:
        ref = raw["allOf"][0].get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return _definition(name)
    return Node(raw)


@cache
def _definition(name: str) -> Node:
    return Node(definitions().get(name, {}), name)


def root(rt: ResourceType, crd_schema: Mapping[str, Any] | None = None) -> Node:
    """The schema of a whole object of a kind."""
    if crd_schema is not None:
        return Node(_with_metadata(crd_schema))
    return (
        _definition(rt.definition) if rt.definition else Node({"x-kubernetes-preserve-unknown-fields": True})
    )


def _with_metadata(schema: Mapping[str, Any]) -> dict[str, Any]:
    props = dict(schema.get("properties") or {})
    props["metadata"] = {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    return {**schema, "type": "object", "properties": props}


# Defaults of list-map key fields the schemas do not carry: the API server
# defaults them before server-side apply merges a list by its keys, so
# ``{containerPort: 80}`` and ``{containerPort: 80, protocol: TCP}`` are one item.
LIST_KEY_DEFAULTS: dict[str, str] = {"protocol": "TCP"}


def default_list_keys(value: Any, node: Node | None) -> None:
    """Fill in defaulted list-map key fields of ``value`` (in place)."""
    if node is None:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            default_list_keys(child, node.field(key))
    elif isinstance(value, list) and node.shape == "list":
        item = node.items()
        keys = node.map_keys if node.list_type == "map" else ()
        for entry in value:
            if isinstance(entry, dict):
                for k in keys:
                    if k not in entry and k in LIST_KEY_DEFAULTS:
                        entry[k] = LIST_KEY_DEFAULTS[k]
            default_list_keys(entry, item)


class SchemaError(ValueError):
    """A value its schema cannot hold (a malformed quantity); names the path."""
