"""The embedded emulated cluster behaves like an API server towards clients."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.emulator import EmulatedCluster
from agent.kube.errors import AlreadyExists, BadRequest, Conflict, Invalid, NotFound
from tests.support.emulator import ours

POD_TEMPLATE = {
    "selector": {"matchLabels": {"app": "web"}},
    "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
    },
}


def ns(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def cm(name: str, namespace: str = "app", **data: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def test_create_sets_server_fields(cluster: EmulatedCluster) -> None:
    cluster.create(ns("app"))
    created = cluster.create(cm("a", x="1"))
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert "generation" not in meta  # as on a real API server, ConfigMaps keep no generation
    assert int(meta["resourceVersion"]) > 0
    assert cluster.get("v1", "ConfigMap", "a", "app") == created
    assert cluster.get("v1", "Namespace", "app")["status"] == {"phase": "Active"}


def test_resource_version_is_global_and_monotonic(cluster: EmulatedCluster) -> None:
    cluster.create(ns("app"))
    rvs = [int(cluster.create(cm(f"c{i}"))["metadata"]["resourceVersion"]) for i in range(5)]
    assert rvs == sorted(rvs) and len(set(rvs)) == 5


def test_namespaced_objects_need_their_namespace(cluster: EmulatedCluster) -> None:
    with pytest.raises(NotFound, match='namespaces "app" not found'):
        cluster.create(cm("a"))
    with pytest.raises(BadRequest):
        cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})


def test_duplicate_create_and_invalid_names(cluster: EmulatedCluster) -> None:
    cluster.create(ns("app"))
    cluster.create(cm("a"))
    with pytest.raises(AlreadyExists):
        cluster.create(cm("a"))
    with pytest.raises(Invalid, match="metadata.name"):
        cluster.create(cm("Not_Valid"))
    with pytest.raises(NotFound, match="could not find the requested resource"):
        cluster.create({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_generate_name(cluster: EmulatedCluster) -> None:
    cluster.create(ns("app"))
    made = cluster.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "job-", "namespace": "app"}}
    )
    assert made["metadata"]["name"].startswith("job-") and len(made["metadata"]["name"]) > 4


def test_update_precondition_generation_and_status(cluster: EmulatedCluster) -> None:
    cluster.create(ns("app"))
    d = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "app"},
        "spec": {"replicas": 1, **POD_TEMPLATE},
        "status": {"replicas": 99},
    }
    created = cluster.create(d)
    assert created["status"] == {}  # status only through the status subresource
    rv = created["metadata"]["resourceVersion"]
    live = cluster.get("apps/v1", "Deployment", "web", "app")  # the simulated controller wrote status

    labelled = {**live, "metadata": {**live["metadata"], "labels": {"a": "b"}}}
    after_meta = cluster.replace(labelled)
    assert after_meta["metadata"]["generation"] == 1  # metadata change: generation stays

    stale = {**created, "spec": {**created["spec"], "replicas": 2}}
    stale["metadata"] = {**created["metadata"], "resourceVersion": rv}
    with pytest.raises(Conflict, match="has been modified"):
        cluster.replace(stale)

    fresh = {**after_meta, "spec": {**after_meta["spec"], "replicas": 2}}
    updated = cluster.replace(fresh)
    assert updated["metadata"]["generation"] == 2
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert int(updated["metadata"]["resourceVersion"]) > int(rv)


def test_secret_string_data_is_folded(cluster: EmulatedCluster) -> None:
    cluster.create(ns("app"))
    s = cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "app"},
            "stringData": {"pw": "hunter2"},
        }
    )
    assert s["data"] == {"pw": "aHVudGVyMg=="} and "stringData" not in s and s["type"] == "Opaque"


def test_list_by_namespace_and_labels(cluster: EmulatedCluster) -> None:
    for n in ("a", "b"):
        cluster.create(ns(n))
    cluster.create({**cm("x", "a"), "metadata": {"name": "x", "namespace": "a", "labels": {"team": "t"}}})
    cluster.create(cm("y", "a"))
    cluster.create({**cm("z", "b"), "metadata": {"name": "z", "namespace": "b", "labels": {"team": "t"}}})
    names = lambda items: sorted(o["metadata"]["name"] for o in ours(items))  # noqa: E731
    assert names(cluster.list("v1", "ConfigMap")) == ["x", "y", "z"]
    assert names(cluster.list("v1", "ConfigMap", "a")) == ["x", "y"]
    assert names(cluster.list("v1", "ConfigMap", "", {"team": "t"})) == ["x", "z"]


def test_deleting_a_namespace_deletes_its_objects(cluster: EmulatedCluster) -> None:
    cluster.create(ns("app"))
    cluster.create(cm("a"))
    cluster.delete("v1", "Namespace", "app")
    assert cluster.get("v1", "ConfigMap", "a", "app") is None
    with pytest.raises(NotFound):
        cluster.delete("v1", "Namespace", "app")


def test_dry_run_changes_nothing(cluster: EmulatedCluster) -> None:
    cluster.create(ns("app"))
    cluster.create(cm("a"), dry_run=True)
    assert cluster.get("v1", "ConfigMap", "a", "app") is None
    live = cluster.create(cm("b", x="1"))
    cluster.replace({**live, "data": {"x": "2"}}, dry_run=True)
    cluster.delete("v1", "ConfigMap", "b", "app", dry_run=True)
    assert cluster.get("v1", "ConfigMap", "b", "app")["data"] == {"x": "1"}


def test_objects_survive_a_killed_process(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    script = (
        "import os; from agent.emulator import EmulatedCluster\n"
        f"c = EmulatedCluster({str(db)!r})\n"
        "c.create({'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'app'}})\n"
        "for i in range(50):\n"
        "    c.create({'apiVersion': 'v1', 'kind': 'ConfigMap',\n"
        "              'metadata': {'name': f'c{i}', 'namespace': 'app'}})\n"
        "os._exit(0)  # no close, no cleanup: as if killed\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    reopened = EmulatedCluster(db)
    try:
        listed = ours(reopened.list("v1", "ConfigMap", "app"))
        assert len(listed) == 50
        rv = int(
            reopened.create(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "next", "namespace": "app"}}
            )["metadata"]["resourceVersion"]
        )
        assert rv > max(int(o["metadata"]["resourceVersion"]) for o in listed)  # the counter survived
    finally:
        reopened.close()


def test_request_counters(cluster: EmulatedCluster) -> None:
    cluster.create(ns("app"))
    cluster.get("v1", "Namespace", "app")
    cluster.list("v1", "ConfigMap", "app")
    assert cluster.writes == 1
    assert cluster.requests["get"] == 1 and cluster.requests["list"] == 1
