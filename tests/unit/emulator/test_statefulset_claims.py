"""A StatefulSet's volumeClaimTemplates give each Pod its own claims, made before the
Pod, mounted by it and kept when it goes (pkg/controller/statefulset), and the default
class then binds them as their first consumer appears."""

from __future__ import annotations

from typing import Any

from agent.emulator import EmulatedCluster


def statefulset(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {
                    "containers": [{"name": "db", "image": "postgres:17",
                                    "volumeMounts": [{"name": "data", "mountPath": "/var/lib/pg"}]}],
                    "volumes": [{"name": "data", "emptyDir": {}}],  # the claim takes its place
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": {"tier": "storage"}},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ],
        },
    }  # fmt: skip


def claims(cluster: EmulatedCluster) -> dict[str, dict[str, Any]]:
    return {
        c["metadata"]["name"]: c for c in cluster.list("v1", "PersistentVolumeClaim", namespace="default")
    }


def test_each_pod_gets_its_claims_bound_and_they_stay_when_it_goes() -> None:
    cluster = EmulatedCluster()
    cluster.apply(statefulset(2), field_manager="test")
    made = claims(cluster)
    assert sorted(made) == ["data-db-0", "data-db-1"]
    for name, claim in made.items():
        assert claim["metadata"]["labels"] == {"tier": "storage", "app": "db"}
        assert claim["status"]["phase"] == "Bound"  # the Pod is the first consumer of the default class
        assert "ownerReferences" not in claim["metadata"]  # Retain: the claims outlive the set
        pod = cluster.get("v1", "Pod", name.removeprefix("data-"), "default")
        assert pod is not None
        assert pod["spec"]["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]
    said = [e["message"] for e in cluster.list("v1", "Event", namespace="default")]
    assert "create Claim data-db-0 Pod db-0 in StatefulSet db success" in said

    cluster.apply(statefulset(1), field_manager="test")
    assert cluster.get("v1", "Pod", "db-1", "default") is None
    assert sorted(claims(cluster)) == ["data-db-0", "data-db-1"]  # scaled down: the claim stays
    volume = made["data-db-1"]["spec"]["volumeName"]
    cluster.apply(statefulset(2), field_manager="test")
    again = claims(cluster)["data-db-1"]
    assert again["metadata"]["uid"] == made["data-db-1"]["metadata"]["uid"]  # the same claim, mounted again
    assert again["spec"]["volumeName"] == volume
    cluster.delete("apps/v1", "StatefulSet", "db", "default")
    assert sorted(claims(cluster)) == ["data-db-0", "data-db-1"]
