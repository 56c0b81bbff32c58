"""Three destinations in one configuration, through the command line: two
emulated clusters served over HTTPS (``default`` and ``b``) and the real
API server of the test suite (``real``).  Each app lands in its cluster and
nowhere else, its records are kept in that cluster's state namespace,
``status`` groups the apps by cluster, and a cluster that does not answer
fails only the apps that go to it (exit 5 when nothing else failed).

Syncs into the real server use ``waitForHealth: false`` (no controllers run
beside it); the apps are Namespaces and ConfigMaps, healthy once stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.emulator import EmulatedCluster, EmulatorServer, Options, write_kubeconfig
from tests.support import apiserver
from tests.support.apiserver import kubectl_json
from tests.support.commands import agent
from tests.support.net import closed_port
from tests.support.repos import GitRepo

pytestmark = pytest.mark.e2e
APPS = {"web": "default", "api": "b", "jobs": "real"}
RECORDS = {"default": "gitops-agent", "b": "gitops-agent", "real": "agent-records"}


@dataclass
class Clusters:
    config: Path
    emulated: dict[str, EmulatedCluster]  # the engines behind the two HTTPS servers
    real: apiserver.RealServer


def _app_repo(repo: GitRepo) -> None:
    for name in APPS:
        repo.write(
            f"{name}/objects.yaml",
            f"""
            apiVersion: v1
            kind: Namespace
            metadata: {{name: {name}}}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {{name: settings, namespace: {name}}}
            data: {{app: {name}}}
            """,
        )
    repo.commit("an app per cluster")


def _write(tmp_path: Path, repo: GitRepo, kubeconfigs: dict[str, Path], apps: dict[str, str]) -> Path:
    def cluster(name: str) -> dict[str, Any]:
        found: dict[str, Any] = {"kubeconfig": {"path": str(kubeconfigs[name])}}
        if name != "default":
            found["name"] = name
        if name in RECORDS and RECORDS[name] != "gitops-agent":
            found["stateNamespace"] = RECORDS[name]
        return found

    doc = {
        "source": {"allowedSchemes": ["file"]},
        "cluster": cluster("default"),
        "clusters": [{**cluster(n), "labels": {"tier": n}} for n in kubeconfigs if n != "default"],
        "apps": [
            {
                "name": name,
                "repo": str(repo.path),
                "path": name if name in APPS else "web",
                "namespace": name,
                "destination": {"cluster": where},
                # the cluster that never answers: asked once, not with the default retries
                "syncPolicy": {
                    "waitForHealth": where != "real",
                    "retry": {"attempts": 1 if where == "gone" else 5},
                },
            }
            for name, where in apps.items()
        ],
    }
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


@pytest.fixture
def clusters(tmp_path: Path, repo: GitRepo, real: apiserver.RealServer) -> Iterator[Clusters]:
    _app_repo(repo)
    engines = {n: EmulatedCluster(tmp_path / f"{n}.db", Options(time_factor=0.001)) for n in ("default", "b")}
    servers = {n: EmulatorServer(e, tls=True).start() for n, e in engines.items()}
    kubeconfigs = {n: s.write_kubeconfig(tmp_path / f"{n}.kubeconfig") for n, s in servers.items()}
    kubeconfigs["real"] = real.kubeconfig
    try:
        yield Clusters(_write(tmp_path, repo, kubeconfigs, APPS), engines, real)
    finally:
        for s in servers.values():
            s.stop()
        for e in engines.values():
            e.close()


def _namespaces(c: Clusters, where: str) -> set[str]:
    if where == "real":
        items = kubectl_json(c.real, "get", "namespaces")["items"]
    else:
        items = c.emulated[where].list("v1", "Namespace")
    return {n["metadata"]["name"] for n in items} & set(APPS)


def _records(c: Clusters, where: str) -> set[tuple[str, str]]:
    """(namespace, app) of each revision record in the cluster."""
    if where == "real":
        items = kubectl_json(c.real, "get", "secrets", "-A", "-l", "gitops-agent.io/record-of")["items"]
    else:
        items = [
            s
            for s in c.emulated[where].list("v1", "Secret")
            if "gitops-agent.io/record-of" in s["metadata"].get("labels", {})
        ]
    return {(s["metadata"]["namespace"], s["metadata"]["labels"]["gitops-agent.io/record-of"]) for s in items}


def test_each_app_lands_in_its_cluster_and_status_groups_them(clusters: Clusters) -> None:
    synced = agent("sync", "-c", str(clusters.config))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    for name in APPS:
        assert re.search(rf"^✔ {name}: 2 created", synced.stdout, re.MULTILINE), synced.stdout
    # the header names each cluster the apps go to (its server, never its token)
    assert re.search(r"^cluster default: context \S+, server https://127\.0\.0\.1:\d+$", synced.stderr, re.M)
    assert re.search(r"^cluster b: context \S+, server https://127\.0\.0\.1:\d+$", synced.stderr, re.M)
    assert re.search(r"^cluster real: context \S+, server https://", synced.stderr, re.M), synced.stderr
    for where in ("default", "b", "real"):
        assert _namespaces(clusters, where) == {n for n, w in APPS.items() if w == where}
        assert _records(clusters, where) == {(RECORDS[where], n) for n, w in APPS.items() if w == where}

    table = agent("status", "-c", str(clusters.config))
    assert table.returncode == 0, table.stdout + table.stderr
    rows = [line.split()[:4] for line in table.stdout.splitlines()]
    assert rows[0] == ["CLUSTER", "APP", "SYNC", "HEALTH"]
    assert rows[1:] == [
        ["default", "web", "Synced", "Healthy"],
        ["b", "api", "Synced", "Healthy"],
        ["real", "jobs", "Synced", "Healthy"],
    ]

    listed = agent("status", "-c", str(clusters.config), "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert {a["app"]: a["cluster"] for a in json.loads(listed.stdout)["apps"]} == APPS

    document = agent("status", "-c", str(clusters.config), "-o", "markdown")
    assert document.returncode == 0, document.stderr
    assert "| Cluster | App | Sync |" in document.stdout
    assert "| `b` | `api` | Synced | Healthy |" in document.stdout
    assert re.search(
        r"^Cluster: default: context .*; b: context .*; real: context .*$", document.stdout, re.M
    )

    one = agent("status", "-c", str(clusters.config), "api")  # only b is connected to
    assert one.returncode == 0, one.stderr
    assert "cluster b:" in one.stderr and "cluster default" not in one.stderr and "real" not in one.stderr
    assert one.stdout.split()[:2] == ["CLUSTER", "APP"]


def test_a_cluster_that_does_not_answer_fails_only_its_apps(
    tmp_path: Path, clusters: Clusters, repo: GitRepo
) -> None:
    gone = write_kubeconfig(
        tmp_path / "gone.kubeconfig", f"https://127.0.0.1:{closed_port()}", "token-never-shown"
    )
    kubeconfigs = {n: Path(tmp_path / f"{n}.kubeconfig") for n in ("default", "b")}
    kubeconfigs |= {"real": clusters.real.kubeconfig, "gone": gone}
    config = _write(tmp_path, repo, kubeconfigs, {**APPS, "lost": "gone"})
    synced = agent("sync", "-c", str(config))
    assert synced.returncode == 5, synced.stdout + synced.stderr
    for name in APPS:
        assert re.search(rf"^✔ {name}: 2 created", synced.stdout, re.MULTILINE), synced.stdout
    assert re.search(r"^error: lost: .*the cluster cannot be reached", synced.stdout, re.MULTILINE), (
        synced.stdout
    )
    assert "token-never-shown" not in synced.stdout + synced.stderr
    assert all("lost" not in _namespaces(clusters, w) for w in ("default", "b", "real"))

    status = agent("status", "-c", str(config), "-o", "json")
    assert status.returncode == 5, status.stderr
    found = {a["app"]: (a["cluster"], a["syncStatus"]) for a in json.loads(status.stdout)["apps"]}
    assert found == {
        "web": ("default", "Synced"),
        "api": ("b", "Synced"),
        "jobs": ("real", "Synced"),
        "lost": ("gone", "Unknown"),
    }


def test_a_cluster_whose_kubeconfig_is_missing_fails_only_its_apps(
    tmp_path: Path, clusters: Clusters, repo: GitRepo
) -> None:
    missing = tmp_path / "no-such.kubeconfig"
    kubeconfigs = {n: Path(tmp_path / f"{n}.kubeconfig") for n in ("default", "b")} | {"gone": missing}
    config = _write(tmp_path, repo, kubeconfigs, {"web": "default", "api": "b", "lost": "gone"})
    synced = agent("sync", "-c", str(config))
    assert synced.returncode == 3, synced.stdout + synced.stderr  # a configuration error, before any change
    assert f"cluster gone: cannot be used: {missing}" in synced.stderr
    assert re.search(r"^✔ web: 2 created", synced.stdout, re.MULTILINE), synced.stdout
    assert re.search(r"^✔ api: 2 created", synced.stdout, re.MULTILINE), synced.stdout
    assert re.search(rf"^error: lost: .*{re.escape(str(missing))}", synced.stdout, re.MULTILINE), (
        synced.stdout
    )


def test_the_global_cluster_options_choose_the_default_cluster_only(tmp_path: Path, repo: GitRepo) -> None:
    """``--kubeconfig`` (and ``--context``, ``--cluster``) replace ``cluster:``,
    the cluster named ``default``; the named clusters stay as written."""
    _app_repo(repo)
    engines = {n: EmulatedCluster(tmp_path / f"{n}.db", Options(time_factor=0.001)) for n in ("given", "b")}
    servers = {n: EmulatorServer(e, tls=True).start() for n, e in engines.items()}
    try:
        kubeconfigs = {n: s.write_kubeconfig(tmp_path / f"{n}.kubeconfig") for n, s in servers.items()}
        doc = {
            "source": {"allowedSchemes": ["file"]},
            "cluster": {"emulated": {"path": "written.db"}},
            "clusters": [{"name": "b", "kubeconfig": {"path": str(kubeconfigs["b"])}}],
            "apps": [
                {"name": n, "repo": str(repo.path), "path": n, "destination": {"cluster": c}}
                for n, c in (("web", "default"), ("api", "b"))
            ],
        }
        config = tmp_path / "agent.yaml"
        config.write_text(yaml.safe_dump(doc))
        synced = agent("--kubeconfig", str(kubeconfigs["given"]), "sync", "-c", str(config))
        assert synced.returncode == 0, synced.stdout + synced.stderr
        found = {
            n: {x["metadata"]["name"] for x in e.list("v1", "Namespace")} & set(APPS)
            for n, e in engines.items()
        }
        assert found == {"given": {"web"}, "b": {"api"}}
        assert not (tmp_path / "written.db").exists()  # the file's default cluster was never opened
    finally:
        for s in servers.values():
            s.stop()
        for e in engines.values():
            e.close()


def test_config_validate_names_each_cluster(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "b", "kubeconfig": {"context": "staging"}}],
                "apps": [
                    {
                        "name": "a",
                        "repo": "https://git.example.invalid/r.git",
                        "destination": {"cluster": "b"},
                    }
                ],
            }
        )
    )
    done = agent("config", "validate", str(config))
    assert done.returncode == 0, done.stderr
    assert "valid (1 apps: a; clusters: default (emulated), b (kubeconfig))" in done.stdout
