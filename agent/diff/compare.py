"""Compare one desired object with its live counterpart (pure).

Only the fields the desired object declares are compared: the live object is
first *projected* onto the desired object's shape, so server defaults, status
and server-owned metadata never count as drift.  Lists of objects are keyed by
their merge key (``containers`` by ``name``, ``volumeMounts`` by
``mountPath``, ...) before the comparison, so order never matters for them and
paths read ``spec.template.spec.containers[name=web].image``.  deepdiff does
the comparison itself.
"""

from __future__ import annotations

import base64
import copy
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from deepdiff import DeepDiff

from agent.diff.ignore import Ignored, ManagedEntry, managed_fields
from agent.diff.mask import mask_secret_values
from agent.diff.paths import Index, Key, Match, Path, Segment, covers, format_path, remove
from agent.kinds import builtin
from agent.models import ChangeKind, DiffStatus, FieldChange, ObjectKey, ResourceDiff, split_api_version
from agent.schema.nodes import INT_OR_STRING, Node, SchemaError, normalize_builtin, root

ABSENT = "<absent>"
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when PyYAML has it
# Tried in order; the first one present and unique in every item keys the list.
MERGE_KEY_CANDIDATES = ("name", "mountPath", "devicePath", "containerPort", "port", "ip", "topologyKey")


# Map-typed fields (Go maps): serialized with omitempty, so an empty one is
# never stored.  Empty structs (``emptyDir: {}``) are kept, as the server does.
EMPTY_MAPS_DROPPED = frozenset(
    {
        "labels",
        "annotations",
        "data",
        "stringData",
        "binaryData",
        "nodeSelector",
        "matchLabels",
        "selector",
        "limits",
        "requests",
        "parameters",
    }
)


