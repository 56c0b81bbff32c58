"""Built-in kinds served in more than one version: one stored object, converted per request.

The HorizontalPodAutoscaler is stored as ``autoscaling/v2`` and served as
``autoscaling/v1`` too, converted as ``pkg/apis/autoscaling/v1/conversion.go``
converts it (through the internal type, which is v2's shape):

- v1's ``spec.targetCPUUtilizationPercentage`` is the first CPU ``Resource``
  metric's ``averageUtilization``; ``status.currentCPUUtilizationPercentage``
  the CPU utilization among ``currentMetrics``.
- What v1 cannot say travels in annotations of the v1 object, in v1's (the old
  v2beta1) metric shapes: the other metrics in
  ``autoscaling.alpha.kubernetes.io/metrics``, every current metric in
  ``.../current-metrics``, the conditions in ``.../conditions``.  A v1 write
  lifts them back out (the metrics from the annotation first, then the CPU
  target), and a v1 object without any metric gets v2's default: 80% CPU.
- ``spec.behavior`` has no v1 form: a write through v1 drops it, as on the
  real server.
"""

from __future__ import annotations

import json
from typing import Any

from agent.kube import quantity

JSON = dict[str, Any]
HPA = ("autoscaling", "HorizontalPodAutoscaler")
# (group, kind) -> the versions served, the stored (preferred) one first
SERVED: dict[tuple[str, str], tuple[str, ...]] = {HPA: ("v2", "v1")}
METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
DEFAULT_CPU_UTILIZATION = 80
_V1_NOTES = (METRICS, CURRENT_METRICS, CONDITIONS)


def converted(group: str, kind: str, version: str) -> bool:
    """Whether objects of this type are served in ``version`` by conversion."""
    versions = SERVED.get((group, kind))
    return versions is not None and version != versions[0] and version in versions


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _q(value: Any) -> str:
    """A quantity as the API server prints it (``"0"`` for none: v1's required quantities)."""
    if value is None:
        return "0"
    try:
        return quantity.canonical(value)
    except quantity.QuantityError:
        return str(value)


def _drop_none(d: JSON) -> JSON:
    return {k: v for k, v in d.items() if v is not None}


