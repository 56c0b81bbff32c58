"""A namespace being deleted: Terminating, the namespace controller's conditions while
content held by finalizers remains, nothing new created in it, gone once it is empty
(pkg/controller/namespace/deletion/status_condition_utils.go; the real server of the
differential suite runs no namespace controller, so these are checked here)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.emulator import EmulatedCluster
from agent.kube.errors import Forbidden


def configmap(name: str, finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "doomed"}
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


def by_type(namespace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in namespace["status"]["conditions"]}


def test_finalizers_hold_a_terminating_namespace_and_its_conditions_say_so() -> None:
    cluster = EmulatedCluster()
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
    cluster.create(configmap("held", ["example.com/hold"]))
    cluster.create(configmap("free"))
    cluster.delete("v1", "Namespace", "doomed")

    namespace = cluster.get("v1", "Namespace", "doomed")
    assert namespace["status"]["phase"] == "Terminating"
    conditions = by_type(namespace)
    assert [c["type"] for c in namespace["status"]["conditions"]] == [
        "NamespaceDeletionDiscoveryFailure",
        "NamespaceDeletionGroupVersionParsingFailure",
        "NamespaceDeletionContentFailure",
        "NamespaceContentRemaining",
        "NamespaceFinalizersRemaining",
    ]
    assert conditions["NamespaceDeletionDiscoveryFailure"]["status"] == "False"
    assert conditions["NamespaceDeletionDiscoveryFailure"]["reason"] == "ResourcesDiscovered"
    assert conditions["NamespaceDeletionContentFailure"]["message"] == (
        "All content successfully deleted, may be waiting on finalization"
    )
    remaining = conditions["NamespaceContentRemaining"]
    assert (remaining["status"], remaining["reason"]) == ("True", "SomeResourcesRemain")
    assert remaining["message"] == "Some resources are remaining: configmaps. has 1 resource instances"
    held = conditions["NamespaceFinalizersRemaining"]
    assert (held["status"], held["reason"]) == ("True", "SomeFinalizerRemain")
    assert held["message"] == "Some finalizers are remaining: example.com/hold in 1 resource instances"
    # the unheld content is gone; the held one waits, marked
    assert [c["metadata"]["name"] for c in cluster.list("v1", "ConfigMap", "doomed")] == ["held"]
    assert cluster.get("v1", "ConfigMap", "held", "doomed")["metadata"]["deletionTimestamp"]

    with pytest.raises(
        Forbidden,
        match='configmaps "late" is forbidden: unable to create new content in namespace doomed because it',
    ):
        cluster.create(configmap("late"))

    cluster.patch("v1", "ConfigMap", "held", "doomed", {"metadata": {"finalizers": None}})
    assert cluster.get("v1", "Namespace", "doomed") is None


def test_an_empty_namespace_goes_at_once() -> None:
    cluster = EmulatedCluster()
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
    cluster.create(configmap("free"))
    cluster.delete("v1", "Namespace", "doomed")
    assert cluster.get("v1", "Namespace", "doomed") is None


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_the_system_namespaces_may_not_be_deleted(name: str) -> None:
    cluster = EmulatedCluster()
    with pytest.raises(
        Forbidden, match=f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    ):
        cluster.delete("v1", "Namespace", name)
    assert cluster.get("v1", "Namespace", name) is not None
