"""Who owns an object (pure): the labels and annotation the agent stamps.

``app.kubernetes.io/managed-by`` says the agent manages the object, the
``gitops-agent.io/app`` label selects an app's objects cheaply (one list per
kind), and the ``gitops-agent.io/owner`` annotation names the exact owner
(``<state namespace>/<app>``), so two agents sharing a cluster, or two apps of
the same name under different agents, never take each other's objects.

A hook declared with ``metadata.generateName`` and no name gets a new name
from the API server at each run, so its runs are found by what they run
for instead: the ``gitops-agent.io/hook-of`` annotation names the hook's
identity (``<Kind>[.<group>]/<generateName>``), unique within a render (two
hooks with the same one are refused as a duplicate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "gitops-agent"
APP_LABEL = "gitops-agent.io/app"
OWNER_ANNOTATION = "gitops-agent.io/owner"
PRUNE_ANNOTATION = "gitops-agent.io/prune"
HOOK_OF_ANNOTATION = "gitops-agent.io/hook-of"


def owner_id(state_namespace: str, app: str) -> str:
    return f"{state_namespace}/{app}"


def stamp(obj: Mapping[str, Any], app: str, owner: str) -> dict[str, Any]:
    """A copy of ``obj`` carrying the app's ownership marks.  Only the top
    level and ``metadata`` are new; the rest is shared with ``obj``, which
    nothing changes afterwards (a deep copy of every rendered object cost
    more than the plan of a large app)."""
    out = dict(obj)
    meta = out["metadata"] = dict(out.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), MANAGED_BY_LABEL: MANAGED_BY, APP_LABEL: app}
    notes = {**(meta.get("annotations") or {}), OWNER_ANNOTATION: owner}
    if generated(obj):
        notes[HOOK_OF_ANNOTATION] = hook_identity(obj)
    meta["annotations"] = notes
    return out


def generated(obj: Mapping[str, Any]) -> bool:
    """True for an object the API server names (``generateName``, no name)."""
    meta = obj.get("metadata") or {}
    return not meta.get("name") and bool(meta.get("generateName"))


def hook_identity(obj: Mapping[str, Any]) -> str:
    """What the runs of a generated hook have in common: its kind (with the
    API group, if any) and its ``generateName``."""
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    kind = f"{obj.get('kind', '')}.{group}" if group else str(obj.get("kind", ""))
    return f"{kind}/{meta.get('generateName', '')}"


def runs_of(identity: str, owner: str, live: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The earlier runs of the generated hook ``identity`` among ``live``
    objects: the ones ``owner`` stamped with that identity."""
    return [
        obj
        for obj in live
        if owner_of(obj) == owner
        and ((obj.get("metadata") or {}).get("annotations") or {}).get(HOOK_OF_ANNOTATION) == identity
    ]


def owner_of(obj: Mapping[str, Any]) -> str | None:
    """The owner an object names, or None when the agent does not manage it."""
    meta = obj.get("metadata") or {}
    owner = (meta.get("annotations") or {}).get(OWNER_ANNOTATION)
    return str(owner) if owner else None


def prune_disabled(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    return (meta.get("annotations") or {}).get(PRUNE_ANNOTATION) == "disabled"
