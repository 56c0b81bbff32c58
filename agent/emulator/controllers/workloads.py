"""StatefulSets, DaemonSets and ReplicaSets: their replicas ready after the rollout time.

Each reports the status fields its own controller writes (a DaemonSet
counts scheduled nodes, a StatefulSet its revisions); an unpullable or
crash-looping image leaves the replicas unready.  Deployments have their own
module (:mod:`agent.emulator.controllers.deployments`): their conditions are richer.
"""

from __future__ import annotations

from agent.emulator.controllers.status import Context, Desired, template_hash
from agent.emulator.objects import JSON


def statefulset(ctx: Context, obj: JSON, now: float) -> Desired:
    return _workload("StatefulSet", ctx, obj, now)


def daemonset(ctx: Context, obj: JSON, now: float) -> Desired:
    return _workload("DaemonSet", ctx, obj, now)


def replicaset(ctx: Context, obj: JSON, now: float) -> Desired:
    return _workload("ReplicaSet", ctx, obj, now)


def _workload(kind: str, ctx: Context, obj: JSON, now: float) -> Desired:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    old = obj.get("status") or {}
    gen = meta.get("generation", 1)
    fault = ctx.fault(spec.get("template"))
    key = (str(meta.get("uid", "")), int(gen))
    began = ctx.began.setdefault(key, now) if old.get("observedGeneration") != gen else now
    if not fault and now - began < ctx.rollout_seconds:
        return None, began + ctx.rollout_seconds
    ctx.began.pop(key, None)
    revision = f"{meta['name']}-{template_hash(spec.get('template'))}"
    n = 1 if kind == "DaemonSet" else int(spec.get("replicas", 1))
    up = 0 if fault else n
    if kind == "DaemonSet":
        status: JSON = {
            "currentNumberScheduled": n,
            "desiredNumberScheduled": n,
            "numberMisscheduled": 0,
            "numberReady": up,
            "observedGeneration": gen,
            "updatedNumberScheduled": n,
        }
        if up:
            status["numberAvailable"] = up
        else:
            status["numberUnavailable"] = n
        return status, None
    if kind == "StatefulSet":
        status = {
            "observedGeneration": gen,
            "replicas": n,
            "readyReplicas": up,
            "currentReplicas": n,
            "updatedReplicas": n,
            "availableReplicas": up,
            "currentRevision": revision if not fault else old.get("currentRevision", revision),
            "updateRevision": revision,
            "collisionCount": 0,
        }
        return {
            k: v for k, v in status.items() if v != 0 or k in ("collisionCount", "availableReplicas")
        }, None
    status = {
        "observedGeneration": gen,
        "replicas": n,
        "fullyLabeledReplicas": n,
        "readyReplicas": up,
        "availableReplicas": up,
    }
    return {k: v for k, v in status.items() if v != 0 or k == "replicas"}, None
