"""Health (pure): one function per kind, and aggregation by the worst.

``assess(obj)`` returns a :class:`Health` (status and a short reason) for one
live object; ``aggregate`` takes the worst of several, in the order
Healthy < Suspended < Progressing < Missing < Degraded < Unknown (Argo CD's
order).  An object being deleted is Progressing.  Kinds without a rule are
Healthy once they exist, except custom resources, which are judged by the
kstatus condition conventions (see :mod:`.generic`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from agent.health.batch import cronjob, job
from agent.health.core import Health, Obj, terminating
from agent.health.custom import TABLE, assess_custom
from agent.health.networking import apiservice, hpa, ingress, pdb, service
from agent.health.storage import crd, namespace, pvc
from agent.health.user import UserRules
from agent.health.workloads import daemonset, deployment, pod, replicaset, statefulset
from agent.models import HealthStatus

__all__ = ["RULES", "Health", "UserRules", "aggregate", "assess", "assess_status"]

RULES: dict[tuple[str, str], Callable[[Obj], Health]] = {
    ("apps", "Deployment"): deployment,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "DaemonSet"): daemonset,
    ("apps", "ReplicaSet"): replicaset,
    ("", "Pod"): pod,
    ("batch", "Job"): job,
    ("batch", "CronJob"): cronjob,
    ("", "PersistentVolumeClaim"): pvc,
    ("", "Service"): service,
    ("networking.k8s.io", "Ingress"): ingress,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd,
    ("", "Namespace"): namespace,
    ("apiregistration.k8s.io", "APIService"): apiservice,
    ("policy", "PodDisruptionBudget"): pdb,
}

# Groups of the built-in API: their kinds without a rule are healthy once they exist.
_BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "apiextensions.k8s.io",
        "admissionregistration.k8s.io",
        "node.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "certificates.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "resource.k8s.io",
        "apiregistration.k8s.io",
    }
)


def assess(obj: Mapping[str, Any] | None, user: UserRules | None = None) -> Health:
    """The verdict on one live object; ``rule`` names the rule that decided.

    The user's rules (``user``) take precedence over the built-in ones."""
    if obj is None:
        return Health(HealthStatus.MISSING, "not found in the cluster", "existence")
    if terminating(obj):
        return Health(HealthStatus.PROGRESSING, "being deleted (metadata.deletionTimestamp set)", "deletion")
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    kind = str(obj.get("kind", ""))
    if user:
        decided = user.assess(obj, group, kind)
        if decided is not None:
            return decided
    return _builtin(obj, group, kind)


def _builtin(obj: Obj, group: str, kind: str) -> Health:
    rule = RULES.get((group, kind))
    if rule is not None:
        return replace(rule(obj), rule=f"built-in {kind}")
    if group in _BUILTIN_GROUPS:
        return Health(HealthStatus.HEALTHY, "", "built-in: exists")
    if (group, kind) in TABLE:
        return replace(assess_custom(obj, group, kind), rule=f"built-in {kind}.{group}")
    return replace(assess_custom(obj, group, kind), rule="condition semantics (kstatus)")


def assess_status(obj: Mapping[str, Any] | None) -> HealthStatus:
    return assess(obj).status


def aggregate(statuses: Iterable[HealthStatus]) -> HealthStatus:
    return HealthStatus.worst(statuses)
