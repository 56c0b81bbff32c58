"""Apps that leave a cluster as a user meets them: removed from ``agent.yaml``
while the daemon was stopped (deleted at the next start with
``cascadeDelete``, else left in place and reported as orphaned), and moved
to another cluster, while running or while stopped (the old cluster's
objects deleted only with ``cascadeDelete``; the new cluster gets a first
sync).  ``gitops-agent run`` as a subprocess over two emulated clusters (a
database each), a real git repository, real HTTP."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.emulator import EmulatedCluster
from tests.support import apiserver
from tests.support.daemon import Daemon, configmaps_app
from tests.support.net import free_port
from tests.support.repos import GitRepo
from tests.support.waits import wait_for

pytestmark = pytest.mark.e2e
FOLDERS = ("web", "gone", "left", "moved", "kept")


def _config(tmp_path: Path, repo: GitRepo, apps: dict[str, dict[str, Any]]) -> Path:
    for name in FOLDERS:
        configmaps_app(repo, 3, name, folder=name, namespace=name)  # Namespace NAME, settings-0..1
    repo.commit("an app per folder")
    doc = {
        "source": {"allowedSchemes": ["file"]},
        "stateDir": "state",
        "daemon": {"port": free_port(), "logFormat": "json"},
        "cluster": {"emulated": {"path": "a.db", "timeFactor": 0.001}},
        "clusters": [{"name": "b", "emulated": {"path": "b.db", "timeFactor": 0.001}}],
        "apps": [
            {"name": name, "repo": str(repo.path), "path": name, "namespace": name, "intervalSeconds": 3600}
            | fields
            for name, fields in apps.items()
        ],
    }
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def _run(config: Path, daemons: list[Daemon]) -> Daemon:
    d = Daemon(config, yaml.safe_load(config.read_text())["daemon"]["port"])
    daemons.append(d)
    d.wait_ready()
    return d


def _edit(config: Path, change: Any) -> None:
    doc = yaml.safe_load(config.read_text())
    change(doc)
    config.write_text(yaml.safe_dump(doc, sort_keys=False))


def live(tmp_path: Path, db: str, namespace: str) -> bool:
    cluster = EmulatedCluster(tmp_path / db)
    try:
        return cluster.get("v1", "ConfigMap", "settings-0", namespace) is not None
    finally:
        cluster.close()


def kept(tmp_path: Path, db: str) -> list[str]:
    """The apps whose last definitions the cluster keeps."""
    cluster = EmulatedCluster(tmp_path / db)
    try:
        found = cluster.get("v1", "ConfigMap", "gitops-agent.fleet", "gitops-agent")
    finally:
        cluster.close()
    if found is None:
        return []
    return sorted(
        a["name"] for a in json.loads(gzip.decompress(base64.b64decode(found["binaryData"]["apps.json.gz"])))
    )


def removals(d: Daemon) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in d.json("/api/v1/apps")["removed"]}


def test_apps_removed_or_moved_while_the_daemon_was_stopped(
    tmp_path: Path, repo: GitRepo, daemons: list[Daemon]
) -> None:
    cascade = {"cascadeDelete": True}
    config = _config(tmp_path, repo, {"web": {}, "gone": cascade, "left": {}, "moved": cascade, "kept": {}})
    d = _run(config, daemons)
    wait_for(lambda: kept(tmp_path, "a.db") == sorted(FOLDERS), 60, "cluster a to keep the apps' definitions")
    wait_for(lambda: all(live(tmp_path, "a.db", n) for n in FOLDERS), 60, "first syncs on a")
    assert d.stop() == 0

    def away(doc: dict[str, Any]) -> None:
        doc["apps"] = [a for a in doc["apps"] if a["name"] not in ("gone", "left")]
        for a in doc["apps"]:
            if a["name"] in ("moved", "kept"):
                a["destination"] = {"cluster": "b"}

    _edit(config, away)
    d = _run(config, daemons)
    wait_for(lambda: not live(tmp_path, "a.db", "gone"), 60, "gone's objects to be deleted at the start")
    wait_for(lambda: not live(tmp_path, "a.db", "moved"), 60, "moved's objects to leave cluster a")
    wait_for(
        lambda: live(tmp_path, "b.db", "moved") and live(tmp_path, "b.db", "kept"), 60, "first syncs on b"
    )
    assert live(tmp_path, "a.db", "left")  # no cascadeDelete: left in place
    assert live(tmp_path, "a.db", "kept")  # moved without cascadeDelete: left on a as well
    assert live(tmp_path, "a.db", "web")
    wait_for(lambda: kept(tmp_path, "a.db") == ["web"], 30, "cluster a to keep web alone")
    assert kept(tmp_path, "b.db") == ["kept", "moved"]
    found = removals(d)
    assert found["gone"]["result"] == "deleted" and found["gone"]["whileStopped"] is True
    assert found["gone"]["message"].startswith(
        "left the fleet while the agent was not running: its objects are deleted (cascadeDelete): "
        "deleted 3 object(s) and 1 revision record(s)"
    )
    assert found["left"]["result"] == "orphaned" and "movedTo" not in found["left"]
    assert (found["moved"]["movedTo"], found["moved"]["result"]) == ("b", "deleted")
    assert (found["kept"]["cluster"], found["kept"]["movedTo"], found["kept"]["result"]) == (
        "default",
        "b",
        "orphaned",
    )
    said = [r["message"] for r in d.log_records() if r.get("app") == "kept" and r.get("stage") == "fleet"]
    assert (
        "moved from cluster default to b while the agent was not running: its objects on default stay there, "
        "orphaned (cascadeDelete: true deletes them); it is synced to b afresh"
    ) in said
    assert [r["number"] for r in d.json("/api/v1/apps/moved/history")["revisions"]] == [
        1
    ]  # a first sync on b


def test_an_app_moved_to_another_cluster_while_running(
    tmp_path: Path, repo: GitRepo, daemons: list[Daemon]
) -> None:
    config = _config(tmp_path, repo, {"web": {"cascadeDelete": True}, "kept": {}})
    d = _run(config, daemons)
    wait_for(lambda: live(tmp_path, "a.db", "web") and live(tmp_path, "a.db", "kept"), 60, "first syncs on a")

    def move(doc: dict[str, Any]) -> None:
        for a in doc["apps"]:
            a["destination"] = {"cluster": "b"}

    _edit(config, move)
    wait_for(lambda: live(tmp_path, "b.db", "web") and live(tmp_path, "b.db", "kept"), 60, "first syncs on b")
    wait_for(
        lambda: not live(tmp_path, "a.db", "web"), 60, "web's objects to leave cluster a (cascadeDelete)"
    )
    assert live(tmp_path, "a.db", "kept")  # no cascadeDelete: left on a, and said so
    found = removals(d)
    assert (found["web"]["movedTo"], found["web"]["result"]) == ("b", "deleted")
    assert (found["kept"]["movedTo"], found["kept"]["result"]) == ("b", "orphaned")
    warned = [r for r in d.log_records() if r.get("app") == "kept" and r["level"] == "warning"]
    assert warned and warned[0]["message"].startswith(
        "moved from cluster default to b: its objects on default stay there, orphaned"
    )
    page = d.get("/")[1].decode()  # the status page says it too
    assert "moved from cluster default to b: its objects on default stay there, orphaned" in page
    apps = {a["name"]: a for a in d.json("/api/v1/apps")["apps"]}
    assert apps["web"]["cluster"] == "b" and apps["kept"]["cluster"] == "b"
    wait_for(lambda: kept(tmp_path, "b.db") == ["kept", "web"], 30, "cluster b to keep both definitions")
    assert kept(tmp_path, "a.db") == []


def _configmaps(repo: GitRepo, name: str) -> None:
    """An app of one ConfigMap in ``default`` (the real server runs no
    namespace controller to finish deleting a Namespace)."""
    repo.write(
        f"{name}/cm.yaml",
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}-settings, namespace: default}}\n"
        f"data: {{app: {name}}}\n",
    )


def test_the_real_server_as_the_cluster_left_while_the_daemon_was_stopped(
    tmp_path: Path, repo: GitRepo, daemons: list[Daemon], real_server: apiserver.RealServer
) -> None:
    """jobs (cascadeDelete) moves from the real API server to the emulated
    cluster and notes (no cascadeDelete) is removed, both while the daemon
    is stopped: at the next start jobs' ConfigMap leaves the real server,
    notes' stays and is reported orphaned."""
    apiserver.reset(real_server.kubeconfig)
    for name in ("jobs", "notes"):
        _configmaps(repo, name)
    repo.commit("two apps for the real server")
    real = {
        "destination": {"cluster": "real", "namespace": "default"},
        "syncPolicy": {"waitForHealth": False},
    }
    doc = {
        "source": {"allowedSchemes": ["file"]},
        "stateDir": "state",
        "daemon": {"port": free_port(), "logFormat": "json"},
        "cluster": {"emulated": {"path": "a.db", "timeFactor": 0.001}},
        "clusters": [{"name": "real", "kubeconfig": {"path": str(real_server.kubeconfig)}}],
        "apps": [
            {
                "name": "jobs",
                "repo": str(repo.path),
                "path": "jobs",
                "intervalSeconds": 3600,
                "cascadeDelete": True,
            }
            | real,
            {"name": "notes", "repo": str(repo.path), "path": "notes", "intervalSeconds": 3600} | real,
        ],
    }
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))

    def on_real() -> set[str]:
        items = apiserver.kubectl_json(real_server, "get", "configmaps", "-n", "default")["items"]
        return {c["metadata"]["name"] for c in items} & {"jobs-settings", "notes-settings"}

    d = _run(config, daemons)
    wait_for(
        lambda: on_real() == {"jobs-settings", "notes-settings"}, 60, "both apps synced to the real server"
    )

    def kept_there() -> set[str]:
        items = apiserver.kubectl_json(real_server, "get", "configmaps", "-n", "gitops-agent")["items"]
        return {c["metadata"]["name"] for c in items}

    wait_for(
        lambda: "gitops-agent.fleet" in kept_there(), 30, "the real server to keep the apps' definitions"
    )
    assert d.stop() == 0

    def away(doc: dict[str, Any]) -> None:
        doc["apps"] = [a for a in doc["apps"] if a["name"] == "jobs"]
        doc["apps"][0]["destination"] = {"cluster": "default", "namespace": "default"}

    _edit(config, away)
    d = _run(config, daemons)
    wait_for(lambda: on_real() == {"notes-settings"}, 60, "jobs' ConfigMap to leave the real server")
    cluster = EmulatedCluster(tmp_path / "a.db")
    try:
        wait_for(
            lambda: cluster.get("v1", "ConfigMap", "jobs-settings", "default") is not None, 60, "jobs on a"
        )
    finally:
        cluster.close()
    found = removals(d)
    assert (found["jobs"]["cluster"], found["jobs"]["movedTo"], found["jobs"]["result"]) == (
        "real",
        "default",
        "deleted",
    )
    assert (found["notes"]["result"], found["notes"]["whileStopped"]) == ("orphaned", True)
    assert (
        apiserver.kubectl_json(
            real_server, "get", "secrets", "-n", "gitops-agent", "-l", "gitops-agent.io/record-of=jobs"
        )["items"]
        == []
    )


