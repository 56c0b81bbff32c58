"""The columns ``kubectl get`` shows for each built-in kind: a data table.

Transcribed from the API server's printers (``pkg/printers/internalversion/printers.go``,
Kubernetes 1.33): per kind, the column name, type, priority (1: only with
``-o wide``) and the cell that renders it (:mod:`agent.emulator.rest.cells`).
"""

from __future__ import annotations

from agent.emulator.rest.cells import (
    Cell,
    access_modes,
    age,
    claim_of,
    count,
    external_ip,
    field,
    get,
    hosts,
    hpa_targets,
    images,
    job_duration,
    job_status,
    lb,
    map_selector,
    names,
    pod_ready,
    pod_status,
    ports,
    ready,
    selector,
    since,
    slice_endpoints,
    slice_ports,
    storage_class_name,
)

Column = tuple[str, str, int, Cell]  # name, type, priority, cell
NAME: Column = ("Name", "string", 0, lambda o: (o.get("metadata") or {}).get("name", ""))
AGE: Column = ("Age", "string", 0, age)
COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "Namespace"): [NAME, ("Status", "string", 0, field("status", "phase")), AGE],
    ("", "ConfigMap"): [
        NAME,
        ("Data", "integer", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
        AGE,
    ],
    ("", "Secret"): [
        NAME,
        ("Type", "string", 0, field("type")),
        ("Data", "integer", 0, count("data")),
        AGE,
    ],
    ("", "ServiceAccount"): [NAME, ("Secrets", "integer", 0, lambda o: len(o.get("secrets") or ())), AGE],
    ("", "Service"): [
        NAME,
        ("Type", "string", 0, field("spec", "type", default="ClusterIP")),
        ("Cluster-IP", "string", 0, field("spec", "clusterIP", default="<none>")),
        ("External-IP", "string", 0, external_ip),
        ("Port(s)", "string", 0, ports),
        AGE,
        ("Selector", "string", 1, map_selector),
    ],
    ("", "Pod"): [
        NAME,
        ("Ready", "string", 0, pod_ready),
        ("Status", "string", 0, pod_status),
        (
            "Restarts",
            "string",
            0,
            lambda o: str(sum(s.get("restartCount", 0) for s in get(o, "status", "containerStatuses") or ())),
        ),
        AGE,
        ("IP", "string", 1, field("status", "podIP", default="<none>")),
        ("Node", "string", 1, field("spec", "nodeName", default="<none>")),
    ],
    ("", "PersistentVolumeClaim"): [
        NAME,
        ("Status", "string", 0, field("status", "phase")),
        ("Volume", "string", 0, field("spec", "volumeName")),
        ("Capacity", "string", 0, field("status", "capacity", "storage")),
        ("Access Modes", "string", 0, access_modes("status", "accessModes")),
        ("StorageClass", "string", 0, field("spec", "storageClassName", default="<unset>")),
        ("VolumeAttributesClass", "string", 0, field("spec", "volumeAttributesClassName", default="<unset>")),
        AGE,
        ("VolumeMode", "string", 1, field("spec", "volumeMode", default="<unset>")),
    ],
    ("", "PersistentVolume"): [
        NAME,
        ("Capacity", "string", 0, field("spec", "capacity", "storage")),
        ("Access Modes", "string", 0, access_modes("spec", "accessModes")),
        ("Reclaim Policy", "string", 0, field("spec", "persistentVolumeReclaimPolicy")),
        ("Status", "string", 0, field("status", "phase")),
        ("Claim", "string", 0, claim_of),
        ("StorageClass", "string", 0, field("spec", "storageClassName")),
        ("VolumeAttributesClass", "string", 0, field("spec", "volumeAttributesClassName", default="<unset>")),
        ("Reason", "string", 0, field("status", "reason")),
        AGE,
        ("VolumeMode", "string", 1, field("spec", "volumeMode", default="<unset>")),
    ],
    ("discovery.k8s.io", "EndpointSlice"): [
        NAME,
        ("AddressType", "string", 0, field("addressType")),
        ("Ports", "string", 0, slice_ports),
        ("Endpoints", "string", 0, slice_endpoints),
        AGE,
    ],
    ("storage.k8s.io", "StorageClass"): [
        ("Name", "string", 0, storage_class_name),
        ("Provisioner", "string", 0, field("provisioner")),
        ("ReclaimPolicy", "string", 0, field("reclaimPolicy", default="Delete")),
        ("VolumeBindingMode", "string", 0, field("volumeBindingMode", default="Immediate")),
        ("AllowVolumeExpansion", "string", 0, field("allowVolumeExpansion", default=False)),
        AGE,
    ],
    ("", "Event"): [
        ("Last Seen", "string", 0, lambda o: since(o.get("lastTimestamp") or o.get("eventTime"))),
        ("Type", "string", 0, field("type")),
        ("Reason", "string", 0, field("reason")),
        (
            "Object",
            "string",
            0,
            lambda o: (
                f"{get(o, 'involvedObject', 'kind') or ''}/{get(o, 'involvedObject', 'name') or ''}".lower()
            ),
        ),
        ("Message", "string", 0, field("message")),
    ],
    ("apps", "Deployment"): [
        NAME,
        ("Ready", "string", 0, ready),
        ("Up-to-date", "integer", 0, field("status", "updatedReplicas", default=0)),
        ("Available", "integer", 0, field("status", "availableReplicas", default=0)),
        AGE,
        ("Containers", "string", 1, lambda o: names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: images(o, "spec", "template")),
        ("Selector", "string", 1, selector),
    ],
    ("apps", "StatefulSet"): [
        NAME,
        ("Ready", "string", 0, ready),
        AGE,
        ("Containers", "string", 1, lambda o: names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: images(o, "spec", "template")),
    ],
    ("apps", "ReplicaSet"): [
        NAME,
        ("Desired", "integer", 0, field("spec", "replicas", default=0)),
        ("Current", "integer", 0, field("status", "replicas", default=0)),
        ("Ready", "integer", 0, field("status", "readyReplicas", default=0)),
        AGE,
        ("Containers", "string", 1, lambda o: names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: images(o, "spec", "template")),
        ("Selector", "string", 1, selector),
    ],
    ("apps", "DaemonSet"): [
        NAME,
        ("Desired", "integer", 0, field("status", "desiredNumberScheduled", default=0)),
        ("Current", "integer", 0, field("status", "currentNumberScheduled", default=0)),
        ("Ready", "integer", 0, field("status", "numberReady", default=0)),
        ("Up-to-date", "integer", 0, field("status", "updatedNumberScheduled", default=0)),
        ("Available", "integer", 0, field("status", "numberAvailable", default=0)),
        (
            "Node Selector",
            "string",
            0,
            lambda o: (
                ",".join(
                    f"{k}={v}" for k, v in (get(o, "spec", "template", "spec", "nodeSelector") or {}).items()
                )
                or "<none>"
            ),
        ),
        AGE,
        ("Containers", "string", 1, lambda o: names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: images(o, "spec", "template")),
        ("Selector", "string", 1, selector),
    ],
    ("batch", "Job"): [
        NAME,
        ("Status", "string", 0, job_status),
        (
            "Completions",
            "string",
            0,
            lambda o: f"{get(o, 'status', 'succeeded') or 0}/{get(o, 'spec', 'completions') or 1}",
        ),
        ("Duration", "string", 0, job_duration),
        AGE,
        ("Containers", "string", 1, lambda o: names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: images(o, "spec", "template")),
        ("Selector", "string", 1, selector),
    ],
    ("batch", "CronJob"): [
        NAME,
        ("Schedule", "string", 0, field("spec", "schedule")),
        ("Timezone", "string", 0, field("spec", "timeZone", default="<none>")),
        ("Suspend", "boolean", 0, field("spec", "suspend", default=False)),
        ("Active", "integer", 0, lambda o: len(get(o, "status", "active") or ())),
        (
            "Last Schedule",
            "string",
            0,
            lambda o: (
                since(get(o, "status", "lastScheduleTime"))
                if get(o, "status", "lastScheduleTime")
                else "<none>"
            ),
        ),
        AGE,
        ("Containers", "string", 1, lambda o: names(o, "spec", "jobTemplate", "spec", "template")),
        ("Images", "string", 1, lambda o: images(o, "spec", "jobTemplate", "spec", "template")),
    ],
    ("networking.k8s.io", "Ingress"): [
        NAME,
        ("Class", "string", 0, field("spec", "ingressClassName", default="<none>")),
        ("Hosts", "string", 0, hosts),
        ("Address", "string", 0, lb),
        ("Ports", "string", 0, lambda o: "80, 443" if get(o, "spec", "tls") else "80"),
        AGE,
    ],
    ("networking.k8s.io", "NetworkPolicy"): [
        NAME,
        (
            "Pod-Selector",
            "string",
            0,
            lambda o: (
                ",".join(f"{k}={v}" for k, v in (get(o, "spec", "podSelector", "matchLabels") or {}).items())
                or "<none>"
            ),
        ),
        AGE,
    ],
    ("rbac.authorization.k8s.io", "RoleBinding"): [
        NAME,
        ("Role", "string", 0, lambda o: f"{get(o, 'roleRef', 'kind')}/{get(o, 'roleRef', 'name')}"),
        AGE,
    ],
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): [
        NAME,
        ("Role", "string", 0, lambda o: f"{get(o, 'roleRef', 'kind')}/{get(o, 'roleRef', 'name')}"),
        AGE,
    ],
    ("autoscaling", "HorizontalPodAutoscaler"): [
        NAME,
        (
            "Reference",
            "string",
            0,
            lambda o: (
                f"{get(o, 'spec', 'scaleTargetRef', 'kind')}/{get(o, 'spec', 'scaleTargetRef', 'name')}"
            ),
        ),
        ("Targets", "string", 0, hpa_targets),
        ("MinPods", "string", 0, field("spec", "minReplicas", default="<unset>")),
        ("MaxPods", "integer", 0, field("spec", "maxReplicas", default=0)),
        ("Replicas", "integer", 0, field("status", "currentReplicas", default=0)),
        AGE,
    ],
    ("policy", "PodDisruptionBudget"): [
        NAME,
        ("Min Available", "string", 0, field("spec", "minAvailable", default="N/A")),
        ("Max Unavailable", "string", 0, field("spec", "maxUnavailable", default="N/A")),
        ("Allowed Disruptions", "integer", 0, field("status", "disruptionsAllowed", default=0)),
        AGE,
    ],
    ("coordination.k8s.io", "Lease"): [
        NAME,
        ("Holder", "string", 0, field("spec", "holderIdentity")),
        AGE,
    ],
    ("scheduling.k8s.io", "PriorityClass"): [
        NAME,
        ("Value", "integer", 0, field("value", default=0)),
        ("Global-Default", "boolean", 0, field("globalDefault", default=False)),
        AGE,
    ],
    ("apiextensions.k8s.io", "CustomResourceDefinition"): [
        NAME,
        ("Created At", "date", 0, lambda o: get(o, "metadata", "creationTimestamp") or ""),
    ],
}
DEFAULT: list[Column] = [
    NAME,
    ("Created At", "date", 0, lambda o: get(o, "metadata", "creationTimestamp") or ""),
]
DESCRIPTIONS = {
    "Name": "Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "Age": "CreationTimestamp is a timestamp representing the server time when this object was created.",
}
