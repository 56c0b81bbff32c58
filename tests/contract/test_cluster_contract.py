"""The ClusterClient contract, run against every backend.

* ``emulated``: the in-process EmulatedCluster;
* ``kube-http``: ``agent.cluster.kube`` (the official ``kubernetes`` client,
  dynamic client) talking over HTTP to the emulator's REST server on
  127.0.0.1, with the kubeconfig the server writes;
* ``kube-real``: the same client against a real kube-apiserver and etcd
  (``tests/apiserver``, one per session, emptied before each test), the
  judge of what the other two must do.

A behaviour that differs between them is a bug in the emulator or in the
test. No controller-manager, scheduler or kubelet runs beside the real API
server, so the tests of what controllers do (rollouts, Jobs, claims, load
balancers, namespace deletion, garbage collection) run on the emulator's
backends only (the ``simulated`` fixture).
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from agent.kube.errors import AlreadyExists, Conflict, Invalid, NotFound
from tests.support import apiserver
from tests.support.crds import widget_crd
from tests.support.emulator import backend as served
from tests.support.emulator import ours
from tests.support.waits import eventually

REVISION = "deployment.kubernetes.io/revision"  # a Deployment's controller writes it (rollout history)


@pytest.fixture(params=["emulated", "kube-http", "kube-real"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClusterClient]:
    if request.param == "kube-real":
        server = request.getfixturevalue("real_server")
        apiserver.reset(server.kubeconfig)
        client = KubeCluster.from_kubeconfig(server.kubeconfig, discovery_cache=tmp_path / "discovery.json")
        try:
            yield client
        finally:
            client.close()
        return
    with served(tmp_path, request.param) as b:
        yield b.client


@pytest.fixture(params=["emulated", "kube-http"])
def simulated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClusterClient]:
    """The backends whose controllers run: the emulator's."""
    with served(tmp_path, request.param) as b:
        yield b.client


def emulator_differs(request: pytest.FixtureRequest, reason: str) -> None:
    """The real API server is the judge: where the emulator answers otherwise,
    its backends are expected to fail (strictly: a fix there makes them pass
    and this line must go). Fidelity fixes belong to the emulator."""
    if request.node.callspec.params.get("backend") != "kube-real":
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=f"emulator differs: {reason}"))


def ns(name: str = "app") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def cm(
    name: str, namespace: str = "app", labels: dict[str, str] | None = None, **data: str
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def deployment(name: str = "web", image: str = "nginx:1.27", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "app"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image, "ports": [{"containerPort": 80}]}]},
            },
            **spec,
        },
    }


