"""What an update may not change: the API server's ``ValidateXUpdate`` checks.

Fields fixed once set (a workload's selector, a Job's template, a Service's
clusterIP, an RBAC binding's roleRef, a CRD's scope and group), StatefulSet
and PVC specs beyond the few fields they let you update, Pod specs beyond
images, and ConfigMaps and Secrets marked ``immutable``.  One function per
kind family in :data:`UPDATE_CHECKS`, each returning its causes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from agent.emulator.admission.causes import Cause, forbidden, invalid

Obj = Mapping[str, Any]
UpdateCheck = Callable[[Obj, Obj], list[Cause]]
_STS_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
_PVC_MUTABLE = ("resources", "volumeAttributesClassName")


def update_causes(group: str, kind: str, old: Obj, new: Obj) -> list[Cause]:
    """Changes the API server refuses on update."""
    check = UPDATE_CHECKS.get((group, kind))
    return [] if check is None else check(old, new)


def _immutable(field: str, a: Any, b: Any, detail: str = "field is immutable") -> list[Cause]:
    return [invalid(field, b, detail)] if a != b else []


def _specs(old: Obj, new: Obj) -> tuple[Obj, Obj]:
    return old.get("spec") or {}, new.get("spec") or {}


def _selector(old: Obj, new: Obj) -> list[Cause]:
    o_spec, n_spec = _specs(old, new)
    return _immutable("spec.selector", o_spec.get("selector"), n_spec.get("selector"))


def _statefulset(old: Obj, new: Obj) -> list[Cause]:
    causes = _selector(old, new)
    o_spec, n_spec = _specs(old, new)
    rest_o = {k: v for k, v in o_spec.items() if k not in _STS_MUTABLE}
    rest_n = {k: v for k, v in n_spec.items() if k not in _STS_MUTABLE}
    if rest_o != rest_n and not causes:
        causes.append(
            forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                "are forbidden",
            )
        )
    return causes


def _job(old: Obj, new: Obj) -> list[Cause]:
    o_spec, n_spec = _specs(old, new)
    return [
        *_immutable("spec.selector", o_spec.get("selector"), n_spec.get("selector")),
        *_immutable("spec.template", o_spec.get("template"), n_spec.get("template")),
        *_immutable("spec.completionMode", o_spec.get("completionMode"), n_spec.get("completionMode")),
    ]


def _service(old: Obj, new: Obj) -> list[Cause]:
    o_spec, n_spec = _specs(old, new)
    if not o_spec.get("clusterIP") or n_spec.get("type") == "ExternalName":
        return []
    # validateUpgradeDowngradeClusterIPs: the primary address may not change (a secondary may
    # come or go); the cause names spec.clusterIPs[0] and shows the new list as Go prints it.
    old_ips, new_ips = o_spec.get("clusterIPs") or [], n_spec.get("clusterIPs") or []
    if old_ips and new_ips and old_ips[0] != new_ips[0]:
        shown = "[]string{" + ", ".join(f'"{ip}"' for ip in new_ips) + "}"
        return [
            Cause(
                "spec.clusterIPs[0]", "FieldValueInvalid", f"Invalid value: {shown}: may not change once set"
            )
        ]
    return []


def _config(old: Obj, new: Obj) -> list[Cause]:
    causes: list[Cause] = []
    if old.get("immutable") is True:
        if new.get("immutable") is not True:
            causes.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        for field in ("data", "binaryData"):
            if old.get(field) != new.get(field):
                causes.append(forbidden(field, "field is immutable when `immutable` is set"))
    return causes


def _secret(old: Obj, new: Obj) -> list[Cause]:
    return [*_config(old, new), *_immutable("type", old.get("type"), new.get("type"))]


def _pvc(old: Obj, new: Obj) -> list[Cause]:
    o_spec, n_spec = _specs(old, new)
    rest_o = {k: v for k, v in o_spec.items() if k not in _PVC_MUTABLE}
    rest_n = {k: v for k, v in n_spec.items() if k not in _PVC_MUTABLE}
    # set once each, by the PV controller (pkg/apis/core/validation: ValidatePersistentVolumeClaimUpdate):
    # the bound volume's name, and the default class given to a claim without one
    for once in ("volumeName", "storageClassName"):
        if rest_o.get(once) is None and once in rest_n:
            rest_o[once] = rest_n[once]
    if rest_o == rest_n:
        return []
    return [
        forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and "
            "volumeAttributesClassName for bound claims",
        )
    ]


def _role_binding(old: Obj, new: Obj) -> list[Cause]:
    return _immutable("roleRef", old.get("roleRef"), new.get("roleRef"), "cannot change roleRef")


def _crd(old: Obj, new: Obj) -> list[Cause]:
    o_spec, n_spec = _specs(old, new)
    return [
        *_immutable("spec.scope", o_spec.get("scope"), n_spec.get("scope")),
        *_immutable("spec.group", o_spec.get("group"), n_spec.get("group")),
    ]


def _without_images(containers: Any) -> list[Any]:
    return [
        {k: v for k, v in c.items() if k != "image"} if isinstance(c, Mapping) else c
        for c in containers or ()
    ]


def _pod(old: Obj, new: Obj) -> list[Cause]:
    """ValidatePodUpdate: only images, activeDeadlineSeconds and added tolerations may change."""
    o_spec, n_spec = _specs(old, new)
    changed = {k for k in set(o_spec) | set(n_spec) if o_spec.get(k) != n_spec.get(k)}
    changed -= {"activeDeadlineSeconds", "tolerations"}
    for key in ("containers", "initContainers"):
        if key in changed and _without_images(o_spec.get(key)) == _without_images(n_spec.get(key)):
            changed.discard(key)
    if not changed:
        return []
    return [
        forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
            "`spec.tolerations` (only additions to existing tolerations),"
            "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        )
    ]


def _controller_revision(old: Obj, new: Obj) -> list[Cause]:
    """``ValidateControllerRevisionUpdate``: ``data`` never changes (shown as its JSON)."""
    if old.get("data") == new.get("data"):
        return []
    shown = json.dumps(new.get("data"), separators=(",", ":"))
    return [Cause("data", "FieldValueInvalid", f"Invalid value: {shown}: field is immutable")]


UPDATE_CHECKS: dict[tuple[str, str], UpdateCheck] = {
    ("apps", "Deployment"): _selector,
    ("apps", "ReplicaSet"): _selector,
    ("apps", "DaemonSet"): _selector,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "ControllerRevision"): _controller_revision,
    ("batch", "Job"): _job,
    ("", "Service"): _service,
    ("", "Pod"): _pod,
    ("", "ConfigMap"): _config,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _pvc,
    ("rbac.authorization.k8s.io", "RoleBinding"): _role_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _role_binding,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}
