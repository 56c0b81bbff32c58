"""Who owns an object (pure): the labels and annotation the agent stamps.

``app.kubernetes.io/managed-by`` says the agent manages the object, the
``gitops-agent.io/app`` label selects an app's objects cheaply (one list per
kind), and the ``gitops-agent.io/owner`` annotation names the exact owner
(``<state namespace>/<app>``), so two agents sharing a cluster, or two apps of
the same name under different agents, never take each other's objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "gitops-agent"
APP_LABEL = "gitops-agent.io/app"
OWNER_ANNOTATION = "gitops-agent.io/owner"
PRUNE_ANNOTATION = "gitops-agent.io/prune"


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
    meta["annotations"] = {**(meta.get("annotations") or {}), OWNER_ANNOTATION: owner}
    return out


def owner_of(obj: Mapping[str, Any]) -> str | None:
    """The owner an object names, or None when the agent does not manage it."""
    meta = obj.get("metadata") or {}
    owner = (meta.get("annotations") or {}).get(OWNER_ANNOTATION)
    return str(owner) if owner else None


def prune_disabled(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    return (meta.get("annotations") or {}).get(PRUNE_ANNOTATION) == "disabled"
