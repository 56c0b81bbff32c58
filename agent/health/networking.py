"""Services, Ingresses, HorizontalPodAutoscalers, APIServices and PodDisruptionBudgets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agent.health.core import (
    Health,
    Obj,
    conditions,
    degraded,
    generation_observed,
    healthy,
    progressing,
    spec,
    status,
)


def _has_address(obj: Obj) -> bool:
    ingress = (status(obj).get("loadBalancer") or {}).get("ingress") or ()
    return any(i.get("ip") or i.get("hostname") for i in ingress)


def service(obj: Obj) -> Health:
    if spec(obj).get("type") == "LoadBalancer" and not _has_address(obj):
        return progressing("waiting for a load balancer address")
    return healthy()


def ingress(obj: Obj) -> Health:
    if not _has_address(obj):
        return progressing("waiting for an address")
    return healthy()


# autoscaling/v1 has no status.conditions: the API server keeps them, as JSON,
# in this annotation (the v2 conditions, converted).
_V1_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"


def _hpa_conditions(obj: Obj) -> dict[str, Mapping[str, Any]]:
    conds = conditions(obj)
    if conds:
        return conds
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(_V1_CONDITIONS)
    try:
        found = json.loads(raw) if isinstance(raw, str) else ()
    except ValueError:
        return {}
    if not isinstance(found, list):
        return {}
    return {str(c.get("type")): c for c in found if isinstance(c, Mapping)}


def hpa(obj: Obj) -> Health:
    conds = _hpa_conditions(obj)
    for kind in ("AbleToScale", "ScalingActive"):
        cond = conds.get(kind) or {}
        if cond.get("status") == "False" and cond.get("reason") not in ("ScalingDisabled",):
            return degraded(f"{kind}: {cond.get('reason', '')} {cond.get('message', '')}".strip())
    if not conds:
        return progressing("waiting for the autoscaler to report")
    return healthy()


def apiservice(obj: Obj) -> Health:
    """An aggregated API: Available once its backing service answers.

    ``Available=False`` is what every APIService reports while its server
    starts, so it is Progressing (the health timeout bounds it); a local
    APIService (no ``spec.service``) is served by the API server itself.
    """
    if not spec(obj).get("service"):
        return healthy("served by the API server")
    cond = conditions(obj).get("Available") or {}
    if cond.get("status") == "True":
        return healthy()
    return progressing(str(cond.get("message") or cond.get("reason") or "waiting to be available"))


def pdb(obj: Obj) -> Health:
    """A PodDisruptionBudget: Healthy unless its status describes an older
    generation (no status yet is Healthy, as kstatus reads it); it does not
    wait for pods.

    ``DisruptionAllowed=False`` is the budget doing its job (or its pods not
    yet running), never a failure of the budget itself, so it is reported in
    the message and leaves the verdict Healthy, as ``kubectl`` shows it.
    """
    if not generation_observed(obj, required=False):
        return progressing("waiting for the disruption controller to observe the budget")
    cond = conditions(obj).get("DisruptionAllowed") or {}
    if cond.get("status") == "False":
        return healthy(f"no disruption allowed: {cond.get('reason') or 'InsufficientPods'}")
    return healthy()
