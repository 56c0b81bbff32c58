"""Workloads: Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod.

Modelled on Kubernetes' own rollout status (``kubectl rollout status``) and
Argo CD's health checks: a rollout is Progressing until the controller has
observed the latest generation and every replica is updated and available;
a Deployment whose Progressing condition says ProgressDeadlineExceeded is
Degraded.
"""

from __future__ import annotations

from agent.health.core import (
    Health,
    Obj,
    conditions,
    degraded,
    generation_observed,
    healthy,
    number,
    progressing,
    spec,
    status,
    suspended,
)


def deployment(obj: Obj) -> Health:
    s, st = spec(obj), status(obj)
    if s.get("paused"):
        return suspended("rollout is paused")
    if not generation_observed(obj):
        return progressing("waiting for the rollout to be observed")
    cond = conditions(obj).get("Progressing") or {}
    if cond.get("reason") == "ProgressDeadlineExceeded":
        return degraded(f"rollout exceeded its progress deadline: {cond.get('message', '')}".rstrip(": "))
    return _replicas_rolling(s, st) or healthy()


def _replicas_rolling(s: Obj, st: Obj) -> Health | None:
    """What a Deployment's rollout still waits for, counted in replicas."""
    want = number(s, "replicas", 1)
    updated = number(st, "updatedReplicas")
    if updated < want:
        return progressing(f"{updated} of {want} replicas updated")
    if number(st, "replicas") > updated:
        return progressing(f"{number(st, 'replicas') - updated} old replicas pending termination")
    available = number(st, "availableReplicas")
    if available < updated:
        return progressing(f"{available} of {updated} updated replicas available")
    return None


def statefulset(obj: Obj) -> Health:
    s, st = spec(obj), status(obj)
    if not generation_observed(obj):
        return progressing("waiting for the rollout to be observed")
    want = number(s, "replicas", 1)
    strategy = (s.get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "OnDelete":
        return healthy("update strategy OnDelete: not tracked")
    ready = number(st, "readyReplicas")
    if ready < want:
        return progressing(f"{ready} of {want} pods ready")
    partition = number((s.get("updateStrategy") or {}).get("rollingUpdate") or {}, "partition")
    if partition and number(st, "updatedReplicas") < want - partition:
        return progressing(f"{number(st, 'updatedReplicas')} of {want - partition} partitioned pods updated")
    if not partition and st.get("updateRevision") and st.get("currentRevision") != st.get("updateRevision"):
        return progressing("waiting for pods to reach the update revision")
    return healthy()


def daemonset(obj: Obj) -> Health:
    st = status(obj)
    if not generation_observed(obj):
        return progressing("waiting for the rollout to be observed")
    if (spec(obj).get("updateStrategy") or {}).get("type") == "OnDelete":
        return healthy("update strategy OnDelete: not tracked")
    want = number(st, "desiredNumberScheduled")
    updated = number(st, "updatedNumberScheduled")
    if updated < want:
        return progressing(f"{updated} of {want} pods updated")
    available = number(st, "numberAvailable")
    if available < want:
        return progressing(f"{available} of {want} updated pods available")
    return healthy()


def replicaset(obj: Obj) -> Health:
    if not generation_observed(obj):
        return progressing("waiting for the replica set to be observed")
    cond = conditions(obj).get("ReplicaFailure") or {}
    if cond.get("status") == "True":
        return degraded(str(cond.get("message", "replica failure")))
    want = number(spec(obj), "replicas", 1)
    available = number(status(obj), "availableReplicas")
    if available < want:
        return progressing(f"{available} of {want} replicas available")
    return healthy()


_BAD_WAITING = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def pod(obj: Obj) -> Health:
    st = status(obj)
    phase = st.get("phase")
    failed = _stuck_container(st) or _errored_container(obj, st)
    if failed is not None:
        return failed
    if phase == "Succeeded":
        return healthy("completed")
    if phase == "Failed":
        return degraded(str(st.get("message") or st.get("reason") or "pod failed"))
    if phase == "Running":
        if (
            spec(obj).get("restartPolicy") == "Never"
            or conditions(obj).get("Ready", {}).get("status") == "True"
        ):
            return healthy()
        return progressing("running, not ready")
    return progressing(f"phase {phase or 'Pending'}")


def _stuck_container(st: Obj) -> Health | None:
    for cs in list(st.get("initContainerStatuses") or ()) + list(st.get("containerStatuses") or ()):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _BAD_WAITING:
            return degraded(f"container {cs.get('name')}: {waiting['reason']}")
    return None


def _errored_container(obj: Obj, st: Obj) -> Health | None:
    """With ``restartPolicy: Always`` a container that exited with an error
    will be restarted, not finished: the pod is Degraded, not still starting."""
    if spec(obj).get("restartPolicy", "Always") != "Always":
        return None
    for cs in st.get("containerStatuses") or ():
        ended = (cs.get("state") or {}).get("terminated")
        if ended and number(ended, "exitCode") != 0:
            why = ended.get("reason") or "Error"
            return degraded(
                f"container {cs.get('name')} exited with code {number(ended, 'exitCode')} ({why})"
            )
    return None
