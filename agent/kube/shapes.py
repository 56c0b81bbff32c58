"""The Kubernetes schemas as objects are walked along them: cached, with list keys.

:mod:`agent.kube.nodes` resolves a node's children on every lookup; a diff
of ten thousand objects, or an emulated API server taking a thousand writes,
walks the same kinds again and again.  :class:`Shape` wraps a node once and
remembers its children, its list keys and whether it holds a quantity or an
int-or-string, so walking a kind again costs dictionary lookups only.

:func:`normalize` serializes an object as the API server stores it; the
emulated cluster stores exactly that, and the diff predicts it with the very
same function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.kube import quantity
from agent.kube.kinds import builtin
from agent.kube.nodes import INT_OR_STRING, LIST_KEY_DEFAULTS, Node, SchemaError, resolve, root
from agent.models import split_api_version


class Shape:
    """One schema node with its lookups cached."""

    __slots__ = ("_children", "_items", "int_or_string", "is_quantity", "keys", "kind", "node")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.kind = node.shape  # struct, map, list, scalar, any
        self.is_quantity = node.is_quantity
        self.int_or_string = node.ref == INT_OR_STRING
        self.keys: tuple[str, ...] = ()
        if self.kind == "list" and node.list_type == "map":
            merge = node.merge_key
            others = tuple(k for k in node.map_keys if k != merge)
            self.keys = ((merge,) if merge else ()) + others
        self._children: dict[str, Shape | None] = {}
        self._items: Shape | bool | None = False

    def child(self, name: str) -> Shape | None:
        try:
            return self._children[name]
        except KeyError:
            node = self.node.field(name)
            found = shape_of(node) if node is not None else None
            self._children[name] = found
            return found

    def items(self) -> Shape | None:
        if self._items is False:
            node = self.node.items() if self.kind == "list" else None
            self._items = shape_of(node) if node is not None else None
        return self._items  # type: ignore[return-value]


_SHAPES: dict[tuple[int, str], Shape] = {}
_ROOTS: dict[tuple[str, str], Shape | None] = {}


def shape_of(node: Node) -> Shape:
    """The cached shape of a node (schema dicts live as long as the process)."""
    key = (id(node.raw), node.ref)
    found = _SHAPES.get(key)
    if found is None:
        found = _SHAPES[key] = Shape(node)
    return found


def shape_for(obj: Mapping[str, Any]) -> Shape | None:
    """The schema of a built-in kind at the object's version (None for
    custom resources and unknown versions: lists are then keyed by name)."""
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    cache_key = (api_version, kind)
    if cache_key in _ROOTS:
        return _ROOTS[cache_key]
    group, version = split_api_version(api_version)
    rt = builtin(group, kind)
    found = None
    if rt is not None and rt.version == version and rt.definition:
        found = shape_of(root(rt))
    _ROOTS[cache_key] = found
    return found


def _quantity(value: Any, path: str) -> str:
    try:
        return quantity.canonical(value)
    except quantity.QuantityError as e:
        raise SchemaError(f'unable to parse quantity\'s suffix for "{path}": {e}') from None


def normalize(value: Any, shape: Shape | None, path: str = "") -> Any:
    """Serialize as the API server would: nulls, empty maps and empty lists
    dropped (Go's ``omitempty``; empty structs stay, as ``resources: {}``),
    quantities canonical."""
    if shape is not None and shape.is_quantity and value is not None:
        return _quantity(value, path)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, child in value.items():
            if child is None:
                continue
            sub = shape.child(key) if shape is not None else None
            if sub is None and not isinstance(child, (dict, list)):
                out[key] = child  # a plain scalar: nothing to do
                continue
            normal = normalize(child, sub, f"{path}.{key}" if path else key)
            if (
                isinstance(normal, (dict, list))
                and not normal
                and sub is not None
                and sub.kind in ("map", "list")
            ):
                continue
            out[key] = normal
        return out
    if isinstance(value, list):
        item = shape.items() if shape is not None else None
        return [normalize(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def default_list_keys(value: Any, shape: Shape | None) -> None:
    """Fill in defaulted list-map key fields of ``value`` in place (a port's
    ``protocol``), as :func:`agent.kube.nodes.default_list_keys` does,
    along cached shapes."""
    if shape is None:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, (dict, list)):
                default_list_keys(child, shape.child(key))
    elif isinstance(value, list) and shape.kind == "list":
        item = shape.items()
        defaulted = [k for k in shape.keys if k in LIST_KEY_DEFAULTS]
        for entry in value:
            if isinstance(entry, dict):
                for k in defaulted:
                    if k not in entry:
                        entry[k] = LIST_KEY_DEFAULTS[k]
            default_list_keys(entry, item)


def normalize_custom(value: Any, node: Node | None, path: str = "") -> Any:
    """A custom resource as the apiextensions server stores it: fields the
    structural schema does not know are pruned (unless it preserves them),
    nulls dropped unless ``nullable``, ``default`` values filled in."""
    if node is None:
        return value
    raw = node.raw
    if isinstance(value, Mapping):
        if node.ref:  # metadata: a built-in type
            return normalize(value, shape_of(node), path)
        props = raw.get("properties")
        extra = raw.get("additionalProperties")
        keep_all = bool(raw.get("x-kubernetes-preserve-unknown-fields")) or extra is True
        out: dict[str, Any] = {}
        for key, child in value.items():
            sub = node.field(key)
            if sub is None and not keep_all:
                continue
            if child is None and not (sub is not None and sub.raw.get("nullable")):
                continue
            out[key] = normalize_custom(child, sub, f"{path}.{key}" if path else key)
        if isinstance(props, Mapping):
            for key, sub_raw in props.items():
                if key not in out and isinstance(sub_raw, Mapping) and "default" in sub_raw:
                    out[key] = normalize_custom(sub_raw["default"], resolve(sub_raw), f"{path}.{key}")
        return out
    if isinstance(value, list):
        item = node.items()
        return [normalize_custom(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    return value
