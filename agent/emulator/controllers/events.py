"""Events for what the simulated control plane does, as its components record them.

``kubectl describe`` and the agent's resource tree show them beside the
object: the Deployment controller scaling ReplicaSets (``ScalingReplicaSet``),
the ReplicaSet, StatefulSet, DaemonSet and Job controllers creating and
deleting Pods (``SuccessfulCreate``, ``SuccessfulDelete``), the scheduler
placing a Pod (``Scheduled``), and the kubelet starting its containers
(``Started``) or failing to (``Failed`` with ``ErrImagePull``, ``BackOff``
for a crash loop), following the fault rules.  Core ``v1`` Events, named
``<object>.<hex nanoseconds>`` and written by the component's manager as
client-go's event recorder writes them (``k8s.io/client-go/tools/record``).
"""

from __future__ import annotations

import time

from agent.emulator.controllers.status import Context, stamp
from agent.emulator.objects import JSON

CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
KUBELET = "kubelet"


def record(
    ctx: Context,
    about: JSON,
    reason: str,
    message: str,
    *,
    component: str,
    manager: str = CONTROLLER_MANAGER,
    warning: bool = False,
    host: str = "",
) -> None:
    """Record one Event about ``about`` (an object as stored, with apiVersion and kind)."""
    meta = about.get("metadata") or {}
    ns = str(meta.get("namespace") or "default")
    now = time.time()
    t = stamp(now)
    source: JSON = {"component": component}
    if host:
        source["host"] = host
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name')}.{time.time_ns():x}", "namespace": ns},
        "involvedObject": {
            "apiVersion": about.get("apiVersion", ""),
            "kind": about.get("kind", ""),
            "name": meta.get("name", ""),
            "namespace": ns,
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "source": source,
        "firstTimestamp": t,
        "lastTimestamp": t,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": host,
    }
    c = ctx.cluster
    c.system_create(c.resource_type("v1", "Event"), event, ns, manager=manager)


def pod_started(ctx: Context, pod: JSON, fault: str) -> None:
    """The scheduler's ``Scheduled`` and the kubelet's word on the Pod's first container."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    node = str(spec.get("nodeName", ""))
    record(
        ctx,
        pod,
        "Scheduled",
        f"Successfully assigned {meta.get('namespace')}/{meta['name']} to {node}",
        component="default-scheduler",
        manager=SCHEDULER,
    )
    container: JSON = next(iter(spec.get("containers") or ()), {})
    name, image = container.get("name", ""), container.get("image", "")
    if fault == "ImagePullBackOff":
        reason, message = "Failed", f'Failed to pull image "{image}": the image fault rule refused it'
    elif fault == "CrashLoopBackOff":
        reason = "BackOff"
        message = f"Back-off restarting failed container {name} in pod {meta['name']}_{meta.get('namespace')}"
    else:
        reason, message = "Started", f"Started container {name}"
    record(ctx, pod, reason, message, component=KUBELET, manager=KUBELET, warning=bool(fault), host=node)
