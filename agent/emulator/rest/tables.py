"""Table output: what ``kubectl get`` shows, computed by the server as a real one does.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints
the columns the server sends (priority 0 always, priority 1 with ``-o
wide``).  The columns of built-in kinds follow the API server's printers
(``pkg/printers/internalversion/printers.go``, Kubernetes 1.33); custom
resources get their CRD's ``additionalPrinterColumns`` (JSONPath, as the
apiextensions server evaluates them) or Name and Age; any other kind Name
and Created At.  Ages are rendered server-side like ``duration.HumanDuration``.
Each row carries the object's metadata (``PartialObjectMetadata``, the
default), the whole object (``includeObject=Object``) or nothing (``None``).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agent.kube.kinds import ResourceType

JSON = dict[str, Any]
Cell = Callable[[JSON], Any]


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


# -- cells --------------------------------------------------------------------------------------
def human_duration(seconds: float) -> str:
    """Kubernetes' ``duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _since(stamp: Any) -> str:
    if not isinstance(stamp, str) or not stamp:
        return "<unknown>"
    try:
        then = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.UTC) - then).total_seconds())


def _age(obj: JSON) -> str:
    return _since((obj.get("metadata") or {}).get("creationTimestamp"))


def _get(obj: Any, *path: str) -> Any:
    for p in path:
        obj = obj.get(p) if isinstance(obj, Mapping) else None
    return obj


def _containers(obj: JSON, *template: str) -> list[JSON]:
    return list(_get(obj, *template, "spec", "containers") or [])


def _names(obj: JSON, *template: str) -> str:
    return ",".join(str(c.get("name", "")) for c in _containers(obj, *template))


def _images(obj: JSON, *template: str) -> str:
    return ",".join(str(c.get("image", "")) for c in _containers(obj, *template))


def _selector(obj: JSON) -> str:
    sel = _get(obj, "spec", "selector") or {}
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or ():
        values = ",".join(e.get("values") or ())
        op = e.get("operator", "")
        key = e.get("key", "")
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                op, f"!{key}"
            )
        )
    return ",".join(parts) or "<none>"


def _map_selector(obj: JSON) -> str:
    sel = _get(obj, "spec", "selector") or {}
    return ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>"


def _ports(obj: JSON) -> str:
    out = []
    for p in _get(obj, "spec", "ports") or ():
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        out.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _external_ip(obj: JSON) -> str:
    spec, kind = obj.get("spec") or {}, _get(obj, "spec", "type") or "ClusterIP"
    ips = list(spec.get("externalIPs") or ())
    if kind == "LoadBalancer":
        ingress = _get(obj, "status", "loadBalancer", "ingress") or []
        ips = [i.get("ip") or i.get("hostname") for i in ingress] + ips
        return ",".join(ips) if ips else "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    return ",".join(ips) if ips else "<none>"


def _ready(obj: JSON) -> str:
    return f"{_get(obj, 'status', 'readyReplicas') or 0}/{_get(obj, 'spec', 'replicas') or 0}"


def _job_status(obj: JSON) -> str:
    for c in _get(obj, "status", "conditions") or ():
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
            return "Failed" if c["type"] == "Failed" else c["type"]
    return "Running"


def _job_duration(obj: JSON) -> str:
    start, end = _get(obj, "status", "startTime"), _get(obj, "status", "completionTime")
    if not start:
        return ""
    try:
        begin = datetime.datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        finish = (
            datetime.datetime.fromisoformat(str(end).replace("Z", "+00:00"))
            if end
            else datetime.datetime.now(datetime.UTC)
        )
    except ValueError:
        return ""
    return human_duration((finish - begin).total_seconds())


def _pod_ready(obj: JSON) -> str:
    statuses = _get(obj, "status", "containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(_get(obj, 'spec', 'containers') or [])}"


def _pod_status(obj: JSON) -> str:
    for s in _get(obj, "status", "containerStatuses") or ():
        waiting = _get(s, "state", "waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"])
    return str(_get(obj, "status", "phase") or "Pending")


def _hosts(obj: JSON) -> str:
    hosts = [r.get("host") for r in _get(obj, "spec", "rules") or () if r.get("host")]
    return ",".join(hosts) or "*"


