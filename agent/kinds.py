"""Resource kinds known without asking a cluster: scope, plural and versions.

The render stage needs the scope of a kind to give namespaced objects the
app's namespace, and the planner needs an apply order; neither may ask a
cluster (they are pure).  The emulated cluster serves exactly these kinds
(plus CustomResourceDefinitions created at run time).  Scopes and plurals are
those of Kubernetes 1.33 discovery (``kubectl api-resources``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


def _t(api_version: str, kind: str, plural: str, namespaced: bool, *short: str) -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return ResourceType(group, version, kind, plural, namespaced, tuple(short))


BUILTIN: tuple[ResourceType, ...] = (
    _t("v1", "Namespace", "namespaces", False, "ns"),
    _t("v1", "ConfigMap", "configmaps", True, "cm"),
    _t("v1", "Secret", "secrets", True),
    _t("v1", "Service", "services", True, "svc"),
    _t("v1", "ServiceAccount", "serviceaccounts", True, "sa"),
    _t("v1", "Pod", "pods", True, "po"),
    _t("v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, "pvc"),
    _t("v1", "PersistentVolume", "persistentvolumes", False, "pv"),
    _t("v1", "Event", "events", True, "ev"),
    _t("v1", "Endpoints", "endpoints", True, "ep"),
    _t("v1", "LimitRange", "limitranges", True, "limits"),
    _t("v1", "ResourceQuota", "resourcequotas", True, "quota"),
    _t("apps/v1", "Deployment", "deployments", True, "deploy"),
    _t("apps/v1", "StatefulSet", "statefulsets", True, "sts"),
    _t("apps/v1", "DaemonSet", "daemonsets", True, "ds"),
    _t("apps/v1", "ReplicaSet", "replicasets", True, "rs"),
    _t("batch/v1", "Job", "jobs", True),
    _t("batch/v1", "CronJob", "cronjobs", True, "cj"),
    _t("networking.k8s.io/v1", "Ingress", "ingresses", True, "ing"),
    _t("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True, "netpol"),
    _t("networking.k8s.io/v1", "IngressClass", "ingressclasses", False),
    _t("rbac.authorization.k8s.io/v1", "Role", "roles", True),
    _t("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", True),
    _t("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
    _t("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _t("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, "hpa"),
    _t("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True, "pdb"),
    _t("coordination.k8s.io/v1", "Lease", "leases", True),
    _t("storage.k8s.io/v1", "StorageClass", "storageclasses", False, "sc"),
    _t("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", False, "pc"),
    _t(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        "crd",
        "crds",
    ),
)

_BY_GROUP_KIND: dict[tuple[str, str], ResourceType] = {(t.group, t.kind): t for t in BUILTIN}


def builtin(group: str, kind: str) -> ResourceType | None:
    return _BY_GROUP_KIND.get((group, kind))


def crd_resource_types(crd: Mapping[str, Any]) -> list[ResourceType]:
    """The resource types a CustomResourceDefinition object declares."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    group = str(spec.get("group", ""))
    return [
        ResourceType(
            group,
            str(v.get("name")),
            str(names.get("kind", "")),
            str(names.get("plural", "")),
            namespaced,
            tuple(names.get("shortNames") or ()),
        )
        for v in spec.get("versions") or ()
        if v.get("served", True)
    ]


def is_namespaced(group: str, kind: str, extra: Iterable[ResourceType] = ()) -> bool:
    """Scope of a kind; kinds nobody declared are taken as namespaced, which
    is what almost every custom resource is."""
    for t in extra:
        if t.group == group and t.kind == kind:
            return t.namespaced
    known = builtin(group, kind)
    return True if known is None else known.namespaced
