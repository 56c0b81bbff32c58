"""Keyed views of objects (pure): what the diff actually compares.

In a *view*, every list of objects that has keys (``containers`` by
``name``, ``ports`` by ``containerPort`` and ``protocol``, ``volumeMounts``
by ``mountPath``) becomes a map from a :class:`~agent.diff.paths.Match` to
the item, so items pair up by identity, never by position, and paths read
``spec.template.spec.containers[name=web].image``.  A key field the server
defaults (``protocol: TCP``) is left out of the key when it has its default,
so a manifest that omits it pairs with the live item that has it.

:func:`project` builds the views of a desired and a live object together,
the live one restricted to the fields the desired one declares: server
defaults and fields nobody declared never reach the comparison.
"""

from __future__ import annotations

from typing import Any

from agent.diff.paths import KEY_DEFAULTS, Index, Key, Match, Path, Segment
from agent.kube.shapes import Shape

# Without a schema (custom resources) the first of these that is present and
# unique in every item keys a list.
MERGE_KEY_CANDIDATES = ("name", "mountPath", "devicePath", "containerPort", "port", "ip", "topologyKey")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _guess_key(items: list[Any]) -> tuple[str, ...]:
    if not items or not all(isinstance(i, dict) for i in items):
        return ()
    for key in MERGE_KEY_CANDIDATES:
        values = [i.get(key) for i in items]
        if all(v is not None for v in values) and len(set(map(str, values))) == len(values):
            return (key,)
    return ()


def list_keys(items: list[Any], shape: Shape | None) -> tuple[str, ...]:
    """The fields that identify a list's items (empty: an atomic list)."""
    if shape is None or shape.kind != "list":
        return _guess_key(items)
    keys = shape.keys
    if keys and items and all(isinstance(i, dict) and keys[0] in i for i in items):
        return keys
    return ()


def item_key(item: Any, keys: tuple[str, ...]) -> Match | None:
    """``[containerPort=53,protocol=UDP]``; ``[containerPort=80]`` for TCP."""
    if not isinstance(item, dict) or item.get(keys[0]) is None:
        return None
    fields = [(keys[0], _text(item[keys[0]]))]
    for k in keys[1:]:
        if k in item and _text(item[k]) != KEY_DEFAULTS.get(k):
            fields.append((k, _text(item[k])))
    return Match(tuple(fields))


def _keyed(items: list[Any], keys: tuple[str, ...]) -> dict[Match, Any] | None:
    out: dict[Match, Any] = {}
    for item in items:
        k = item_key(item, keys)
        if k is None or k in out:
            return None  # not identifiable (or a duplicate): compare as a whole
        out[k] = item
    return out


def _is_zero(value: Any) -> bool:
    """Go's zero values, which ``omitempty`` leaves out of what the server returns."""
    return value is False or value == "" or (type(value) is int and value == 0)


def project(desired: Any, live: Any, shape: Shape | None = None) -> tuple[Any, Any]:
    """Return ``(desired', live')``: both as views, ``live'`` restricted to
    what ``desired`` declares."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return to_view(desired, shape), live
        return _project_map(desired, live, shape)
    if isinstance(desired, list):
        return _project_list(desired, live, shape)
    if shape is not None and shape.int_or_string and live is not None and str(desired) == str(live):
        return desired, desired  # 8080 and "8080" are the same port
    return desired, live


def covered(desired: Any, live: Any, shape: Shape | None = None) -> bool:
    """Whether :func:`project` would give two equal views, without making
    them: the check of an object in sync (most of them, in a sync that
    changes nothing) builds nothing.  False only means "not sure": the
    caller then projects."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and _covered_map(desired, live, shape)
    if isinstance(desired, list):
        return _covered_list(desired, live, shape)
    if shape is not None and shape.int_or_string and live is not None and str(desired) == str(live):
        return True
    return bool(desired == live)


def _covered_map(desired: dict[Any, Any], live: dict[Any, Any], shape: Shape | None) -> bool:
    for k, v in desired.items():  # a loop, not all(...): this runs for every field of every object
        if k in live:
            if not covered(v, live[k], shape.child(k) if shape is not None else None):
                return False
        elif shape is None or not _is_zero(v):
            return False
    return True


