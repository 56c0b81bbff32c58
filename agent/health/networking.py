"""Services, Ingresses and HorizontalPodAutoscalers."""

from __future__ import annotations

from agent.health.core import Health, Obj, conditions, degraded, healthy, progressing, spec, status


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


def hpa(obj: Obj) -> Health:
    conds = conditions(obj)
    for kind in ("AbleToScale", "ScalingActive"):
        cond = conds.get(kind) or {}
        if cond.get("status") == "False" and cond.get("reason") not in ("ScalingDisabled",):
            return degraded(f"{kind}: {cond.get('reason', '')} {cond.get('message', '')}".strip())
    if not conds:
        return progressing("waiting for the autoscaler to report")
    return healthy()