# -- v2 -> v1 ---------------------------------------------------------------------------------
def hpa_to_v1(obj: JSON) -> JSON:
    """The stored (v2) autoscaler as autoscaling/v1 serves it."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    metrics = spec.get("metrics") or []
    target_cpu = None
    for m in metrics:
        if _is_cpu(m):
            target_cpu = ((m.get("resource") or {}).get("target") or {}).get("averageUtilization")
            break
    others = [
        _spec_to_v1(m)
        for m in metrics
        if not (
            _is_cpu(m)
            and ((m.get("resource") or {}).get("target") or {}).get("averageUtilization") is not None
        )
    ]
    meta = dict(obj.get("metadata") or {})
    notes = dict(meta.get("annotations") or {})
    if others:
        notes[METRICS] = _dumps(others)
    current = status.get("currentMetrics") or []
    if current:
        notes[CURRENT_METRICS] = _dumps([_status_to_v1(m) for m in current])
    if status.get("conditions"):
        keys = ("type", "status", "lastTransitionTime", "reason", "message")
        notes[CONDITIONS] = _dumps(
            [{k: c[k] for k in keys if c.get(k) is not None} for c in status["conditions"]]
        )
    if notes:
        meta["annotations"] = notes
    current_cpu = None
    for m in current:
        if (
            _is_cpu(m)
            and ((m.get("resource") or {}).get("current") or {}).get("averageUtilization") is not None
        ):
            current_cpu = m["resource"]["current"]["averageUtilization"]
    out: JSON = {"apiVersion": "autoscaling/v1", "kind": obj.get("kind", HPA[1]), "metadata": meta}
    out["spec"] = _drop_none(
        {
            "scaleTargetRef": spec.get("scaleTargetRef"),
            "minReplicas": spec.get("minReplicas"),
            "maxReplicas": spec.get("maxReplicas"),
            "targetCPUUtilizationPercentage": target_cpu,
        }
    )
    if "status" in obj:
        out["status"] = _drop_none(
            {
                "observedGeneration": status.get("observedGeneration"),
                "lastScaleTime": status.get("lastScaleTime"),
                "currentReplicas": status.get("currentReplicas", 0),
                "desiredReplicas": status.get("desiredReplicas", 0),
                "currentCPUUtilizationPercentage": current_cpu,
            }
        )
    return out


def _is_cpu(m: JSON) -> bool:
    return m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu"


def _spec_to_v1(m: JSON) -> JSON:
    kind = m.get("type")
    out: JSON = {"type": kind}
    if kind in ("Resource", "ContainerResource"):
        src = m.get("resource" if kind == "Resource" else "containerResource") or {}
        target = src.get("target") or {}
        body = _drop_none(
            {
                "name": src.get("name"),
                "targetAverageUtilization": target.get("averageUtilization"),
                "targetAverageValue": None
                if target.get("averageValue") is None
                else _q(target["averageValue"]),
                "container": src.get("container"),
            }
        )
        out["resource" if kind == "Resource" else "containerResource"] = body
    elif kind == "Pods":
        src = m.get("pods") or {}
        metric = src.get("metric") or {}
        out["pods"] = _drop_none(
            {
                "metricName": metric.get("name", ""),
                "targetAverageValue": _q((src.get("target") or {}).get("averageValue")),
                "selector": metric.get("selector"),
            }
        )
    elif kind == "Object":
        src = m.get("object") or {}
        metric, target = src.get("metric") or {}, src.get("target") or {}
        out["object"] = _drop_none(
            {
                "target": src.get("describedObject") or {},
                "metricName": metric.get("name", ""),
                "targetValue": _q(target.get("value")),
                "selector": metric.get("selector"),
                "averageValue": None if target.get("averageValue") is None else _q(target["averageValue"]),
            }
        )
    elif kind == "External":
        src = m.get("external") or {}
        metric, target = src.get("metric") or {}, src.get("target") or {}
        out["external"] = _drop_none(
            {
                "metricName": metric.get("name", ""),
                "metricSelector": metric.get("selector"),
                "targetValue": None if target.get("value") is None else _q(target["value"]),
                "targetAverageValue": None
                if target.get("averageValue") is None
                else _q(target["averageValue"]),
            }
        )
    return out


def _status_to_v1(m: JSON) -> JSON:
    kind = m.get("type")
    out: JSON = {"type": kind}
    field = {
        "Resource": "resource",
        "ContainerResource": "containerResource",
        "Pods": "pods",
        "Object": "object",
        "External": "external",
    }.get(str(kind))
    if field is None:
        return out
    src = m.get(field) or {}
    current, metric = src.get("current") or {}, src.get("metric") or {}
    if kind in ("Resource", "ContainerResource"):
        body = {
            "name": src.get("name"),
            "currentAverageUtilization": current.get("averageUtilization"),
            "currentAverageValue": _q(current.get("averageValue")),
            "container": src.get("container"),
        }
    elif kind == "Pods":
        body = {
            "metricName": metric.get("name", ""),
            "currentAverageValue": _q(current.get("averageValue")),
            "selector": metric.get("selector"),
        }
    elif kind == "Object":
        body = {
            "target": src.get("describedObject") or {},
            "metricName": metric.get("name", ""),
            "currentValue": _q(current.get("value")),
            "selector": metric.get("selector"),
            "averageValue": None if current.get("averageValue") is None else _q(current["averageValue"]),
        }
    else:
        body = {
            "metricName": metric.get("name", ""),
            "metricSelector": metric.get("selector"),
            "currentValue": _q(current.get("value")),
            "currentAverageValue": None
            if current.get("averageValue") is None
            else _q(current["averageValue"]),
        }
    out[field] = _drop_none(body)
    return out


# -- v1 -> v2 ---------------------------------------------------------------------------------
def hpa_to_v2(obj: JSON) -> JSON:
    """A v1 autoscaler written by a client, as the stored v2 object (the v1-only
    annotations lifted out).  A note that does not parse is an error, as on the real server."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = dict(obj.get("metadata") or {})
    notes = dict(meta.get("annotations") or {})
    metrics: list[JSON] = []
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics = [_cpu(spec["targetCPUUtilizationPercentage"])]
    if METRICS in notes:
        metrics = [_spec_to_v2(m) for m in _loads(notes[METRICS])] + metrics
    if not metrics:
        metrics = [_cpu(DEFAULT_CPU_UTILIZATION)]
    new_status: JSON = _drop_none(
        {
            "observedGeneration": status.get("observedGeneration"),
            "lastScaleTime": status.get("lastScaleTime"),
            "currentReplicas": status.get("currentReplicas"),
            "desiredReplicas": status.get("desiredReplicas"),
        }
    )
    if status.get("currentCPUUtilizationPercentage") is not None:
        util = status["currentCPUUtilizationPercentage"]
        new_status["currentMetrics"] = [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": util}}}
        ]
    if CURRENT_METRICS in notes:
        new_status["currentMetrics"] = [_status_to_v2(m) for m in _loads(notes[CURRENT_METRICS])]
    if CONDITIONS in notes:
        new_status["conditions"] = _loads(notes[CONDITIONS])
    for note in _V1_NOTES:
        notes.pop(note, None)
    if notes:
        meta["annotations"] = notes
    else:
        meta.pop("annotations", None)
    out: JSON = {"apiVersion": "autoscaling/v2", "kind": obj.get("kind", HPA[1]), "metadata": meta}
    out["spec"] = _drop_none(
        {
            "scaleTargetRef": spec.get("scaleTargetRef"),
            "minReplicas": spec.get("minReplicas"),
            "maxReplicas": spec.get("maxReplicas"),
            "metrics": metrics,
        }
    )
    if "status" in obj:
        out["status"] = new_status
    return out


