"""The cells of kubectl's table columns: how the API server's printers render a field.

Logic only (ages as ``duration.HumanDuration``, ready counts, selectors,
ports, job durations ...); which column of which kind shows which cell is
data, in :mod:`agent.emulator.rest.columns`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from agent.emulator.objects import JSON

Cell = Callable[[JSON], Any]


def human_duration(seconds: float) -> str:  # noqa: PLR0911 - one return per range, as in Go
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


def since(stamp: Any) -> str:
    if not isinstance(stamp, str) or not stamp:
        return "<unknown>"
    try:
        then = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.UTC) - then).total_seconds())


def age(obj: JSON) -> str:
    return since((obj.get("metadata") or {}).get("creationTimestamp"))


def get(obj: Any, *path: str) -> Any:
    for p in path:
        obj = obj.get(p) if isinstance(obj, Mapping) else None
    return obj


def containers(obj: JSON, *template: str) -> list[JSON]:
    return list(get(obj, *template, "spec", "containers") or [])


def names(obj: JSON, *template: str) -> str:
    return ",".join(str(c.get("name", "")) for c in containers(obj, *template))


def images(obj: JSON, *template: str) -> str:
    return ",".join(str(c.get("image", "")) for c in containers(obj, *template))


def selector(obj: JSON) -> str:
    sel = get(obj, "spec", "selector") or {}
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


def map_selector(obj: JSON) -> str:
    sel = get(obj, "spec", "selector") or {}
    return ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>"


def ports(obj: JSON) -> str:
    out = []
    for p in get(obj, "spec", "ports") or ():
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        out.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def external_ip(obj: JSON) -> str:
    spec, kind = obj.get("spec") or {}, get(obj, "spec", "type") or "ClusterIP"
    ips = list(spec.get("externalIPs") or ())
    if kind == "LoadBalancer":
        ingress = get(obj, "status", "loadBalancer", "ingress") or []
        ips = [i.get("ip") or i.get("hostname") for i in ingress] + ips
        return ",".join(ips) if ips else "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    return ",".join(ips) if ips else "<none>"


def ready(obj: JSON) -> str:
    return f"{get(obj, 'status', 'readyReplicas') or 0}/{get(obj, 'spec', 'replicas') or 0}"


def job_status(obj: JSON) -> str:
    for c in get(obj, "status", "conditions") or ():
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
            return "Failed" if c["type"] == "Failed" else c["type"]
    return "Running"


def job_duration(obj: JSON) -> str:
    start, end = get(obj, "status", "startTime"), get(obj, "status", "completionTime")
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


def pod_ready(obj: JSON) -> str:
    statuses = get(obj, "status", "containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(get(obj, 'spec', 'containers') or [])}"


def pod_status(obj: JSON) -> str:
    for s in get(obj, "status", "containerStatuses") or ():
        waiting = get(s, "state", "waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"])
    return str(get(obj, "status", "phase") or "Pending")


def hosts(obj: JSON) -> str:
    hosts = [r.get("host") for r in get(obj, "spec", "rules") or () if r.get("host")]
    return ",".join(hosts) or "*"


def lb(obj: JSON) -> str:
    ingress = get(obj, "status", "loadBalancer", "ingress") or []
    return ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress)


def count(*path: str) -> Cell:
    return lambda o: len(get(o, *path) or {})


def field(*path: str, default: Any = "") -> Cell:
    def cell(o: JSON) -> Any:
        value = get(o, *path)
        return default if value is None else value

    return cell


def hpa_targets(o: JSON) -> str:
    """An autoscaler's metrics as ``current/target`` (``cpu: <unknown>/60%``), two at most
    (printers.go formatHPAMetrics); a v1 object's CPU target counts as its one metric."""
    specs = get(o, "spec", "metrics") or []
    if not specs and get(o, "spec", "targetCPUUtilizationPercentage") is not None:
        util = get(o, "spec", "targetCPUUtilizationPercentage")
        specs = [{"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": util}}}]
    if not specs:
        return "<none>"
    statuses = get(o, "status", "currentMetrics") or []
    shown = [_hpa_metric(m, statuses[i] if i < len(statuses) else {}) for i, m in enumerate(specs)]
    more = f" + {len(shown) - 2} more..." if len(shown) > 2 else ""
    return ", ".join(shown[:2]) + more


def _hpa_metric(spec: JSON, status: JSON) -> str:
    kind = str(spec.get("type"))
    field_name = {"Resource": "resource", "ContainerResource": "containerResource"}.get(kind, kind.lower())
    src, now_ = spec.get(field_name) or {}, (status.get(field_name) or {}).get("current") or {}
    target = src.get("target") or {}
    if kind in ("Resource", "ContainerResource"):
        if target.get("averageValue") is not None:
            return f"{src.get('name')}: {now_.get('averageValue', '<unknown>')}/{target['averageValue']}"
        current = (
            f"{now_['averageUtilization']}%" if now_.get("averageUtilization") is not None else "<unknown>"
        )
        wanted = (
            f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
        )
        return f"{src.get('name')}: {current}/{wanted}"
    if kind in ("Pods", "Object", "External"):
        if kind != "Pods" and target.get("averageValue") is not None:
            return f"{now_.get('averageValue', '<unknown>')}/{target['averageValue']} (avg)"
        key = "averageValue" if kind == "Pods" else "value"
        return f"{now_.get(key, '<unknown>')}/{target.get(key)}"
    return "<unknown type>"


_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def access_modes(*path: str) -> Cell:
    """Access modes as kubectl abbreviates them (``RWO,ROX``)."""
    return lambda o: ",".join(_MODES.get(m, m) for m in get(o, *path) or ())


def storage_class_name(o: JSON) -> str:
    default = get(o, "metadata", "annotations", "storageclass.kubernetes.io/is-default-class") == "true"
    return str(get(o, "metadata", "name") or "") + (" (default)" if default else "")


def claim_of(o: JSON) -> str:
    ref = get(o, "spec", "claimRef") or {}
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref else ""


def _at_most_three(items: list[str]) -> str:
    """printers.go listWithMoreString: three items, then ``+ N more...``; ``<unset>`` for none."""
    shown = ",".join(items[:3])
    if len(items) > 3:
        return f"{shown} + {len(items) - 3} more..."
    return shown or "<unset>"


def slice_ports(o: JSON) -> str:
    """An EndpointSlice's ports: the number, else the name, else ``*``."""
    return _at_most_three([str(p.get("port", p.get("name", "*"))) for p in o.get("ports") or ()])


def slice_endpoints(o: JSON) -> str:
    """An EndpointSlice's addresses."""
    return _at_most_three([a for e in o.get("endpoints") or () for a in e.get("addresses") or ()])
