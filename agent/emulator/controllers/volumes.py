"""The persistent volume controller and a provisioner: claims bind to volumes.

As the controller-manager's PV controller keeps them
(``pkg/controller/volume/persistentvolume/pv_controller.go``, the matching in
``index.go`` and ``pkg/volume/util/persistentvolume``):

- A pending claim binds to the smallest Available volume that satisfies it:
  the same ``storageClassName`` (``""`` only to volumes without a class), every
  requested access mode, the same ``volumeMode``, enough capacity, and its
  ``selector``; a claim naming ``volumeName`` binds to that volume only, and a
  volume whose ``claimRef`` names the claim (pre-bound) is taken first.
- Binding writes both sides: the volume's ``claimRef`` (annotated
  ``pv.kubernetes.io/bound-by-controller`` when the controller chose it) and
  phase ``Bound``; the claim's ``volumeName``, the annotations
  ``pv.kubernetes.io/bind-completed`` (and ``bound-by-controller``), and its
  status (phase ``Bound``, the volume's access modes and capacity).
- A claim without a class gets the default StorageClass (retroactively, as the
  controller does since 1.28).  With no volume to bind and a class whose
  provisioner is not ``kubernetes.io/no-provisioner``, the claim is annotated
  ``volume.kubernetes.io/storage-provisioner`` and a volume ``pvc-<claim uid>``
  is provisioned for it (``pv.kubernetes.io/provisioned-by``, the class's
  reclaim policy, a hostPath as kind's local-path provisioner makes).
- ``volumeBindingMode: WaitForFirstConsumer``: the claim stays Pending until a
  Pod uses it; then it is annotated ``volume.kubernetes.io/selected-node`` with
  that Pod's node, and binds or is provisioned there.
- A volume whose bound claim is deleted is Released; with reclaim policy
  ``Delete`` it is deleted, with ``Retain`` it stays Released.

Not simulated: the ``kubernetes.io/pvc-protection``/``pv-protection``
finalizers, volume expansion, and the Events the controller records.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from agent.emulator.controllers.status import Context, Desired
from agent.emulator.objects import JSON
from agent.emulator.ports import Cluster
from agent.emulator.storage.store import Store
from agent.kube import quantity
from agent.kube.kinds import ResourceType

BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
PROVISIONER_MANAGER = "local-path-provisioner"
_PV = ("", "persistentvolumes")
_PVC = ("", "persistentvolumeclaims")


def claim(ctx: Context, pvc: JSON, _now: float) -> Desired:
    """Bind a pending claim (or provision for it); the status it then reports."""
    c = ctx.cluster
    meta, spec = pvc["metadata"], pvc.get("spec") or {}
    bound = c.store.get(*_PV, "", str(spec.get("volumeName") or ""))
    if bound is not None and _claimed_by(bound, pvc):
        return _bound_status(bound), None
    if spec.get("storageClassName") is None:
        default = default_class(c.store)
        if default is not None:
            pvc = _write(c, pvc, lambda o: _set(o, "spec", "storageClassName", default)) or pvc
            spec = pvc.get("spec") or {}
    name = spec.get("storageClassName") or ""
    sc = c.store.get("storage.k8s.io", "storageclasses", "", name) if name else None
    annotations = meta.get("annotations") or {}
    if (
        sc is not None
        and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        and SELECTED_NODE not in annotations
    ):
        node = _consumer_node(c, pvc)
        if node is None:
            return {"phase": "Pending"}, None
        pvc = _write(c, pvc, lambda o: _annotate(o, {SELECTED_NODE: node})) or pvc
    volume = _find(c, pvc)
    if volume is None and sc is not None and sc.get("provisioner") not in (None, "", NO_PROVISIONER):
        volume = _provision(c, pvc, sc)
    if volume is None:
        return {"phase": "Pending"}, None
    _bind(c, volume, pvc)
    return _bound_status(volume), None


def volume(ctx: Context, pv: JSON, _now: float) -> Desired:
    """A volume's phase from its claimRef; a Released volume reclaimed by its policy."""
    c = ctx.cluster
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        return {"phase": "Available"}, None
    pvc = c.store.get(*_PVC, str(ref.get("namespace") or ""), str(ref.get("name") or ""))
    if pvc is not None and ref.get("uid") in (None, "", pvc["metadata"].get("uid")):
        if (pvc.get("spec") or {}).get("volumeName") == pv["metadata"]["name"]:
            return {"phase": "Bound"}, None
        return {"phase": "Available"} if not ref.get("uid") else (pv.get("status") or None), None
    if not ref.get("uid"):
        return {"phase": "Available"}, None  # pre-bound to a claim not made yet
    if (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy", "Retain") == "Delete":
        c.system_delete(_type(c, "PersistentVolume"), "", pv["metadata"]["name"])
        return None, None
    return {"phase": "Released"}, None


def affected(cluster: Cluster, rt: ResourceType, obj: JSON, removed: bool) -> Iterator[tuple[str, str]]:
    """The claims (namespace, name) and volumes ("", name) to look at again after a write:
    a Pod's claims (their first consumer), the pending claims when a volume is free, the
    volume of a deleted claim."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    if rt.kind == "Pod" and not removed:
        for v in spec.get("volumes") or ():
            name = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if name:
                yield str(meta.get("namespace") or ""), str(name)
    elif rt.kind == "PersistentVolume" and not removed and not spec.get("claimRef"):
        for pvc in cluster.store.list(*_PVC):
            if (pvc.get("status") or {}).get("phase") != "Bound":
                yield pvc["metadata"]["namespace"], pvc["metadata"]["name"]
    elif rt.kind == "PersistentVolumeClaim" and removed and spec.get("volumeName"):
        yield "", str(spec["volumeName"])


# -- matching --------------------------------------------------------------------------------
def _find(c: Cluster, pvc: JSON) -> JSON | None:
    spec = pvc.get("spec") or {}
    wanted = str(spec.get("volumeName") or "")
    if wanted:
        pv = c.store.get(*_PV, "", wanted)
        if pv is None:
            return None
        ref = (pv.get("spec") or {}).get("claimRef")
        free = not ref or _refers_to(ref, pvc)
        return pv if free and _satisfies(pv, pvc, selector=False) else None
    best: tuple[Fraction, str] | None = None
    found: JSON | None = None
    for pv in c.store.list(*_PV):
        ref = (pv.get("spec") or {}).get("claimRef")
        if ref and _refers_to(ref, pvc) and _satisfies(pv, pvc, selector=False):
            return pv  # pre-bound to this claim
        if ref or (pv.get("status") or {}).get("phase") not in (None, "Available", "Pending"):
            continue
        if pv["metadata"].get("deletionTimestamp") or not _satisfies(pv, pvc, selector=True):
            continue
        key = (_storage(pv["spec"].get("capacity")), pv["metadata"]["name"])
        if best is None or key < best:
            best, found = key, pv
    return found


def _satisfies(pv: JSON, pvc: JSON, *, selector: bool) -> bool:
    vs, cs = pv.get("spec") or {}, pvc.get("spec") or {}
    if (vs.get("storageClassName") or "") != (cs.get("storageClassName") or ""):
        return False
    if (vs.get("volumeMode") or "Filesystem") != (cs.get("volumeMode") or "Filesystem"):
        return False
    if not set(cs.get("accessModes") or ()) <= set(vs.get("accessModes") or ()):
        return False
    request = ((cs.get("resources") or {}).get("requests") or {}).get("storage")
    if _storage(vs.get("capacity")) < _storage({"storage": request}):
        return False
    labels = (pv.get("metadata") or {}).get("labels") or {}
    return not selector or _selects(cs.get("selector"), labels)


def _selects(selector: Any, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against labels; none selects all."""
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or ():
        key, op, values = e.get("key"), e.get("operator"), set(e.get("values") or ())
        has = key in labels
        if (
            (op == "In" and (not has or labels[key] not in values))
            or (op == "NotIn" and has and labels[key] in values)
            or (op == "Exists" and not has)
            or (op == "DoesNotExist" and has)
        ):
            return False
    return True


def _storage(capacity: Any) -> Fraction:
    value = (capacity or {}).get("storage")
    if value is None:
        return Fraction(0)
    try:
        return quantity.parse(value)[0]
    except quantity.QuantityError:
        return Fraction(0)


def _refers_to(ref: JSON, pvc: JSON) -> bool:
    meta = pvc["metadata"]
    return (
        ref.get("name") == meta["name"]
        and ref.get("namespace") == meta.get("namespace")
        and ref.get("uid") in (None, "", meta.get("uid"))
    )


def _claimed_by(pv: JSON, pvc: JSON) -> bool:
    ref = (pv.get("spec") or {}).get("claimRef") or {}
    return bool(ref) and ref.get("uid") == pvc["metadata"].get("uid") and _refers_to(ref, pvc)


# -- writes ----------------------------------------------------------------------------------
def _bind(c: Cluster, pv: JSON, pvc: JSON) -> None:
    meta = pvc["metadata"]
    ref = {
        "kind": "PersistentVolumeClaim",
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": "v1",
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    chosen = not (pv.get("spec") or {}).get("claimRef")

    def claim_ref(o: JSON) -> JSON:
        o.setdefault("spec", {})["claimRef"] = ref
        return _annotate(o, {BOUND_BY_CONTROLLER: "yes"}) if chosen else o

    pv_rt = _type(c, "PersistentVolume")
    c.system_write(pv_rt, "", pv["metadata"]["name"], claim_ref)
    c.system_write(
        pv_rt, "", pv["metadata"]["name"], lambda o: _set(o, "status", "phase", "Bound"), subresource="status"
    )
    by_controller = not (pvc.get("spec") or {}).get("volumeName")

    def volume_name(o: JSON) -> JSON:
        _set(o, "spec", "volumeName", pv["metadata"]["name"])
        marks = {BIND_COMPLETED: "yes", **({BOUND_BY_CONTROLLER: "yes"} if by_controller else {})}
        return _annotate(o, marks)

    _write(c, pvc, volume_name)


def _provision(c: Cluster, pvc: JSON, sc: JSON) -> JSON | None:
    """The volume a provisioner makes for the claim, pre-bound to it."""
    meta, spec = pvc["metadata"], pvc.get("spec") or {}
    provisioner = str(sc["provisioner"])
    pvc = (
        _write(
            c,
            pvc,
            lambda o: _annotate(o, {STORAGE_PROVISIONER: provisioner, BETA_STORAGE_PROVISIONER: provisioner}),
        )
        or pvc
    )
    name = f"pvc-{meta['uid']}"
    node = ((pvc["metadata"].get("annotations") or {}).get(SELECTED_NODE)) or ""
    body: JSON = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {PROVISIONED_BY: provisioner}},
        "spec": {
            "capacity": {
                "storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
            },
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
            "storageClassName": sc["metadata"]["name"],
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "claimRef": {
                "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
                "apiVersion": "v1",
                "resourceVersion": pvc["metadata"].get("resourceVersion", ""),
            },
            "hostPath": {
                "path": f"/var/local-path-provisioner/{name}_{meta['namespace']}_{meta['name']}",
                "type": "DirectoryOrCreate",
            },
        },
    }
    if node:
        term = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}
        body["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [term]}}
    made = c.system_create(_type(c, "PersistentVolume"), body, "", manager=PROVISIONER_MANAGER)
    return made if made is not None else c.store.get(*_PV, "", name)


def _bound_status(pv: JSON) -> JSON:
    vs = pv.get("spec") or {}
    return {
        "phase": "Bound",
        "accessModes": list(vs.get("accessModes") or ()),
        "capacity": dict(vs.get("capacity") or {}),
    }


def _consumer_node(c: Cluster, pvc: JSON) -> str | None:
    """The node of the first Pod that uses the claim (the scheduler's choice for it)."""
    ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
    for pod in c.store.list("", "pods", ns):
        for v in (pod.get("spec") or {}).get("volumes") or ():
            if (v.get("persistentVolumeClaim") or {}).get("claimName") == name:
                return str((pod.get("spec") or {}).get("nodeName") or "emulated-node-1")
    return None


def default_class(store: Store) -> str | None:
    """The default StorageClass (the newest when several are marked, as the DefaultStorageClass
    admission plugin picks: plugin/pkg/admission/storage/storageclass/setdefault)."""
    marked = [
        sc
        for sc in store.list("storage.k8s.io", "storageclasses")
        if (sc["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
    ]
    marked.sort(key=lambda sc: (sc["metadata"].get("creationTimestamp", ""), sc["metadata"]["name"]))
    return str(marked[-1]["metadata"]["name"]) if marked else None


def _write(c: Cluster, pvc: JSON, change: Any) -> JSON | None:
    meta = pvc["metadata"]
    return c.system_write(_type(c, "PersistentVolumeClaim"), meta["namespace"], meta["name"], change)


def _type(c: Cluster, kind: str) -> ResourceType:
    return c.resource_type("v1", kind)


def _set(obj: JSON, part: str, key: str, value: Any) -> JSON:
    obj.setdefault(part, {})[key] = value
    return obj


def _annotate(obj: JSON, marks: dict[str, str]) -> JSON:
    annotations = obj.setdefault("metadata", {}).setdefault("annotations", {})
    annotations.update(marks)
    return obj
