"""The controllers' work queue: one loop runs every reconciler, and retries.

Work items are ``(due time, group, plural, namespace, name)`` in a heap.  A
write to a watched kind queues its object and runs it at once, in the
writer's thread (a Deployment's ReplicaSet and revision exist before its
create answers); a reconciler that wants to look again later (a rollout under
way) queues it for then.  Due work runs at the next request
(:meth:`Controllers.tick`) or on a background thread when one is started (the
REST server starts it, so watchers see rollouts without polling).

Work runs under the store's lock, the one lock of the cluster's writes, so a
thread that finds another running the controllers waits for it instead of
polling (a waiting thread that polled held the interpreter's lock from the
threads serving requests) and no two locks are ever taken in two orders.
Work a controller's own writes queue runs in the same pass, and the pass's
writes commit together (:meth:`Store.batch`): a Deployment's ReplicaSet, Pod
and status writes cost one commit, not six.

A reconciler that raises does not stop the loop and is not swallowed: the
exception is logged (with its traceback) and the item is queued again after
a growing delay, as controller-runtime's rate-limited work queue requeues a
failed key.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

from agent.emulator.controllers import (
    aggregation,
    children,
    crds,
    deployments,
    endpoints,
    hpa,
    jobs,
    revisions,
    services,
    volumes,
    workloads,
)
from agent.emulator.controllers.status import Context, Reconciler
from agent.emulator.objects import JSON
from agent.emulator.ports import SYSTEM_MANAGER, Cluster
from agent.emulator.rbac import escalation
from agent.kube.kinds import ResourceType

log = logging.getLogger(__name__)

RECONCILERS: dict[tuple[str, str], Reconciler] = {
    ("apps", "Deployment"): deployments.deployment,
    ("apps", "StatefulSet"): workloads.statefulset,
    ("apps", "DaemonSet"): workloads.daemonset,
    ("apps", "ReplicaSet"): workloads.replicaset,
    ("batch", "Job"): jobs.job,
    ("", "PersistentVolumeClaim"): volumes.claim,
    ("", "PersistentVolume"): volumes.volume,
    ("", "Service"): services.service,
    ("networking.k8s.io", "Ingress"): services.ingress,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa.hpa,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crds.crd,
    ("", "Namespace"): lambda _ctx, _obj, _now: (None, None),  # its defaults only (CHILDREN)
    ("rbac.authorization.k8s.io", "ClusterRole"): aggregation.nothing,  # aggregation only (CHILDREN)
}
# What a controller makes for an object before its status is worked out.
CHILDREN: dict[tuple[str, str], Callable[[Context, JSON, float], None]] = {
    ("apps", "Deployment"): lambda ctx, obj, _now: children.replica_sets(ctx, obj),
    ("apps", "ReplicaSet"): children.pods,
    ("apps", "StatefulSet"): revisions.with_history,
    ("apps", "DaemonSet"): revisions.with_history,
    ("batch", "Job"): children.pods,
    ("", "Namespace"): lambda ctx, obj, _now: children.namespace_defaults(ctx, obj),
    ("", "Service"): endpoints.endpoint_slice,
    ("rbac.authorization.k8s.io", "ClusterRole"): aggregation.aggregate,
}
RETRY_SECONDS = 0.05  # the first retry of a failed item; doubled each time
RETRY_MAX_SECONDS = 5.0
Item = tuple[str, str, str, str]  # group, plural, namespace, name


class Controllers:
    def __init__(self, cluster: Cluster) -> None:
        self.c = cluster
        self.context = Context(cluster)
        self.reconcilers = dict(RECONCILERS)
        self._heap: list[tuple[float, int, str, str, str, str]] = []
        self._seq = 0
        self._failures: dict[Item, int] = {}
        self._heap_lock = threading.Lock()
        self._writing = threading.local()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._selectors: dict[str, dict[str, dict[str, str]]] | None = None  # ns -> Service -> selector

    # -- scheduling ---------------------------------------------------------------------------
    def schedule(self, rt: ResourceType, ns: str, name: str, at: float, *, wake: bool = True) -> None:
        with self._heap_lock:
            self._seq += 1
            heapq.heappush(self._heap, (at, self._seq, rt.group, rt.plural, ns, name))
        if wake:
            self._wake.set()

    def after_write(self, rt: ResourceType, obj: JSON, removed: bool) -> None:
        if not rt.group and rt.kind in ("Pod", "Service"):
            self._endpoints_after(rt, obj, removed)
        if not rt.group and rt.kind in ("Pod", "PersistentVolume", "PersistentVolumeClaim"):
            self._volumes_after(rt, obj, removed)
        if removed or (rt.group, rt.kind) not in self.reconcilers or getattr(self._writing, "on", False):
            return
        meta = obj.get("metadata") or {}
        if getattr(self._writing, "item", None) == (
            rt.group,
            rt.plural,
            meta.get("namespace", ""),
            meta.get("name"),
        ):
            return  # the object being reconciled, written by its own controller (an annotation)
        if meta.get("deletionTimestamp"):
            return
        # run here and now (the writer waits for it): the background thread need not wake
        ns = meta.get("namespace", "") if rt.namespaced else ""
        self.schedule(rt, ns, meta["name"], time.time(), wake=False)
        self.tick()

    def _endpoints_after(self, rt: ResourceType, obj: JSON, removed: bool) -> None:
        """Keep the table of Service selectors, and queue the Services that select a Pod
        written or removed (their EndpointSlices list it)."""
        meta = obj.get("metadata") or {}
        ns, labels = str(meta.get("namespace") or ""), meta.get("labels") or {}
        table = self._services()
        if rt.kind == "Service":
            selector = (obj.get("spec") or {}).get("selector") or {}
            if removed or not selector:
                table.get(ns, {}).pop(str(meta.get("name")), None)
            else:
                table.setdefault(ns, {})[str(meta.get("name"))] = dict(selector)
            return
        service_rt = self.c.types().get(("", "services"))
        for name, selector in list(table.get(ns, {}).items()):
            if service_rt is not None and endpoints.selects(selector, labels):
                self.schedule(service_rt, ns, name, time.time(), wake=False)

    def _volumes_after(self, rt: ResourceType, obj: JSON, removed: bool) -> None:
        """Queue the claims a Pod uses (WaitForFirstConsumer), the pending claims when a volume
        is free, and the volume of a deleted claim (its reclaim policy)."""
        queued = False
        for ns, name in volumes.affected(self.c, rt, obj, removed):
            target = self.c.types().get(("", "persistentvolumeclaims" if ns else "persistentvolumes"))
            if target is not None:
                self.schedule(target, ns, name, time.time(), wake=False)
                queued = True
        if queued:
            self.tick()

    def _services(self) -> dict[str, dict[str, dict[str, str]]]:
        if self._selectors is None:
            table: dict[str, dict[str, dict[str, str]]] = {}
            for service in self.c.store.list("", "services"):
                meta, selector = service["metadata"], (service.get("spec") or {}).get("selector")
                if selector:
                    table.setdefault(meta.get("namespace", ""), {})[meta["name"]] = dict(selector)
            self._selectors = table
        return self._selectors

    def resume(self) -> None:
        """After a restart: look at every object a controller watches once."""
        for (group, plural), rt in self.c.types().items():
            if (group, rt.kind) in self.reconcilers:
                for _, _, ns, name in self.c.store.all_keys(group, plural):
                    self.schedule(rt, ns, name, time.time())

    def next_due(self) -> float | None:
        """When the next scheduled work falls due (epoch seconds), if any."""
        with self._heap_lock:
            return self._heap[0][0] if self._heap else None

    def tick(self) -> None:
        """Run the work that is due.  A thread already running it (a controller's own write
        queued more) leaves the new work to that pass; another thread's pass is waited for."""
        if not self._heap or self._heap[0][0] > time.time() or getattr(self._writing, "running", False):
            return
        guarded = escalation.GUARD.set(None)  # controllers write as themselves, not as the requester
        with self.c.store.batch():
            self._writing.running = True
            try:
                while True:
                    with self._heap_lock:
                        if not self._heap or self._heap[0][0] > time.time():
                            return
                        _, _, group, plural, ns, name = heapq.heappop(self._heap)
                    rt = self.c.types().get((group, plural))
                    if rt is not None:
                        self._run(rt, ns, name)
            finally:
                self._writing.running = False
                escalation.GUARD.reset(guarded)

    def _run(self, rt: ResourceType, ns: str, name: str) -> None:
        """Reconcile one item; on failure log it and queue it again, later each time."""
        item = (rt.group, rt.plural, ns, name)
        try:
            self._reconcile(rt, ns, name)
        except Exception:
            failures = self._failures.get(item, 0) + 1
            self._failures[item] = failures
            delay = min(RETRY_MAX_SECONDS, RETRY_SECONDS * 2 ** (failures - 1))
            log.exception(
                "the %s controller failed on %s (attempt %d); retrying in %.2fs",
                rt.kind,
                f"{ns}/{name}" if ns else name,
                failures,
                delay,
            )
            self.schedule(rt, ns, name, time.time() + delay)
        else:
            self._failures.pop(item, None)

    # -- background thread --------------------------------------------------------------------
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
            except Exception:  # the store itself failed (closed under us): say so, go on
                if self._stop.is_set():
                    return
                log.exception("the emulated cluster's controllers could not run their work")

    # -- reconcile ----------------------------------------------------------------------------
    def _reconcile(self, rt: ResourceType, ns: str, name: str) -> None:
        live = self.c.store.get(rt.group, rt.plural, ns, name)
        if live is None or (live.get("metadata") or {}).get("deletionTimestamp"):
            return
        reconciler = self.reconcilers.get((rt.group, rt.kind))
        if reconciler is None:
            return
        made = CHILDREN.get((rt.group, rt.kind))
        if made is not None:
            live["apiVersion"], live["kind"] = rt.api_version, rt.kind
            self._writing.item = (rt.group, rt.plural, ns, name)
            try:
                made(self.context, live, time.time())
            finally:
                self._writing.item = None
        status, recheck = reconciler(self.context, live, time.time())
        if recheck is not None:
            self.schedule(rt, ns, name, recheck)
        if status is None or status == live.get("status"):
            return

        def change(obj: JSON) -> JSON:
            obj["status"] = status
            return obj

        self._writing.on = True
        try:
            self.c.system_write(rt, ns, name, change, manager=SYSTEM_MANAGER, subresource="status")
        finally:
            self._writing.on = False
