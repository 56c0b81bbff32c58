"""A synced PersistentVolumeClaim is Healthy once the emulated cluster's PV controller binds
it: to a static volume synced beside it, or to one provisioned by the default class
(kind's ``standard``, WaitForFirstConsumer) once the app's Deployment mounts it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import AgentConfig, parse_config
from agent.emulator import EmulatedCluster, Options
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from tests.support.repos import GitRepo


def make(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> tuple[Context, AgentConfig]:
    app = {"name": "web", "repo": str(repo.path), "path": "app", "namespace": "web"}
    app["syncPolicy"] = {"createNamespace": True, "healthTimeoutSeconds": 30}
    cfg = parse_config({"source": {"allowedSchemes": ["file"]}, "apps": [app]}, "agent.yaml", tmp_path)
    return Context.create(cfg, cluster), cfg


def commit(repo: GitRepo, *objs: dict[str, Any]) -> None:
    repo.write("app/all.yaml", yaml.safe_dump_all(objs))
    repo.commit("change")


def deployment() -> dict[str, Any]:
    """One replica mounting the claim ``data``."""
    pod = {
        "containers": [
            {"name": "web", "image": "nginx:1.27", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
        ],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod},
        },
    }


@pytest.fixture
def fast_cluster(tmp_path: Path) -> Iterator[EmulatedCluster]:
    c = EmulatedCluster(tmp_path / "cluster.db", Options(time_factor=0.002))
    yield c
    c.close()


def claim(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec},
    }


def test_a_claim_mounted_by_the_apps_deployment_is_provisioned_and_healthy(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster
) -> None:
    commit(repo, claim(), deployment())
    ctx, cfg = make(tmp_path, repo, fast_cluster)
    result = reconcile(ctx, cfg.apps[0])
    assert result.ok, result.failure
    pvc = fast_cluster.get("v1", "PersistentVolumeClaim", "data", "web")
    assert pvc is not None and pvc["status"]["phase"] == "Bound"
    assert pvc["spec"]["storageClassName"] == "standard"
    pv = fast_cluster.get("v1", "PersistentVolume", pvc["spec"]["volumeName"])
    assert pv is not None and pv["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]
    (record,) = ctx.records().history("web")
    assert record.health == "Healthy"


def test_a_claim_binds_to_a_static_volume_synced_beside_it(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster
) -> None:
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "web-data"},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "",
            "hostPath": {"path": "/srv/web"},
        },
    }
    commit(repo, volume, claim(storageClassName="", volumeName="web-data"))
    ctx, cfg = make(tmp_path, repo, fast_cluster)
    result = reconcile(ctx, cfg.apps[0])
    assert result.ok, result.failure
    pvc = fast_cluster.get("v1", "PersistentVolumeClaim", "data", "web")
    assert pvc is not None and pvc["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "5Gi"},
    }
    (record,) = ctx.records().history("web")
    assert record.health == "Healthy"