def settled(
    read: Callable[[], dict[str, Any] | None], ok: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The object ``read`` returns once ``ok`` holds for it (bounded polling)."""

    def check() -> dict[str, Any] | None:
        obj = read() or {}
        return obj if obj and ok(obj) else None

    return eventually(check) or {}


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == type_), {})


# -- basics ------------------------------------------------------------------------------------
def test_create_get_list_delete(backend: ClusterClient) -> None:
    backend.create(ns())
    made = backend.create(cm("a", labels={"team": "x"}, k="v"))
    assert made["metadata"]["uid"] and int(made["metadata"]["resourceVersion"]) > 0
    got = backend.get("v1", "ConfigMap", "a", "app")
    assert got is not None and got["data"] == {"k": "v"}
    backend.create(cm("b"))
    assert [o["metadata"]["name"] for o in ours(backend.list("v1", "ConfigMap", "app"))] == ["a", "b"]
    assert [o["metadata"]["name"] for o in backend.list("v1", "ConfigMap", "", {"team": "x"})] == ["a"]
    backend.delete("v1", "ConfigMap", "a", "app")
    assert backend.get("v1", "ConfigMap", "a", "app") is None
    with pytest.raises(NotFound):
        backend.delete("v1", "ConfigMap", "a", "app")


def test_errors_are_the_api_servers(backend: ClusterClient) -> None:
    with pytest.raises(NotFound, match='namespaces "app" not found'):
        backend.create(cm("a"))
    backend.create(ns())
    backend.create(cm("a"))
    with pytest.raises(AlreadyExists) as exists:
        backend.create(cm("a"))
    assert exists.value.code == 409
    with pytest.raises(Invalid) as invalid:
        backend.create(cm("Not_Valid"))
    assert invalid.value.code == 422 and invalid.value.causes[0]["field"] == "metadata.name"
    with pytest.raises(NotFound):
        backend.resource_type("example.com/v1", "Widget")


def test_generate_name(backend: ClusterClient) -> None:
    backend.create(ns())
    made = backend.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x-", "namespace": "app"}}
    )
    assert made["metadata"]["name"].startswith("x-") and len(made["metadata"]["name"]) == 7


# -- like a real API server: defaults, canonical forms, validation ----------------------------------
def test_deployment_reads_back_with_defaults(backend: ClusterClient) -> None:
    backend.create(ns())
    backend.create(deployment())
    d = backend.get("apps/v1", "Deployment", "web", "app")
    assert d is not None
    spec = d["spec"]
    assert (
        spec["replicas"] == 1
        and spec["revisionHistoryLimit"] == 10
        and spec["progressDeadlineSeconds"] == 600
    )
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    pod = spec["template"]["spec"]
    assert (pod["restartPolicy"], pod["dnsPolicy"], pod["schedulerName"]) == (
        "Always",
        "ClusterFirst",
        "default-scheduler",
    )
    assert pod["terminationGracePeriodSeconds"] == 30 and pod["securityContext"] == {}
    c = pod["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent" and c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert (c["terminationMessagePath"], c["terminationMessagePolicy"]) == ("/dev/termination-log", "File")
    latest = backend.create(deployment("latest", image="nginx"))
    assert latest["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    assert d["metadata"]["generation"] == 1


def test_canonical_forms_secret_quantities_and_empties(backend: ClusterClient) -> None:
    backend.create(ns())
    s = backend.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "app"},
            "stringData": {"pw": "hunter2"},
        }
    )
    assert (
        s["data"] == {"pw": base64.b64encode(b"hunter2").decode()}
        and "stringData" not in s
        and s["type"] == "Opaque"
    )
    d = deployment()
    container = d["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"limits": {"cpu": 1.5, "memory": "1024Mi"}, "requests": {"cpu": "1000m"}}
    container["env"] = []
    d["metadata"]["annotations"] = {}
    backend.create(d)
    live = backend.get("apps/v1", "Deployment", "web", "app")
    assert live is not None
    live_container = live["spec"]["template"]["spec"]["containers"][0]
    assert live_container["resources"] == {
        "limits": {"cpu": "1500m", "memory": "1Gi"},
        "requests": {"cpu": "1"},
    }
    assert "env" not in live_container and not set(live["metadata"].get("annotations") or {}) - {REVISION}


def test_service_defaults_and_immutable_cluster_ip(backend: ClusterClient) -> None:
    backend.create(ns())
    svc = backend.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "app"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
    )
    spec = svc["spec"]
    assert (spec["type"], spec["sessionAffinity"]) == ("ClusterIP", "None")
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["clusterIP"].startswith("10.") and spec["clusterIPs"] == [spec["clusterIP"]]
    same = backend.replace({**svc, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    assert same["spec"]["clusterIP"] == spec["clusterIP"]  # kept when omitted, as the registry does
    changed = {**same, "spec": {**same["spec"], "clusterIP": "10.96.99.99", "clusterIPs": ["10.96.99.99"]}}
    with pytest.raises(Invalid) as e:
        backend.replace(changed)
    assert {c["field"] for c in e.value.causes} == {"spec.clusterIPs[0]"}
    assert "may not change once set" in str(e.value)


def test_invalid_objects_name_the_field(backend: ClusterClient) -> None:
    backend.create(ns())
    d = deployment()
    del d["spec"]["template"]["spec"]["containers"][0]["image"]
    with pytest.raises(Invalid) as missing:
        backend.create(d)
    assert missing.value.causes[0]["field"] == "spec.template.spec.containers[0].image"
    backend.create(deployment())
    live = backend.get("apps/v1", "Deployment", "web", "app")
    assert live is not None
    moved = {**live, "spec": {**live["spec"], "selector": {"matchLabels": {"app": "web", "x": "y"}}}}
    moved["spec"]["template"] = {**live["spec"]["template"], "metadata": {"labels": {"app": "web", "x": "y"}}}
    with pytest.raises(Invalid) as immutable:
        backend.replace(moved)
    assert immutable.value.causes[0]["field"] == "spec.selector" and "field is immutable" in str(
        immutable.value
    )
    assert backend.get("apps/v1", "Deployment", "web", "app") == backend.get(
        "apps/v1", "Deployment", "web", "app"
    )


def test_put_with_stale_resource_version_conflicts(backend: ClusterClient) -> None:
    backend.create(ns())
    first = backend.create(cm("a", k="1"))
    backend.replace({**first, "data": {"k": "2"}})
    with pytest.raises(Conflict, match="has been modified"):
        backend.replace({**first, "data": {"k": "3"}})
    live = backend.get("v1", "ConfigMap", "a", "app")
    assert live is not None and live["data"] == {"k": "2"}


def test_dry_run_changes_nothing(backend: ClusterClient) -> None:
    backend.create(ns())
    backend.create(cm("a", k="1"), dry_run=True)
    assert backend.get("v1", "ConfigMap", "a", "app") is None
    live = backend.create(cm("b", k="1"))
    backend.replace({**live, "data": {"k": "2"}}, dry_run=True)
    backend.patch("v1", "ConfigMap", "b", "app", {"data": {"k": "3"}}, dry_run=True)
    backend.delete("v1", "ConfigMap", "b", "app", dry_run=True)
    after = backend.get("v1", "ConfigMap", "b", "app")
    assert after is not None and after["data"] == {"k": "1"}
    assert after["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]


# -- patches and server-side apply ---------------------------------------------------------------------
def test_merge_and_json_patch(backend: ClusterClient) -> None:
    backend.create(ns())
    backend.create(cm("a", k="1", drop="x"))
    merged = backend.patch("v1", "ConfigMap", "a", "app", {"data": {"k": "2", "drop": None}})
    assert merged["data"] == {"k": "2"}
    patched = backend.patch(
        "v1", "ConfigMap", "a", "app", [{"op": "add", "path": "/data/n", "value": "3"}], patch_type="json"
    )
    assert patched["data"] == {"k": "2", "n": "3"}
    with pytest.raises(Invalid):
        backend.patch(
            "v1",
            "ConfigMap",
            "a",
            "app",
            [{"op": "test", "path": "/data/k", "value": "9"}],
            patch_type="json",
        )


def managers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{e['manager']}/{e['operation']}": e["fieldsV1"] for e in obj["metadata"].get("managedFields") or ()
    }


def test_server_side_apply_conflicts_force_and_managed_fields(backend: ClusterClient) -> None:
    backend.create(ns())
    mine = deployment(replicas=2)
    created = backend.apply(mine, field_manager="alice")
    assert created["spec"]["replicas"] == 2
    assert "f:replicas" in managers(created)["alice/Apply"]["f:spec"]
    theirs = deployment(replicas=5)
    with pytest.raises(Conflict) as e:
        backend.apply(theirs, field_manager="bob")
    assert (
        e.value.code == 409 and ".spec.replicas" in str(e.value) and 'conflict with "alice"' in str(e.value)
    )
    assert e.value.causes[0]["field"] == ".spec.replicas"
    taken = backend.apply(theirs, field_manager="bob", force=True)
    assert taken["spec"]["replicas"] == 5
    owners = managers(taken)
    assert (
        "f:replicas" in owners["bob/Apply"]["f:spec"] and "f:replicas" not in owners["alice/Apply"]["f:spec"]
    )
    assert 'k:{"name":"main"}' in owners["alice/Apply"]["f:spec"]["f:template"]["f:spec"]["f:containers"]


def test_apply_removes_fields_the_manager_dropped(backend: ClusterClient) -> None:
    backend.create(ns())
    labelled = cm("a", k="1")
    labelled["metadata"]["labels"] = {"keep": "1", "drop": "1"}
    backend.apply(labelled, field_manager="alice")
    backend.patch(
        "v1", "ConfigMap", "a", "app", {"metadata": {"labels": {"other": "1"}}}, field_manager="bob"
    )
    labelled["metadata"]["labels"] = {"keep": "1"}
    after = backend.apply(labelled, field_manager="alice")
    assert after["metadata"]["labels"] == {"keep": "1", "other": "1"}  # bob's label stays: he owns it
    updates = managers(after)["bob/Update"]
    assert updates == {"f:metadata": {"f:labels": {"f:other": {}}}}


def test_apply_merges_lists_by_their_keys(backend: ClusterClient) -> None:
    backend.create(ns())
    d = deployment()
    backend.apply(d, field_manager="alice")
    sidecar = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "app"},
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "envoy:1"}]}}},
    }
    merged = backend.apply(sidecar, field_manager="mesh")
    assert [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]] == ["main", "sidecar"]


def test_apply_removes_list_items_and_keys_the_manager_stopped_applying(backend: ClusterClient) -> None:
    backend.create(ns())
    two = deployment()
    containers = two["spec"]["template"]["spec"]["containers"]
    containers.append({"name": "sidecar", "image": "envoy:1"})
    two["metadata"]["annotations"] = {"keep": "1", "drop": "1"}
    backend.apply(two, field_manager="alice")
    one = deployment()
    one["metadata"]["annotations"] = {"keep": "1"}
    after = backend.apply(one, field_manager="alice")
    assert [c["name"] for c in after["spec"]["template"]["spec"]["containers"]] == ["main"]
    assert {k: v for k, v in after["metadata"]["annotations"].items() if k != REVISION} == {"keep": "1"}
    owned = managers(after)["alice/Apply"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(owned) == ['k:{"name":"main"}']


# -- status, finalizers, namespaces, garbage collection -------------------------------------------
def test_status_only_through_the_status_subresource(backend: ClusterClient) -> None:
    crd = widget_crd()
    backend.create(crd)
    eventually(lambda: condition(backend.get(*CRD_KEY) or {}, "Established").get("status") == "True")
    backend.create(ns())
    w = backend.create({**widget("w"), "status": {"phase": "ignored"}})
    assert "status" not in w
    replaced = backend.replace({**w, "status": {"phase": "also-ignored"}})
    assert "status" not in replaced
    done = backend.patch(
        "example.com/v1", "Widget", "w", "app", {"status": {"phase": "Ready"}}, subresource="status"
    )
    assert done["status"] == {"phase": "Ready"}
    assert done["metadata"]["generation"] == 1


def test_finalizers_hold_deletion(backend: ClusterClient) -> None:
    backend.create(ns())
    held = cm("a")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    backend.create(held)
    backend.delete("v1", "ConfigMap", "a", "app")
    marked = backend.get("v1", "ConfigMap", "a", "app")
    assert marked is not None and marked["metadata"]["deletionTimestamp"]
    with pytest.raises(Invalid, match="no new finalizers"):
        backend.patch(
            "v1", "ConfigMap", "a", "app", {"metadata": {"finalizers": ["example.com/hold", "more"]}}
        )
    backend.patch("v1", "ConfigMap", "a", "app", {"metadata": {"finalizers": None}})
    assert backend.get("v1", "ConfigMap", "a", "app") is None


def test_deleting_a_namespace_deletes_its_objects(simulated: ClusterClient) -> None:
    simulated.create(ns())
    simulated.create(cm("a"))
    simulated.delete("v1", "Namespace", "app")
    assert simulated.get("v1", "ConfigMap", "a", "app") is None
    assert simulated.get("v1", "Namespace", "app") is None


def test_owner_references_are_garbage_collected(simulated: ClusterClient) -> None:
    simulated.create(ns())
    owner = simulated.create(cm("owner"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    for name in ("child", "orphan"):
        c = cm(name)
        c["metadata"]["ownerReferences"] = [ref]
        simulated.create(c)
    simulated.delete("v1", "ConfigMap", "owner", "app")
    assert simulated.get("v1", "ConfigMap", "child", "app") is None
    second = simulated.create(cm("owner2"))
    kept = cm("kept")
    kept["metadata"]["ownerReferences"] = [{**ref, "name": "owner2", "uid": second["metadata"]["uid"]}]
    simulated.create(kept)
    simulated.delete("v1", "ConfigMap", "owner2", "app", propagation_policy="Orphan")
    after = simulated.get("v1", "ConfigMap", "kept", "app")
    assert after is not None and "ownerReferences" not in after["metadata"]
    assert simulated.get("v1", "ConfigMap", "owner2", "app") is None


# -- custom resources ---------------------------------------------------------------------------------
CRD_KEY = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com")


def widget(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "app"},
        "spec": {},
    }


def test_crd_serves_its_resource_until_deleted(backend: ClusterClient) -> None:
    backend.create(widget_crd())
    crd = settled(
        lambda: backend.get(*CRD_KEY), lambda o: bool(condition(o, "Established").get("status") == "True")
    )
    assert crd["spec"]["names"]["singular"] == "widget" and crd["status"]["storedVersions"] == ["v1"]
    backend.create(ns())
    w = backend.create({**widget("w"), "spec": {"unknown": "pruned"}})
    assert w["spec"] == {"size": 1}  # schema default applied, unknown field pruned
    assert w["metadata"]["generation"] == 1
    assert backend.resource_type("example.com/v1", "Widget").plural == "widgets"
    backend.delete(*CRD_KEY)

    def served() -> bool:  # the API server removes the instances, then the CRD and its endpoint
        try:
            backend.get("example.com/v1", "Widget", "w", "app") or backend.list(
                "example.com/v1", "Widget", "app"
            )
        except NotFound:
            return False
        return True

    assert eventually(lambda: not served(), timeout=30)


# -- simulated controllers and faults -----------------------------------------------------------------
def test_healthy_deployment_becomes_available(simulated: ClusterClient) -> None:
    simulated.create(ns())
    simulated.create(deployment(replicas=3))
    d = settled(
        lambda: simulated.get("apps/v1", "Deployment", "web", "app"),
        lambda o: bool(condition(o, "Available").get("status") == "True"),
    )
    assert d["status"]["observedGeneration"] == 1 and d["status"]["availableReplicas"] == 3
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


def test_unpullable_image_never_becomes_available(simulated: ClusterClient) -> None:
    simulated.create(ns())
    simulated.create(deployment(image="example.com/app:does-not-exist", progressDeadlineSeconds=60))

    def exceeded() -> dict[str, Any] | None:
        simulated.list("apps/v1", "Deployment", "app")  # any request lets due controller work run
        d = simulated.get("apps/v1", "Deployment", "web", "app") or {}
        return d if condition(d, "Progressing").get("reason") == "ProgressDeadlineExceeded" else None

    d = eventually(exceeded)
    assert d is not None and condition(d, "Progressing")["status"] == "False"
    assert condition(d, "Available")["status"] == "False" and "availableReplicas" not in d["status"]


def test_jobs_complete_claims_bind_load_balancers_get_an_ip(simulated: ClusterClient) -> None:
    simulated.create(ns())
    simulated.create(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once", "namespace": "app"},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}
                }
            },
        }
    )
    simulated.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "app"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    )
    # the default class (kind's "standard") binds a claim once a Pod uses it
    simulated.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "user", "namespace": "app"},
            "spec": {
                "containers": [{"name": "c", "image": "busybox:1"}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
            },
        }
    )
    simulated.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb", "namespace": "app"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
    )
    job = settled(
        lambda: simulated.get("batch/v1", "Job", "once", "app"),
        lambda o: bool(condition(o, "Complete").get("status") == "True"),
    )
    assert job["status"]["succeeded"] == 1
    pvc = settled(
        lambda: simulated.get("v1", "PersistentVolumeClaim", "data", "app"),
        lambda o: bool((o.get("status") or {}).get("phase") == "Bound"),
    )
    assert pvc["spec"]["volumeMode"] == "Filesystem" and pvc["spec"]["storageClassName"] == "standard"
    svc = settled(
        lambda: simulated.get("v1", "Service", "lb", "app"),
        lambda o: bool(((o.get("status") or {}).get("loadBalancer") or {}).get("ingress")),
    )
    assert svc["status"]["loadBalancer"]["ingress"][0]["ip"] and svc["spec"]["ports"][0]["nodePort"] >= 30000


def test_watch_sends_current_objects_then_changes(backend: ClusterClient) -> None:
    backend.create(ns())
    backend.create(cm("old", labels={"team": "a"}))
    backend.create(cm("other", labels={"team": "b"}))
    seen: list[tuple[str, str]] = []
    for kind, obj in backend.watch("v1", "ConfigMap", "app", {"team": "a"}, timeout=5):
        seen.append((kind, obj["metadata"]["name"]))
        if kind == "ADDED" and obj["metadata"]["name"] == "old":
            backend.create(cm("new", labels={"team": "a"}))
            backend.create(cm("unrelated", labels={"team": "b"}))
        if kind == "DELETED":
            break
        if obj["metadata"]["name"] == "new":
            backend.delete("v1", "ConfigMap", "new", "app")
    assert seen == [("ADDED", "old"), ("ADDED", "new"), ("DELETED", "new")]


def test_watch_follows_a_rollout_and_ends_at_its_timeout(simulated: ClusterClient) -> None:
    simulated.create(ns())
    simulated.create(deployment())
    available = None
    for _, obj in simulated.watch("apps/v1", "Deployment", "app", timeout=10):
        if (obj.get("status") or {}).get("availableReplicas") == 1:
            available = obj
            break
    assert available is not None and available["status"]["observedGeneration"] == 1
    started = time.monotonic()
    assert [k for k, o in simulated.watch("v1", "ConfigMap", "app", timeout=1) if ours([o])] == []
    assert time.monotonic() - started < 30  # a bound on waiting: the iterator does end


def test_server_info_names_the_version_and_served_apis(backend: ClusterClient) -> None:
    version, served = backend.server_info()
    assert re.match(r"v1\.\d+\.\d+", version) and backend.server_version() == version
    assert {"v1", "apps/v1", "apps/v1/Deployment", "v1/ConfigMap"} <= set(served)
    assert "apps/v1/deployments/scale" not in served
    backend.create(widget_crd())
    assert eventually(lambda: "example.com/v1/Widget" in backend.server_info()[1])
