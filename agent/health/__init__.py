"""Health (pure): one function per kind, and aggregation by the worst.

``assess(obj)`` returns a :class:`HealthStatus` for one live object;
``aggregate`` takes the worst of several (Healthy < Suspended < Progressing
< Missing < Degraded < Unknown).  Kinds without a rule are Healthy once they
exist, as in Argo CD.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agent.models import HealthStatus

Obj = Mapping[str, Any]


def _conditions(obj: Obj) -> dict[str, Mapping[str, Any]]:
    status = obj.get("status") or {}
    return {str(c.get("type")): c for c in status.get("conditions") or ()}


def _generation_observed(obj: Obj) -> bool:
    status = obj.get("status") or {}
    meta = obj.get("metadata") or {}
    return int(status.get("observedGeneration", 0) or 0) >= int(meta.get("generation", 0) or 0)


def deployment(obj: Obj) -> HealthStatus:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("paused"):
        return HealthStatus.SUSPENDED
    if not _generation_observed(obj):
        return HealthStatus.PROGRESSING
    progressing = _conditions(obj).get("Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return HealthStatus.DEGRADED
    want = int(spec.get("replicas", 1))
    for field in ("updatedReplicas", "availableReplicas"):
        if int(status.get(field, 0) or 0) < want:
            return HealthStatus.PROGRESSING
    if int(status.get("replicas", 0) or 0) > int(status.get("updatedReplicas", 0) or 0):
        return HealthStatus.PROGRESSING
    return HealthStatus.HEALTHY


def statefulset(obj: Obj) -> HealthStatus:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not _generation_observed(obj):
        return HealthStatus.PROGRESSING
    want = int(spec.get("replicas", 1))
    if int(status.get("readyReplicas", 0) or 0) < want:
        return HealthStatus.PROGRESSING
    if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
        return HealthStatus.PROGRESSING
    return HealthStatus.HEALTHY


def daemonset(obj: Obj) -> HealthStatus:
    status = obj.get("status") or {}
    if not _generation_observed(obj):
        return HealthStatus.PROGRESSING
    want = int(status.get("desiredNumberScheduled", 0) or 0)
    if (
        int(status.get("updatedNumberScheduled", 0) or 0) < want
        or int(status.get("numberAvailable", 0) or 0) < want
    ):
        return HealthStatus.PROGRESSING
    return HealthStatus.HEALTHY


def job(obj: Obj) -> HealthStatus:
    conditions = _conditions(obj)
    if (conditions.get("Failed") or {}).get("status") == "True":
        return HealthStatus.DEGRADED
    if (conditions.get("Complete") or {}).get("status") == "True":
        return HealthStatus.HEALTHY
    if (obj.get("spec") or {}).get("suspend"):
        return HealthStatus.SUSPENDED
    return HealthStatus.PROGRESSING


def pvc(obj: Obj) -> HealthStatus:
    phase = (obj.get("status") or {}).get("phase")
    return {"Bound": HealthStatus.HEALTHY, "Lost": HealthStatus.DEGRADED}.get(
        str(phase), HealthStatus.PROGRESSING
    )


RULES: dict[tuple[str, str], Callable[[Obj], HealthStatus]] = {
    ("apps", "Deployment"): deployment,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "DaemonSet"): daemonset,
    ("batch", "Job"): job,
    ("", "PersistentVolumeClaim"): pvc,
}


def assess(obj: Obj | None) -> HealthStatus:
    if obj is None:
        return HealthStatus.MISSING
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    rule = RULES.get((group, str(obj.get("kind", ""))))
    return HealthStatus.HEALTHY if rule is None else rule(obj)


def aggregate(statuses: Iterable[HealthStatus]) -> HealthStatus:
    return HealthStatus.worst(statuses)
