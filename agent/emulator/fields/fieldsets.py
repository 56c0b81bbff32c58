"""Field sets: who owns which fields of an object, in the ``FieldsV1`` format.

A field path is a tuple of path elements spelled as ``FieldsV1`` spells them
(structured-merge-diff's ``PathElement``): ``f:name`` for a field,
``k:{"name":"web"}`` for an item of a list keyed by its list-map keys,
``v:"x"`` for a member of a set list, ``i:3`` for a position.  A set holds
the paths a manager owns: every leaf value, every item of a keyed or set
list, and every map (not struct) it created; structs are implied by their
children.  :func:`to_fields_v1` / :func:`from_fields_v1` convert to and
from the nested mapping stored in ``metadata.managedFields[].fieldsV1``,
where ``".": {}`` marks a node that is owned itself and also has children.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from agent.kube.nodes import Node

Path = tuple[str, ...]
FieldSet = set[Path]

# Fields the API server owns or identifies the object by: never part of a manager's set.
_STRIPPED_META = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


# Defaults of list-map key fields, which the API server fills in before keying an item (the
# Kubernetes OpenAPI declares ``default: TCP`` for every port ``protocol``; the packaged
# schemas omit defaults), so ``{port: 80}`` applied again matches the stored
# ``{port: 80, protocol: TCP}``.
_KEY_DEFAULTS = {"protocol": "TCP"}


def item_element(item: Any, node: Node | None, index: int) -> str:
    """The path element of one list item."""
    if node is None:
        return f"i:{index}"
    list_type = node.list_type
    if list_type == "map" and isinstance(item, Mapping):
        keys = node.map_keys
        present = {
            k: item.get(k, _KEY_DEFAULTS.get(k)) for k in sorted(keys) if k in item or k in _KEY_DEFAULTS
        }
        if present:
            return "k:" + _compact(present)
    if list_type == "set":
        return "v:" + _compact(item)
    return f"i:{index}"


def child_node(node: Node | None, name: str) -> Node | None:
    return node.field(name) if node is not None else None


def is_leaf(value: Any, node: Node | None) -> bool:
    """A value owned as one field: scalars, atomic maps and lists, empty objects."""
    if not isinstance(value, (Mapping, list)):
        return True
    if node is not None and node.atomic:
        return True
    if isinstance(value, list) and (node is None or node.list_type == "atomic"):
        return True
    return not value


def flatten(
    obj: Mapping[str, Any], node: Node | None, subresource: str = "", *, applied: bool = False
) -> dict[Path, Any]:
    """Every path a manager would own in an object, with its value (a marker
    for maps and list items, whose presence is what counts); status only
    through ``/status``, and never the fields the server owns.

    ``applied``: the set of an applied configuration, as structured-merge-diff's
    ``ToFieldSet`` makes it: leaves, list items and the entries of maps, but not a
    non-empty map that is a named field of its struct (``metadata.labels``)."""
    out: dict[Path, Any] = {}
    walk = _walk_applied if applied else _walk
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if (key == "status") != (subresource == "status"):
            continue
        sub = child_node(node, key)
        if key == "metadata" and isinstance(value, Mapping):
            meta = {k: v for k, v in value.items() if k not in _STRIPPED_META}
            walk(meta, sub, ("f:metadata",), out)
            continue
        if applied:
            _collect_applied(value, sub, ("f:" + key,), out, entry=False)
        else:
            _collect(value, sub, ("f:" + key,), out)
    return out


def object_set(obj: Mapping[str, Any], node: Node | None, subresource: str = "") -> FieldSet:
    return set(flatten(obj, node, subresource))


_PRESENT = "<present>"


def _collect(value: Any, node: Node | None, path: Path, out: dict[Path, Any]) -> None:
    if is_leaf(value, node):
        out[path] = value
        return
    if isinstance(value, Mapping):
        if node is None or node.shape in ("map", "any"):
            out[path] = _PRESENT
        _walk(value, node, path, out)
    elif isinstance(value, list):
        item_node = node.items() if node is not None else None
        for i, item in enumerate(value):
            element = (*path, item_element(item, node, i))
            if isinstance(item, Mapping) and not is_leaf(item, item_node):
                out[element] = _PRESENT
                _walk(item, item_node, element, out)
            else:
                out[element] = item


def _walk(value: Mapping[str, Any], node: Node | None, path: Path, out: dict[Path, Any]) -> None:
    for key, child in value.items():
        _collect(child, child_node(node, key), (*path, "f:" + key), out)


def _collect_applied(value: Any, node: Node | None, path: Path, out: dict[Path, Any], *, entry: bool) -> None:
    """:func:`_collect` for an applied configuration; ``entry``: ``value`` is an entry
    of a map (or of an object whose schema is unknown), not a named field of a struct."""
    if is_leaf(value, node):
        out[path] = value
        return
    if isinstance(value, Mapping):
        if entry:
            out[path] = _PRESENT
        _walk_applied(value, node, path, out)
    elif isinstance(value, list):
        item_node = node.items() if node is not None else None
        for i, item in enumerate(value):
            element = (*path, item_element(item, node, i))
            if isinstance(item, Mapping) and not is_leaf(item, item_node):
                out[element] = _PRESENT
                _walk_applied(item, item_node, element, out)
            else:
                out[element] = item


def _walk_applied(value: Mapping[str, Any], node: Node | None, path: Path, out: dict[Path, Any]) -> None:
    entries = node is None or node.shape in ("map", "any")
    for key, child in value.items():
        _collect_applied(child, child_node(node, key), (*path, "f:" + key), out, entry=entries)


_MISSING = object()


def value_at(obj: Any, path: Path, node: Node | None) -> Any:
    current = obj
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            if not isinstance(current, Mapping) or rest not in current:
                return _MISSING
            current = current[rest]
            node = child_node(node, rest)
        else:
            if not isinstance(current, list):
                return _MISSING
            found = _MISSING
            for i, item in enumerate(current):
                if item_element(item, node, i) == element:
                    found = item
                    break
            if found is _MISSING:
                return _MISSING
            current = found
            node = node.items() if node is not None else None
    if isinstance(current, Mapping) and not is_leaf(current, node):
        return _PRESENT  # presence is what counts for a map or an item
    return current


def missing(value: Any) -> bool:
    return value is _MISSING


# -- FieldsV1 ------------------------------------------------------------------------------
def to_fields_v1(fields: Iterable[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    members: list[Path] = sorted(fields)
    for path in members:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in members:
        node = tree
        for element in path:
            node = node[element]
        if node and "." not in node:
            node["."] = {}
    return _sorted(tree)


def _sorted(tree: dict[str, Any]) -> dict[str, Any]:
    keys = sorted(tree, key=lambda k: (k != ".", k))
    return {k: _sorted(tree[k]) for k in keys}


def from_fields_v1(tree: Mapping[str, Any], prefix: Path = ()) -> FieldSet:
    out: FieldSet = set()
    for element, child in tree.items():
        if element == ".":
            out.add(prefix)
            continue
        path = (*prefix, element)
        if not child:
            out.add(path)
        else:
            out |= from_fields_v1(child, path)
    return out


def describe(path: Path) -> str:
    """A path as the API server prints it in a conflict: ``.spec.containers[name="web"].image``."""
    text = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            text += "." + rest
        elif kind == "k":
            keys = json.loads(rest)
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
        elif kind == "v":
            text += f"[={rest}]"
        else:
            text += f"[{rest}]"
    return text


def with_descendants(paths: Iterable[Path]) -> set[Path]:
    """Every path and every prefix of it (to ask 'does anyone own anything under p?')."""
    out: set[Path] = set()
    for path in paths:
        for i in range(1, len(path) + 1):
            out.add(path[:i])
    return out