def _loads(text: Any) -> list[JSON]:
    value = json.loads(str(text))
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("not a list of objects")
    return value


def _cpu(utilization: Any) -> JSON:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}},
    }


def _spec_to_v2(m: JSON) -> JSON:
    kind = m.get("type")
    out: JSON = {"type": kind}
    if kind in ("Resource", "ContainerResource"):
        field = "resource" if kind == "Resource" else "containerResource"
        src = m.get(field) or {}
        util = src.get("targetAverageUtilization")
        target = _drop_none(
            {
                "type": "AverageValue" if util is None else "Utilization",
                "averageValue": src.get("targetAverageValue"),
                "averageUtilization": util,
            }
        )
        out[field] = _drop_none(
            {"name": src.get("name"), "target": target, "container": src.get("container")}
        )
    elif kind == "Pods":
        src = m.get("pods") or {}
        out["pods"] = {
            "metric": _drop_none({"name": src.get("metricName"), "selector": src.get("selector")}),
            "target": {"type": "AverageValue", "averageValue": src.get("targetAverageValue", "0")},
        }
    elif kind == "Object":
        src = m.get("object") or {}
        average = src.get("averageValue")
        out["object"] = {
            "describedObject": src.get("target") or {},
            "metric": _drop_none({"name": src.get("metricName"), "selector": src.get("selector")}),
            "target": _drop_none(
                {
                    "type": "Value" if average is None else "AverageValue",
                    "value": src.get("targetValue", "0"),
                    "averageValue": average,
                }
            ),
        }
    elif kind == "External":
        src = m.get("external") or {}
        value = src.get("targetValue")
        out["external"] = {
            "metric": _drop_none({"name": src.get("metricName"), "selector": src.get("metricSelector")}),
            "target": _drop_none(
                {
                    "type": "AverageValue" if value is None else "Value",
                    "value": value,
                    "averageValue": src.get("targetAverageValue"),
                }
            ),
        }
    return out


def _status_to_v2(m: JSON) -> JSON:
    kind = m.get("type")
    out: JSON = {"type": kind}
    for field in ("resource", "containerResource", "pods", "object", "external"):
        src = m.get(field)
        if not isinstance(src, dict):
            continue
        metric = _drop_none(
            {"name": src.get("metricName"), "selector": src.get("selector") or src.get("metricSelector")}
        )
        if field in ("resource", "containerResource"):
            current = _drop_none(
                {
                    "averageValue": src.get("currentAverageValue"),
                    "averageUtilization": src.get("currentAverageUtilization"),
                }
            )
            out[field] = _drop_none(
                {"name": src.get("name"), "current": current, "container": src.get("container")}
            )
        elif field == "pods":
            out[field] = {"metric": metric, "current": {"averageValue": src.get("currentAverageValue", "0")}}
        elif field == "object":
            current = _drop_none(
                {"value": src.get("currentValue", "0"), "averageValue": src.get("averageValue")}
            )
            out[field] = {"describedObject": src.get("target") or {}, "metric": metric, "current": current}
        else:
            current = _drop_none(
                {"value": src.get("currentValue", "0"), "averageValue": src.get("currentAverageValue")}
            )
            out[field] = {"metric": metric, "current": current}
    return out
