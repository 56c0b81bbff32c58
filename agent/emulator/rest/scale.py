"""The ``scale`` subresource: an ``autoscaling/v1`` Scale over a workload or a custom resource.

A built-in workload's Scale reads ``spec.replicas``, ``status.replicas`` and
its selector; a custom resource's reads the paths its CRD's
``subresources.scale`` names (``specReplicasPath``, ``statusReplicasPath``,
``labelSelectorPath``), as apiextensions-apiserver's ``scaleFromCustomResource``
does.  A write is made to the Scale (a PUT replaces it, a PATCH patches it),
then its ``spec.replicas`` is written to the object; a ``resourceVersion`` the
Scale carries is the write's precondition (409 when stale), as the registries'
``scaleUpdatedObjectInfo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.emulator.fields import patching
from agent.emulator.objects import JSON, not_found
from agent.emulator.registry import Registry
from agent.kube.errors import BadRequest, Invalid
from agent.kube.kinds import ResourceType


@dataclass(frozen=True)
class Paths:
    spec_replicas: tuple[str, ...] = ("spec", "replicas")
    status_replicas: tuple[str, ...] = ("status", "replicas")
    selector: tuple[str, ...] | None = None  # a custom resource's label selector string
    custom: bool = False  # a custom resource: its own validation judges the replicas written


def _split(path: Any) -> tuple[str, ...]:
    return tuple(p for p in str(path or "").split(".") if p)


def paths_of(registry: Registry, rt: ResourceType) -> Paths:
    crd = registry.catalog.crd_of(rt)
    if crd is None:
        return Paths()
    for version in (crd.get("spec") or {}).get("versions") or ():
        if version.get("name") == rt.version:
            scale = (version.get("subresources") or {}).get("scale") or {}
            selector = scale.get("labelSelectorPath")
            return Paths(
                _split(scale.get("specReplicasPath") or ".spec.replicas"),
                _split(scale.get("statusReplicasPath") or ".status.replicas"),
                _split(selector) if selector else None,
                custom=True,
            )
    return Paths(custom=True)


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def _selector_text(selector: Any) -> str:
    """A LabelSelector as ``metav1.LabelSelectorAsSelector(...).String()`` prints it."""
    if not isinstance(selector, Mapping):
        return ""
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key", ""), expr.get("operator", ""), sorted(expr.get("values") or ())
        if op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {'in' if op == 'In' else 'notin'} ({','.join(values)})")
    return ",".join(sorted(parts))


_META = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")


def scale_of(obj: JSON, paths: Paths) -> JSON:
    meta = obj.get("metadata") or {}
    replicas = _at(obj, paths.spec_replicas)
    if paths.selector is None:
        selector = _selector_text((obj.get("spec") or {}).get("selector"))
    else:
        found = _at(obj, paths.selector)
        selector = found if isinstance(found, str) else ""
    status: JSON = {"replicas": _at(obj, paths.status_replicas) or 0}
    if selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": replicas} if isinstance(replicas, int) and replicas else {},
        "status": status,
    }


def read(registry: Registry, rt: ResourceType, name: str, ns: str) -> JSON:
    obj = registry.get(rt, name, ns)
    if obj is None:
        raise not_found(rt, name)
    return scale_of(obj, paths_of(registry, rt))


def write(
    registry: Registry,
    rt: ResourceType,
    name: str,
    ns: str,
    body: Any,
    *,
    patch_type: str,
    manager: str,
    dry_run: bool,
) -> JSON:
    """PUT (``patch_type`` "update") or PATCH the Scale; the Scale after the write."""
    paths = paths_of(registry, rt)
    current = read(registry, rt, name, ns)
    if patch_type == "update":
        new = body
    elif patch_type == "json":
        new = patching.json_patch(current, body)
    elif isinstance(body, Mapping):  # merge, strategic (a Scale has no lists) and apply
        new = patching.merge_patch(current, body)
    else:
        raise BadRequest("the patch must be a JSON object")
    if not isinstance(new, Mapping):
        raise BadRequest("the Scale must be a JSON object")
    replicas = (new.get("spec") or {}).get("replicas", 0)
    bad = not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0
    if bad and not (paths.custom and isinstance(replicas, int)):
        shown = replicas if isinstance(replicas, int) else f'"{replicas}"'
        message = f"Invalid value: {shown}: must be greater than or equal to 0"
        raise Invalid(
            f'Scale.autoscaling "{name}" is invalid: spec.replicas: {message}',
            details={
                "name": name,
                "group": "autoscaling",
                "kind": "Scale",
                "causes": [{"reason": "FieldValueInvalid", "message": message, "field": "spec.replicas"}],
            },
        )
    change: JSON = {}
    node = change
    for part in paths.spec_replicas[:-1]:
        node = node.setdefault(part, {})
    node[paths.spec_replicas[-1]] = replicas
    want_rv = (new.get("metadata") or {}).get("resourceVersion")
    if want_rv:
        change["metadata"] = {"resourceVersion": want_rv}
    obj = registry.patch(rt, name, ns, change, patch_type="merge", manager=manager, dry_run=dry_run)
    return scale_of(obj, paths)
