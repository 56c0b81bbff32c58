from __future__ import annotations

import base64
import copy
from typing import Any

from agent.diff import ABSENT, diff_object
from agent.models import DiffStatus, ObjectKey

KEY = ObjectKey("apps", "Deployment", "ns", "web")


def deployment(image: str = "nginx:1.27", replicas: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": image, "ports": [{"containerPort": 80}]},
                        {"name": "sidecar", "image": "envoy:1"},
                    ]
                }
            },
            **extra,
        },
    }


def live_of(obj: dict[str, Any]) -> dict[str, Any]:
    """What a server returns: server metadata, defaults and status added."""
    obj = copy.deepcopy(obj)
    live = {
        **obj,
        "metadata": {
            **obj["metadata"],
            "uid": "u",
            "resourceVersion": "7",
            "generation": 3,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [],
        },
        "status": {"replicas": 2},
    }
    live["spec"] = {**obj["spec"], "revisionHistoryLimit": 10, "strategy": {"type": "RollingUpdate"}}
    return live


def test_server_fields_and_defaults_are_not_drift() -> None:
    d = deployment()
    assert diff_object(KEY, d, live_of(d)).status is DiffStatus.IN_SYNC


def test_changed_field_is_reported_with_path_and_values() -> None:
    d = deployment()
    live = live_of(deployment(image="nginx:1.28", replicas=5))
    diff = diff_object(KEY, d, live)
    assert diff.status is DiffStatus.MODIFIED
    assert [(c.path, c.desired, c.live) for c in diff.changes] == [
        ("spec.replicas", 2, 5),
        ("spec.template.spec.containers[name=web].image", "nginx:1.27", "nginx:1.28"),
    ]


def test_lists_of_objects_compare_by_merge_key_not_position() -> None:
    d = deployment()
    live = live_of(d)
    containers = live["spec"]["template"]["spec"]["containers"]
    live["spec"]["template"] = {"spec": {"containers": list(reversed(containers))}}
    assert diff_object(KEY, d, live).status is DiffStatus.IN_SYNC


def test_missing_declared_field_shows_absent_and_lists_are_shown_as_lists() -> None:
    d = deployment()
    live = live_of(d)
    live["spec"]["template"]["spec"]["containers"][0] = {"name": "web", "image": "nginx:1.27"}
    diff = diff_object(KEY, d, live)
    assert [(c.path, c.desired, c.live) for c in diff.changes] == [
        ("spec.template.spec.containers[name=web].ports", [{"containerPort": 80}], ABSENT)
    ]


def test_label_keys_with_dots_are_quoted_in_paths() -> None:
    d = deployment()
    d["metadata"]["labels"]["app.kubernetes.io/name"] = "web"
    live = live_of(d)
    live["metadata"] = {**live["metadata"], "labels": {"app": "web", "app.kubernetes.io/name": "other"}}
    diff = diff_object(KEY, d, live)
    assert [c.path for c in diff.changes] == ['metadata.labels["app.kubernetes.io/name"]']


def test_missing_and_extraneous() -> None:
    assert diff_object(KEY, deployment(), None).status is DiffStatus.MISSING
    assert diff_object(KEY, None, live_of(deployment())).status is DiffStatus.EXTRANEOUS


def _secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}, **fields}


def test_secret_string_data_equals_data_and_values_are_masked() -> None:
    key = ObjectKey("", "Secret", "ns", "s")
    desired = _secret(stringData={"password": "hunter2-long"})
    live = _secret(data={"password": base64.b64encode(b"hunter2-long").decode()}, type="Opaque")
    assert diff_object(key, desired, live).status is DiffStatus.IN_SYNC

    live["data"]["password"] = base64.b64encode(b"changed-value").decode()
    diff = diff_object(key, desired, live)
    (change,) = diff.changes
    assert change.path == "data.password"
    assert change.desired != change.live
    text = repr(diff)
    for clear in (
        "hunter2-long",
        "changed-value",
        base64.b64encode(b"hunter2-long").decode(),
        live["data"]["password"],
    ):
        assert clear not in text


def test_unified_diff_live_to_git_and_masked() -> None:
    d = deployment()
    diff = diff_object(KEY, d, live_of(deployment(replicas=5)))
    assert diff.unified.startswith("--- live/Deployment/ns/web\n+++ git/Deployment/ns/web\n")
    assert "-  replicas: 5\n" in diff.unified and "+  replicas: 2\n" in diff.unified
    assert "revisionHistoryLimit" not in diff.unified  # only declared fields are shown
    assert diff_object(KEY, d, live_of(d)).unified == ""

    key = ObjectKey("", "Secret", "ns", "s")
    missing = diff_object(key, _secret(stringData={"password": "hunter2-long"}), None)
    assert missing.status is DiffStatus.MISSING and "+data:" in missing.unified
    extraneous = diff_object(key, None, _secret(data={"password": "aHVudGVyMi1sb25n"}))
    assert extraneous.status is DiffStatus.EXTRANEOUS and "-data:" in extraneous.unified
    for text in (missing.unified, extraneous.unified):
        assert "hunter2-long" not in text and "aHVudGVyMi1sb25n" not in text
