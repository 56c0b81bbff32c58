"""ControllerRevisions of StatefulSets and DaemonSets, on an in-process emulated cluster."""

from __future__ import annotations

from typing import Any

from agent.emulator import EmulatedCluster


def daemonset(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "agent",
            "namespace": "default",
            "annotations": {"kubernetes.io/change-cause": image},
        },
        "spec": {
            "revisionHistoryLimit": 1,
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": image}]},
            },
        },
    }


def revisions(cluster: EmulatedCluster) -> list[dict[str, Any]]:
    listed = cluster.list("apps/v1", "ControllerRevision", namespace="default")
    return sorted(listed, key=lambda r: r["revision"])


def test_a_daemonset_keeps_its_templates_up_to_its_history_limit_and_owns_them() -> None:
    cluster = EmulatedCluster()
    for image in ("agent:1", "agent:2", "agent:3"):
        cluster.apply(daemonset(image), field_manager="test")
    kept = revisions(cluster)
    assert [r["revision"] for r in kept] == [2, 3]  # the current one and one more (revisionHistoryLimit)
    newest = kept[-1]
    assert newest["data"]["spec"]["template"]["$patch"] == "replace"
    assert newest["data"]["spec"]["template"]["spec"]["containers"][0]["image"] == "agent:3"
    assert newest["metadata"]["annotations"]["kubernetes.io/change-cause"] == "agent:3"
    owner = newest["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("DaemonSet", "agent", True)
    digest = newest["metadata"]["labels"]["controller-revision-hash"]
    assert newest["metadata"]["name"] == f"agent-{digest}"
    pods = cluster.list("v1", "Pod", namespace="default")
    assert pods and {p["metadata"]["labels"]["controller-revision-hash"] for p in pods} == {digest}
    cluster.delete("apps/v1", "DaemonSet", "agent", "default")
    assert revisions(cluster) == []  # collected with their owner
