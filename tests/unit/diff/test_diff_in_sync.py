"""The shortcut for objects in sync: :func:`agent.diff.views.covered` says
True only where projecting both sides gives equal views, and an object
that holds every field as Git writes it is in sync without normalizing;
anything else takes the whole comparison (the same verdict as before)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from agent.diff import diff_object
from agent.diff.views import covered, project
from agent.kube.shapes import shape_for
from agent.models import DiffStatus, ObjectKey


def deployment(**spec: Any) -> dict[str, Any]:
    containers = [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}, **spec},
    }


def served(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``obj`` as a server returns it: defaults, server metadata and status added."""
    live: dict[str, Any] = {
        **obj,
        "metadata": {**obj["metadata"], "uid": "u", "resourceVersion": "7", "generation": 1},
        "status": {"replicas": 1},
    }
    container = {**obj["spec"]["template"]["spec"]["containers"][0], "imagePullPolicy": "IfNotPresent"}
    container["ports"] = [{**p, "protocol": "TCP"} for p in container["ports"]]
    live["spec"] = {
        **obj["spec"],
        "strategy": {"type": "RollingUpdate"},
        "template": {"spec": {"containers": [container], "restartPolicy": "Always"}},
        **changes,
    }
    return live


KEY = ObjectKey("apps", "Deployment", "ns", "web")
SECRET_KEY = ObjectKey("", "Secret", "ns", "s")


def secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}, **fields}


CASES = [
    ("as served", deployment(), served(deployment()), DiffStatus.IN_SYNC),
    ("changed by hand", deployment(), served(deployment(), replicas=3), DiffStatus.MODIFIED),
    ("a field Git adds", deployment(paused=True), served(deployment()), DiffStatus.MODIFIED),
    ("a zero value", deployment(paused=False), served(deployment()), DiffStatus.IN_SYNC),
    ("an empty list", deployment(minReadySeconds=0), served(deployment()), DiffStatus.IN_SYNC),
    (
        "stringData as data",
        secret(stringData={"p": "x"}),
        secret(data={"p": base64.b64encode(b"x").decode()}),
        DiffStatus.IN_SYNC,
    ),
    (
        "stringData changed",
        secret(stringData={"p": "x"}),
        secret(data={"p": base64.b64encode(b"y").decode()}),
        DiffStatus.MODIFIED,
    ),
]


@pytest.mark.parametrize(("desired", "live", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_shortcut_gives_the_whole_comparisons_verdict(
    desired: dict[str, Any], live: dict[str, Any], status: DiffStatus
) -> None:
    key = SECRET_KEY if desired["kind"] == "Secret" else KEY
    assert diff_object(key, desired, live).status is status
    shape = shape_for(desired)
    if covered(desired, live, shape):  # the shortcut says equal: the views agree
        want, have = project(desired, live, shape)
        assert want == have


def test_covered_is_false_where_the_views_differ() -> None:
    desired = deployment()
    shape = shape_for(desired)
    for live in (served(deployment(), replicas=2), {"kind": "Deployment"}, []):
        assert not covered(desired, live, shape)
    assert covered({"ports": [{"port": 80}]}, {"ports": [{"port": 80, "protocol": "TCP"}], "x": 1})
    assert not covered({"args": ["a"]}, {"args": ["a", "b"]})