def _lb(obj: JSON) -> str:
    ingress = _get(obj, "status", "loadBalancer", "ingress") or []
    return ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress)


def _count(*path: str) -> Cell:
    return lambda o: len(_get(o, *path) or {})


def _field(*path: str, default: Any = "") -> Cell:
    def cell(o: JSON) -> Any:
        value = _get(o, *path)
        return default if value is None else value

    return cell


# -- columns -------------------------------------------------------------------------------------
Column = tuple[str, str, int, Cell]  # name, type, priority, cell
_NAME: Column = ("Name", "string", 0, lambda o: (o.get("metadata") or {}).get("name", ""))
_AGE: Column = ("Age", "string", 0, _age)
_COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "Namespace"): [_NAME, ("Status", "string", 0, _field("status", "phase")), _AGE],
    ("", "ConfigMap"): [
        _NAME,
        ("Data", "integer", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
        _AGE,
    ],
    ("", "Secret"): [
        _NAME,
        ("Type", "string", 0, _field("type")),
        ("Data", "integer", 0, _count("data")),
        _AGE,
    ],
    ("", "ServiceAccount"): [_NAME, ("Secrets", "integer", 0, lambda o: len(o.get("secrets") or ())), _AGE],
    ("", "Service"): [
        _NAME,
        ("Type", "string", 0, _field("spec", "type", default="ClusterIP")),
        ("Cluster-IP", "string", 0, _field("spec", "clusterIP", default="<none>")),
        ("External-IP", "string", 0, _external_ip),
        ("Port(s)", "string", 0, _ports),
        _AGE,
        ("Selector", "string", 1, _map_selector),
    ],
    ("", "Pod"): [
        _NAME,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        (
            "Restarts",
            "string",
            0,
            lambda o: str(
                sum(s.get("restartCount", 0) for s in _get(o, "status", "containerStatuses") or ())
            ),
        ),
        _AGE,
        ("IP", "string", 1, _field("status", "podIP", default="<none>")),
        ("Node", "string", 1, _field("spec", "nodeName", default="<none>")),
    ],
    ("", "PersistentVolumeClaim"): [
        _NAME,
        ("Status", "string", 0, _field("status", "phase")),
        ("Volume", "string", 0, _field("spec", "volumeName")),
        ("Capacity", "string", 0, _field("status", "capacity", "storage")),
        ("Access Modes", "string", 0, lambda o: ",".join(_get(o, "status", "accessModes") or ())),
        ("StorageClass", "string", 0, _field("spec", "storageClassName", default="<unset>")),
        _AGE,
    ],
    ("", "Event"): [
        ("Last Seen", "string", 0, lambda o: _since(o.get("lastTimestamp") or o.get("eventTime"))),
        ("Type", "string", 0, _field("type")),
        ("Reason", "string", 0, _field("reason")),
        (
            "Object",
            "string",
            0,
            lambda o: (
                f"{_get(o, 'involvedObject', 'kind') or ''}/{_get(o, 'involvedObject', 'name') or ''}".lower()
            ),
        ),
        ("Message", "string", 0, _field("message")),
    ],
    ("apps", "Deployment"): [
        _NAME,
        ("Ready", "string", 0, _ready),
        ("Up-to-date", "integer", 0, _field("status", "updatedReplicas", default=0)),
        ("Available", "integer", 0, _field("status", "availableReplicas", default=0)),
        _AGE,
        ("Containers", "string", 1, lambda o: _names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: _images(o, "spec", "template")),
        ("Selector", "string", 1, _selector),
    ],
    ("apps", "StatefulSet"): [
        _NAME,
        ("Ready", "string", 0, _ready),
        _AGE,
        ("Containers", "string", 1, lambda o: _names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: _images(o, "spec", "template")),
    ],
    ("apps", "ReplicaSet"): [
        _NAME,
        ("Desired", "integer", 0, _field("spec", "replicas", default=0)),
        ("Current", "integer", 0, _field("status", "replicas", default=0)),
        ("Ready", "integer", 0, _field("status", "readyReplicas", default=0)),
        _AGE,
        ("Containers", "string", 1, lambda o: _names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: _images(o, "spec", "template")),
        ("Selector", "string", 1, _selector),
    ],
    ("apps", "DaemonSet"): [
        _NAME,
        ("Desired", "integer", 0, _field("status", "desiredNumberScheduled", default=0)),
        ("Current", "integer", 0, _field("status", "currentNumberScheduled", default=0)),
        ("Ready", "integer", 0, _field("status", "numberReady", default=0)),
        ("Up-to-date", "integer", 0, _field("status", "updatedNumberScheduled", default=0)),
        ("Available", "integer", 0, _field("status", "numberAvailable", default=0)),
        (
            "Node Selector",
            "string",
            0,
            lambda o: (
                ",".join(
                    f"{k}={v}" for k, v in (_get(o, "spec", "template", "spec", "nodeSelector") or {}).items()
                )
                or "<none>"
            ),
        ),
        _AGE,
        ("Containers", "string", 1, lambda o: _names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: _images(o, "spec", "template")),
        ("Selector", "string", 1, _selector),
    ],
    ("batch", "Job"): [
        _NAME,
        ("Status", "string", 0, _job_status),
        (
            "Completions",
            "string",
            0,
            lambda o: f"{_get(o, 'status', 'succeeded') or 0}/{_get(o, 'spec', 'completions') or 1}",
        ),
        ("Duration", "string", 0, _job_duration),
        _AGE,
        ("Containers", "string", 1, lambda o: _names(o, "spec", "template")),
        ("Images", "string", 1, lambda o: _images(o, "spec", "template")),
        ("Selector", "string", 1, _selector),
    ],
    ("batch", "CronJob"): [
        _NAME,
        ("Schedule", "string", 0, _field("spec", "schedule")),
        ("Timezone", "string", 0, _field("spec", "timeZone", default="<none>")),
        ("Suspend", "boolean", 0, _field("spec", "suspend", default=False)),
        ("Active", "integer", 0, lambda o: len(_get(o, "status", "active") or ())),
        (
            "Last Schedule",
            "string",
            0,
            lambda o: (
                _since(_get(o, "status", "lastScheduleTime"))
                if _get(o, "status", "lastScheduleTime")
                else "<none>"
            ),
        ),
        _AGE,
        ("Containers", "string", 1, lambda o: _names(o, "spec", "jobTemplate", "spec", "template")),
        ("Images", "string", 1, lambda o: _images(o, "spec", "jobTemplate", "spec", "template")),
    ],
    ("networking.k8s.io", "Ingress"): [
        _NAME,
        ("Class", "string", 0, _field("spec", "ingressClassName", default="<none>")),
        ("Hosts", "string", 0, _hosts),
        ("Address", "string", 0, _lb),
        ("Ports", "string", 0, lambda o: "80, 443" if _get(o, "spec", "tls") else "80"),
        _AGE,
    ],
    ("networking.k8s.io", "NetworkPolicy"): [
        _NAME,
        (
            "Pod-Selector",
            "string",
            0,
            lambda o: (
                ",".join(f"{k}={v}" for k, v in (_get(o, "spec", "podSelector", "matchLabels") or {}).items())
                or "<none>"
            ),
        ),
        _AGE,
    ],
    ("rbac.authorization.k8s.io", "RoleBinding"): [
        _NAME,
        ("Role", "string", 0, lambda o: f"{_get(o, 'roleRef', 'kind')}/{_get(o, 'roleRef', 'name')}"),
        _AGE,
    ],
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): [
        _NAME,
        ("Role", "string", 0, lambda o: f"{_get(o, 'roleRef', 'kind')}/{_get(o, 'roleRef', 'name')}"),
        _AGE,
    ],
    ("autoscaling", "HorizontalPodAutoscaler"): [
        _NAME,
        (
            "Reference",
            "string",
            0,
            lambda o: (
                f"{_get(o, 'spec', 'scaleTargetRef', 'kind')}/{_get(o, 'spec', 'scaleTargetRef', 'name')}"
            ),
        ),
        ("MinPods", "string", 0, _field("spec", "minReplicas", default="<unset>")),
        ("MaxPods", "integer", 0, _field("spec", "maxReplicas", default=0)),
        ("Replicas", "integer", 0, _field("status", "currentReplicas", default=0)),
        _AGE,
    ],
    ("policy", "PodDisruptionBudget"): [
        _NAME,
        ("Min Available", "string", 0, _field("spec", "minAvailable", default="N/A")),
        ("Max Unavailable", "string", 0, _field("spec", "maxUnavailable", default="N/A")),
        ("Allowed Disruptions", "integer", 0, _field("status", "disruptionsAllowed", default=0)),
        _AGE,
    ],
    ("coordination.k8s.io", "Lease"): [
        _NAME,
        ("Holder", "string", 0, _field("spec", "holderIdentity")),
        _AGE,
    ],
    ("scheduling.k8s.io", "PriorityClass"): [
        _NAME,
        ("Value", "integer", 0, _field("value", default=0)),
        ("Global-Default", "boolean", 0, _field("globalDefault", default=False)),
        _AGE,
    ],
    ("apiextensions.k8s.io", "CustomResourceDefinition"): [
        _NAME,
        ("Created At", "date", 0, lambda o: _get(o, "metadata", "creationTimestamp") or ""),
    ],
}
_DEFAULT: list[Column] = [
    _NAME,
    ("Created At", "date", 0, lambda o: _get(o, "metadata", "creationTimestamp") or ""),
]
_DESCRIPTIONS = {
    "Name": "Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "Age": "CreationTimestamp is a timestamp representing the server time when this object was created.",
}