def _covered_list(desired: list[Any], live: Any, shape: Shape | None) -> bool:
    item_shape = shape.items() if shape is not None else None
    keys = list_keys(desired, shape)
    d_keyed = _keyed(desired, keys) if keys else None
    if d_keyed is not None:
        l_keyed = _keyed(live, keys) if isinstance(live, list) else None
        if l_keyed is None:
            return False
        return all(k in l_keyed and covered(v, l_keyed[k], item_shape) for k, v in d_keyed.items())
    if (
        isinstance(live, list)
        and len(live) == len(desired)
        and all(isinstance(i, dict) for i in (*desired, *live))
    ):
        return all(covered(d, lv, item_shape) for d, lv in zip(desired, live, strict=True))
    return bool(desired == live)


def _project_map(
    desired: dict[Any, Any], live: dict[Any, Any], shape: Shape | None
) -> tuple[dict[Any, Any], dict[Any, Any]]:
    d_out: dict[Any, Any] = {}
    l_out: dict[Any, Any] = {}
    for k, v in desired.items():
        sub = shape.child(k) if shape is not None else None
        if k in live:
            d_out[k], l_out[k] = project(v, live[k], sub)
        elif shape is not None and _is_zero(v):
            continue  # `hostNetwork: false`, `value: ""`: the server does not store them
        else:
            d_out[k] = to_view(v, sub)
    return d_out, l_out


def _project_list(desired: list[Any], live: Any, shape: Shape | None) -> tuple[Any, Any]:
    """Keyed lists as maps by key; an atomic list of objects item by item."""
    item_shape = shape.items() if shape is not None else None
    keys = list_keys(desired, shape)
    d_keyed = _keyed(desired, keys) if keys else None
    if d_keyed is not None:
        l_keyed = _keyed(live, keys) if isinstance(live, list) else None
        if l_keyed is None:
            return {k: to_view(v, item_shape) for k, v in d_keyed.items()}, live
        d_out: dict[Any, Any] = {}
        l_out: dict[Any, Any] = {}
        for k, v in d_keyed.items():
            if k in l_keyed:
                d_out[k], l_out[k] = project(v, l_keyed[k], item_shape)
            else:
                d_out[k] = to_view(v, item_shape)
        return d_out, l_out
    if (
        isinstance(live, list)
        and len(live) == len(desired)
        and all(isinstance(i, dict) for i in (*desired, *live))
    ):  # an atomic list of objects: item by item, declared fields only
        pairs = [project(d, lv, item_shape) for d, lv in zip(desired, live, strict=True)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    return desired, live


def to_view(value: Any, shape: Shape | None = None) -> Any:
    """A whole object with every keyed list turned into a keyed map."""
    if isinstance(value, dict):
        if shape is None:
            return {k: to_view(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
        return {k: to_view(v, shape.child(k)) for k, v in value.items()}
    if isinstance(value, list):
        keys = list_keys(value, shape)
        keyed = _keyed(value, keys) if keys else None
        if keyed is None:
            return value
        item_shape = shape.items() if shape is not None else None
        return {k: to_view(v, item_shape) for k, v in keyed.items()}
    return value


def unkey(value: Any) -> Any:
    """Undo the keying for display: keyed maps become lists again."""
    if isinstance(value, dict):
        if value and all(isinstance(k, Match) for k in value):
            return [unkey(v) for v in value.values()]
        return {k: unkey(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unkey(v) for v in value]
    return value


def to_path(parts: list[Any] | tuple[Any, ...]) -> Path:
    """A view path (keys, Match selectors, indexes) as a Path."""
    out: list[Segment] = []
    for p in parts:
        if isinstance(p, Match):
            out.append(p)
        elif isinstance(p, int) and not isinstance(p, bool):
            out.append(Index(p))
        else:
            out.append(Key(str(p)))
    return tuple(out)


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


def at(view: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        view = view[part]
    return view
