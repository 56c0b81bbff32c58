"""Rendered objects against the Kubernetes OpenAPI schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import parse_config
from agent.errors import RenderFailed
from agent.render import Capabilities
from agent.render.openapi import DEFAULT_KUBE_VERSION, schema_version, served_api_versions
from tests.support.render import run, write

GOOD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{name: http, containerPort: 80}]
          resources: {requests: {cpu: 0.5, memory: 64Mi}, limits: {cpu: 1}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80, targetPort: http}]
  selector: {app: web}
---
apiVersion: example.com/v1
kind: Anything
metadata: {name: custom}
spec: {whatever: [1, 2]}
"""


def app(tmp_path: Path, text: str) -> Path:
    write(tmp_path, {"app/objects.yaml": text})
    return tmp_path


def test_valid_objects_and_custom_resources_pass(tmp_path: Path) -> None:
    assert len(run(app(tmp_path, GOOD), "app").manifests) == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("containers:", "contianers:"),
            r"Deployment/team/web: spec\.template\.spec\.contianers: unknown field",
        ),
        (("replicas: 2", "replicas: two"), r"spec\.replicas: must be of type integer or null, not string"),
        (
            ("containerPort: 80", "containerPort: eighty"),
            r"containers\[0\]\.ports\[0\]\.containerPort: must be of type",
        ),
        (
            ("metadata: {name: web}", "metadata: {name: web, labelz: {}}"),
            r"Service/team/web: metadata\.labelz: unknown field",
        ),
        (
            ("apiVersion: apps/v1", "apiVersion: extensions/v1beta1"),
            "extensions/v1beta1 Deployment is not served by Kubernetes 1.33 \\(use apps/v1\\)",
        ),
    ],
)
def test_schema_errors_name_object_and_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(RenderFailed, match=message) as e:
        run(app(tmp_path, GOOD.replace(*change, 1)), "app")
    assert "app/objects.yaml (document 1)" in str(e.value) or "app/objects.yaml (document 2)" in str(e.value)


def test_validation_can_be_turned_off(tmp_path: Path) -> None:
    bad = GOOD.replace("containers:", "contianers:")
    assert len(run(app(tmp_path, bad), "app", validate=False).manifests) == 3


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: [hunter2-secret]}\n"
    with pytest.raises(RenderFailed) as e:
        run(app(tmp_path, secret), "app")
    assert "data.password: must be of type string or null, not list" in str(e.value)
    assert "hunter2" not in str(e.value)


def test_schema_version_follows_capabilities(tmp_path: Path) -> None:
    assert schema_version(DEFAULT_KUBE_VERSION) == "1.33"
    assert schema_version("v1.30.4") == "1.30"
    assert schema_version("1.10.0") == "1.25"  # older than shipped: the oldest shipped
    assert schema_version("1.99.0").startswith("1.")  # newer: the newest shipped
    # an API version removed in 1.26: refused for 1.33, fine for a 1.25 cluster
    hpa = (
        "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
        "spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 3}\n"
    )
    with pytest.raises(
        RenderFailed, match="autoscaling/v2beta2 HorizontalPodAutoscaler is not served by Kubernetes 1.33"
    ):
        run(app(tmp_path, hpa), "app")
    assert len(run(app(tmp_path, hpa), "app", capabilities=Capabilities.of("1.25.0")).manifests) == 1


def test_default_capabilities_list_builtin_apis() -> None:
    served = served_api_versions()
    assert {"v1", "apps/v1", "apps/v1/Deployment", "networking.k8s.io/v1/Ingress"} <= set(served)
    assert "extensions/v1beta1" not in served
    assert served == sorted(served, key=str.encode)


def test_per_app_option_in_the_configuration(tmp_path: Path) -> None:
    cfg = parse_config(
        {"apps": [{"name": "a", "repo": ".", "openapiValidation": False}, {"name": "b", "repo": "."}]},
        "agent.yaml",
        tmp_path,
    )
    assert [a.openapi_validation for a in cfg.apps] == [False, True]
