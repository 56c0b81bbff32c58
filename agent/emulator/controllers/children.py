"""The objects controllers make for others: ReplicaSets, Pods, a namespace's defaults.

* A Deployment owns one ReplicaSet per pod template, named by the template's
  hash (label ``pod-template-hash``); the newest has the Deployment's
  replicas, the older ones none.  Each carries ``deployment.kubernetes.io/
  revision`` (one more than the highest so far; a template seen before gets
  its ReplicaSet back with a new revision, as ``kubectl rollout undo`` expects)
  and the Deployment's ``kubernetes.io/change-cause``; the Deployment carries
  the revision of its newest one.  ``kubectl rollout history|undo`` read these.
* ReplicaSets, StatefulSets, DaemonSets and Jobs own Pods (``name-xxxxx``,
  ``name-0`` ... for a StatefulSet, one per node for a DaemonSet) placed on the
  emulated nodes by a simulated scheduler; their status follows the fault
  rules (an unpullable image waits in ``ImagePullBackOff``, a crash-looping one
  in ``CrashLoopBackOff``; a Job's pods succeed).  No container runs.
* A StatefulSet's ``volumeClaimTemplates`` give each of its Pods its own
  claims, ``<template>-<pod>`` (the template's labels and the set's
  ``selector.matchLabels``), made before the Pod and mounted by it, as the
  StatefulSet controller makes them (``pkg/controller/statefulset/
  stateful_set_utils.go``, ``stateful_pod_control.go``); the claims stay when
  the Pod or the set goes (the default ``Retain`` retention policy; ``Delete``
  is not simulated), so a Pod made again mounts the same claim.
* Each of these steps is recorded as an Event (:mod:`.events`).
* Every namespace gets the ``default`` ServiceAccount and the
  ``kube-root-ca.crt`` ConfigMap (the emulated cluster's CA when it serves TLS).
"""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

from agent.emulator.bootstrap import NODES
from agent.emulator.controllers import events
from agent.emulator.controllers.status import Context, stamp, template_hash
from agent.emulator.objects import JSON
from agent.kube.kinds import ResourceType

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


def owner_ref(obj: JSON, controller: bool = True) -> JSON:
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def _owned_by(obj: JSON, owner: JSON) -> bool:
    uid = owner["metadata"].get("uid")
    return any(r.get("uid") == uid for r in (obj.get("metadata") or {}).get("ownerReferences") or ())


def owned(ctx: Context, rt: ResourceType, owner: JSON) -> list[JSON]:
    """What ``owner`` owns of a type: looked up by its selector's labels (the storage's label
    index), then by owner reference, so a namespace of many workloads is not read whole."""
    ns = owner["metadata"].get("namespace", "")
    spec = owner.get("spec") or {}
    labels = (spec.get("selector") or {}).get("matchLabels") or (
        (spec.get("template") or {}).get("metadata") or {}
    ).get("labels")
    return [
        o
        for o in ctx.cluster.list_page(rt, ns, dict(labels) if labels else None).items
        if _owned_by(o, owner)
    ]


# -- Deployments ----------------------------------------------------------------------------------
def replica_sets(ctx: Context, deployment: JSON) -> None:
    """The Deployment's ReplicaSets as its controller keeps them."""
    c = ctx.cluster
    rs_rt = c.resource_type("apps/v1", "ReplicaSet")
    meta, spec = deployment["metadata"], deployment.get("spec") or {}
    ns, template = meta.get("namespace", ""), copy.deepcopy(spec.get("template") or {})
    digest = template_hash(template)
    name = f"{meta['name']}-{digest}"
    theirs = owned(ctx, rs_rt, deployment)
    top = max((int((o["metadata"].get("annotations") or {}).get(REVISION, "0")) for o in theirs), default=0)
    current = next((o for o in theirs if o["metadata"]["name"] == name), None)
    current_rev = int(((current or {}).get("metadata", {}).get("annotations") or {}).get(REVISION, "0"))
    revision = str(current_rev if current is not None and current_rev == top else top + 1)
    replicas = int(spec.get("replicas", 1))
    notes = {REVISION: revision}
    cause = (meta.get("annotations") or {}).get(CHANGE_CAUSE)
    if cause:
        notes[CHANGE_CAUSE] = cause
    for old in theirs:
        was = int((old.get("spec") or {}).get("replicas", 1))
        if old["metadata"]["name"] != name and was != 0:
            c.system_write(rs_rt, ns, old["metadata"]["name"], lambda o: _scaled(o, 0))
            _scaling(ctx, deployment, old["metadata"]["name"], was, 0)
    _scaling(
        ctx, deployment, name, 0 if current is None else int(current["spec"].get("replicas", 1)), replicas
    )
    if current is None:
        labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": digest}
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
        body = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels,
                "annotations": notes,
                "ownerReferences": [owner_ref(deployment)],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        }
        c.system_create(rs_rt, body, ns)
    else:
        c.system_write(rs_rt, ns, name, lambda o: _scaled(_annotated(o, notes), replicas))
    dep_rt = c.resource_type("apps/v1", "Deployment")
    c.system_write(dep_rt, ns, meta["name"], lambda o: _annotated(o, {REVISION: revision}))


