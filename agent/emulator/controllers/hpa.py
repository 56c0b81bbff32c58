"""The HorizontalPodAutoscaler controller: metrics always within range.

The autoscaler keeps its target's replicas (clamped to min/max) and reports
that it is able to scale, so health checks of an HPA pass as on a quiet cluster.
"""

from __future__ import annotations

from agent.emulator.controllers.status import Context, Desired, condition, stamp
from agent.emulator.objects import JSON
from agent.kube.errors import ClusterError


def hpa(ctx: Context, obj: JSON, now: float) -> Desired:
    """An autoscaler whose metrics are within range: it keeps the target's
    replicas (clamped to min/max) and says it is able to scale."""
    spec = obj.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    ns = (obj.get("metadata") or {}).get("namespace", "")
    replicas = int(spec.get("minReplicas", 1))
    try:
        target_rt = ctx.cluster.resource_type(str(ref.get("apiVersion", "apps/v1")), str(ref.get("kind", "")))
        target = ctx.cluster.store.get(target_rt.group, target_rt.plural, ns, str(ref.get("name", "")))
    except ClusterError:
        target = None
    if target is not None:
        replicas = int((target.get("spec") or {}).get("replicas", replicas))
    replicas = max(int(spec.get("minReplicas", 1)), min(int(spec.get("maxReplicas", replicas)), replicas))
    old = list((obj.get("status") or {}).get("conditions") or ())
    t = stamp(now)

    def scaling(type_: str, status: str, reason: str, message: str) -> JSON:
        out = condition(old, type_, status, reason, message, t)
        out.pop("lastUpdateTime", None)  # autoscaler conditions carry only the transition time
        return out

    status: JSON = {
        "currentReplicas": replicas,
        "desiredReplicas": replicas,
        "conditions": [
            scaling("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
            scaling(
                "ScalingActive",
                "True",
                "ValidMetricFound",
                "the HPA was able to successfully calculate a replica count",
            ),
            scaling(
                "ScalingLimited",
                "False",
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
            ),
        ],
    }
    return status, None
