"""A sync whose new revision drops a container, a Service port and an env var, through
the agent's own pipeline (server-side apply, as Flux applies), against the real API
server and the emulated cluster: both succeed and leave the same objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agent.cluster.base import ClusterClient
from agent.config import parse_config
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from tests.support.differential import compare, deployment, normalized
from tests.support.repos import GitRepo


def _manifests(*, full: bool) -> list[dict[str, Any]]:
    web = deployment()
    main = {"name": "main", "image": "nginx:1.27", "ports": [{"containerPort": 80}, {"containerPort": 81}],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}  # fmt: skip
    containers = [main, {"name": "side", "image": "envoy:1"}]
    ports = [{"name": "http", "port": 80}, {"name": "admin", "port": 81}]
    if not full:
        main["ports"], main["env"], containers, ports = (
            main["ports"][:1],
            main["env"][:1],
            containers[:1],
            ports[:1],
        )
    web["spec"]["template"]["spec"]["containers"] = containers
    del web["metadata"]["namespace"]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": ports}}  # fmt: skip
    return [web, service]


def _synced(client: ClusterClient, tmp_path: Path, name: str) -> list[Any]:
    repo = GitRepo(tmp_path / f"repo-{name}")
    repo.write("app/all.yaml", yaml.safe_dump_all(_manifests(full=True)))
    repo.commit("full")
    app = {"name": "shop", "repo": str(repo.path), "path": "app", "namespace": "diff",
           "syncPolicy": {"createNamespace": True, "waitForHealth": False}}  # fmt: skip
    cfg = parse_config({"source": {"allowedSchemes": ["file"]}, "apps": [app]}, "agent.yaml", tmp_path / name)
    ctx = Context.create(cfg, client)
    first = reconcile(ctx, cfg.apps[0])
    assert first.ok, first
    repo.write("app/all.yaml", yaml.safe_dump_all(_manifests(full=False)))
    repo.commit("dropped")
    second = reconcile(ctx, cfg.apps[0])
    assert second.ok, second
    web = client.get("apps/v1", "Deployment", "web", "diff") or {}
    service = client.get("v1", "Service", "web", "diff") or {}
    containers = web["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main"] and [p["port"] for p in service["spec"]["ports"]] == [
        80
    ]
    drop = ("managedFields", "annotations", "labels")  # the sync's own marks carry times and revisions
    for obj in (web, service):
        for key in drop:
            obj["metadata"].pop(key, None)
    return [web["spec"], service["spec"]]


def test_a_revision_dropping_list_items_syncs_alike(
    clients: tuple[ClusterClient, ClusterClient], tmp_path: Path
) -> None:
    real, emulated = clients
    expected = normalized(_synced(real, tmp_path, "real"))
    got = normalized(_synced(emulated, tmp_path, "emulated"))
    for spec in (expected[1], got[1]):  # allocated addresses differ between any two clusters
        for key in ("clusterIP", "clusterIPs"):
            spec.pop(key, None)
    compare("sync-drops-items", expected, got)
