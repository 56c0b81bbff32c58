"""Cascade deletion of an app that left the fleet: real git, the real sync,
against the embedded emulated cluster and the real API server of the test
suite.  What the last record lists is deleted, under the planner's guards;
the records go last."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from agent.config import parse_config
from agent.daemon.cascade import cascade_delete
from agent.emulator import EmulatedCluster
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from tests.support import apiserver
from tests.support.repos import GitRepo

OBJECTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {value: one}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: handed-over, namespace: shop}
data: {value: one}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: precious
  namespace: shop
  annotations: {gitops-agent.io/prune: disabled}
data: {value: one}
"""


@pytest.fixture(params=["emulated", "kube-real"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClusterClient]:
    if request.param == "kube-real":
        server = request.getfixturevalue("real_server")
        apiserver.reset(server.kubeconfig)
        client = KubeCluster.from_kubeconfig(server.kubeconfig, discovery_cache=tmp_path / "discovery.json")
        try:
            yield client
        finally:
            client.close()
        return
    c = EmulatedCluster(tmp_path / "cluster.db")
    yield c
    c.close()


def context(tmp_path: Path, cluster: ClusterClient) -> Context:
    repo = GitRepo(tmp_path / "repo")
    repo.write("shop/objects.yaml", OBJECTS)
    repo.commit("the shop")
    doc = {
        "source": {"allowedSchemes": ["file"]},
        "apps": [
            {
                "name": "shop",
                "repo": str(repo.path),
                "path": "shop",
                "namespace": "shop",
                "cascadeDelete": True,
                "syncPolicy": {"waitForHealth": False},
            }
        ],
    }
    return Context.create(parse_config(doc, "agent.yaml", tmp_path), cluster)


def records(cluster: ClusterClient) -> int:
    return len(cluster.list("v1", "Secret", "gitops-agent", {"gitops-agent.io/record-of": "shop"}))


def test_what_the_last_record_lists_is_deleted_under_the_prune_guards(
    tmp_path: Path, cluster: ClusterClient
) -> None:
    ctx = context(tmp_path, cluster)
    app = ctx.config.app("shop")
    assert reconcile(ctx, app).ok
    assert records(cluster) == 1
    owner = {"metadata": {"annotations": {"gitops-agent.io/owner": "gitops-agent/other-app"}}}
    cluster.patch("v1", "ConfigMap", "handed-over", "shop", owner)  # another app took it since

    done = cascade_delete(ctx, app)

    assert done.error == ""
    assert done.deleted == ("ConfigMap/shop/settings",)
    assert done.kept == (
        "ConfigMap/shop/precious (annotated gitops-agent.io/prune: disabled)",
        "Namespace/shop (holds objects that are kept)",  # deleting it would delete them too
    )
    assert done.records == 1 and records(cluster) == 0
    assert cluster.get("v1", "ConfigMap", "settings", "shop") is None
    assert cluster.get("v1", "ConfigMap", "precious", "shop") is not None
    assert cluster.get("v1", "ConfigMap", "handed-over", "shop") is not None  # not ours any more
    assert "deleted 1 object(s) and 1 revision record(s); kept 2" in done.summary()


def test_an_app_never_synced_has_nothing_to_delete(tmp_path: Path, cluster: ClusterClient) -> None:
    ctx = context(tmp_path, cluster)
    done = cascade_delete(ctx, ctx.config.app("shop"))
    assert (done.deleted, done.records, done.error) == ((), 0, "")
