"""The same requests, through the official client (``agent.cluster.kube``),
to the real API server (``tests/apiserver``) and to the emulated cluster's
REST server; the answers are compared after removing what legitimately
differs between any two clusters (uids, timestamps, resourceVersions,
allocated cluster IPs, generated names).

Every remaining difference is either fixed in the emulator or listed, with
its reason, in ``allowed.yaml`` beside this file: a difference not listed
fails, and so does a listed one that no longer occurs (the list only
shrinks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from tests.support.crds import widget_crd
from tests.support.differential import CRD_KEY, attempt, compare, deployment, normalized, ns
from tests.support.waits import eventually


def _create_builtins(c: ClusterClient) -> Any:
    c.create(ns())
    return [
        attempt(lambda: c.create(deployment())),
        attempt(
            lambda: c.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "cm", "namespace": "diff"},
                    "data": {"k": "v"},
                }
            )
        ),
        attempt(
            lambda: c.create(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "s", "namespace": "diff"},
                    "stringData": {"pw": "x"},
                }
            )
        ),
        attempt(
            lambda: c.create(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "svc", "namespace": "diff"},
                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
                }
            )
        ),
        attempt(
            lambda: c.create(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "sa", "namespace": "diff"},
                }
            )
        ),
    ]


def _validation_errors(c: ClusterClient) -> Any:
    c.create(ns())
    no_image = deployment()
    del no_image["spec"]["template"]["spec"]["containers"][0]["image"]
    bad_selector = deployment()
    bad_selector["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    numeric_port = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc", "namespace": "diff"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 443, "targetPort": "8443"}]},
    }
    return [
        attempt(
            lambda: c.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "Bad_Name", "namespace": "diff"},
                }
            )
        ),
        attempt(lambda: c.create(no_image)),
        attempt(lambda: c.create(bad_selector)),
        attempt(
            lambda: c.create(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "missing"}}
            )
        ),
        attempt(lambda: c.create(numeric_port)),
    ]


def _server_side_apply(c: ClusterClient) -> Any:
    c.create(ns())
    first = attempt(lambda: c.apply(deployment(), field_manager="alice"))
    theirs = deployment()
    theirs["spec"]["replicas"] = 3
    conflict = attempt(lambda: c.apply(theirs, field_manager="bob"))
    forced = attempt(lambda: c.apply(theirs, field_manager="bob", force=True))
    merged = attempt(
        lambda: c.patch(
            "apps/v1",
            "Deployment",
            "web",
            "diff",
            {"metadata": {"labels": {"x": "1"}}},
            field_manager="carol",
        )
    )
    return [first, conflict, forced, merged]


def _patches(c: ClusterClient) -> Any:
    c.create(ns())
    c.create(deployment())
    strategic = attempt(
        lambda: c.patch(
            "apps/v1",
            "Deployment",
            "web",
            "diff",
            {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "envoy:1"}]}}}},
            patch_type="strategic",
        )
    )
    json_patch = attempt(
        lambda: c.patch(
            "apps/v1",
            "Deployment",
            "web",
            "diff",
            [{"op": "replace", "path": "/spec/replicas", "value": 2}],
            patch_type="json",
        )
    )
    failed_test = attempt(
        lambda: c.patch(
            "apps/v1",
            "Deployment",
            "web",
            "diff",
            [{"op": "test", "path": "/spec/replicas", "value": 9}],
            patch_type="json",
        )
    )
    return [strategic, json_patch, failed_test]


def _custom_resources(c: ClusterClient) -> Any:
    crd = c.create(widget_crd())
    established = eventually(
        lambda: any(
            x["type"] == "Established" and x["status"] == "True"
            for x in ((c.get(*CRD_KEY) or {}).get("status") or {}).get("conditions") or ()
        ),
        timeout=30,
    )
    assert established, "the CRD was not established"
    c.create(ns())
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "diff"},
    }
    return [
        crd["spec"],
        attempt(lambda: c.create({**widget, "spec": {"unknown": "pruned"}})),
        attempt(
            lambda: c.create(
                {**widget, "metadata": {**widget["metadata"], "name": "bad"}, "spec": {"size": "big"}}
            )
        ),
        attempt(lambda: c.apply({**widget, "spec": {"size": 3}}, field_manager="alice")),
        attempt(
            lambda: c.patch(
                "example.com/v1", "Widget", "w", "diff", {"status": {"phase": "Ready"}}, subresource="status"
            )
        ),
    ]


def _watch_selector(c: ClusterClient) -> Any:
    """Events of a label-selector watch while an object enters and leaves it."""
    c.create(ns())

    def cm(team: str) -> dict[str, Any]:
        meta = {"name": "x", "namespace": "diff", "labels": {"team": team}}
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}

    c.create(cm("a"))
    steps = [
        lambda: c.patch("v1", "ConfigMap", "x", "diff", {"metadata": {"labels": {"team": "b"}}}),
        lambda: c.patch("v1", "ConfigMap", "x", "diff", {"metadata": {"labels": {"team": "a"}}}),
        lambda: c.delete("v1", "ConfigMap", "x", "diff"),
    ]
    events: list[tuple[str, str, str]] = []
    for kind, obj in c.watch("v1", "ConfigMap", "diff", {"team": "a"}, timeout=5):
        events.append((kind, obj["metadata"]["name"], (obj["metadata"].get("labels") or {}).get("team", "")))
        if not steps:
            break
        steps.pop(0)()
    return events


def _update_list_delete(c: ClusterClient) -> Any:
    """PUT, list pages through the official client's typed API, DELETE."""
    from kubernetes import client

    assert isinstance(c, KubeCluster)
    c.create(ns())
    made = [
        c.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": "diff"}}
        )
        for i in range(5)
    ]
    replaced = attempt(lambda: c.replace({**made[0], "data": {"k": "v"}}))
    stale = attempt(lambda: c.replace({**made[0], "data": {"k": "w"}}))
    core = client.CoreV1Api(c.api_client)
    pages, token = [], None
    while True:
        page = core.list_namespaced_config_map("diff", limit=2, _continue=token)
        pages.append(([i.metadata.name for i in page.items], page.metadata.remaining_item_count))
        token = page.metadata._continue
        if not token:
            break
    deleted = attempt(lambda: c.delete("v1", "ConfigMap", "cm-1", "diff"))
    again = attempt(lambda: c.delete("v1", "ConfigMap", "cm-1", "diff"))
    return [replaced, stale, pages, deleted, again]