# -- JSONPath for additionalPrinterColumns ----------------------------------------------------------
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']+)'\]|\[\*\]")


def _jsonpath(obj: Any, path: str) -> list[Any]:
    """The simple JSONPath subset CRD printer columns use (``.spec.a``, ``[0]``, ``['a.b']``, ``[*]``)."""
    values = [obj]
    text = path.strip().removeprefix("{").removesuffix("}").removeprefix("$")
    pos = 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            return []
        pos = m.end()
        nxt: list[Any] = []
        for v in values:
            if m.group(1) is not None or m.group(3) is not None:
                key = m.group(1) if m.group(1) is not None else m.group(3)
                if isinstance(v, Mapping) and key in v:
                    nxt.append(v[key])
            elif m.group(2) is not None:
                i = int(m.group(2))
                if isinstance(v, list) and i < len(v):
                    nxt.append(v[i])
            elif isinstance(v, list):
                nxt.extend(v)
        values = nxt
    return values


def _printer_cell(kind: str, found: list[Any]) -> Any:
    if not found:
        return None
    value = found[0]
    if kind == "date":
        return _since(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value


def _printer(kind: str, path: str) -> Cell:
    return lambda o: _printer_cell(kind, _jsonpath(o, path))


def custom_columns(crd: Mapping[str, Any], version: str) -> list[Column]:
    for v in _get(crd, "spec", "versions") or ():
        if v.get("name") != version:
            continue
        printer = v.get("additionalPrinterColumns")
        if not printer:
            return [_NAME, _AGE]
        cols: list[Column] = [_NAME]
        for c in printer:
            kind, path = str(c.get("type", "string")), str(c.get("jsonPath", ""))
            cols.append(
                (
                    str(c.get("name", "")),
                    "string" if kind == "date" else kind,
                    int(c.get("priority", 0)),
                    _printer(kind, path),
                )
            )
        return cols
    return [_NAME, _AGE]


# -- the Table --------------------------------------------------------------------------------------
def columns_for(rt: ResourceType, crd: Mapping[str, Any] | None) -> list[Column]:
    if crd is not None:
        return custom_columns(crd, rt.version)
    return _COLUMNS.get((rt.group, rt.kind), _DEFAULT)


def _row_object(obj: JSON, include: str) -> JSON | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def table(
    columns: list[Column],
    items: Iterable[JSON],
    include: str = "Metadata",
    list_meta: JSON | None = None,
    headers: bool = True,
) -> JSON:
    defs = [
        {
            "name": name,
            "type": kind,
            "format": "name" if name == "Name" else "",
            "description": _DESCRIPTIONS.get(name, name),
            "priority": priority,
        }
        for name, kind, priority, _ in columns
    ]
    rows = []
    for obj in items:
        row: JSON = {"cells": [cell(obj) for _, _, _, cell in columns]}
        included = _row_object(obj, include)
        if included is not None:
            row["object"] = included
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta or {},
        "columnDefinitions": defs if headers else [],
        "rows": rows,
    }
