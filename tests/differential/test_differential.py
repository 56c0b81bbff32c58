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

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deepdiff import DeepDiff

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from agent.kube.errors import ClusterError
from tests.support import apiserver
from tests.support.crds import widget_crd
from tests.support.emulator import backend as served
from tests.support.waits import eventually

CRD_KEY = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com")

ALLOWED = Path(__file__).with_name("allowed.yaml")
VOLATILE_META = ("uid", "resourceVersion", "creationTimestamp", "generateName")


def allowed() -> list[dict[str, str]]:
    entries = yaml.safe_load(ALLOWED.read_text()) or []
    assert all(e.get("reason") for e in entries), f"{ALLOWED}: every entry needs a reason"
    return entries


def normalized(answer: Any) -> Any:
    """What any two clusters may answer differently, removed."""
    out = copy.deepcopy(answer)
    if isinstance(out, list):
        return [normalized(o) for o in out]
    if not isinstance(out, dict):
        return out
    if out.get("kind") == "Status":
        (out.get("details") or {}).pop("uid", None)
    meta = out.get("metadata") or {}
    for key in VOLATILE_META:
        meta.pop(key, None)
    # No controller runs beside the real server; the emulator's simulated
    # controllers write status (and own it in managedFields): not compared.
    out.pop("status", None)
    if "managedFields" in meta:
        meta["managedFields"] = [e for e in meta["managedFields"] if e.get("subresource") != "status"]
    for entry in meta.get("managedFields") or ():
        entry.pop("time", None)
    spec = out.get("spec") or {}
    if out.get("kind") == "Service":
        for key in ("clusterIP", "clusterIPs"):
            spec.pop(key, None)
    return out


def ns(name: str = "diff") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "diff", "labels": {"app": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "main", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]
                },
            },
        },
    }


def attempt(call: Callable[[], Any]) -> Any:
    """The answer, or the error as the API server's Status names it."""
    try:
        return call()
    except ClusterError as e:
        return {
            "code": e.code,
            "reason": e.reason,
            "causes": sorted(
                (c.get("field", ""), c.get("reason", "")) for c in (e.details.get("causes") or ())
            ),
        }


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
    "watch-selector": _watch_selector,
    "custom-resources": _custom_resources,
    "create-builtins": _create_builtins,
    "validation-errors": _validation_errors,
    "server-side-apply": _server_side_apply,
    "patches": _patches,
    "discovery": _discovery,
    "openapi": _openapi,
}


@pytest.fixture
def clients(
    real_server: apiserver.RealServer, tmp_path: Path
) -> Iterator[tuple[ClusterClient, ClusterClient]]:
    apiserver.reset(real_server.kubeconfig)
    real = KubeCluster.from_kubeconfig(real_server.kubeconfig, discovery_cache=tmp_path / "real.json")
    with served(tmp_path, "kube-http") as emulated:
        try:
            yield real, emulated.client
        finally:
            real.close()


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_emulator_answers_as_the_real_server(
    scenario: str, clients: tuple[ClusterClient, ClusterClient]
) -> None:
    real, emulated = clients
    expected = normalized(SCENARIOS[scenario](real))
    got = normalized(SCENARIOS[scenario](emulated))
    if scenario == "discovery":  # the emulator serves a subset: compared on what it serves
        expected = {part: {k: v for k, v in expected[part].items() if k in got[part]} for part in expected}
    diff = DeepDiff(expected, got, ignore_order=False, verbose_level=2)
    found = set(diff.affected_paths)
    entries = [e for e in allowed() if re.fullmatch(e["scenario"], scenario)]
    unlisted = sorted(p for p in found if not any(re.fullmatch(e["path"], p) for e in entries))
    assert not unlisted, (
        "the emulator differs from the real API server (fix it or list it in allowed.yaml):\n"
        + "\n".join(f"  {scenario} {p}: {_at(diff, p)}" for p in unlisted)
    )
    stale = [e["reason"] for e in entries if not any(re.fullmatch(e["path"], p) for p in found)]
    assert not stale, f"listed in allowed.yaml for {scenario} but no longer different: {stale}"


WORDS = {  # DeepDiff's change kinds, from the real answer to the emulator's
    "dictionary_item_removed": "only the real server has",
    "iterable_item_removed": "only the real server has",
    "dictionary_item_added": "only the emulator has",
    "iterable_item_added": "only the emulator has",
    "values_changed": "values differ (new: the emulator's)",
    "type_changes": "types differ (new: the emulator's)",
}


def _at(diff: DeepDiff, path: str) -> str:
    for kind, changes in diff.items():
        if isinstance(changes, dict) and path in changes:
            change = changes[path]
            if isinstance(change, dict) and "old_value" in change:
                return f"real {str(change['old_value'])[:200]}, emulator {str(change['new_value'])[:200]}"
            return f"{WORDS.get(kind, kind)} {str(change)[:300]}"
    return "?"
