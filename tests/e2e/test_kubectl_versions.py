"""kubectl 1.27, 1.31 and 1.33 against ``gitops-agent emulator serve``: what a person does by
hand with each (the Google Cloud SDK ships ``kubectl.1.27`` ... ``kubectl.1.33`` beside its
``kubectl``; a version not installed is skipped, naming it).

Each step checks its result: imperative creates, ``auth can-i`` and ``auth whoami``,
``get all`` showing the ReplicaSets and Pods the controllers made, ``rollout history``
and ``rollout undo``, ``apply`` of an existing custom resource, ``scale`` of a custom
resource with a scale subresource, and ``logs`` answering at once that no logs exist.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.support.crds import gadget_crd
from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.e2e


def _until(check: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"not reached in {timeout}s")


def test_imperative_creates_and_auth(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "shop")
    kubectl("create", "configmap", "settings", "-n", "shop", "--from-literal=a=1")
    kubectl("create", "secret", "generic", "creds", "-n", "shop", "--from-literal=pw=hunter2")
    kubectl("create", "deployment", "web", "-n", "shop", "--image=nginx:1.27", "--replicas=2")
    assert kubectl("get", "configmap", "settings", "-n", "shop", "-o", "jsonpath={.data.a}").stdout == "1"
    assert (
        kubectl("get", "secret", "creds", "-n", "shop", "-o", "jsonpath={.data.pw}").stdout == "aHVudGVyMg=="
    )
    assert kubectl("auth", "can-i", "create", "deployments", "-n", "shop").stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "--list", "-n", "shop").returncode == 0
    if not kubectl.binary.endswith(
        "1.27"
    ):  # kubectl 1.27 asks for SelfSubjectReview v1beta1, gone since 1.30
        assert "system:masters" in kubectl("auth", "whoami").stdout
    sa = kubectl("get", "serviceaccount", "default", "-n", "shop", "-o", "name").stdout.strip()
    assert sa == "serviceaccount/default"


def test_get_all_and_rollouts(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "shop")
    kubectl("create", "deployment", "web", "-n", "shop", "--image=nginx:1.27", "--replicas=2")
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=30s")
    everything = kubectl("get", "all", "-n", "shop").stdout
    assert "deployment.apps/web" in everything and "replicaset.apps/web-" in everything
    assert everything.count("pod/web-") == 2 and "Running" in everything
    kubectl("set", "image", "deployment/web", "nginx=nginx:1.28", "-n", "shop")
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=30s")
    history = kubectl("rollout", "history", "deployment/web", "-n", "shop").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    kubectl("rollout", "undo", "deployment/web", "-n", "shop")
    image = "jsonpath={.spec.template.spec.containers[0].image}"
    assert kubectl("get", "deployment", "web", "-n", "shop", "-o", image).stdout == "nginx:1.27"
    again = kubectl("rollout", "history", "deployment/web", "-n", "shop").stdout
    assert [line.split()[0] for line in again.splitlines()[2:] if line.strip()] == ["2", "3"]
    pods = kubectl("get", "pods", "-n", "shop", "-o", "name").stdout.split()
    _until(lambda: len(kubectl("get", "pods", "-n", "shop", "-o", "name").stdout.split()) == 2)
    logs = kubectl("logs", pods[0], "-n", "shop", ok=False)
    assert logs.returncode != 0 and "simulated" in logs.stderr


def test_create_and_apply_from_files_and_explain(kubectl: Kubectl, tmp_path: Path) -> None:
    """kubectl 1.27/1.28 read /openapi/v2 as protobuf only (gnostic's message) for these."""
    kubectl("create", "namespace", "shop")
    path = tmp_path / "settings.yaml"
    settings = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop"},
        "data": {"a": "1"},
    }
    path.write_text(yaml.safe_dump(settings))
    assert "created" in kubectl("create", "-f", str(path)).stdout
    settings["data"] = {"a": "2", "b": "3"}
    path.write_text(yaml.safe_dump(settings))
    assert "configured" in kubectl("apply", "-f", str(path)).stdout
    data = kubectl("get", "configmap", "settings", "-n", "shop", "-o", "jsonpath={.data}").stdout
    assert yaml.safe_load(data) == {"a": "2", "b": "3"}
    explained = kubectl("explain", "deployment.spec.replicas").stdout
    assert "replicas" in explained and "integer" in explained


def test_custom_resources_apply_and_scale(kubectl: Kubectl, tmp_path: Path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text(yaml.safe_dump(gadget_crd()))
    kubectl("apply", "-f", str(crd))
    kubectl("wait", "--for", "condition=Established", "crd/gadgets.example.com", "--timeout=30s")
    meta = {"name": "g", "namespace": "default"}
    gadget = {
        "apiVersion": "example.com/v1",
        "kind": "Gadget",
        "metadata": meta,
        "spec": {"size": 1, "color": "red"},
    }
    path = tmp_path / "gadget.yaml"
    path.write_text(yaml.safe_dump(gadget))
    kubectl("apply", "-f", str(path))
    gadget["spec"]["color"] = "blue"
    path.write_text(yaml.safe_dump(gadget))
    assert "configured" in kubectl("apply", "-f", str(path)).stdout
    kubectl("scale", "gadget/g", "--replicas=4")
    spec = kubectl("get", "gadget", "g", "-o", "jsonpath={.spec.size} {.spec.color}").stdout
    assert spec == "4 blue"
    gadget["spec"]["color"] = "green"
    path.write_text(yaml.safe_dump(gadget))
    refused = kubectl("apply", "-f", str(path), ok=False)
    assert refused.returncode != 0 and 'Unsupported value: "green"' in refused.stderr


def test_autoscale_and_claims(kubectl: Kubectl) -> None:
    """``kubectl autoscale`` (an autoscaling/v1 create from kubectl 1.27 and 1.31, v2 from
    1.33) read back in both versions; the API server's own EndpointSlice; a claim of the
    default class bound once a Pod uses it."""
    kubectl("create", "deployment", "web", "--image=nginx:1.27")
    kubectl("autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=60")
    row = kubectl("get", "hpa", "web", "--no-headers").stdout.split()
    assert row[:6] == ["web", "Deployment/web", "cpu:", "<unknown>/60%", "2", "5"]
    v1 = "horizontalpodautoscalers.v1.autoscaling"
    assert kubectl("get", v1, "web", "-o", "jsonpath={.spec.targetCPUUtilizationPercentage}").stdout == "60"
    v2 = "horizontalpodautoscalers.v2.autoscaling"
    target = "jsonpath={.spec.metrics[0].resource.target.averageUtilization}"
    assert kubectl("get", v2, "web", "-o", target).stdout == "60"
    assert kubectl("get", "storageclass", "--no-headers").stdout.startswith("standard (default)")
    slice_row = kubectl("get", "endpointslice", "kubernetes", "-n", "default", "--no-headers").stdout.split()
    assert slice_row[:4] == ["kubernetes", "IPv4", "6443", "10.0.0.2"]
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    user = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "user"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox:1"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump(claim))
    assert kubectl("get", "pvc", "data", "-o", "jsonpath={.status.phase}").stdout == "Pending"
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump(user))
    assert kubectl("get", "pvc", "data", "-o", "jsonpath={.status.phase}").stdout == "Bound"
    assert kubectl("get", "pv", "--no-headers").stdout.split()[4:6] == ["Bound", "default/data"]
