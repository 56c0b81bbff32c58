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
from typing import Any, Protocol

JSON = dict[str, Any]


class Allocator(Protocol):
    def cluster_ip(self) -> str: ...
    def node_port(self) -> int: ...


def _set(obj: JSON, key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _image_pull_policy(image: str) -> str:
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    _set(probe, "timeoutSeconds", 1)
    _set(probe, "periodSeconds", 10)
    _set(probe, "successThreshold", 1)
    _set(probe, "failureThreshold", 3)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        _set(http, "scheme", "HTTP")
        _set(http, "path", "/")
    grpc = probe.get("grpc")
    if isinstance(grpc, dict):
        _set(grpc, "service", "")


def _container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    if isinstance(c.get("image"), str):
        _set(c, "imagePullPolicy", _image_pull_policy(c["image"]))
    _set(c, "terminationMessagePath", "/dev/termination-log")
    _set(c, "terminationMessagePolicy", "File")
    _set(c, "resources", {})
    for port in c.get("ports") or ():
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
    for env in c.get("env") or ():
        field_ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict):
            _set(field_ref, "apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(probe))


def _volume(v: Any) -> None:
    if not isinstance(v, dict):
        return
    sources = [k for k in v if k != "name"]
    if not sources:
        v["emptyDir"] = {}
    for key in ("secret", "configMap", "projected", "downwardAPI"):
        src = v.get(key)
        if isinstance(src, dict):
            _set(src, "defaultMode", 420)
    for item in (v.get("downwardAPI") or {}).get("items") or ():
        if isinstance(item, dict) and isinstance(item.get("fieldRef"), dict):
            _set(item["fieldRef"], "apiVersion", "v1")
    host_path = v.get("hostPath")
    if isinstance(host_path, dict):
        _set(host_path, "type", "")
    iscsi = v.get("iscsi")
    if isinstance(iscsi, dict):
        _set(iscsi, "iscsiInterface", "default")
    ephemeral = v.get("ephemeral")
    if isinstance(ephemeral, dict):
        spec = (ephemeral.get("volumeClaimTemplate") or {}).get("spec")
        if isinstance(spec, dict):
            _set(spec, "volumeMode", "Filesystem")


def pod_spec(spec: Any) -> None:
    """``SetDefaults_PodSpec`` and the container/volume defaults under it."""
    if not isinstance(spec, dict):
        return
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "restartPolicy", "Always")
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "securityContext", {})
    _set(spec, "schedulerName", "default-scheduler")
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or ():
            _container(c)
    for v in spec.get("volumes") or ():
        _volume(v)


def _template(spec: JSON) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        pod_spec(template.get("spec"))


# -- core/v1 ---------------------------------------------------------------------------
def _pod(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    _set(spec, "enableServiceLinks", True)
    _set(spec, "preemptionPolicy", "PreemptLowerPriority")
    _set(spec, "priority", 0)
    _set(spec, "serviceAccountName", "default")
    obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})


def _service(obj: JSON, alloc: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "type", "ClusterIP")
    _set(spec, "sessionAffinity", "None")
    kind = spec["type"]
    if spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        _set(config, "timeoutSeconds", 10800)
    for port in spec.get("ports") or ():
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port")
    if kind == "ExternalName":
        return
    if kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        _set(spec, "internalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or ():
            if isinstance(port, dict) and not port.get("nodePort"):
                port["nodePort"] = alloc.node_port()
    if kind == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
    if not spec.get("clusterIP"):
        ips = spec.get("clusterIPs") or []
        spec["clusterIP"] = ips[0] if ips else alloc.cluster_ip()
    _set(spec, "clusterIPs", [spec["clusterIP"]])
    _set(spec, "ipFamilies", ["IPv4"])
    _set(spec, "ipFamilyPolicy", "SingleStack")
    obj.setdefault("status", {"loadBalancer": {}})


def _secret(obj: JSON, _: Allocator) -> None:
    _set(obj, "type", "Opaque")


def _pvc(obj: JSON, _: Allocator) -> None:
    _set(obj.setdefault("spec", {}), "volumeMode", "Filesystem")
    obj.setdefault("status", {"phase": "Pending"})


def _pv(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "persistentVolumeReclaimPolicy", "Retain")
    _set(spec, "volumeMode", "Filesystem")
    obj.setdefault("status", {"phase": "Pending"})


def _namespace(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "finalizers", ["kubernetes"])
    obj.setdefault("status", {"phase": "Active"})
    labels = obj["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def _endpoints(obj: JSON, _: Allocator) -> None:
    for subset in obj.get("subsets") or ():
        for port in (subset or {}).get("ports") or ():
            if isinstance(port, dict):
                _set(port, "protocol", "TCP")


# -- apps/v1 ---------------------------------------------------------------------------
def _deployment(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "replicas", 1)
    strategy = spec.setdefault("strategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        _set(rolling, "maxUnavailable", "25%")
        _set(rolling, "maxSurge", "25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    _template(spec)
    obj.setdefault("status", {})


def _statefulset(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _set(strategy.setdefault("rollingUpdate", {}), "partition", 0)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    _set(retention, "whenDeleted", "Retain")
    _set(retention, "whenScaled", "Retain")
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    for claim in spec.get("volumeClaimTemplates") or ():
        if isinstance(claim, dict):
            _set(claim, "apiVersion", "v1")
            _set(claim, "kind", "PersistentVolumeClaim")
            _set(claim.setdefault("spec", {}), "volumeMode", "Filesystem")
            claim.setdefault("status", {"phase": "Pending"})
    _template(spec)
    obj.setdefault("status", {"replicas": 0, "availableReplicas": 0})


def _daemonset(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        _set(rolling, "maxUnavailable", 1)
        _set(rolling, "maxSurge", 0)
    _set(spec, "revisionHistoryLimit", 10)
    _template(spec)
    obj.setdefault(
        "status",
        {"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0},
    )


def _replicaset(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "replicas", 1)
    _template(spec)
    obj.setdefault("status", {"replicas": 0})


# -- batch/v1 --------------------------------------------------------------------------
def _job(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _set(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    _set(spec, "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
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
    _template(spec)
    obj.setdefault("status", {})


def _cronjob(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "concurrencyPolicy", "Allow")
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    job_spec = (spec.get("jobTemplate") or {}).get("spec")
    if isinstance(job_spec, dict):
        _template(job_spec)
    obj.setdefault("status", {})


# -- other groups ----------------------------------------------------------------------
def _network_policy(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
        for port in (rule or {}).get("ports") or ():
            if isinstance(port, dict):
                _set(port, "protocol", "TCP")
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
    _set(spec, "minReplicas", 1)
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
        _set(up, "stabilizationWindowSeconds", 0)
        _set(up, "selectPolicy", "Max")
        _set(
            up,
            "policies",
            [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        )
        down = behavior.setdefault("scaleDown", {})
        _set(down, "stabilizationWindowSeconds", 300)
        _set(down, "selectPolicy", "Max")
        _set(down, "policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])
    obj.setdefault("status", {"currentReplicas": 0, "desiredReplicas": 0})


def _storage_class(obj: JSON, _: Allocator) -> None:
    _set(obj, "reclaimPolicy", "Delete")
    _set(obj, "volumeBindingMode", "Immediate")


def _priority_class(obj: JSON, _: Allocator) -> None:
    _set(obj, "preemptionPolicy", "PreemptLowerPriority")


def _crd(obj: JSON, _: Allocator) -> None:
    spec = obj.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        _set(names, "singular", str(names["kind"]).lower())
        _set(names, "listKind", f"{names['kind']}List")
    _set(spec, "conversion", {"strategy": "None"})
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
