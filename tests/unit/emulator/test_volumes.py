"""Claims bind to volumes as the PV controller binds them: a matching Available volume
first, else one provisioned by the claim's class; WaitForFirstConsumer waits for a Pod;
a deleted claim's volume is reclaimed by its policy
(pkg/controller/volume/persistentvolume/pv_controller.go)."""

from __future__ import annotations

from typing import Any

from agent.emulator import EmulatedCluster


def claim(name: str = "data", **spec: Any) -> dict[str, Any]:
    body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "default"},
        "spec": body,
    }


def volume(name: str, size: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": f"/data/{name}"},
            **spec,
        },
    }


def pod(claim_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "user", "namespace": "default"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox:1"}],
            "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim_name}}],
        },
    }


def get(cluster: EmulatedCluster, kind: str, name: str) -> dict[str, Any]:
    found = cluster.get("v1", kind, name, "default" if kind == "PersistentVolumeClaim" else "")
    assert found is not None
    return found


def test_a_claim_binds_to_the_smallest_matching_volume_and_both_say_so() -> None:
    cluster = EmulatedCluster()
    cluster.create(volume("big", "10Gi", {"tier": "fast"}, storageClassName=""))
    cluster.create(volume("small", "2Gi", {"tier": "fast"}, storageClassName=""))
    cluster.create(volume("tiny", "500Mi", {"tier": "fast"}, storageClassName=""))
    cluster.create(volume("slow", "2Gi", {"tier": "slow"}, storageClassName=""))
    assert get(cluster, "PersistentVolume", "small")["status"]["phase"] == "Available"
    cluster.create(claim(storageClassName="", selector={"matchLabels": {"tier": "fast"}}))

    pvc, pv = get(cluster, "PersistentVolumeClaim", "data"), get(cluster, "PersistentVolume", "small")
    assert pvc["spec"]["volumeName"] == "small"
    assert pvc["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
        "capacity": {"storage": "2Gi"},
    }
    assert pvc["metadata"]["annotations"] == {
        "pv.kubernetes.io/bind-completed": "yes",
        "pv.kubernetes.io/bound-by-controller": "yes",
    }
    assert pv["status"]["phase"] == "Bound"
    assert pv["metadata"]["annotations"] == {"pv.kubernetes.io/bound-by-controller": "yes"}
    ref = pv["spec"]["claimRef"]
    assert (ref["kind"], ref["namespace"], ref["name"], ref["uid"]) == (
        "PersistentVolumeClaim",
        "default",
        "data",
        pvc["metadata"]["uid"],
    )
    assert get(cluster, "PersistentVolume", "big")["status"]["phase"] == "Available"

    cluster.delete("v1", "PersistentVolumeClaim", "data", "default")
    assert get(cluster, "PersistentVolume", "small")["status"]["phase"] == "Released"  # Retain


def test_a_claim_naming_its_volume_waits_for_it() -> None:
    cluster = EmulatedCluster()
    cluster.create(claim(storageClassName="", volumeName="later"))
    assert get(cluster, "PersistentVolumeClaim", "data")["status"]["phase"] == "Pending"
    cluster.create(volume("later", "1Gi", storageClassName=""))
    pvc = get(cluster, "PersistentVolumeClaim", "data")
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes"}
    assert get(cluster, "PersistentVolume", "later")["status"]["phase"] == "Bound"


def test_the_default_class_waits_for_the_first_consumer_then_provisions() -> None:
    cluster = EmulatedCluster()
    cluster.create(claim())
    pvc = get(cluster, "PersistentVolumeClaim", "data")
    assert pvc["spec"]["storageClassName"] == "standard"
    assert pvc["status"]["phase"] == "Pending"
    assert cluster.list("v1", "PersistentVolume") == []

    cluster.create(pod("data"))
    pvc = get(cluster, "PersistentVolumeClaim", "data")
    node = cluster.get("v1", "Pod", "user", "default")
    assert node is not None
    annotations = pvc["metadata"]["annotations"]
    assert annotations["volume.kubernetes.io/selected-node"] == node["spec"].get(
        "nodeName", "emulated-node-1"
    )
    assert annotations["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
    assert pvc["status"]["phase"] == "Bound"
    pv = get(cluster, "PersistentVolume", f"pvc-{pvc['metadata']['uid']}")
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "rancher.io/local-path"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["spec"]["storageClassName"] == "standard"
    assert pv["spec"]["capacity"] == {"storage": "1Gi"}
    assert pv["status"]["phase"] == "Bound"

    cluster.delete("v1", "PersistentVolumeClaim", "data", "default")
    assert cluster.list("v1", "PersistentVolume") == []  # reclaim policy Delete


def test_an_immediate_class_provisions_at_once_and_an_unknown_class_stays_pending() -> None:
    cluster = EmulatedCluster()
    cluster.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "fast"},
            "provisioner": "example.com/fast",
        }
    )
    cluster.create(claim("quick", storageClassName="fast"))
    cluster.create(claim("lost", storageClassName="nfs"))
    assert get(cluster, "PersistentVolumeClaim", "quick")["status"]["phase"] == "Bound"
    assert get(cluster, "PersistentVolumeClaim", "lost")["status"]["phase"] == "Pending"