CHILDREN = """\
apiVersion: gitops-agent.io/v1alpha1
kind: Application
metadata: {name: svc}
spec: {path: svc, namespace: svc, cascadeDelete: true, intervalSeconds: 3600}
---
apiVersion: gitops-agent.io/v1alpha1
kind: Application
metadata: {name: doc}
spec: {path: doc, namespace: doc, intervalSeconds: 3600}
"""


def test_apps_git_declared_removed_while_stopped_go_once_the_fleet_reads_whole(
    tmp_path: Path, repo: GitRepo, daemons: list[Daemon]
) -> None:
    """Removed from Git while the daemon was stopped: nothing is decided
    while the parent that declared them cannot be read (they may only be
    unknown), and once it reads without them, svc's objects (cascadeDelete)
    are deleted and doc's stay, reported as orphaned."""
    for name in ("svc", "doc"):
        configmaps_app(repo, 3, name, folder=name, namespace=name)
    repo.write("fleet/apps.yaml", CHILDREN)
    repo.commit("a parent and two children")
    doc = {
        "source": {"allowedSchemes": ["file"]},
        "stateDir": "state",
        "daemon": {"port": free_port(), "logFormat": "json"},
        "cluster": {"emulated": {"path": "a.db", "timeFactor": 0.001}},
        "apps": [
            {
                "name": "root",
                "repo": str(repo.path),
                "path": "fleet",
                "namespace": "default",
                "intervalSeconds": 3600,
            }
        ],
    }
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    d = _run(config, daemons)
    wait_for(
        lambda: live(tmp_path, "a.db", "svc") and live(tmp_path, "a.db", "doc"), 60, "the children synced"
    )
    wait_for(lambda: kept(tmp_path, "a.db") == ["doc", "root", "svc"], 30, "the cluster to keep all three")
    assert d.stop() == 0

    repo.write("fleet/apps.yaml", "kind: [not, a, document\n")  # the parent cannot be read at the next start
    repo.commit("broken")
    d = _run(config, daemons)
    wait_for(lambda: any("root" in p for p in d.json("/api/v1/apps")["problems"]), 60, "the parent's problem")
    assert live(tmp_path, "a.db", "svc") and live(tmp_path, "a.db", "doc")  # unknown is not removed
    assert kept(tmp_path, "a.db") == ["doc", "root", "svc"]
    assert removals(d) == {}
    assert d.stop() == 0

    repo.write("fleet/apps.yaml", "")  # now it reads: it declares no apps
    repo.commit("the children go")
    d = _run(config, daemons)
    wait_for(lambda: not live(tmp_path, "a.db", "svc"), 60, "svc's objects to be deleted")
    assert live(tmp_path, "a.db", "doc")
    found = removals(d)
    assert (found["svc"]["result"], found["doc"]["result"]) == ("deleted", "orphaned")
    wait_for(lambda: kept(tmp_path, "a.db") == ["root"], 30, "the cluster to keep root alone")
