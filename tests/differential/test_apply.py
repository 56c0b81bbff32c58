"""Server-side apply against the real API server and the emulator: a new revision
that drops list-map items (a container, a port, an env var) after another manager
changed one of them, the managedFields it leaves, and the PATCH options an apply
must carry.  A sync whose revision drops items must leave identical objects."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from tests.support.differential import deployment, ns, scenario_test, status_of


def _revision(*, full: bool) -> dict[str, Any]:
    obj = deployment()
    main = {
        "name": "main",
        "image": "nginx:1.27",
        "ports": [{"containerPort": 80}, {"containerPort": 81, "name": "admin"}],
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    }
    containers = [main, {"name": "side", "image": "envoy:1"}]
    if not full:
        main["ports"], main["env"], containers = main["ports"][:1], main["env"][:1], containers[:1]
    obj["spec"]["template"]["spec"]["containers"] = containers
    return obj


def _drops_items(c: ClusterClient) -> Any:
    c.create(ns())
    first = c.apply(_revision(full=True), field_manager="flux")
    edited = c.patch(
        "apps/v1",
        "Deployment",
        "web",
        "diff",
        {
            "spec": {
                "template": {"spec": {"containers": [{"name": "main", "env": [{"name": "B", "value": "3"}]}]}}
            }
        },
        patch_type="strategic",
        field_manager="editor",
    )
    second = status_of(lambda: c.apply(_revision(full=False), field_manager="flux"))
    return [first, edited, second]


def _apply_options(c: ClusterClient) -> Any:
    assert isinstance(c, KubeCluster)
    c.create(ns())
    path = "/api/v1/namespaces/diff/configmaps/cm"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1"}}
    send = c.transport.send
    return [
        status_of(lambda: send("PATCH", path, body, content_type="application/apply-patch+yaml")),
        status_of(
            lambda: send(
                "PATCH", path, body, content_type="application/merge-patch+json", query={"force": "true"}
            )
        ),
        status_of(
            lambda: send(
                "PATCH", path, body, content_type="application/apply-patch+yaml", query={"fieldManager": "me"}
            )
        ),
    ]


SCENARIOS = {"apply-drops-items": _drops_items, "apply-options": _apply_options}
test_apply = pytest.mark.parametrize("scenario", sorted(SCENARIOS))(scenario_test(SCENARIOS))
