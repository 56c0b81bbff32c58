"""Defaulting of built-in kinds, as the API server fills in omitted fields.

Follows the Kubernetes **v1.33** defaulting code: ``pkg/apis/core/v1/defaults.go``,
``pkg/apis/apps/v1/defaults.go``, ``pkg/apis/batch/v1/defaults.go``,
``pkg/apis/networking/v1/defaults.go``, ``pkg/apis/rbac/v1/defaults.go``,
``pkg/apis/autoscaling/v2/defaults.go``, ``pkg/apis/storage/v1/defaults.go``,
``pkg/apis/scheduling/v1/defaults.go``, the apiextensions ``v1/defaults.go``,
and the registry strategies that set fields on create (Service IP and port
allocation, Job selectors, Namespace finalizers).  These defaults are the
usual source of false drift, so they are reproduced field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from agent.emulator.admission.podspec import pod_spec, pod_template, set_default
from agent.emulator.objects import JSON


class Allocator(Protocol):
    def cluster_ip(self) -> str: ...
    def node_port(self) -> int: ...


# -- core/v1 ---------------------------------------------------------------------------
def _pod(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    set_default(spec, "enableServiceLinks", True)
    set_default(spec, "preemptionPolicy", "PreemptLowerPriority")
    set_default(spec, "priority", 0)
    set_default(spec, "serviceAccountName", "default")
    obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})


def _service(obj: JSON, alloc: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    set_default(spec, "type", "ClusterIP")
    set_default(spec, "sessionAffinity", "None")
    kind = spec["type"]
    if spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        set_default(config, "timeoutSeconds", 10800)
    for port in spec.get("ports") or ():
        if isinstance(port, dict):
            set_default(port, "protocol", "TCP")
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port")
    if kind == "ExternalName":
        return
    if kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        set_default(spec, "internalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer"):
        set_default(spec, "externalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or ():
            if isinstance(port, dict) and not port.get("nodePort"):
                port["nodePort"] = alloc.node_port()
    if kind == "LoadBalancer":
        set_default(spec, "allocateLoadBalancerNodePorts", True)
    if not spec.get("clusterIP"):
        ips = spec.get("clusterIPs") or []
        spec["clusterIP"] = ips[0] if ips else alloc.cluster_ip()
    set_default(spec, "clusterIPs", [spec["clusterIP"]])
    set_default(spec, "ipFamilies", ["IPv4"])
    set_default(spec, "ipFamilyPolicy", "SingleStack")
    obj.setdefault("status", {"loadBalancer": {}})


def _secret(obj: JSON, _: Allocator) -> None:
    set_default(obj, "type", "Opaque")


def _pvc(obj: JSON, _: Allocator) -> None:
    set_default(obj.setdefault("spec", {}), "volumeMode", "Filesystem")
    obj.setdefault("status", {"phase": "Pending"})


def _pv(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    set_default(spec, "persistentVolumeReclaimPolicy", "Retain")
    set_default(spec, "volumeMode", "Filesystem")
    obj.setdefault("status", {"phase": "Pending"})


def _namespace(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    set_default(spec, "finalizers", ["kubernetes"])
    obj.setdefault("status", {"phase": "Active"})
    labels = obj["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def _endpoints(obj: JSON, _: Allocator) -> None:
    for subset in obj.get("subsets") or ():
        for port in (subset or {}).get("ports") or ():
            if isinstance(port, dict):
                set_default(port, "protocol", "TCP")


# -- apps/v1 ---------------------------------------------------------------------------
def _deployment(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    set_default(spec, "replicas", 1)
    strategy = spec.setdefault("strategy", {})
    set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        set_default(rolling, "maxUnavailable", "25%")
        set_default(rolling, "maxSurge", "25%")
    set_default(spec, "revisionHistoryLimit", 10)
    set_default(spec, "progressDeadlineSeconds", 600)
    pod_template(spec)
    obj.setdefault("status", {})


def _statefulset(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    set_default(spec, "podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        set_default(strategy.setdefault("rollingUpdate", {}), "partition", 0)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    set_default(retention, "whenDeleted", "Retain")
    set_default(retention, "whenScaled", "Retain")
    set_default(spec, "replicas", 1)
    set_default(spec, "revisionHistoryLimit", 10)
    for claim in spec.get("volumeClaimTemplates") or ():
        if isinstance(claim, dict):
            set_default(claim, "apiVersion", "v1")
            set_default(claim, "kind", "PersistentVolumeClaim")
            set_default(claim.setdefault("spec", {}), "volumeMode", "Filesystem")
            claim.setdefault("status", {"phase": "Pending"})
    pod_template(spec)
    obj.setdefault("status", {"replicas": 0, "availableReplicas": 0})


def _daemonset(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        set_default(rolling, "maxUnavailable", 1)
        set_default(rolling, "maxSurge", 0)
    set_default(spec, "revisionHistoryLimit", 10)
    pod_template(spec)
    obj.setdefault(
        "status",
        {"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0},
    )


def _replicaset(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    set_default(spec, "replicas", 1)
    pod_template(spec)
    obj.setdefault("status", {"replicas": 0})


# -- batch/v1 --------------------------------------------------------------------------
def _job(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    set_default(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    set_default(spec, "completionMode", "NonIndexed")
    set_default(spec, "suspend", False)
    set_default(
        spec, "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    )
    if not spec.get("manualSelector"):
        uid, name = obj["metadata"].get("uid", ""), obj["metadata"].get("name", "")
        generated = {"batch.kubernetes.io/controller-uid": uid}
        selector = spec.setdefault("selector", {})
        selector.setdefault("matchLabels", {}).update(generated)
        template = spec.setdefault("template", {})
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.update(
            {
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": uid,
                "job-name": name,
            }
        )
    pod_template(spec)
    obj.setdefault("status", {})


def _cronjob(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    set_default(spec, "concurrencyPolicy", "Allow")
    set_default(spec, "suspend", False)
    set_default(spec, "successfulJobsHistoryLimit", 3)
    set_default(spec, "failedJobsHistoryLimit", 1)
    job_spec = (spec.get("jobTemplate") or {}).get("spec")
    if isinstance(job_spec, dict):
        pod_template(job_spec)
    obj.setdefault("status", {})


# -- other groups ----------------------------------------------------------------------
def _network_policy(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
        for port in (rule or {}).get("ports") or ():
            if isinstance(port, dict):
                set_default(port, "protocol", "TCP")
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def _rbac_binding(obj: JSON, _: Allocator) -> None:
    for subject in obj.get("subjects") or ():
        # SetDefaults_Subject: Users and Groups get the RBAC group; a
        # ServiceAccount's stays "", which omitempty leaves out of the object.
        if (
            isinstance(subject, dict)
            and not subject.get("apiGroup")
            and subject.get("kind") in ("User", "Group")
        ):
            subject["apiGroup"] = "rbac.authorization.k8s.io"


def _hpa(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    set_default(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        up = behavior.setdefault("scaleUp", {})
        set_default(up, "stabilizationWindowSeconds", 0)
        set_default(up, "selectPolicy", "Max")
        set_default(
            up,
            "policies",
            [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        )
        down = behavior.setdefault("scaleDown", {})
        set_default(down, "stabilizationWindowSeconds", 300)
        set_default(down, "selectPolicy", "Max")
        set_default(down, "policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])
    obj.setdefault("status", {"currentReplicas": 0, "desiredReplicas": 0})


def _storage_class(obj: JSON, _: Allocator) -> None:
    set_default(obj, "reclaimPolicy", "Delete")
    set_default(obj, "volumeBindingMode", "Immediate")


def _priority_class(obj: JSON, _: Allocator) -> None:
    set_default(obj, "preemptionPolicy", "PreemptLowerPriority")


def _crd(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        set_default(names, "singular", str(names["kind"]).lower())
        set_default(names, "listKind", f"{names['kind']}List")
    set_default(spec, "conversion", {"strategy": "None"})
    obj.setdefault("status", {"acceptedNames": {"kind": "", "plural": ""}, "storedVersions": []})
    stored = [v.get("name") for v in spec.get("versions") or () if isinstance(v, dict) and v.get("storage")]
    if stored and not obj["status"].get("storedVersions"):
        obj["status"]["storedVersions"] = stored


def _pdb(obj: JSON, _: Allocator) -> None:
    obj.setdefault(
        "status", {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}
    )


def _ingress(obj: JSON, _: Allocator) -> None:
    obj.setdefault("status", {"loadBalancer": {}})


DEFAULTERS: dict[tuple[str, str], Callable[[JSON, Allocator], None]] = {
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "PersistentVolume"): _pv,
    ("", "Namespace"): _namespace,
    ("", "Endpoints"): _endpoints,
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("apps", "ReplicaSet"): _replicaset,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("rbac.authorization.k8s.io", "RoleBinding"): _rbac_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _rbac_binding,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
    ("storage.k8s.io", "StorageClass"): _storage_class,
    ("scheduling.k8s.io", "PriorityClass"): _priority_class,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("policy", "PodDisruptionBudget"): _pdb,
}


def apply_defaults(group: str, kind: str, obj: JSON, alloc: Allocator) -> None:
    """Fill in what the API server fills in, in place."""
    defaulter = DEFAULTERS.get((group, kind))
    if defaulter is not None:
        defaulter(obj, alloc)