def drop_empty(value: Any) -> Any:
    """Remove what the server would not store: empty lists, and empty maps
    of map-typed fields."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            kept = drop_empty(v)
            if kept == [] or (kept == {} and k in EMPTY_MAPS_DROPPED):
                continue
            out[k] = kept
        return out
    if isinstance(value, list):
        return [drop_empty(v) for v in value]
    return value


def normalize_desired(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the API server will store for ``obj``: empty lists and maps
    dropped, quantities canonical (``0.5`` is ``500m``), a Secret's
    ``stringData`` folded into base64 ``data``."""
    node = node_for(obj)
    out: dict[str, Any]
    if node is not None:
        try:
            out = dict(normalize_builtin(obj, node))
        except SchemaError:  # a malformed quantity: the server will refuse it; compare as written
            out = drop_empty(dict(obj))
    else:
        out = drop_empty(dict(obj))
    if out.get("kind") != "Secret" or out.get("apiVersion") != "v1":
        return out
    string_data = out.pop("stringData", None)
    if string_data:
        data = dict(out.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
    return out


def merge_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in MERGE_KEY_CANDIDATES:
        values = [i.get(key) for i in items]
        if all(v is not None for v in values) and len(set(map(str, values))) == len(values):
            return key
    return None


def _keyed(items: list[Any], key: str) -> dict[str, Any]:
    return {f"[{key}={item[key]}]": item for item in items}


def node_for(obj: Mapping[str, Any]) -> Node | None:
    """The schema of a built-in kind at the object's version (None for
    custom resources and unknown versions: lists are then keyed by name)."""
    group, version = split_api_version(str(obj.get("apiVersion", "")))
    rt = builtin(group, str(obj.get("kind", "")))
    if rt is None or rt.version != version or not rt.definition:
        return None
    return root(rt)


def _list_key(items: list[Any], node: Node | None) -> str | None:
    """How a list's items are identified: the schema's merge key (or first
    list-map key) when every item has it; by name etc. without a schema."""
    if node is None or node.shape != "list":
        return merge_key(items)
    if node.list_type != "map":
        return None
    key = node.merge_key or (node.map_keys[0] if node.map_keys else "")
    if key and items and all(isinstance(i, dict) and key in i for i in items):
        return key
    return None


def _child(node: Node | None, name: str) -> Node | None:
    return node.field(name) if node is not None else None


def project(desired: Any, live: Any, node: Node | None = None) -> tuple[Any, Any]:
    """Return ``(desired', live')``: both in a comparable shape, ``live'``
    restricted to what ``desired`` declares."""
    if isinstance(desired, dict):
        live_map = live if isinstance(live, dict) else {}
        d_out: dict[str, Any] = {}
        l_out: dict[str, Any] = {}
        for k, v in desired.items():
            if k in live_map:
                d_out[k], l_out[k] = project(v, live_map[k], _child(node, k))
            else:
                d_out[k], _ = project(v, None, _child(node, k))
        if not isinstance(live, dict) and live is not None:
            return d_out, live
        return d_out, l_out
    if isinstance(desired, list):
        item = node.items() if node is not None and node.shape == "list" else None
        key = _list_key(desired, node)
        if key is not None:
            d_keyed = _keyed(desired, key)
            if not (isinstance(live, list) and all(isinstance(i, dict) for i in live)):
                return {k: project(v, None, item)[0] for k, v in d_keyed.items()}, live
            l_keyed = {f"[{key}={i.get(key)}]": i for i in live if i.get(key) is not None}
            d_out, l_out = {}, {}
            for k, v in d_keyed.items():
                if k in l_keyed:
                    d_out[k], l_out[k] = project(v, l_keyed[k], item)
                else:
                    d_out[k], _ = project(v, None, item)
            return d_out, l_out
        if (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(isinstance(i, dict) for i in (*desired, *live))
        ):  # an atomic list of objects: item by item, declared fields only
            pairs = [project(d, lv, item) for d, lv in zip(desired, live, strict=True)]
            return [p[0] for p in pairs], [p[1] for p in pairs]
        return desired, live
    if node is not None and node.ref == INT_OR_STRING and live is not None and str(desired) == str(live):
        return desired, desired  # 8080 and "8080" are the same port
    return desired, live


def unkey(value: Any) -> Any:
    """Undo :func:`_keyed` for display: keyed maps become lists again."""
    if isinstance(value, dict):
        if value and all(isinstance(k, str) and k.startswith("[") and "=" in k for k in value):
            return [unkey(v) for v in value.values()]
        return {k: unkey(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unkey(v) for v in value]
    return value


def to_path(parts: list[Any] | tuple[Any, ...]) -> Path:
    """A DeepDiff / view path (keys, ``[name=web]`` strings, indexes) as a Path."""
    out: list[Segment] = []
    for p in parts:
        if isinstance(p, int):
            out.append(Index(p))
        elif isinstance(p, str) and p.startswith("[") and p.endswith("]") and "=" in p:
            field, _, value = p[1:-1].partition("=")
            out.append(Match(((field, value),)))
        else:
            out.append(Key(str(p)))
    return tuple(out)


def to_view(value: Any, node: Node | None = None) -> Any:
    """A whole object with every keyed list turned into a keyed map."""
    if isinstance(value, dict):
        return {k: to_view(v, _child(node, k)) for k, v in value.items()}
    if isinstance(value, list):
        key = _list_key(value, node)
        if key is None:
            return value
        item = node.items() if node is not None else None
        return {f"[{key}={i[key]}]": to_view(i, item) for i in value}
    return value


def leaves(view: Any, prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    """``path -> value`` for every leaf of a view (atomic lists are leaves)."""
    if isinstance(view, dict) and view:
        out: dict[tuple[Any, ...], Any] = {}
        for k, v in view.items():
            out.update(leaves(v, (*prefix, k)))
        return out
    return {prefix: view}


def nodes(view: Any) -> set[tuple[Any, ...]]:
    """Every path of a view that exists: leaves and all their ancestors."""
    out: set[tuple[Any, ...]] = set()
    for path in leaves(view):
        out.update(path[:n] for n in range(1, len(path) + 1))
    return out


def _top_missing(
    path: tuple[Any, ...], present: set[tuple[Any, ...]], leaf_paths: set[tuple[Any, ...]]
) -> tuple[Any, ...] | None:
    """The topmost ancestor of ``path`` absent from ``present`` (None when a
    declared leaf covers it: an atomic value Git still declares)."""
    for n in range(1, len(path) + 1):
        if path[:n] in leaf_paths:
            return None
        if path[:n] not in present:
            return path[:n]
    return None


def _at(view: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        view = view[part]
    return view


_MISSING = object()


def _differing(a: Any, b: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any, Any]]:
    """The smallest pairs of sub-maps that differ (cheap equality first), so
    deepdiff only looks at what changed: most of a drifted object is equal."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [(prefix, a, b)]
    pieces: list[tuple[tuple[Any, ...], Any, Any]] = []
    left: dict[Any, Any] = {}
    right: dict[Any, Any] = {}
    for k in (*a, *(k for k in b if k not in a)):
        x, y = a.get(k, _MISSING), b.get(k, _MISSING)
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            pieces.extend(_differing(x, y, (*prefix, k)))
        else:
            if x is not _MISSING:
                left[k] = x
            if y is not _MISSING:
                right[k] = y
    if left or right:
        pieces.append((prefix, left, right))
    return pieces


def _changes(want_view: Any, live_view: Any) -> list[tuple[Path, FieldChange]]:
    changes: list[tuple[Path, FieldChange]] = []
    for prefix, t1, t2 in _differing(want_view, live_view):
        tree = DeepDiff(t1, t2, verbose_level=2, view="tree")
        for report_type, levels in tree.items():
            for level in levels:
                path = to_path((*prefix, *level.path(output_format="list")))
                shown = format_path(path)
                if report_type in ("dictionary_item_removed", "iterable_item_removed"):
                    change = FieldChange(shown, unkey(level.t1), ABSENT)
                elif report_type in ("dictionary_item_added", "iterable_item_added"):
                    change = FieldChange(shown, ABSENT, unkey(level.t2))
                else:
                    change = FieldChange(shown, unkey(level.t1), unkey(level.t2))
                changes.append((path, change))
    return changes


def field_changes(desired: Mapping[str, Any], live: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """The fields ``desired`` declares whose live value differs."""
    want_view, live_view = project(_strip_server_metadata(desired), live, node_for(desired))
    return () if want_view == live_view else tuple(c for _, c in _changes(want_view, live_view))


def _strip_server_metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    out.pop("status", None)
    meta = dict(out.get("metadata") or {})
    for f in ("uid", "resourceVersion", "generation", "managedFields", "creationTimestamp", "selfLink"):
        meta.pop(f, None)
    out["metadata"] = meta
    return out


def _unified(key: ObjectKey, live: Any, desired: Any) -> str:
    """A ``kubectl diff``-style unified diff: ``-`` live, ``+`` Git."""

    def lines(view: Any) -> list[str]:
        if view is None:
            return []
        text = yaml.dump(unkey(view), Dumper=_Dumper, sort_keys=True, default_flow_style=False)
        return text.splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(live), lines(desired), f"live/{key}", f"git/{key}"))


@dataclass(frozen=True)
class DiffOptions:
    """How to compare: ignored fields, strict mode, and the agent's own
    field manager (whose writes are never 'out of band')."""

    ignored: Ignored = field(default_factory=Ignored)
    strict: bool = False
    self_manager: str = "gitops-agent"


def _without(obj: Mapping[str, Any], paths: tuple[Path, ...]) -> Mapping[str, Any]:
    if not paths:
        return obj
    out = copy.deepcopy(dict(obj))
    for path in paths:
        remove(out, path)
    return out


def diff_object(
    key: ObjectKey,
    desired: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    last_applied: Mapping[str, Any] | None = None,
    options: DiffOptions = DiffOptions(),
) -> ResourceDiff:
    """Drift of one object. ``desired`` is None for an owned object Git no
    longer has (extraneous); ``live`` is None for one missing from the
    cluster; ``last_applied`` is what the previous revision applied (for
    fields Git dropped since)."""
    secret = key.kind == "Secret" and not key.group
    mask = mask_secret_values if secret else dict
    if desired is None:
        return ResourceDiff(
            key,
            DiffStatus.EXTRANEOUS,
            (),
            lambda: _unified(key, mask(_strip_server_metadata(live or {})), None),
        )
    if live is None:
        return ResourceDiff(
            key, DiffStatus.MISSING, (), lambda: _unified(key, None, mask(normalize_desired(desired)))
        )
    ignored = options.ignored.all_paths(live)
    want = mask(_strip_server_metadata(_without(normalize_desired(desired), ignored)))
    have = mask(_strip_server_metadata(_without(live, ignored)))
    node = node_for(desired)
    want_view, live_view = project(want, have, node)
    found = [] if want_view == live_view else _changes(want_view, live_view)
    if last_applied is not None and last_applied != desired:  # same as last time: nothing dropped
        last = mask(_strip_server_metadata(_without(normalize_desired(last_applied), ignored)))
        found += _removed_in_git(want, last, have, node)
    if options.strict:
        last_seen = mask(_strip_server_metadata(normalize_desired(last_applied))) if last_applied else {}
        found += _added_out_of_band(want, last_seen, have, live, options, node)
    if not found:
        return ResourceDiff(key, DiffStatus.IN_SYNC)
    entries = managed_fields(live)
    changes = tuple(
        sorted((_attribute(p, c, entries, options.self_manager) for p, c in found), key=lambda c: c.path)
    )
    return ResourceDiff(key, DiffStatus.MODIFIED, changes, lambda: _unified(key, live_view, want_view))


def _removed_in_git(
    want: Mapping[str, Any], last: Mapping[str, Any], have: Mapping[str, Any], node: Node | None
) -> list[tuple[Path, FieldChange]]:
    """Fields the previous revision applied and Git no longer declares, still
    live (reported at the topmost field Git dropped)."""
    want_view, live_view = to_view(want, node), to_view(have, node)
    present, declared_leaves, live_nodes = nodes(want_view), set(leaves(want_view)), nodes(live_view)
    tops = {_top_missing(path, present, declared_leaves) for path in leaves(to_view(last, node))}
    out: list[tuple[Path, FieldChange]] = []
    for top in sorted((t for t in tops if t is not None and t in live_nodes), key=str):
        p = to_path(top)
        value = unkey(_at(live_view, top))
        out.append((p, FieldChange(format_path(p), ABSENT, value, ChangeKind.REMOVED_IN_GIT)))
    return out


def _added_out_of_band(
    want: Mapping[str, Any],
    last: Mapping[str, Any],
    have: Mapping[str, Any],
    live: Mapping[str, Any],
    options: DiffOptions,
    node: Node | None,
) -> list[tuple[Path, FieldChange]]:
    """Strict mode: live fields that neither Git nor the last revision
    declares, written by a manager other than the agent (server defaults
    have no manager, so they never show up here)."""
    want_view, last_view, live_view = to_view(want, node), to_view(last, node), to_view(have, node)
    present = nodes(want_view) | nodes(last_view)
    declared_leaves = set(leaves(want_view)) | set(leaves(last_view))
    others = [
        e
        for e in managed_fields(live)
        if e.manager != options.self_manager
        and e.manager not in options.ignored.managers
        and e.subresource != "status"
    ]
    owned = [path for e in others for path in e.paths]
    tops: set[tuple[Any, ...]] = set()
    for path in leaves(live_view):
        top = _top_missing(path, present, declared_leaves) if path else None
        if top is None:
            continue
        # report at the shallowest undeclared field another manager owns
        for n in range(len(top), len(path) + 1):
            if any(covers(o, to_path(path[:n])) for o in owned):
                tops.add(path[:n])
                break
    out: list[tuple[Path, FieldChange]] = []
    for top in sorted(tops, key=str):
        p = to_path(top)
        out.append(
            (p, FieldChange(format_path(p), ABSENT, unkey(_at(live_view, top)), ChangeKind.ADDED_OUT_OF_BAND))
        )
    return out


def _attribute(
    path: Path, change: FieldChange, entries: list[ManagedEntry], self_manager: str
) -> FieldChange:
    """Name who last wrote a changed field, from the live managedFields."""
    owners = [
        e
        for e in entries
        if e.manager != self_manager
        and e.subresource != "status"
        and any(covers(owned, path) or covers(path, owned) for owned in e.paths)
    ]
    if not owners:
        return change
    latest = max(owners, key=lambda e: e.time)
    return replace(change, manager=latest.manager, time=latest.time)
