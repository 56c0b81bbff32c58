"""A Service's EndpointSlice lists the Pods it selects, as the endpointslice controller keeps
it: created with the Service, following the Pods' readiness and count, gone with the Service."""

from __future__ import annotations

from typing import Any

from agent.emulator import EmulatedCluster, Options
from agent.emulator.faults import FaultConfig


def deployment(replicas: int, image: str = "web:1") -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "web", "image": image, "ports": [{"name": "http", "containerPort": 8080}]}
                    ]
                },
            },
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
}


def slices(cluster: EmulatedCluster) -> list[dict[str, Any]]:
    return cluster.list("discovery.k8s.io/v1", "EndpointSlice", "default", "kubernetes.io/service-name=web")


def test_the_slice_follows_the_services_pods() -> None:
    cluster = EmulatedCluster()
    service = cluster.create(SERVICE)
    cluster.create(deployment(2))
    [made] = slices(cluster)
    assert made["metadata"]["ownerReferences"][0]["uid"] == service["metadata"]["uid"]
    assert made["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    pods = {p["metadata"]["name"]: p for p in cluster.list("v1", "Pod", "default")}
    assert sorted(e["targetRef"]["name"] for e in made["endpoints"]) == sorted(pods)
    for endpoint in made["endpoints"]:
        pod = pods[endpoint["targetRef"]["name"]]
        assert endpoint["addresses"] == [pod["status"]["podIP"]]
        assert endpoint["conditions"]["ready"] is True
        assert endpoint["nodeName"] == pod["spec"]["nodeName"]
    cluster.patch("apps/v1", "Deployment", "web", "default", {"spec": {"replicas": 1}})
    cluster.list("v1", "Pod", "default")  # a request: the queued work runs
    [after] = slices(cluster)
    assert len(after["endpoints"]) == 1
    cluster.delete("v1", "Service", "web", "default")
    assert slices(cluster) == []


def test_pods_that_are_not_ready_are_listed_as_not_ready() -> None:
    faults = FaultConfig.model_validate({"crashLoopImages": ["*:crash"]})
    cluster = EmulatedCluster(options=Options(faults=faults))
    cluster.create(deployment(1, "web:crash"))
    cluster.create(SERVICE)  # after its Pods: it finds them
    [made] = slices(cluster)
    assert [e["conditions"]["ready"] for e in made["endpoints"]] == [False]


def test_a_service_without_a_selector_has_no_managed_slice() -> None:
    cluster = EmulatedCluster()
    cluster.create({**SERVICE, "spec": {"ports": [{"port": 80}]}})
    assert slices(cluster) == []


def test_the_kubernetes_service_has_the_api_servers_endpoints() -> None:
    """Kept by the API server itself, not by the endpointslice controller: named after the
    Service, labelled with its name only, one ready address on port 6443."""
    cluster = EmulatedCluster()
    [made] = cluster.list(
        "discovery.k8s.io/v1", "EndpointSlice", "default", "kubernetes.io/service-name=kubernetes"
    )
    assert made["metadata"]["name"] == "kubernetes"
    assert made["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert made["addressType"] == "IPv4"
    assert made["endpoints"] == [{"addresses": ["10.0.0.2"], "conditions": {"ready": True}}]
    assert made["ports"] == [{"name": "https", "port": 6443, "protocol": "TCP"}]
    endpoints = cluster.get("v1", "Endpoints", "kubernetes", "default")
    assert endpoints["subsets"][0]["addresses"] == [{"ip": "10.0.0.2"}]
    assert endpoints["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
