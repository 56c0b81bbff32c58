"""Kinds and objects a real cluster has, against the real API server and the emulator:
creating in a namespace being deleted (the NamespaceLifecycle admission's 403), and one
HorizontalPodAutoscaler read and written as autoscaling/v1 and autoscaling/v2."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from tests.support.differential import ns, scenario_test, status_of


def _configmap(name: str, finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "diff"}
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def _namespace_terminating(c: ClusterClient) -> Any:
    """A namespace held by content with a finalizer (the real server runs no namespace
    controller: its namespace finalizer holds it anyway) is Terminating, and refuses new
    content with 403; the finalizer removed, the content goes."""
    c.create(ns())
    c.create(_configmap("held", ["example.com/hold"]))
    c.delete("v1", "Namespace", "diff")
    namespace = c.get("v1", "Namespace", "diff") or {}
    refused = status_of(lambda: c.create(_configmap("late")))
    c.patch("v1", "ConfigMap", "held", "diff", {"metadata": {"finalizers": None}})
    immortal = status_of(lambda: c.delete("v1", "Namespace", "kube-public"))
    return [(namespace.get("status") or {}).get("phase"), refused, immortal]


def _hpa(version: str, name: str, **spec: Any) -> dict[str, Any]:
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    body = {"scaleTargetRef": target, "maxReplicas": 5, **spec}
    return {
        "apiVersion": f"autoscaling/{version}",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": "diff"},
        "spec": body,
    }


def _hpa_versions(c: ClusterClient) -> Any:
    """Created as v1 and read as v2 and back; a v2-only metric kept in v1's annotation; a v1
    object without a target reads as v2's default 80% CPU; updated through v1."""
    c.create(ns())
    out = [status_of(lambda: c.create(_hpa("v1", "cpu", minReplicas=2, targetCPUUtilizationPercentage=60)))]
    out.append(c.get("autoscaling/v2", "HorizontalPodAutoscaler", "cpu", "diff"))
    memory = {
        "type": "Resource",
        "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}},
    }
    pods = {
        "type": "Pods",
        "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}},
    }
    cpu = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
    }
    out.append(status_of(lambda: c.create(_hpa("v2", "mixed", metrics=[memory, cpu, pods]))))
    out.append(c.get("autoscaling/v1", "HorizontalPodAutoscaler", "mixed", "diff"))
    out.append(status_of(lambda: c.create(_hpa("v1", "bare"))))
    out.append(c.get("autoscaling/v2", "HorizontalPodAutoscaler", "bare", "diff"))
    out.append(
        status_of(
            lambda: c.patch(
                "autoscaling/v1",
                "HorizontalPodAutoscaler",
                "mixed",
                "diff",
                {"spec": {"targetCPUUtilizationPercentage": 50}},
            )
        )
    )
    out.append(c.get("autoscaling/v2", "HorizontalPodAutoscaler", "mixed", "diff"))
    out.append([o["metadata"]["name"] for o in c.list("autoscaling/v1", "HorizontalPodAutoscaler", "diff")])
    return out


SCENARIOS = {"namespace-terminating": _namespace_terminating, "hpa-versions": _hpa_versions}
test_kinds = pytest.mark.parametrize("scenario", sorted(SCENARIOS))(scenario_test(SCENARIOS))
