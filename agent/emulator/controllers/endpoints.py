"""The EndpointSlice controller: a Service's Pods as its endpoints.

Each Service with a selector owns one EndpointSlice (``<service>-<5
letters>``, labelled ``kubernetes.io/service-name``) listing the Pods it
selects: their IP, node, readiness and a reference to each, and the
Service's ports resolved against the Pods' container ports (a named
``targetPort``), as the controller-manager's endpointslice controller keeps
them (``pkg/controller/endpointslice``).  A write to a Pod queues the Services
of its namespace whose selectors match it, read from a small in-memory table
of selectors, so a Pod's change does not read every Service.
"""

from __future__ import annotations

import secrets
from typing import Any

from agent.emulator.controllers.status import Context, stamp
from agent.emulator.objects import JSON

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def endpoint_slice(ctx: Context, service: JSON, now: float) -> None:
    """Create or update the Service's EndpointSlice (none for a Service without a selector)."""
    c = ctx.cluster
    meta, spec = service["metadata"], service.get("spec") or {}
    selector = spec.get("selector") or {}
    if not selector:
        return
    ns, name = meta.get("namespace", ""), meta["name"]
    slice_rt, pod_rt = c.resource_type("discovery.k8s.io/v1", "EndpointSlice"), c.resource_type("v1", "Pod")
    pods = [
        p for p in c.list_page(pod_rt, ns, dict(selector)).items if not p["metadata"].get("deletionTimestamp")
    ]
    pods.sort(key=lambda p: p["metadata"]["name"])
    endpoints = [_endpoint(p) for p in pods if (p.get("status") or {}).get("podIP")]
    ports = [_port(port, pods) for port in spec.get("ports") or ()]
    existing = c.list_page(slice_rt, ns, {SERVICE_NAME: name}).items
    if existing:
        current = existing[0]

        def changed(o: JSON) -> JSON:
            o["endpoints"], o["ports"] = endpoints, ports
            return o

        if current.get("endpoints") != endpoints or current.get("ports") != ports:
            c.system_write(slice_rt, ns, current["metadata"]["name"], changed)
        return
    body = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-" + "".join(secrets.choice(_SUFFIX) for _ in range(5)),
            "generateName": f"{name}-",
            "namespace": ns,
            "labels": {**(meta.get("labels") or {}), SERVICE_NAME: name, MANAGED_BY: CONTROLLER},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": stamp(now)},
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": name,
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }
    c.system_create(slice_rt, body, ns)


def _endpoint(pod: JSON) -> JSON:
    meta, status = pod["metadata"], pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
    )
    out: JSON = {
        "addresses": [status["podIP"]],
        "conditions": {"ready": ready, "serving": ready, "terminating": False},
        "targetRef": {
            "kind": "Pod",
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta["uid"],
        },
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        out["nodeName"] = node
    return out


def _port(port: JSON, pods: list[JSON]) -> JSON:
    target: Any = port.get("targetPort", port.get("port"))
    if isinstance(target, str) and not target.isdigit():  # a named port: the first Pod's number
        named = [
            p.get("containerPort")
            for pod in pods
            for container in (pod.get("spec") or {}).get("containers") or ()
            for p in container.get("ports") or ()
            if p.get("name") == target
        ]
        target = named[0] if named else None
    out: JSON = {"name": port.get("name", ""), "protocol": port.get("protocol", "TCP")}
    if target is not None:
        out["port"] = int(target)
    return out
