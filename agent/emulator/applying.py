"""Server-side apply's pure parts: the applied object made ready, and kubectl's hand-over.

The registry merges under its store lock (:meth:`agent.emulator.registry.Registry.apply`);
what needs no lock is here: checking and serializing the applied object as
the API server does before it merges by list-map keys, and the fields of
kubectl's ``last-applied-configuration`` annotation that ``kubectl apply
--server-side`` may take over from client-side apply without forcing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.emulator.admission.causes import check_patch_options
from agent.emulator.admission.serialize import default_list_keys, serialize
from agent.emulator.fields import fieldsets
from agent.emulator.objects import JSON
from agent.kube import nodes as schema
from agent.kube.errors import BadRequest
from agent.kube.kinds import ResourceType

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass
class Applied:
    """An apply made ready to merge: the object it names, the serialized applied
    configuration, the resourceVersion it requires (if any) and the patch as sent."""

    rt: ResourceType
    name: str
    ns: str
    body: JSON
    want_rv: str | None
    patch: Mapping[str, Any]
    node: schema.Node
    fields: fieldsets.FieldSet


def prepare(
    rt: ResourceType,
    name: str,
    ns: str,
    patch: Any,
    *,
    manager: str,
    node: schema.Node,
    builtin: bool,
    owned: bool,
) -> Applied:
    """The apply made ready to merge.  ``owned``: ``patch`` is the caller's to give
    away (only its top level and metadata change here); otherwise it is copied first."""
    if not isinstance(patch, Mapping):
        raise BadRequest("an apply patch must be a single object")
    check_patch_options(apply=True, manager=manager, force_given=False)
    if owned:  # only the top level and metadata change below; the rest is normalized into a copy
        applied = dict(patch)
        if isinstance(applied.get("metadata"), Mapping):
            applied["metadata"] = dict(applied["metadata"])
    else:
        applied = copy.deepcopy(dict(patch))
    if (applied.get("kind") and applied.get("kind") != rt.kind) or not applied.get("apiVersion"):
        raise BadRequest("apiVersion and kind must be set and match the URL in an apply patch")
    meta = applied.setdefault("metadata", {})
    if meta.get("name") and meta["name"] != name:
        raise BadRequest(
            f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
        )
    meta["name"] = name
    if rt.namespaced:
        meta["namespace"] = ns
    else:
        meta.pop("namespace", None)
    want_rv = meta.get("resourceVersion")
    applied = serialize(rt, applied, node, builtin=builtin)
    # owned as applied: a list-map key the server defaults keys the item, but is not the applier's
    fields = set(fieldsets.flatten(applied, node, applied=True))
    default_list_keys(applied, node, builtin=builtin)
    return Applied(rt, name, ns, applied, want_rv, patch, node, fields)


def last_applied_fields(live: JSON | None, node: schema.Node, manager: str) -> set[fieldsets.Path] | None:
    """The fields of kubectl's last-applied annotation, when ``kubectl apply --server-side``
    takes over an object made by client-side apply: the API server lets it take them
    without ``--force-conflicts`` (its ``lastAppliedManager``)."""
    if manager != "kubectl" or live is None:
        return None
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    return fieldsets.object_set(last, node) if isinstance(last, dict) else None


def update_last_applied(merged: JSON, applied: Mapping[str, Any]) -> None:
    """Keep the annotation equal to what kubectl applied (the API server's
    ``lastAppliedUpdater``), so a later client-side apply computes its patch from it."""
    annotations = (merged.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        body = copy.deepcopy(dict(applied))
        (body.get("metadata") or {}).get("annotations", {}).pop(LAST_APPLIED, None)
        annotations[LAST_APPLIED] = json.dumps(body, separators=(",", ":"), sort_keys=True)
