"""The simulated control plane records Events for what it does, as its components would:
what ``kubectl describe`` and the agent's resource tree show beside a workload."""

from __future__ import annotations

from typing import Any

from agent.emulator import EmulatedCluster, Options
from agent.emulator.faults import FaultConfig


def deployment(name: str, image: str, replicas: int = 2) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def events(cluster: EmulatedCluster) -> list[tuple[str, str, str, str, str]]:
    return sorted(
        (
            e["involvedObject"]["kind"],
            e["involvedObject"]["name"].split("-")[0],
            e["type"],
            e["reason"],
            e["source"]["component"],
        )
        for e in cluster.list("v1", "Event", "default")
    )


def test_a_rollout_records_scaling_pod_creation_scheduling_and_start() -> None:
    cluster = EmulatedCluster()
    made = cluster.create(deployment("web", "nginx:1.27"))
    rs = cluster.list("apps/v1", "ReplicaSet", "default")[0]["metadata"]["name"]
    assert events(cluster) == sorted(
        [("Deployment", "web", "Normal", "ScalingReplicaSet", "deployment-controller")]
        + [("ReplicaSet", "web", "Normal", "SuccessfulCreate", "replicaset-controller")] * 2
        + [("Pod", "web", "Normal", "Scheduled", "default-scheduler")] * 2
        + [("Pod", "web", "Normal", "Started", "kubelet")] * 2
    )
    scaled = [e for e in cluster.list("v1", "Event", "default") if e["reason"] == "ScalingReplicaSet"]
    assert scaled[0]["message"] == f"Scaled up replica set {rs} from 0 to 2"
    assert scaled[0]["involvedObject"]["uid"] == made["metadata"]["uid"]
    # scaling down deletes a Pod, and says so
    cluster.patch("apps/v1", "Deployment", "web", "default", {"spec": {"replicas": 1}})
    reasons = [e["reason"] for e in cluster.list("v1", "Event", "default")]
    assert reasons.count("SuccessfulDelete") == 1
    assert reasons.count("ScalingReplicaSet") == 2


def test_an_unpullable_image_is_a_warning_from_the_kubelet() -> None:
    faults = FaultConfig.model_validate({"unpullableImages": ["*:broken"]})
    cluster = EmulatedCluster(options=Options(faults=faults))
    cluster.create(deployment("api", "api:broken", replicas=1))
    warnings = [e for e in cluster.list("v1", "Event", "default") if e["type"] == "Warning"]
    assert [(e["reason"], e["source"]["component"]) for e in warnings] == [("Failed", "kubelet")]
    assert '"api:broken"' in warnings[0]["message"]
    assert warnings[0]["involvedObject"]["kind"] == "Pod"