def _scaling(ctx: Context, deployment: JSON, rs: str, was: int, now: int) -> None:
    if was != now:
        direction = "up" if now > was else "down"
        message = f"Scaled {direction} replica set {rs} from {was} to {now}"
        events.record(ctx, deployment, "ScalingReplicaSet", message, component="deployment-controller")


def _scaled(obj: JSON, replicas: int) -> JSON:
    obj.setdefault("spec", {})["replicas"] = replicas
    return obj


def _annotated(obj: JSON, notes: dict[str, str]) -> JSON:
    obj["metadata"]["annotations"] = {**(obj["metadata"].get("annotations") or {}), **notes}
    return obj


# -- Pods -----------------------------------------------------------------------------------------
def pods(ctx: Context, owner: JSON, now: float) -> None:
    """The owner's Pods: as many as it wants, each placed on a node, with a simulated status."""
    c = ctx.cluster
    pod_rt = c.resource_type("v1", "Pod")
    kind, meta, spec = owner["kind"], owner["metadata"], owner.get("spec") or {}
    ns = meta.get("namespace", "")
    template = spec.get("template") or {}
    digest = template_hash(template)
    want = len(NODES) if kind == "DaemonSet" else int(spec.get("replicas", spec.get("parallelism", 1)) or 0)
    if kind == "Job":
        want = 1 if spec.get("parallelism", 1) else 0
    have = owned(ctx, pod_rt, owner)
    stale = [p for p in have if (p["metadata"].get("annotations") or {}).get("emulator/template") != digest]
    for p in stale + sorted((p for p in have if p not in stale), key=lambda p: p["metadata"]["name"])[want:]:
        if kind != "Job":
            c.system_delete(pod_rt, ns, p["metadata"]["name"])
            _pod_event(ctx, owner, "SuccessfulDelete", p["metadata"]["name"])
    kept = [p for p in have if p not in stale][:want] if kind != "Job" else have
    names = {p["metadata"]["name"] for p in kept}
    for i in range(want - len(kept)):
        name = _pod_name(owner, i, names)
        names.add(name)
        node = NODES[(i + len(kept)) % len(NODES)] if kind != "DaemonSet" else NODES[i]
        body = _pod(owner, template, name, node, digest)
        if kind == "StatefulSet":
            _claims(ctx, owner, body)
        made = c.system_create(pod_rt, body, ns)
        if made is not None:
            _pod_event(ctx, owner, "SuccessfulCreate", name)
            events.pod_started(ctx, made, ctx.fault({"spec": body["spec"]}))
            status = _pod_status(ctx, body, kind, now)

            def reported(o: JSON, status: JSON = status) -> JSON:
                return {**o, "status": status}

            c.system_write(pod_rt, ns, name, reported, manager="kubelet", subresource="status")


def _claims(ctx: Context, owner: JSON, pod: JSON) -> None:
    """The Pod's claims from the set's ``volumeClaimTemplates``: made when missing, and
    mounted in place of any volume of the same name in the Pod's spec."""
    c = ctx.cluster
    pvc_rt = c.resource_type("v1", "PersistentVolumeClaim")
    meta, spec = owner["metadata"], owner.get("spec") or {}
    ns, pod_name = meta.get("namespace", ""), pod["metadata"]["name"]
    selected = (spec.get("selector") or {}).get("matchLabels") or {}
    mounted = []
    for template in spec.get("volumeClaimTemplates") or ():
        tmeta = template.get("metadata") or {}
        name = f"{tmeta.get('name', '')}-{pod_name}"
        mounted.append({"name": tmeta.get("name", ""), "persistentVolumeClaim": {"claimName": name}})
        if c.store.get(pvc_rt.group, pvc_rt.plural, ns, name) is not None:
            continue
        claim = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": {**(tmeta.get("labels") or {}), **selected},
                **({"annotations": tmeta["annotations"]} if tmeta.get("annotations") else {}),
            },
            "spec": copy.deepcopy(template.get("spec") or {}),
        }
        if c.system_create(pvc_rt, claim, ns) is not None:
            message = f"create Claim {name} Pod {pod_name} in StatefulSet {meta['name']} success"
            events.record(ctx, owner, "SuccessfulCreate", message, component="statefulset-controller")
    if mounted:
        names = {v["name"] for v in mounted}
        volumes = [v for v in pod["spec"].get("volumes") or () if v.get("name") not in names]
        pod["spec"]["volumes"] = mounted + volumes


