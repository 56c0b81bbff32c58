"""The daemon over two emulated clusters (a database each) and one that
does not answer: each app is reconciled into its own cluster, the API and
the status page group the apps by cluster, an app's history is read from
its cluster's records, and ``/readyz`` waits for every cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.emulator import EmulatedCluster, write_kubeconfig
from tests.support.daemon import Daemon
from tests.support.net import closed_port, free_port
from tests.support.repos import GitRepo
from tests.support.waits import eventually

pytestmark = pytest.mark.e2e
APPS = {"web": "default", "api": "b", "lost": "gone"}


def _config(tmp_path: Path, repo: GitRepo) -> Path:
    for name in APPS:
        repo.write(f"{name}/ns.yaml", f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n")
    repo.commit("an app per cluster")
    gone = write_kubeconfig(tmp_path / "gone.kubeconfig", f"https://127.0.0.1:{closed_port()}", "never-shown")
    doc = {
        "source": {"allowedSchemes": ["file"]},
        "stateDir": "state",
        "daemon": {"port": free_port()},
        "cluster": {"emulated": {"path": "a.db", "timeFactor": 0.001}},
        "clusters": [
            {"name": "b", "labels": {"env": "staging"}, "emulated": {"path": "b.db", "timeFactor": 0.001}},
            {"name": "gone", "kubeconfig": {"path": str(gone)}},
        ],
        "apps": [
            {
                "name": name,
                "repo": str(repo.path),
                "path": name,
                "namespace": name,
                "destination": {"cluster": where},
                "intervalSeconds": 3600,
            }
            for name, where in APPS.items()
        ],
    }
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def _namespaces(db: Path) -> set[str]:
    cluster = EmulatedCluster(db)
    try:
        return {n["metadata"]["name"] for n in cluster.list("v1", "Namespace")} & set(APPS)
    finally:
        cluster.close()


def test_the_daemon_serves_each_app_from_its_cluster(tmp_path: Path, repo: GitRepo) -> None:
    config = _config(tmp_path, repo)
    daemon = Daemon(config, yaml.safe_load(config.read_text())["daemon"]["port"])
    try:

        def settled() -> list[dict[str, Any]] | None:
            status, body = daemon.get("/api/v1/apps")
            if status != 200:  # not listening yet
                return None
            apps: list[dict[str, Any]] = json.loads(body)["apps"]
            done = [a for a in apps if a["lastResult"] is not None]
            return apps if len(done) == len(APPS) else None

        apps = eventually(settled, 60)
        assert apps is not None, daemon.logs()[-3000:]
        found = {a["name"]: (a["cluster"], a["syncStatus"], a["health"]) for a in apps}
        assert found["web"] == ("default", "Synced", "Healthy")
        assert found["api"] == ("b", "Synced", "Healthy")
        assert found["lost"][:2] == ("gone", "Unknown")
        lost = next(a for a in apps if a["name"] == "lost")
        assert "cannot be reached" in lost["message"]

        # not ready while a cluster the apps go to has never answered
        status, body = daemon.get("/readyz")
        assert status == 503, body

        history = daemon.json("/api/v1/apps/api/history")  # from b's records
        assert [r["number"] for r in history["revisions"]] == [1]

        status, page = daemon.get("/")
        assert status == 200
        html = page.decode()
        for name in ("default", "b", "gone"):
            assert f'<tbody id="cluster-{name}" class="cluster">' in html
        assert html.index('id="cluster-default"') < html.index('id="app-web"') < html.index('id="cluster-b"')
        assert html.index('id="cluster-b"') < html.index('id="app-api"') < html.index('id="cluster-gone"')
        assert "env=staging" in html
        status, app_page = daemon.get("/apps/api")
        assert status == 200 and "<dt>Cluster</dt><dd>b</dd>" in app_page.decode()
        assert "never-shown" not in html + daemon.logs()
        assert "cluster gone not reachable yet" in daemon.logs()
        # the cluster as a series of its own: the other series keep their labels
        assert daemon.metric("gitops_agent_app_info", app="api", cluster="b") == 1
        assert daemon.metric("gitops_agent_cluster_reachable", cluster="b") == 1
        assert daemon.metric("gitops_agent_cluster_reachable", cluster="gone") == 0
        assert daemon.metric("gitops_agent_app_drifted_objects", app="api") == 0
        assert 'gitops_agent_app_drifted_objects{app="api"}' in daemon.get("/metrics")[1].decode()
    finally:
        code = daemon.stop()
    assert code == 0, daemon.logs()[-3000:]
    assert _namespaces(tmp_path / "a.db") == {"web"}
    assert _namespaces(tmp_path / "b.db") == {"api"}
