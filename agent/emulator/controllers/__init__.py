"""Simulated controllers: status moves as a healthy (or faulty) cluster's would.

* Deployments, StatefulSets, DaemonSets and ReplicaSets report their rollout
  (observedGeneration, replicas, updated/ready/available, and for
  Deployments the conditions Available and Progressing) ``rollout_seconds``
  after a change of their spec.  When a pod template uses an image that
  fault injection makes unpullable or crash-looping, the new replicas never
  become ready; a Deployment keeps the availability its previous rollout had
  and, ``progressDeadlineSeconds`` (times the time factor) after the rollout
  began, reports ``Progressing=False, reason ProgressDeadlineExceeded``.
* Jobs complete (or fail with BackoffLimitExceeded when crash-looping),
  PersistentVolumeClaims bind, LoadBalancer Services get an ingress IP,
  CustomResourceDefinitions become Established.

The timing is derived from the stored status (when the current rollout
began), so a restarted emulator carries on where it stopped.  Work that is
due runs at the next request (:meth:`Controllers.tick`) or on a background
thread when one is started (the REST server starts it, so watchers see
rollouts without polling).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agent.kube.errors import ClusterError
from agent.kube.kinds import ResourceType

if TYPE_CHECKING:
    from agent.emulator.engine import EmulatedCluster

JSON = dict[str, Any]
WORKLOADS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet")}
WATCHED = WORKLOADS | {
    ("batch", "Job"),
    ("", "PersistentVolumeClaim"),
    ("", "Service"),
    ("networking.k8s.io", "Ingress"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
}
MANAGER = "kube-controller-manager"


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _hash(template: Any) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return "".join(c for c in digest if c in "bcdfghjklmnpqrstvwxz2456789")[:10]


def _condition(conditions: list[JSON], type_: str, status: str, reason: str, message: str, t: str) -> JSON:
    old = next((c for c in conditions if c.get("type") == type_), None)
    transition = old.get("lastTransitionTime", t) if old and old.get("status") == status else t
    update = (
        old.get("lastUpdateTime", t)
        if old and old.get("reason") == reason and old.get("status") == status
        else t
    )
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": update,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    }


class Controllers:
    def __init__(self, cluster: EmulatedCluster) -> None:
        self.c = cluster
        self._heap: list[tuple[float, int, str, str, str, str]] = []
        self._seq = 0
        self._heap_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._writing = threading.local()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._began: dict[tuple[str, int], float] = {}  # (uid, generation) -> first seen

    # -- scheduling ---------------------------------------------------------------------------
    def schedule(self, rt: ResourceType, ns: str, name: str, at: float) -> None:
        with self._heap_lock:
            self._seq += 1
            heapq.heappush(self._heap, (at, self._seq, rt.group, rt.plural, ns, name))
        self._wake.set()

    def after_write(self, rt: ResourceType, obj: JSON, removed: bool) -> None:
        if removed or (rt.group, rt.kind) not in WATCHED or getattr(self._writing, "on", False):
            return
        meta = obj.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return
        self.schedule(rt, meta.get("namespace", "") if rt.namespaced else "", meta["name"], time.time())
        self.tick()

    def resume(self) -> None:
        """After a restart: look at every object a controller watches once."""
        for (group, plural), rt in self.c.types().items():
            if (group, rt.kind) in WATCHED:
                for _, _, ns, name in self.c.store.all_keys(group, plural):
                    self.schedule(rt, ns, name, time.time())

    def next_due(self) -> float | None:
        """When the next scheduled work falls due (epoch seconds), if any."""
        with self._heap_lock:
            return self._heap[0][0] if self._heap else None

    def tick(self) -> None:
        """Run the work that is due (never blocks on another thread doing it)."""
        if not self._heap or self._heap[0][0] > time.time():
            return
        if not self._run_lock.acquire(blocking=False):
            return
        try:
            while True:
                with self._heap_lock:
                    if not self._heap or self._heap[0][0] > time.time():
                        return
                    _, _, group, plural, ns, name = heapq.heappop(self._heap)
                rt = self.c.types().get((group, plural))
                if rt is not None:
                    self._reconcile(rt, ns, name)
        finally:
            self._run_lock.release()

    def start(self) -> None:
        """Run due work on a background thread (for servers with watchers)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="emulator-controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._heap_lock:
                wait = max(0.0, self._heap[0][0] - time.time()) if self._heap else 1.0
            self._wake.wait(min(wait, 1.0))
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.tick()
            except Exception:
                if self._stop.is_set():
                    return

    # -- reconcile ----------------------------------------------------------------------------
    def _reconcile(self, rt: ResourceType, ns: str, name: str) -> None:
        live = self.c.store.get(rt.group, rt.plural, ns, name)
        if live is None or (live.get("metadata") or {}).get("deletionTimestamp"):
            return
        now = time.time()
        key = (rt.group, rt.kind)
        status, recheck = self._desired(key, live, now)
        if recheck is not None:
            self.schedule(rt, ns, name, recheck)
        if status is None or status == live.get("status"):
            return

        def change(obj: JSON) -> JSON:
            obj["status"] = status
            return obj

        self._writing.on = True
        try:
            self.c.system_write(rt, ns, name, change, MANAGER, subresource="status")
        finally:
            self._writing.on = False

    def _desired(self, key: tuple[str, str], obj: JSON, now: float) -> tuple[JSON | None, float | None]:
        status: JSON
        if key == ("apps", "Deployment"):
            return self._deployment(obj, now)
        if key in WORKLOADS:
            return self._workload(key[1], obj, now)
        if key == ("batch", "Job"):
            return self._job(obj, now)
        if key == ("", "PersistentVolumeClaim"):
            spec = obj.get("spec") or {}
            storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
            status = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"]}
            if storage:
                status["capacity"] = {"storage": storage}
            return status, None
        if key == ("", "Service"):
            status = dict(obj.get("status") or {"loadBalancer": {}})
            if (obj.get("spec") or {}).get("type") == "LoadBalancer":
                if not (status.get("loadBalancer") or {}).get("ingress"):
                    n = self.c.lifecycle._counter("next-lb-ip") % 250
                    status["loadBalancer"] = {"ingress": [{"ip": f"172.18.255.{n + 1}", "ipMode": "VIP"}]}
            else:
                status["loadBalancer"] = {}
            return status, None
        if key == ("networking.k8s.io", "Ingress"):  # an ingress controller publishes an address
            status = dict(obj.get("status") or {})
            if not (status.get("loadBalancer") or {}).get("ingress"):
                n = self.c.lifecycle._counter("next-lb-ip") % 250
                status["loadBalancer"] = {"ingress": [{"ip": f"172.18.255.{n + 1}"}]}
            return status, None
        if key == ("autoscaling", "HorizontalPodAutoscaler"):
            return self._hpa(obj, now), None
        if key == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            return self._crd(obj, now), None
        return None, None

    def _fault(self, template: Any) -> str:
        spec = (template or {}).get("spec") or {}
        faults = [
            self.c.faults.image_fault(str(c.get("image", "")))
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
        ]
        return (
            "ImagePullBackOff"
            if "ImagePullBackOff" in faults
            else ("CrashLoopBackOff" if "CrashLoopBackOff" in faults else "")
        )

    def _deployment(self, obj: JSON, now: float) -> tuple[JSON | None, float | None]:
        meta, spec = obj["metadata"], obj.get("spec") or {}
        old = obj.get("status") or {}
        gen = meta.get("generation", 1)
        desired = int(spec.get("replicas", 1))
        rs_name = f"{meta['name']}-{_hash(spec.get('template'))}"
        conditions = list(old.get("conditions") or ())
        t = _stamp(now)
        fault = self._fault(spec.get("template"))
        new_rollout = old.get("observedGeneration") != gen or _rs_of(old) != rs_name
        began = now if new_rollout else self._progress_began(old, now)
        elapsed = now - began
        status: JSON = {"observedGeneration": gen}
        recheck: float | None = None
        if spec.get("paused"):
            avail = int(old.get("availableReplicas", 0))
            status.update(_counts(desired, desired, avail, avail))
            conds = [
                _condition(
                    conditions,
                    "Available",
                    "True" if avail >= desired else "False",
                    "MinimumReplicasAvailable" if avail >= desired else "MinimumReplicasUnavailable",
                    "Deployment has minimum availability."
                    if avail >= desired
                    else "Deployment does not have minimum availability.",
                    t,
                ),
                _condition(
                    conditions, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", t
                ),
            ]
        elif not fault and elapsed >= self.c.options.rollout_seconds:
            status.update(_counts(desired, desired, desired, desired))
            conds = [
                _condition(
                    conditions,
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    t,
                ),
                _condition(
                    conditions,
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{rs_name}" has successfully progressed.',
                    t,
                ),
            ]
        else:
            carried = (
                0
                if new_rollout and old.get("observedGeneration") is None
                else int(old.get("availableReplicas", 0))
            )
            avail = min(carried, desired)
            max_unavailable = _resolve(
                ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
                desired,
                up=False,
            )
            ok = avail >= desired - max_unavailable and (desired == 0 or avail > 0)
            # A rolling update surges new pods next to the old ones; until they are
            # ready (never, with a faulty image) the old pods carry the availability.
            surge = _resolve(
                ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxSurge", "25%"),
                desired,
                up=True,
            )
            updated = desired if avail == 0 else min(desired, max(surge, 1))
            status.update(_counts(avail + updated if avail else desired, updated, avail, avail))
            deadline = float(spec.get("progressDeadlineSeconds", 600)) * self.c.options.time_factor
            available = _condition(
                conditions,
                "Available",
                "True" if ok else "False",
                "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if ok
                else "Deployment does not have minimum availability.",
                t,
            )
            if fault and elapsed >= deadline:
                progressing = _condition(
                    conditions,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{rs_name}" has timed out progressing.',
                    t,
                )
            else:
                reason = "NewReplicaSetCreated" if new_rollout else "ReplicaSetUpdated"
                message = (
                    f'Created new replica set "{rs_name}"'
                    if new_rollout
                    else f'ReplicaSet "{rs_name}" is progressing.'
                )
                progressing = _condition(conditions, "Progressing", "True", reason, message, _stamp(began))
                recheck = began + (deadline if fault else self.c.options.rollout_seconds)
            conds = [available, progressing]
        status["conditions"] = conds
        return status, recheck

    def _hpa(self, obj: JSON, now: float) -> JSON:
        """An autoscaler whose metrics are within range: it keeps the target's
        replicas (clamped to min/max) and says it is able to scale."""
        spec = obj.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        ns = (obj.get("metadata") or {}).get("namespace", "")
        replicas = int(spec.get("minReplicas", 1))
        try:
            target_rt = self.c.resource_type(str(ref.get("apiVersion", "apps/v1")), str(ref.get("kind", "")))
            target = self.c.store.get(target_rt.group, target_rt.plural, ns, str(ref.get("name", "")))
        except ClusterError:
            target = None
        if target is not None:
            replicas = int((target.get("spec") or {}).get("replicas", replicas))
        replicas = max(int(spec.get("minReplicas", 1)), min(int(spec.get("maxReplicas", replicas)), replicas))
        old = list((obj.get("status") or {}).get("conditions") or ())
        t = _stamp(now)

        def condition(type_: str, status: str, reason: str, message: str) -> JSON:
            out = _condition(old, type_, status, reason, message, t)
            out.pop("lastUpdateTime", None)  # autoscaler conditions carry only the transition time
            return out

        return {
            "currentReplicas": replicas,
            "desiredReplicas": replicas,
            "conditions": [
                condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
                condition(
                    "ScalingActive",
                    "True",
                    "ValidMetricFound",
                    "the HPA was able to successfully calculate a replica count",
                ),
                condition(
                    "ScalingLimited",
                    "False",
                    "DesiredWithinRange",
                    "the desired count is within the acceptable range",
                ),
            ],
        }

    @staticmethod
    def _progress_began(old: JSON, now: float) -> float:
        for c in old.get("conditions") or ():
            if c.get("type") == "Progressing":
                if c.get("reason") in ("NewReplicaSetCreated", "ReplicaSetUpdated"):
                    return _parse(c.get("lastUpdateTime")) or now
                return _parse(c.get("lastTransitionTime")) or now
        return now

    def _workload(self, kind: str, obj: JSON, now: float) -> tuple[JSON | None, float | None]:
        meta, spec = obj["metadata"], obj.get("spec") or {}
        old = obj.get("status") or {}
        gen = meta.get("generation", 1)
        fault = self._fault(spec.get("template"))
        key = (str(meta.get("uid", "")), int(gen))
        began = self._began.setdefault(key, now) if old.get("observedGeneration") != gen else now
        if not fault and now - began < self.c.options.rollout_seconds:
            return None, began + self.c.options.rollout_seconds
        self._began.pop(key, None)
        revision = f"{meta['name']}-{_hash(spec.get('template'))}"
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

    def _job(self, obj: JSON, now: float) -> tuple[JSON | None, float | None]:
        spec = obj.get("spec") or {}
        old = obj.get("status") or {}
        if any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in old.get("conditions") or ()
        ):
            return None, None
        t = _stamp(now)
        started = old.get("startTime") or t
        if spec.get("suspend"):
            return {
                **old,
                "conditions": [
                    _condition(
                        old.get("conditions") or [], "Suspended", "True", "JobSuspended", "Job suspended", t
                    )
                ],
            }, None
        fault = self._fault(spec.get("template"))
        parallelism = int(spec.get("parallelism", 1))
        began = _parse(started) or now
        if fault == "ImagePullBackOff" or now - began < self.c.options.rollout_seconds:
            status: JSON = {
                "startTime": started,
                "active": parallelism,
                "ready": 0,
                "terminating": 0,
                "uncountedTerminatedPods": {},
            }
            return status, (None if fault else began + self.c.options.rollout_seconds)
        if fault == "CrashLoopBackOff":
            return {
                "startTime": started,
                "failed": int(spec.get("backoffLimit", 6)) + 1,
                "ready": 0,
                "terminating": 0,
                "uncountedTerminatedPods": {},
                "conditions": [
                    _condition(
                        [],
                        "FailureTarget",
                        "True",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                        t,
                    ),
                    _condition(
                        [],
                        "Failed",
                        "True",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                        t,
                    ),
                ],
            }, None
        return {
            "startTime": started,
            "completionTime": t,
            "succeeded": int(spec.get("completions") or parallelism),
            "ready": 0,
            "terminating": 0,
            "uncountedTerminatedPods": {},
            "conditions": [
                _condition(
                    [],
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    t,
                ),
                _condition(
                    [],
                    "Complete",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    t,
                ),
            ],
        }, None

    @staticmethod
    def _crd(obj: JSON, now: float) -> JSON:
        spec = obj.get("spec") or {}
        old = obj.get("status") or {}
        t = _stamp(now)
        conditions = list(old.get("conditions") or ())
        stored = list(old.get("storedVersions") or ()) or [
            v.get("name") for v in spec.get("versions") or () if v.get("storage")
        ]
        for v in spec.get("versions") or ():
            if v.get("storage") and v.get("name") not in stored:
                stored.append(v.get("name"))
        for c in (
            _condition(conditions, "NamesAccepted", "True", "NoConflicts", "no conflicts found", t),
            _condition(
                conditions,
                "Established",
                "True",
                "InitialNamesAccepted",
                "the initial names have been accepted",
                t,
            ),
        ):
            c.pop("lastUpdateTime", None)
            conditions = [x for x in conditions if x.get("type") != c["type"]] + [c]
        return {
            "acceptedNames": dict(spec.get("names") or {}),
            "conditions": conditions,
            "storedVersions": stored,
        }


def _rs_of(status: JSON) -> str:
    for c in status.get("conditions") or ():
        message = str(c.get("message", ""))
        if c.get("type") == "Progressing" and '"' in message:
            return message.split('"')[1]
    return ""


def _counts(replicas: int, updated: int, ready: int, available: int) -> JSON:
    out: JSON = {}
    if replicas:
        out["replicas"] = replicas
    if updated:
        out["updatedReplicas"] = updated
    if ready:
        out["readyReplicas"] = ready
    if available:
        out["availableReplicas"] = available
    if replicas - available > 0:
        out["unavailableReplicas"] = replicas - available
    return out


def _resolve(value: Any, total: int, *, up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        fraction = total * int(value[:-1]) / 100
        return math.ceil(fraction) if up else math.floor(fraction)
    return int(value or 0)
