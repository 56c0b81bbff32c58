"""autoscaling/v1 and autoscaling/v2 views of one HorizontalPodAutoscaler, converted as
pkg/apis/autoscaling/v1/conversion.go converts them (the differential scenario
``hpa-versions`` checks the same against the real API server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.emulator import EmulatedCluster
from agent.emulator.conversion import hpa_to_v1, hpa_to_v2
from agent.kube.errors import BadRequest

REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
CPU = {
    "type": "Resource",
    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
}
MEMORY = {
    "type": "Resource",
    "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "512Mi"}},
}
EXTERNAL = {
    "type": "External",
    "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "30"}},
}


def v2(*metrics: dict[str, Any], **status: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 4, "metrics": list(metrics)},
    }
    if status:
        obj["status"] = status
    return obj


def test_v2_only_metrics_travel_in_v1_annotations_and_come_back() -> None:
    served = hpa_to_v1(v2(MEMORY, CPU, EXTERNAL))
    assert served["spec"] == {
        "scaleTargetRef": REF,
        "minReplicas": 1,
        "maxReplicas": 4,
        "targetCPUUtilizationPercentage": 70,
    }
    kept = json.loads(served["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/metrics"])
    assert kept == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "512Mi"}},
        {"type": "External", "external": {"metricName": "queue", "targetValue": "30"}},
    ]
    back = hpa_to_v2(served)
    assert back["spec"]["metrics"] == [MEMORY, EXTERNAL, CPU]  # the annotation's first, then the CPU target
    assert "annotations" not in back["metadata"]


def test_a_v1_object_without_a_target_gets_v2s_default_and_status_converts() -> None:
    bare = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": REF, "maxReplicas": 3},
        "status": {"currentReplicas": 2, "desiredReplicas": 2, "currentCPUUtilizationPercentage": 41},
    }
    stored = hpa_to_v2(bare)
    assert stored["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
        }
    ]
    assert stored["status"]["currentMetrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 41}}}
    ]
    conditions = [
        {"type": "AbleToScale", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "R"}
    ]
    served = hpa_to_v1({**stored, "status": {**stored["status"], "conditions": conditions}})
    assert served["status"] == {
        "currentReplicas": 2,
        "desiredReplicas": 2,
        "currentCPUUtilizationPercentage": 41,
    }
    notes = served["metadata"]["annotations"]
    assert json.loads(notes["autoscaling.alpha.kubernetes.io/conditions"]) == conditions
    assert json.loads(notes["autoscaling.alpha.kubernetes.io/current-metrics"]) == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "currentAverageUtilization": 41, "currentAverageValue": "0"},
        }
    ]


def test_the_cluster_serves_both_versions_of_one_object() -> None:
    cluster = EmulatedCluster()
    made = cluster.create(
        {
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": REF, "maxReplicas": 3, "targetCPUUtilizationPercentage": 55},
        }
    )
    assert made["apiVersion"] == "autoscaling/v1" and made["spec"]["targetCPUUtilizationPercentage"] == 55
    stored = cluster.get("autoscaling/v2", "HorizontalPodAutoscaler", "web", "default")
    assert stored is not None
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 55
    cluster.patch("autoscaling/v1", "HorizontalPodAutoscaler", "web", "default", {"spec": {"maxReplicas": 6}})
    listed = cluster.list("autoscaling/v1", "HorizontalPodAutoscaler", "default")
    assert [(o["apiVersion"], o["spec"]["maxReplicas"]) for o in listed] == [("autoscaling/v1", 6)]
    bad = {"autoscaling.alpha.kubernetes.io/metrics": "not json"}
    with pytest.raises(BadRequest, match="could not be converted"):
        cluster.patch(
            "autoscaling/v1", "HorizontalPodAutoscaler", "web", "default", {"metadata": {"annotations": bad}}
        )


def test_a_v1_watch_sends_v1_objects() -> None:
    cluster = EmulatedCluster()
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": REF, "maxReplicas": 3, "metrics": [CPU, MEMORY]},
    }
    cluster.create(hpa)
    seen = []
    for kind, obj in cluster.watch("autoscaling/v1", "HorizontalPodAutoscaler", "default", timeout=5):
        seen.append((kind, obj["apiVersion"], obj["spec"].get("targetCPUUtilizationPercentage")))
        if kind == "ADDED":
            cluster.patch(
                "autoscaling/v2", "HorizontalPodAutoscaler", "web", "default", {"spec": {"maxReplicas": 4}}
            )
        if kind == "MODIFIED" and obj["spec"]["maxReplicas"] == 4:
            assert "autoscaling.alpha.kubernetes.io/metrics" in obj["metadata"]["annotations"]
            break
    assert seen[0] == ("ADDED", "autoscaling/v1", 70)
    assert {s[1] for s in seen} == {"autoscaling/v1"}
