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
import difflib
import re
from collections.abc import Mapping
from typing import Any

import yaml
from deepdiff import DeepDiff

from agent.diff.mask import mask_secret_values
from agent.models import DiffStatus, FieldChange, ObjectKey, ResourceDiff

ABSENT = "<absent>"
# Tried in order; the first one present and unique in every item keys the list.
MERGE_KEY_CANDIDATES = ("name", "mountPath", "devicePath", "containerPort", "port", "ip", "topologyKey")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def normalize_desired(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the API server will store for ``obj``: a Secret's ``stringData``
    folds into base64 ``data``."""
    out = dict(obj)
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


def project(desired: Any, live: Any) -> tuple[Any, Any]:
    """Return ``(desired', live')``: both in a comparable shape, ``live'``
    restricted to what ``desired`` declares."""
    if isinstance(desired, dict):
        live_map = live if isinstance(live, dict) else {}
        d_out: dict[str, Any] = {}
        l_out: dict[str, Any] = {}
        for k, v in desired.items():
            if k in live_map:
                d_out[k], l_out[k] = project(v, live_map[k])
            else:
                d_out[k], _ = project(v, None)
        if not isinstance(live, dict) and live is not None:
            return d_out, live
        return d_out, l_out
    if isinstance(desired, list):
        key = merge_key(desired)
        if key is not None and isinstance(live, list) and all(isinstance(i, dict) for i in live):
            live_keyed = {f"[{key}={i.get(key)}]": i for i in live if i.get(key) is not None}
            return project(_keyed(desired, key), live_keyed)
        if key is not None:
            return project(_keyed(desired, key), live)
        return desired, live
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


def _format_path(parts: list[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and p.startswith("[") and p.endswith("]"):
            out += p
        elif isinstance(p, str) and _PLAIN_KEY.match(p):
            out += f".{p}" if out else p
        else:
            out += f'["{p}"]'
    return out


def _changes(want_view: Any, live_view: Any) -> tuple[FieldChange, ...]:
    tree = DeepDiff(want_view, live_view, verbose_level=2, view="tree")
    changes: list[FieldChange] = []
    for report_type, levels in tree.items():
        for level in levels:
            path = _format_path(level.path(output_format="list"))
            if report_type in ("dictionary_item_removed", "iterable_item_removed"):
                changes.append(FieldChange(path, unkey(level.t1), ABSENT))
            elif report_type in ("dictionary_item_added", "iterable_item_added"):
                changes.append(FieldChange(path, ABSENT, unkey(level.t2)))
            else:
                changes.append(FieldChange(path, unkey(level.t1), unkey(level.t2)))
    changes.sort(key=lambda c: c.path)
    return tuple(changes)


def field_changes(desired: Mapping[str, Any], live: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """The fields ``desired`` declares whose live value differs."""
    want_view, live_view = project(_strip_server_metadata(desired), live)
    return () if want_view == live_view else _changes(want_view, live_view)


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
        return yaml.safe_dump(unkey(view), sort_keys=True, default_flow_style=False).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(live), lines(desired), f"live/{key}", f"git/{key}"))


def diff_object(
    key: ObjectKey, desired: Mapping[str, Any] | None, live: Mapping[str, Any] | None
) -> ResourceDiff:
    """Drift of one object. ``desired`` is None for an owned object Git no
    longer has (extraneous); ``live`` is None for one missing from the cluster."""
    secret = key.kind == "Secret" and not key.group
    if desired is None:
        shown = _strip_server_metadata(live or {})
        if secret:
            shown = mask_secret_values(shown)
        return ResourceDiff(key, DiffStatus.EXTRANEOUS, unified=_unified(key, shown, None))
    want = normalize_desired(desired)
    if secret:
        want = mask_secret_values(want)
    if live is None:
        return ResourceDiff(key, DiffStatus.MISSING, unified=_unified(key, None, want))
    have: Mapping[str, Any] = mask_secret_values(live) if secret else live
    want_view, live_view = project(_strip_server_metadata(want), have)
    if want_view == live_view:
        return ResourceDiff(key, DiffStatus.IN_SYNC)
    changes = _changes(want_view, live_view)
    if not changes:
        return ResourceDiff(key, DiffStatus.IN_SYNC)
    return ResourceDiff(key, DiffStatus.MODIFIED, changes, _unified(key, live_view, want_view))
