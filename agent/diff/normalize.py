"""Bring desired and live objects to one spelling before comparing (pure).

The desired object is serialized as the API server would store it (empties
dropped, quantities canonical, a Secret's ``stringData`` folded into
``data``); both sides lose what only the server writes (status, uid,
resourceVersion, managedFields, ...), and base64 values (Secret ``data``,
ConfigMap ``binaryData``) are compared by the bytes they encode, so a value
wrapped over several lines equals the same value on one line.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from agent.kube.nodes import SchemaError
from agent.kube.shapes import normalize, shape_for

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
SERVER_METADATA = ("uid", "resourceVersion", "generation", "managedFields", "creationTimestamp", "selfLink")
# Annotations the control plane's controllers write on the objects they run (the Deployment
# controller's revision, the DaemonSet controller's template generation, the PV controller's
# binding and provisioning marks on a claim): never drift.
CONTROLLER_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "deprecated.daemonset.template.generation",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.kubernetes.io/storage-provisioner",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
)


def drop_empty(value: Any) -> Any:
    """Remove what the server would not store: nulls, empty lists, and empty
    maps of map-typed fields (objects without a schema)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            kept = drop_empty(v)
            if kept == [] or (kept == {} and k in EMPTY_MAPS_DROPPED):
                continue
            out[k] = kept
        return out
    if isinstance(value, list):
        return [drop_empty(v) for v in value]
    return value


def is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def normalize_desired(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the API server will store for ``obj``: empty lists and maps
    dropped, quantities canonical (``0.5`` is ``500m``), a Secret's
    ``stringData`` folded into base64 ``data``."""
    shape = shape_for(obj)
    out: dict[str, Any]
    if shape is not None:
        try:
            out = normalize(dict(obj), shape)
        except SchemaError:  # a malformed quantity: the server will refuse it; compare as written
            out = drop_empty(dict(obj))
    else:
        out = drop_empty(dict(obj))
    if not is_secret(out):
        return out
    string_data = out.pop("stringData", None)
    if string_data:
        data = dict(out.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
    return out


def _canonical_b64(value: Any) -> Any:
    """``value`` re-encoded on one line (the server decodes ``[]byte`` fields
    and encodes them again); left alone when it is not base64 at all."""
    if not isinstance(value, str):
        return value
    try:
        return base64.b64encode(base64.b64decode("".join(value.split()), validate=True)).decode()
    except (binascii.Error, ValueError):
        return value


def _bytes_fields(obj: Mapping[str, Any]) -> tuple[str, ...]:
    if obj.get("apiVersion") != "v1":
        return ()
    return {"Secret": ("data",), "ConfigMap": ("binaryData",)}.get(str(obj.get("kind")), ())


# What the PV controller sets when it binds (and marks the object
# ``pv.kubernetes.io/bound-by-controller``), not what Git names: a claim's volume, a volume's claim.
_BOUND_BY_CONTROLLER = {"PersistentVolumeClaim": "volumeName", "PersistentVolume": "claimRef"}


def _volume_chosen_by_controller(obj: Mapping[str, Any], notes: Any) -> str | None:
    """The spec field the PV controller set on a claim or volume it bound, if any."""
    chosen = (
        isinstance(notes, Mapping)
        and notes.get("pv.kubernetes.io/bound-by-controller") == "yes"
        and obj.get("apiVersion") == "v1"
        and isinstance(obj.get("spec"), Mapping)
    )
    return _BOUND_BY_CONTROLLER.get(str(obj.get("kind"))) if chosen else None


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy without status and server-owned metadata, base64
    values in one spelling."""
    out = dict(obj)
    out.pop("status", None)
    meta = dict(out.get("metadata") or {})
    for f in SERVER_METADATA:
        meta.pop(f, None)
    notes = meta.get("annotations")
    bound = _volume_chosen_by_controller(out, notes)
    if bound:
        out["spec"] = {k: v for k, v in out["spec"].items() if k != bound}
    if isinstance(notes, Mapping) and any(a in notes for a in CONTROLLER_ANNOTATIONS):
        kept = {k: v for k, v in notes.items() if k not in CONTROLLER_ANNOTATIONS}
        if kept:
            meta["annotations"] = kept
        else:
            meta.pop("annotations")
    out["metadata"] = meta
    for name in _bytes_fields(out):
        values = out.get(name)
        if isinstance(values, Mapping):
            # an empty value is empty bytes either way: the API server keeps
            # it as nil and answers null for the "" written in Git
            out[name] = {k: "" if v is None else _canonical_b64(v) for k, v in values.items()}
    return out