def _paged_snapshot(c: ClusterClient) -> Any:
    """Later pages of a list show the objects as they were at its first page, whatever was
    changed, deleted or created meanwhile."""
    from kubernetes import client

    assert isinstance(c, KubeCluster)
    c.create(ns())

    def cm(name: str, value: str) -> dict[str, Any]:
        meta = {"name": name, "namespace": "diff", "labels": {"snap": "1"}}
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"v": value}}

    for name in ("cm-0", "cm-1", "cm-2", "cm-3", "cm-4"):
        c.create(cm(name, "old"))
    core = client.CoreV1Api(c.api_client)
    first = core.list_namespaced_config_map("diff", label_selector="snap=1", limit=2)
    c.replace(cm("cm-2", "new"))
    c.delete("v1", "ConfigMap", "cm-3", "diff")
    c.create(cm("cm-1a", "new"))
    pages, token = [first], first.metadata._continue
    while token:
        pages.append(
            core.list_namespaced_config_map("diff", label_selector="snap=1", limit=2, _continue=token)
        )
        token = pages[-1].metadata._continue
    same_version = {p.metadata.resource_version for p in pages} == {first.metadata.resource_version}
    return [[(i.metadata.name, i.data) for i in p.items] for p in pages], same_version


def _list_exact(c: ClusterClient) -> Any:
    """A list at an exact earlier resourceVersion (resourceVersionMatch=Exact), paged, and
    one at a version compacted away or not reached yet."""
    assert isinstance(c, KubeCluster)
    c.create(ns())
    listed = "/api/v1/namespaces/diff/configmaps?labelSelector=exact%3D1"
    path = listed + "&resourceVersionMatch=Exact"

    def cm(name: str, value: str) -> dict[str, Any]:
        meta = {"name": name, "namespace": "diff", "labels": {"exact": "1"}}
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"v": value}}

    for name in ("cm-0", "cm-1", "cm-2"):
        c.create(cm(name, "old"))
    then = c.transport.send("GET", listed)
    rv = then["metadata"]["resourceVersion"]
    c.replace(cm("cm-1", "new"))
    c.delete("v1", "ConfigMap", "cm-2", "diff")
    c.create(cm("cm-3", "new"))
    first = c.transport.send("GET", f"{path}&resourceVersion={rv}&limit=2")
    rest = c.transport.send("GET", f"{listed}&limit=2&continue={first['metadata']['continue']}")
    pages = [[(i["metadata"]["name"], i["data"]) for i in p["items"]] for p in (first, rest)]
    future = attempt(lambda: c.transport.send("GET", f"{path}&resourceVersion={int(rv) + 10**9}"))
    return pages, first["metadata"]["resourceVersion"] == rv, future


