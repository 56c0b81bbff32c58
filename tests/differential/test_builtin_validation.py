"""Built-in kinds' validation against the real API server and the emulator: sizes
(annotations, ConfigMap and Secret data), Service names (DNS-1035), Secret data that
is not base64, a resourceVersion on create, duplicate keys under
``fieldValidation=Strict``, Pod fields that may not change, and a create body
without apiVersion and kind (the API server takes them from the URL)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from tests.support.differential import attempt, deployment, ns, raw, scenario_test, status_of

CMS = "/api/v1/namespaces/diff/configmaps"


def _body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _without_type(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


def _created(answer: Any) -> Any:
    """Whether it was made (a Service's managedFields differ for its allocated fields: known)."""
    return answer.get("kind", answer)


def _sizes_and_names(c: ClusterClient) -> Any:
    c.create(ns())
    big = "x" * (256 * 1024)
    meta = {"name": "a", "namespace": "diff", "annotations": {"big": big}}
    huge = {"k": "x" * (1024 * 1024)}
    return [
        status_of(lambda: c.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})),
        status_of(
            lambda: c.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "b", "namespace": "diff"},
                    "data": huge,
                }
            )
        ),
        status_of(
            lambda: c.create(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "c", "namespace": "diff"},
                    "stringData": huge,
                }
            )
        ),
        _created(
            status_of(
                lambda: c.create(
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {"name": "1web", "namespace": "diff"},
                        "spec": {"ports": [{"port": 80}]},
                    }
                )
            )
        ),
        status_of(
            lambda: c.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "Bad_Name", "namespace": "diff"},
                }
            )
        ),
    ]


def _bodies(c: ClusterClient) -> Any:
    c.create(ns())
    head = b'{"apiVersion":"v1","kind":"%s","metadata":{"name":"%s","namespace":"diff"},'
    secret = head % (b"Secret", b"s") + b'"data":{"k":"not*base64"}}'
    dup = head % (b"ConfigMap", b"d") + b'"data":{"a":"1","a":"2"}}'
    unknown = head % (b"ConfigMap", b"u") + b'"data":{"a":"1"},"spec":{"x":1}}'
    return [
        raw(c, "POST", "/api/v1/namespaces/diff/secrets", secret),
        raw(
            c,
            "POST",
            CMS,
            _body(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rv", "resourceVersion": "7"}}
            ),
        ),
        raw(c, "POST", CMS + "?fieldValidation=Strict", dup),
        raw(c, "POST", CMS + "?fieldValidation=Warn", dup.replace(b'"d"', b'"w"')),
        raw(c, "POST", CMS + "?fieldValidation=Strict", unknown),
        raw(c, "POST", CMS, _body({"metadata": {"name": "plain"}, "data": {"a": "1"}})),
        raw(c, "POST", "/apis/apps/v1/namespaces/diff/deployments", _body(_without_type(deployment()))),
    ]


def _first_lines(answer: Any) -> Any:
    """The refusal of a pod update ends with a diff of the Go structs (not simulated): cut off."""
    if "causes" in answer:
        answer["causes"] = [(f, r, m.split("\n")[0]) for f, r, m in answer["causes"]]
        answer["message"] = answer.get("message", "").split("\n")[0]
    return answer


def _pod_updates(c: ClusterClient) -> Any:
    c.create(ns())
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "diff"},
           "spec": {"containers": [{"name": "main", "image": "nginx:1"}]}}  # fmt: skip
    made = c.create(pod)
    image = {
        **made,
        "spec": {**made["spec"], "containers": [{**made["spec"]["containers"][0], "image": "nginx:2"}]},
    }
    changed_image = attempt(lambda: c.replace(image))
    fresh = c.get("v1", "Pod", "p", "diff") or {}
    other = {**fresh, "spec": {**fresh["spec"], "restartPolicy": "Never"}}
    return [
        changed_image.get("spec", {}).get("containers", [{}])[0].get("image"),
        _first_lines(status_of(lambda: c.replace(other))),
    ]


def _leases(c: ClusterClient) -> Any:
    """A Lease's times are MicroTime (RFC 3339 with six fraction digits) and its counts not negative."""
    c.create(ns())
    path = "/apis/coordination.k8s.io/v1/namespaces/diff/leases"

    def lease(name: str, **spec: Any) -> bytes:
        meta = {"name": name, "namespace": "diff"}
        return _body(
            {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}
        )

    good = "2026-12-08T01:02:03.123456Z"
    return [
        raw(c, "POST", path, lease("ok", holderIdentity="a", renewTime=good, leaseDurationSeconds=10)),
        raw(c, "POST", path, lease("offset", acquireTime="2026-12-08T01:02:03.123456+02:00")),
        raw(c, "POST", path, lease("word", renewTime="yesterday")),
        raw(c, "POST", path, lease("millis", renewTime="2026-12-08T01:02:03.123Z")),
        raw(c, "POST", path, lease("seconds", acquireTime="2026-12-08T01:02:03Z")),
        raw(c, "POST", path, lease("month", renewTime="2026-13-08T01:02:03.123456Z")),
        raw(c, "POST", path, lease("zero", leaseDurationSeconds=0)),
        raw(c, "POST", path, lease("negative", leaseDurationSeconds=-5, leaseTransitions=-1)),
    ]


SCENARIOS = {
    "builtin-sizes-names": _sizes_and_names,
    "builtin-bodies": _bodies,
    "builtin-pod-updates": _pod_updates,
    "builtin-leases": _leases,
}
test_builtin_validation = pytest.mark.parametrize("scenario", sorted(SCENARIOS))(scenario_test(SCENARIOS))
