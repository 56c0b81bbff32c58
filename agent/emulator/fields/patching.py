"""Patch formats: JSON merge patch, JSON patch and strategic merge patch.

* JSON merge patch (RFC 7386): maps merge, ``null`` deletes, lists replace.
* JSON patch (RFC 6902) through the ``jsonpatch`` library; a failed ``test``
  or a missing path is a 422 like the API server's.
* Strategic merge patch, for built-in kinds: lists of objects merge by the
  schema's ``x-kubernetes-patch-merge-key``, lists of scalars with patch
  strategy ``merge`` merge as sets, and the directives ``$patch`` (replace,
  delete, merge), ``$retainKeys``, ``$deleteFromPrimitiveList/<field>`` and
  ``$setElementOrder/<field>`` are honoured.  Custom resources take it as a
  JSON merge patch would be refused by the API server (415); here, as the
  apiextensions server, it is refused too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpatch

from agent.kube.errors import BadRequest, Invalid, UnsupportedMediaType
from agent.kube.nodes import Node


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def json_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, list):
        raise BadRequest("json patch must be a list of operations")
    try:
        return jsonpatch.apply_patch(target, patch)
    except jsonpatch.JsonPatchTestFailed as e:
        raise Invalid(f"the server rejected our request due to an error in our request: {e}") from None
    except (
        jsonpatch.JsonPatchException,
        jsonpatch.JsonPointerException,
        KeyError,
        IndexError,
        TypeError,
    ) as e:
        raise Invalid(f"the server rejected our request due to an error in our request: {e}") from None


_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_ORDER = "$setElementOrder/"


def strategic_merge_patch(target: Any, patch: Any, node: Node | None, *, builtin: bool = True) -> Any:
    if not builtin:
        raise UnsupportedMediaType(
            "strategic merge patch is not supported for custom resources; use a merge or JSON patch"
        )
    if not isinstance(patch, Mapping):
        raise BadRequest("a strategic merge patch must be a JSON object")
    return _smp_map(target if isinstance(target, Mapping) else {}, patch, node)


def _smp_map(target: Mapping[str, Any], patch: Mapping[str, Any], node: Node | None) -> Any:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    out = dict(target)
    retain = patch.get(_RETAIN)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN) or key.startswith(_ORDER):
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            name = key[len(_DELETE_PRIMITIVE) :]
            drop = value if isinstance(value, list) else []
            out[name] = [v for v in out.get(name) or [] if v not in drop]
            continue
        child = node.field(key) if node is not None else None
        if value is None:
            out.pop(key, None)
            continue
        current = out.get(key)
        if isinstance(value, Mapping):
            if (child is not None and child.atomic) or not isinstance(current, Mapping):
                current = {}
            merged = _smp_map(current, value, child)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            order = patch.get(_ORDER + key)
            out[key] = _smp_list(current if isinstance(current, list) else [], value, child, order)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _smp_list(target: list[Any], patch: list[Any], node: Node | None, order: Any) -> list[Any]:
    strategy = str((node.raw if node is not None else {}).get("x-kubernetes-patch-strategy", ""))
    merge_key = node.merge_key if node is not None else ""
    if "merge" not in strategy.split(","):
        replaced = [copy.deepcopy(v) for v in patch if not (isinstance(v, Mapping) and _DIRECTIVE in v)]
        return replaced
    if any(isinstance(v, Mapping) and v.get(_DIRECTIVE) == "replace" for v in patch):
        return [copy.deepcopy(v) for v in patch if not (isinstance(v, Mapping) and _DIRECTIVE in v)]
    item_node = node.items() if node is not None else None
    if not merge_key:  # a set of scalars
        out = list(target)
        for v in patch:
            if v not in out:
                out.append(copy.deepcopy(v))
        return _ordered(out, order, None)
    out = [copy.deepcopy(v) for v in target]
    for item in patch:
        if not isinstance(item, Mapping) or merge_key not in item:
            raise BadRequest(f"map: {item} does not contain declared merge key: {merge_key}")
        at = next(
            (i for i, v in enumerate(out) if isinstance(v, Mapping) and v.get(merge_key) == item[merge_key]),
            None,
        )
        if item.get(_DIRECTIVE) == "delete":
            if at is not None:
                del out[at]
            continue
        if at is None:
            merged = _smp_map({}, item, item_node)
            out.append(merged)
        else:
            out[at] = _smp_map(out[at], item, item_node)
    return _ordered(out, order, merge_key)


def _ordered(items: list[Any], order: Any, merge_key: str | None) -> list[Any]:
    if not isinstance(order, list):
        return items

    def key(v: Any) -> Any:
        return v.get(merge_key) if merge_key and isinstance(v, Mapping) else v

    wanted = [o.get(merge_key) if merge_key and isinstance(o, Mapping) else o for o in order]
    ranked = sorted(
        range(len(items)),
        key=lambda i: (wanted.index(key(items[i])) if key(items[i]) in wanted else len(wanted), i),
    )
    return [items[i] for i in ranked]