def _get(c: ClusterClient, path: str) -> Any:
    """A GET of a path of the API server, as JSON (discovery, OpenAPI)."""
    assert isinstance(c, KubeCluster)
    return c.transport.send("GET", path, content_type=None)


DISCOVERED = (
    "/api/v1",
    "/apis/apps/v1",
    "/apis/batch/v1",
    "/apis/networking.k8s.io/v1",
    "/apis/rbac.authorization.k8s.io/v1",
    "/apis/events.k8s.io/v1",
    "/apis/discovery.k8s.io/v1",
    "/apis/admissionregistration.k8s.io/v1",
    "/apis/apiregistration.k8s.io/v1",
    "/apis/node.k8s.io/v1",
    "/apis/storage.k8s.io/v1",
    "/apis/flowcontrol.apiserver.k8s.io/v1",
    "/apis/certificates.k8s.io/v1",
    "/apis/authorization.k8s.io/v1",
    "/apis/authentication.k8s.io/v1",
    "/apis/autoscaling/v2",
)


def _discovery(c: ClusterClient) -> Any:
    """What kubectl and the clients read before anything else: each group's
    preferred version, and per resource its kind, scope, verbs and short
    names.  The emulator serves the kinds an application uses, so the real
    server's lists are compared on the emulator's resources (a resource only
    the emulator has would show as a difference)."""
    groups = {g["name"]: g["preferredVersion"]["groupVersion"] for g in _get(c, "/apis")["groups"]}
    resources: dict[str, Any] = {}
    for path in DISCOVERED:
        for r in _get(c, path)["resources"]:
            resources[f"{path}/{r['name']}"] = {
                "kind": r["kind"],
                "namespaced": r["namespaced"],
                "verbs": sorted(r.get("verbs") or ()),
                "shortNames": sorted(r.get("shortNames") or ()),
            }
    return {"groups": groups, "resources": resources}


def _openapi(c: ClusterClient) -> Any:
    """The OpenAPI v3 document of apps/v1: its paths with their methods, and
    the kinds its schemas name (``x-kubernetes-group-version-kind``), as kubectl's
    validation and explain read them."""
    doc = _get(c, "/openapi/v3/apis/apps/v1")
    kinds = {
        name: sorted((g["group"], g["version"], g["kind"]) for g in schema["x-kubernetes-group-version-kind"])
        for name, schema in doc["components"]["schemas"].items()
        if "x-kubernetes-group-version-kind" in schema and name.startswith("io.k8s.api.apps.v1.")
    }
    methods = ("get", "put", "post", "delete", "patch")
    paths = {path: sorted(m for m in methods if m in ops) for path, ops in doc["paths"].items()}
    return {"paths": paths, "kinds": kinds}


SCENARIOS: dict[str, Callable[[ClusterClient], Any]] = {
    "update-list-delete": _update_list_delete,
    "paged-snapshot": _paged_snapshot,
    "list-exact": _list_exact,
    "watch-selector": _watch_selector,
    "custom-resources": _custom_resources,
    "create-builtins": _create_builtins,
    "validation-errors": _validation_errors,
    "server-side-apply": _server_side_apply,
    "patches": _patches,
    "discovery": _discovery,
    "openapi": _openapi,
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_emulator_answers_as_the_real_server(
    scenario: str, clients: tuple[ClusterClient, ClusterClient]
) -> None:
    real, emulated = clients
    expected = normalized(SCENARIOS[scenario](real))
    got = normalized(SCENARIOS[scenario](emulated))
    if scenario == "discovery":  # the emulator serves a subset: compared on what it serves
        expected = {part: {k: v for k, v in expected[part].items() if k in got[part]} for part in expected}
    compare(scenario, expected, got)