def _pod_event(ctx: Context, owner: JSON, reason: str, pod: str) -> None:
    """What a workload's controller says when it creates or deletes one of its Pods."""
    kind, name = owner["kind"], owner["metadata"]["name"]
    if kind == "StatefulSet":
        verb = "create" if reason == "SuccessfulCreate" else "delete"
        message = f"{verb} Pod {pod} in StatefulSet {name} successful"
    else:
        message = f"{'Created' if reason == 'SuccessfulCreate' else 'Deleted'} pod: {pod}"
    events.record(ctx, owner, reason, message, component=f"{kind.lower()}-controller")


def _pod_name(owner: JSON, i: int, taken: set[str]) -> str:
    base = owner["metadata"]["name"]
    if owner["kind"] == "StatefulSet":
        n = 0
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"
    return f"{base}-" + "".join(secrets.choice(_SUFFIX) for _ in range(5))


def _pod(owner: JSON, template: JSON, name: str, node: str, digest: str) -> JSON:
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    if owner["kind"] == "StatefulSet":
        labels["statefulset.kubernetes.io/pod-name"] = name
        labels["controller-revision-hash"] = f"{owner['metadata']['name'][:223]}-{digest}"  # its revision
    if owner["kind"] == "DaemonSet":
        labels["controller-revision-hash"] = digest
        labels["pod-template-generation"] = str(owner["metadata"].get("generation", 1))
    if owner["kind"] == "Job":
        labels.setdefault("batch.kubernetes.io/job-name", owner["metadata"]["name"])
    spec = copy.deepcopy(template.get("spec") or {})
    spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": owner["metadata"].get("namespace", ""),
            "labels": labels,
            "annotations": {**(tmeta.get("annotations") or {}), "emulator/template": digest},
            "ownerReferences": [owner_ref(owner)],
        },
        "spec": spec,
    }


def _pod_status(ctx: Context, pod: JSON, owner_kind: str, now: float) -> JSON:
    t = stamp(now)
    spec = pod["spec"]
    fault = ctx.fault({"spec": spec})
    done = owner_kind == "Job" and not fault
    ready = not fault and not done
    statuses = [_container_status(c, fault, done, t) for c in spec.get("containers") or ()]
    phase = "Pending" if fault == "ImagePullBackOff" else ("Succeeded" if done else "Running")

    def cond(kind: str, ok: bool) -> JSON:
        return {
            "type": kind,
            "status": "True" if ok else "False",
            "lastProbeTime": None,
            "lastTransitionTime": t,
        }

    index = NODES.index(spec["nodeName"]) if spec.get("nodeName") in NODES else 0
    return {
        "phase": phase,
        "hostIP": f"10.0.0.{index + 10}",
        "podIP": _pod_ip(index),
        "startTime": t,
        "qosClass": "BestEffort",
        "containerStatuses": statuses,
        "conditions": [
            cond("PodReadyToStartContainers", True),
            cond("Initialized", True),
            cond("Ready", ready),
            cond("ContainersReady", ready),
            cond("PodScheduled", True),
        ],
    }


def _pod_ip(node: int) -> str:
    return f"10.244.{node}.{secrets.randbelow(250) + 2}"


def _container_status(container: JSON, fault: str, done: bool, t: str) -> JSON:
    image = str(container.get("image", ""))
    out: JSON = {
        "name": container.get("name", ""),
        "image": image,
        "imageID": "",
        "restartCount": 0,
        "ready": not fault and not done,
        "started": not fault and not done,
    }
    if fault == "ImagePullBackOff":
        out["state"] = {
            "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
        }
    elif fault == "CrashLoopBackOff":
        out["restartCount"] = 3
        out["state"] = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 40s restarting failed container={out['name']}",
            }
        }
        out["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": t, "finishedAt": t}}
    elif done:
        out["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": t, "finishedAt": t}}
    else:
        out["containerID"] = "emulated://" + secrets.token_hex(16)
        out["state"] = {"running": {"startedAt": t}}
    return out


# -- namespaces -----------------------------------------------------------------------------------
def namespace_defaults(ctx: Context, namespace: JSON) -> None:
    c = ctx.cluster
    name = namespace["metadata"]["name"]
    c.system_create(
        c.resource_type("v1", "ServiceAccount"),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}},
        name,
    )
    saved = c.store.get_meta("ca")
    ca: Any = json.loads(saved).get("cert", "") if saved else ""
    c.system_create(
        c.resource_type("v1", "ConfigMap"),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "kube-root-ca.crt",
                "namespace": name,
                "annotations": {"kubernetes.io/description": _CA_NOTE},
            },
            "data": {"ca.crt": ca},
        },
        name,
        manager="kube-root-ca-cert-publisher",
    )


_CA_NOTE = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters."
)
