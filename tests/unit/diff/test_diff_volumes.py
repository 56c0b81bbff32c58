"""What the PV controller writes on a claim and a volume Git declares (the bound volume's
name, the claimRef, its marks) is not drift, even in strict mode; a change Git makes still is."""

from __future__ import annotations

import copy
from typing import Any

from agent.diff import diff_object
from agent.diff.compare import DiffOptions
from agent.emulator import EmulatedCluster
from agent.models import DiffStatus, ObjectKey

STRICT = DiffOptions(strict=True, self_manager="gitops-agent")
VOLUME = {
    "apiVersion": "v1",
    "kind": "PersistentVolume",
    "metadata": {"name": "data-volume"},
    "spec": {
        "capacity": {"storage": "2Gi"},
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "",
        "hostPath": {"path": "/srv/data"},
    },
}
CLAIM = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "data", "namespace": "default"},
    "spec": {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "",
        "resources": {"requests": {"storage": "1Gi"}},
    },
}


def test_a_binding_made_by_the_controller_is_not_drift() -> None:
    cluster = EmulatedCluster()
    cluster.create(copy.deepcopy(VOLUME), field_manager="gitops-agent")
    cluster.create(copy.deepcopy(CLAIM), field_manager="gitops-agent")
    pv = cluster.get("v1", "PersistentVolume", "data-volume")
    pvc = cluster.get("v1", "PersistentVolumeClaim", "data", "default")
    assert pv is not None and pvc is not None
    assert pvc["spec"]["volumeName"] == "data-volume" and pv["spec"]["claimRef"]["name"] == "data"
    pv_key = ObjectKey("", "PersistentVolume", "", "data-volume")
    pvc_key = ObjectKey("", "PersistentVolumeClaim", "default", "data")
    assert diff_object(pv_key, VOLUME, pv, options=STRICT).status is DiffStatus.IN_SYNC
    assert diff_object(pvc_key, CLAIM, pvc, options=STRICT).status is DiffStatus.IN_SYNC
    bigger: dict[str, Any] = copy.deepcopy(VOLUME)
    bigger["spec"]["capacity"]["storage"] = "5Gi"
    assert diff_object(pv_key, bigger, pv, options=STRICT).status is DiffStatus.MODIFIED
