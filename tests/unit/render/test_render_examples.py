"""The charts of examples-repo render to exactly the checked-in manifests.

A deliberate change to an example regenerates the expected files with
``GITOPS_AGENT_UPDATE_GOLDEN=1 pytest tests/unit/render/test_render_examples.py``
(then review the diff like any other change).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.config import Application, load_config
from agent.render import Release, RenderRequest, RenderResult, render
from agent.render.manifests import to_yaml_stream
from tests.support.render import FIXTURES
from tests.support.repos import EXAMPLES, PROJECT

GOLDEN = FIXTURES / "golden"
CONFIG = load_config(EXAMPLES / "agent.yaml")
HELM_CONFIG = load_config(EXAMPLES / "agent-helm.yaml")  # apps whose charts need the helm binary


def render_app(app: Application) -> RenderResult:
    """As the sync engine renders it, from this checkout's files."""
    return render(
        RenderRequest(
            root=PROJECT,
            path=app.path,
            release=Release(app.name, app.namespace),
            values_files=app.values_files,
            values=app.values,
            label=f"{app.name}: {app.path}",
            validate=app.openapi_validation,
        )
    )


@pytest.mark.parametrize("app", CONFIG.apps, ids=[a.name for a in CONFIG.apps])
def test_example_renders_to_its_golden_file(app: Application) -> None:
    _check_golden(app)


@pytest.mark.usefixtures("helm_binary")
@pytest.mark.parametrize("app", HELM_CONFIG.apps, ids=[a.name for a in HELM_CONFIG.apps])
def test_helm_example_renders_to_its_golden_file(app: Application) -> None:
    _check_golden(app)


def _check_golden(app: Application) -> None:
    result = render_app(app)
    text = to_yaml_stream(result.manifests)
    if result.notes:
        text += "# NOTES:\n" + "".join(f"# {line}\n" for line in result.notes.splitlines())
    golden = GOLDEN / f"{app.name}.yaml"
    if os.environ.get("GITOPS_AGENT_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), f"{golden} differs: regenerate it if the change is meant"


def test_guestbook_environments_differ_where_their_values_do() -> None:
    staging, production = (
        {m.obj["kind"]: m.obj for m in render_app(CONFIG.app(name)).manifests}
        for name in ("guestbook-staging", "guestbook-production")
    )
    assert staging["Deployment"]["spec"]["replicas"] == 1
    assert production["Deployment"]["spec"]["replicas"] == 3
    assert staging["Service"]["spec"]["type"] == "ClusterIP"
    assert production["Service"]["spec"]["type"] == "LoadBalancer"
    assert production["ConfigMap"]["data"]["UI_TITLE"] == "Guestbook"  # the app's inline values win


def test_redis_uses_subchart_library_crds_and_files() -> None:
    result = render_app(CONFIG.app("redis"))
    kinds = [m.obj["kind"] for m in result.manifests]
    assert kinds[0] == "CustomResourceDefinition" and result.crds == 1
    objs = {f"{m.obj['kind']}/{m.obj['metadata']['name']}": m for m in result.manifests}
    assert set(objs) == {
        "CustomResourceDefinition/redisbackups.cache.example.com",
        "RedisBackup/redis-daily",
        "ConfigMap/redis-config",
        "Secret/redis-auth",
        "Service/redis",
        "Service/redis-headless",
        "StatefulSet/redis",
        "PodDisruptionBudget/redis",  # replicas: 3 in the app's values
        "Deployment/redis-metrics",  # the subchart, under its alias `exporter`
        "Service/redis-metrics",
    }
    assert (
        objs["Deployment/redis-metrics"].source
        == "redis: examples-repo/apps/redis/charts/metrics/templates/deployment.yaml"
    )
    exporter = objs["Deployment/redis-metrics"].obj["spec"]["template"]["spec"]["containers"][0]
    assert exporter["image"] == "docker.io/oliver006/redis_exporter:v1.62.0"  # global.imageRegistry
    assert exporter["env"][0] == {"name": "REDIS_ADDR", "value": "redis://redis:6379"}  # tpl
    assert "bind 0.0.0.0" in objs["ConfigMap/redis-config"].obj["data"]["redis.conf"]  # files
    assert "StatefulSet redis (3 replicas)" in result.notes


def test_redis_exporter_can_be_switched_off() -> None:
    app = CONFIG.app("redis")
    result = render(
        RenderRequest(
            root=PROJECT,
            path=app.path,
            release=Release("redis", "redis"),
            values={**app.values, "exporter": {"enabled": False}},
        )
    )
    assert not [m for m in result.manifests if "metrics" in m.obj["metadata"]["name"]]


def test_every_example_app_is_checked() -> None:
    assert {p.stem for p in GOLDEN.glob("*.yaml")} == {a.name for a in (*CONFIG.apps, *HELM_CONFIG.apps)}
    assert Path(EXAMPLES / "charts" / "common" / "Chart.yaml").is_file()
