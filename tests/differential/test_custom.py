"""Custom resources against the real API server and the emulator: the scale
subresource on the paths the CRD names (``kubectl scale``), a Scale write's
resourceVersion precondition, and the patch types the OpenAPI document offers
(``kubectl apply`` of an existing custom resource reads them)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from tests.support.crds import gadget_crd
from tests.support.differential import attempt, deployment, ns, scenario_test, status_of
from tests.support.waits import eventually

GADGET = "/apis/example.com/v1/namespaces/diff/gadgets/g"


def established(c: ClusterClient, crd: dict[str, Any]) -> None:
    c.create(crd)
    key = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd["metadata"]["name"])

    def ready() -> bool:
        conditions = ((c.get(*key) or {}).get("status") or {}).get("conditions") or ()
        return any(x["type"] == "Established" and x["status"] == "True" for x in conditions)

    assert eventually(ready, timeout=30), "the CRD was not established"


def _parts(scale: Any, *, controlled: bool = False) -> Any:
    """A Scale's kind, spec and status (the status replicas of a workload a controller
    runs are the emulator's simulated controller's, which the real server lacks)."""
    if "spec" not in scale:
        return scale
    status = dict(scale.get("status") or {})
    if controlled:
        status.pop("replicas", None)
    return [scale.get("kind"), scale.get("spec"), status]


def _scale(c: ClusterClient) -> Any:
    assert isinstance(c, KubeCluster)
    established(c, gadget_crd())
    c.create(ns())
    send = c.transport.send
    made = c.create(
        {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "diff"},
         "spec": {"size": 2}}
    )  # fmt: skip
    c.patch("example.com/v1", "Gadget", "g", "diff", {"status": {"count": 2, "selector": "app=g"}},
            subresource="status")  # fmt: skip
    first = send("GET", GADGET + "/scale")
    assert first is not None
    put = send("PUT", GADGET + "/scale", {**first, "spec": {"replicas": 5}})
    stale = status_of(lambda: send("PUT", GADGET + "/scale", {**first, "spec": {"replicas": 6}}))
    patched = send("PATCH", GADGET + "/scale", {"spec": {"replicas": 3}},
                   content_type="application/merge-patch+json")  # fmt: skip
    negative = status_of(lambda: send("PATCH", GADGET + "/scale", {"spec": {"replicas": -1}},
                                      content_type="application/merge-patch+json"))  # fmt: skip
    after = c.get("example.com/v1", "Gadget", "g", "diff") or {}
    c.create(deployment())
    web = "/apis/apps/v1/namespaces/diff/deployments/web/scale"
    web_scale = send("GET", web)
    assert web_scale is not None
    web_put = send("PUT", web, {**web_scale, "spec": {"replicas": 2}})
    web_stale = status_of(lambda: send("PUT", web, {**web_scale, "spec": {"replicas": 4}}))
    return [made["spec"], _parts(first), _parts(put), stale, _parts(patched), negative, after["spec"],
            _parts(web_scale, controlled=True), _parts(web_put, controlled=True), web_stale]  # fmt: skip


def _patch_types(c: ClusterClient) -> Any:
    """What kubectl's client-side apply reads to choose a patch for a custom resource."""
    assert isinstance(c, KubeCluster)
    established(c, gadget_crd())
    found: list[Any] = []

    def published() -> bool:  # the real server's OpenAPI controller publishes a new CRD shortly after
        found[:] = [attempt(lambda: c.transport.send("GET", "/openapi/v3/apis/example.com/v1"))]
        return "paths" in (found[0] or {})

    assert eventually(published, timeout=30), found
    doc = found[0]
    item = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/gadgets/{name}"]
    return sorted(item["patch"]["requestBody"]["content"])


BAD_SPECS: list[dict[str, Any]] = [
    {"size": "big"},
    {"color": "red"},
    {"size": 11, "color": "green"},
    {"size": -1},
    {"size": 1, "code": "ABCDEFG"},
    {"size": 1, "code": "abc1"},
    {"size": 1, "tags": ["a", "b", "a"]},
    {"size": 1, "ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]},
    {"size": 1, "min": 3, "max": 2},
    {"size": "big", "min": 3, "max": 2},
    {"size": 1, "min": 1, "max": 2, "tags": ["x"], "ports": [{"name": "a"}], "code": "ok", "color": "blue"},
]


def _validation(c: ClusterClient) -> Any:
    """Each bad spec, created: 422 with the causes and message the apiextensions server gives."""
    established(c, gadget_crd())
    c.create(ns())
    out = []
    for i, spec in enumerate(BAD_SPECS):
        meta = {"name": f"g{i}", "namespace": "diff"}
        body = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": meta, "spec": spec}
        answer = status_of(lambda body=body: c.create(body))
        out.append(answer.get("spec") if "kind" in answer else answer)
    return out


def _non_structural(c: ClusterClient) -> Any:
    """CRDs whose schemas are not structural: refused, naming the schema's nodes."""
    untyped = gadget_crd()
    schema = untyped["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    del schema["properties"]["spec"]["properties"]["size"]["type"]
    schema["properties"]["spec"]["properties"]["list"] = {"type": "array"}
    return [status_of(lambda: c.create(untyped))]


SCENARIOS = {
    "custom-non-structural": _non_structural,
    "custom-scale": _scale,
    "custom-patch-types": _patch_types,
    "custom-validation": _validation,
}
test_custom = pytest.mark.parametrize("scenario", sorted(SCENARIOS))(scenario_test(SCENARIOS))
