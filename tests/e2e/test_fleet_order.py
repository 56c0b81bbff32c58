"""The order of a fleet as a user meets it: ``gitops-agent run`` holding an app
for its failing dependency and releasing it once fixed, honouring a
suspension and a deny window; ``gitops-agent sync`` in dependency order and
its refusals; a cycle refused at load time.  Real git over smart HTTP, the
emulated cluster's SQLite file shared by the daemon and the commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.emulator import EmulatedCluster
from tests.support import apiserver
from tests.support.daemon import (
    API_TOKEN,
    GH_SECRET,
    Daemon,
    configmaps_app,
    github_headers,
    github_push,
    start,
)
from tests.support.emulator import served_https
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.net import free_port
from tests.support.repos import GIT_ENV, GitRepo
from tests.support.waits import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def upstream(tmp_path: Path, server: SmartHttp) -> Upstream:
    up = Upstream(tmp_path, server)
    configmaps_app(up.work, 3, "one")
    up.push("one")
    return up


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[Path]:
    """The emulated cluster served over HTTPS; yields its kubeconfig (the
    daemon then reads through its shared, watch-fed view of the cluster)."""
    with served_https(tmp_path) as (_, kubeconfig):
        yield kubeconfig


def _db_deployment(image: str) -> dict[str, Any]:
    """A Deployment the emulated cluster rolls out, or marks Degraded
    (an image tagged ``does-not-exist`` cannot be pulled)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": 300,  # 3 s at the emulated cluster's time factor
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": image}]},
            },
        },
    }


def db_app(up: Upstream, image: str) -> dict[str, Any]:
    up.work.write("db/deployment.yaml", yaml.safe_dump(_db_deployment(image)))
    return {
        "name": "db",
        "repo": up.url,
        "revision": "main",
        "path": "db",
        "namespace": "db",
        "intervalSeconds": 3600,
        "syncPolicy": {"createNamespace": True},
    }


def live(tmp_path: Path, name: str = "settings-0", db: str = "cluster.db") -> str | None:
    cluster = EmulatedCluster(tmp_path / db)
    try:
        obj = cluster.get("v1", "ConfigMap", name, "web")
        return None if obj is None else obj["data"]["value"]
    finally:
        cluster.close()


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "API_TOKEN": API_TOKEN, "GH_SECRET": GH_SECRET}
    return subprocess.run(
        [sys.executable, "-m", "agent", "-q", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def push_webhook(d: Daemon, up: Upstream) -> None:
    body = github_push(up.url)
    status, answer = d.post("/webhooks/github", body, github_headers(GH_SECRET, body))
    assert status == 202, answer


def test_an_app_waits_for_its_failing_dependency_and_syncs_once_it_is_fixed(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    db = db_app(upstream, "nginx:does-not-exist")
    upstream.push("db cannot start")
    d = start(tmp_path, upstream, apps=[db], web={"dependsOn": ["db"]})
    daemons.append(d)

    def message() -> str:
        return str(d.json("/api/v1/apps/web")["message"])

    wait_for(lambda: message() == "Waiting for db: Degraded", 90, "web to wait for its Degraded dependency")
    web = d.json("/api/v1/apps/web")
    assert web["lastResult"]["outcome"] == "waiting"
    assert web["syncStatus"] == "OutOfSync"  # observed all the same: what it would change is reported
    assert live(tmp_path) is None  # nothing of web was applied
    assert "Waiting for db: Degraded" in d.get("/")[1].decode()  # the status page says it too

    db_app(upstream, "nginx:1.27")
    upstream.push("db fixed")
    auth = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    status, body = d.post("/api/v1/apps/db/sync", b"{}", auth)
    assert status == 200, body
    wait_for(lambda: live(tmp_path) == "one", 60, "web to sync once db is Healthy")
    wait_for(lambda: d.json("/api/v1/apps/web")["syncStatus"] == "Synced", 30, "web's status")
    assert d.json("/api/v1/apps/db")["health"] == "Healthy"
    assert d.json("/api/v1/apps/web")["message"] == ""


def test_a_suspended_app_is_not_reconciled_until_resumed(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon], api_server: Path
) -> None:
    d = start(tmp_path, upstream, kubeconfig=api_server)
    daemons.append(d)
    wait_for(lambda: live(tmp_path) == "one", 60, "the first sync")
    config = tmp_path / "agent.yaml"
    done = cli(config, "suspend", "web")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "web: suspended"

    def suspended_runs() -> float:
        return d.metric("gitops_agent_reconcile_total", app="web", trigger="webhook", result="suspended")

    def seen() -> bool:  # the daemon reads the cluster through a watch: a moment after the write
        push_webhook(d, upstream)  # a run; with nothing new, nothing to apply either way
        return bool(d.json("/api/v1/apps/web")["suspended"])

    wait_for(seen, 60, "the daemon to see the suspension", interval=0.5)
    configmaps_app(upstream.work, 3, "two")
    upstream.push("two")
    runs = suspended_runs()
    push_webhook(d, upstream)
    wait_for(lambda: suspended_runs() > runs, 60, "a run after the new commit")
    web = d.json("/api/v1/apps/web")
    assert web["lastResult"]["outcome"] == "suspended"
    assert web["message"].startswith("Suspended (gitops-agent suspend since ")
    assert live(tmp_path) == "one"  # the new commit was not applied
    assert '<span class="badge held">suspended</span>' in d.get("/")[1].decode()
    shown = cli(config, "status", "web")
    assert "Suspended (gitops-agent suspend since " in shown.stdout, shown.stdout

    refused = cli(config, "sync", "web")
    assert refused.returncode == 1
    assert "web: Suspended" in refused.stderr and "--ignore-suspend" in refused.stderr
    auth = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    status, body = d.post("/api/v1/apps/web/sync", b"{}", auth)
    assert status == 409 and json.loads(body)["outcome"] == "suspended", body
    assert live(tmp_path) == "one"

    done = cli(config, "resume", "web")
    assert done.returncode == 0 and done.stdout.strip() == "web: resumed", done.stderr

    def applied() -> bool:  # asked again until the daemon's watch has seen the resume
        push_webhook(d, upstream)
        return live(tmp_path) == "two"

    wait_for(applied, 60, "the sync after resume", interval=0.5)
    assert d.json("/api/v1/apps/web")["suspended"] is False


def test_a_deny_window_defers_the_daemons_sync_and_refuses_a_sync_by_hand(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    opened = datetime.now(UTC) - timedelta(minutes=1)  # open since a minute ago, for two hours
    window = {"kind": "deny", "schedule": f"{opened.minute} {opened.hour} * * *", "duration": "2h"}
    d = start(tmp_path, upstream, web={"syncWindows": [window]})
    daemons.append(d)
    wait_for(lambda: d.json("/api/v1/apps/web")["lastResult"] is not None, 60, "the first reconcile")
    web = d.json("/api/v1/apps/web")
    assert web["lastResult"]["outcome"] == "deferred"
    assert web["message"].startswith(
        f"Sync deferred by window deny '{window['schedule']}' for 2h (UTC) until "
    )
    assert web["syncStatus"] == "OutOfSync"  # the drift is still reported
    assert live(tmp_path) is None

    refused = cli(tmp_path / "agent.yaml", "sync", "web")
    assert refused.returncode == 1
    assert "web: Sync deferred by window deny" in refused.stderr and "manualSync" in refused.stderr
    assert live(tmp_path) is None
    shown = cli(tmp_path / "agent.yaml", "status", "-o", "json")
    (status,) = json.loads(shown.stdout)["apps"]
    assert status["message"].startswith("Sync deferred by window deny "), status


def test_sync_goes_in_dependency_order_and_skips_the_dependents_of_a_failed_app(
    tmp_path: Path, upstream: Upstream
) -> None:
    db = db_app(upstream, "nginx:does-not-exist")
    upstream.push("db cannot start")
    web = {"name": "web", "repo": upstream.url, "revision": "main", "path": "app", "dependsOn": ["db"]}
    doc = {"cluster": {"emulated": {"path": "cluster.db"}}, "source": {"allowedSchemes": ["http"]}}
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({**doc, "apps": [web, db]}))
    done = cli(config, "sync")
    assert done.returncode == 6, done.stderr  # db failed after changes began
    assert "web: Plan failed: not synced: it depends on db, which failed (Health failed: " in done.stdout
    assert live(tmp_path) is None
    shown = cli(config, "status", "-o", "json")
    assert shown.returncode == 1
    web_status = next(a for a in json.loads(shown.stdout)["apps"] if a["app"] == "web")
    # the stuck rollout reads Degraded, or Progressing again while a new process's controllers start
    assert re.fullmatch("Waiting for db: (Degraded|Progressing)", web_status["message"]), web_status
    alone = cli(config, "sync", "web")  # its dependency is read even when not synced with it
    assert alone.returncode == 3
    assert re.search(
        "web: Plan failed: not synced: it depends on db, which is (Degraded|Progressing)", alone.stdout
    )
    assert live(tmp_path) is None


def test_a_dependency_cycle_is_refused_at_load_time_naming_it(tmp_path: Path) -> None:
    apps = [
        {"name": "a", "repo": "https://example.invalid/r.git", "dependsOn": ["b"]},
        {"name": "b", "repo": "https://example.invalid/r.git", "dependsOn": ["a"]},
    ]
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({"apps": apps}))
    for command in (["status"], ["run"]):
        done = cli(config, *command)
        assert done.returncode == 3
        assert done.stderr.strip() == f"error: {config}: apps: dependsOn forms a cycle: a -> b -> a"


def test_a_suspension_is_kept_in_a_real_cluster_and_refuses_a_sync_until_resumed(
    tmp_path: Path, real: apiserver.RealServer
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write(
        "app/settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n"
    )
    repo.commit("one")
    web = {"name": "web", "repo": str(repo.path), "path": "app", "syncPolicy": {"waitForHealth": False}}
    doc = {"cluster": {"kubeconfig": {"path": str(real.kubeconfig)}}, "source": {"allowedSchemes": ["file"]}}
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({**doc, "apps": [web]}))

    done = cli(config, "suspend", "web")
    assert done.returncode == 0 and done.stdout.strip() == "web: suspended", done.stderr
    kept = apiserver.kubectl_json(real, "get", "configmap", "gitops-agent.suspend.web", "-n", "gitops-agent")
    assert kept["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gitops-agent"
    assert kept["data"]["app"] == "web"
    refused = cli(config, "sync", "web")
    assert refused.returncode == 1 and "web: Suspended" in refused.stderr, refused.stderr
    names = apiserver.kubectl_json(real, "get", "configmaps", "-n", "default")["items"]
    assert "settings" not in [c["metadata"]["name"] for c in names]

    assert cli(config, "resume", "web").stdout.strip() == "web: resumed"
    assert cli(config, "resume", "web").stdout.strip() == "web: was not suspended"
    synced = cli(config, "sync", "web")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert apiserver.kubectl_json(real, "get", "configmap", "settings", "-n", "default")["data"] == {"a": "1"}


def test_dependencies_and_suspensions_across_two_clusters(
    tmp_path: Path, repo: GitRepo, daemons: list[Daemon]
) -> None:
    """db goes to cluster b, web (waiting for it) to the default one: web is
    held while db is Degraded and synced once db is fixed; db's suspension
    is kept in b's state namespace, not in the default cluster's."""
    repo.write("db/deployment.yaml", yaml.safe_dump(_db_deployment("nginx:does-not-exist")))
    configmaps_app(repo, 3, "one", folder="app")
    repo.commit("db cannot start")
    port = free_port()
    token = "cross-cluster-token-1234"
    app = {"repo": str(repo.path), "intervalSeconds": 3600}
    doc = {
        "source": {"allowedSchemes": ["file"]},
        "stateDir": "state",
        "daemon": {"port": port, "apiToken": token},
        "cluster": {"emulated": {"path": "a.db"}},
        "clusters": [{"name": "b", "emulated": {"path": "b.db"}}],
        "apps": [
            {"name": "web", "path": "app", "namespace": "web", "dependsOn": ["db"], **app},
            {
                "name": "db",
                "path": "db",
                "namespace": "db",
                "destination": {"cluster": "b"},
                **app,
                "syncPolicy": {"createNamespace": True},
            },
        ],
    }
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    d = Daemon(config, port)
    daemons.append(d)
    d.wait_ready()

    def web() -> dict[str, Any]:
        return d.json("/api/v1/apps/web")

    wait_for(lambda: web()["message"] == "Waiting for db: Degraded", 90, "web to wait for db on cluster b")
    assert live(tmp_path, db="a.db") is None

    repo.write("db/deployment.yaml", yaml.safe_dump(_db_deployment("nginx:1.27")))
    repo.commit("db fixed")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, body = d.post("/api/v1/apps/db/sync", b"{}", auth)
    assert status == 200, body
    wait_for(lambda: live(tmp_path, db="a.db") == "one", 60, "web to sync once db is Healthy")

    assert cli(config, "suspend", "db").returncode == 0
    kept = {}
    for name in ("a.db", "b.db"):
        cluster = EmulatedCluster(tmp_path / name)
        try:
            kept[name] = cluster.get("v1", "ConfigMap", "gitops-agent.suspend.db", "gitops-agent") is not None
        finally:
            cluster.close()
    assert kept == {"a.db": False, "b.db": True}


def test_a_sync_asked_for_through_the_api_waits_for_dependencies_then_runs(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    """``POST …/sync`` of an app whose dependency is Degraded is held (202,
    ``Waiting for db: Degraded``), ``force`` included, and runs once the
    dependency is ready: web is report-only, so only the held sync applies it."""
    db = db_app(upstream, "nginx:does-not-exist")
    upstream.push("db cannot start")
    d = start(tmp_path, upstream, apps=[db], web={"dependsOn": ["db"], "syncPolicy": {"automated": False}})
    daemons.append(d)
    wait_for(lambda: d.json("/api/v1/apps/db")["health"] == "Degraded", 90, "db to be Degraded")
    auth = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    status, body = d.post("/api/v1/apps/web/sync", json.dumps({"force": True}).encode(), auth)
    answer = json.loads(body)
    assert status == 202, body
    assert answer["status"] == "waiting"
    assert answer["outcome"] == "waiting"
    assert answer["message"] == "Waiting for db: Degraded"
    assert live(tmp_path) is None  # held: nothing of web was applied
    assert d.json("/api/v1/apps/web")["message"] == "Waiting for db: Degraded"

    db_app(upstream, "nginx:1.27")
    upstream.push("db fixed")
    status, body = d.post("/api/v1/apps/db/sync", b"{}", auth)
    assert status == 200, body
    wait_for(lambda: live(tmp_path) == "one", 60, "the held sync of web to run once db is Healthy")
    last = d.json("/api/v1/apps/web")["lastResult"]
    assert last["trigger"] == "manual" and last["outcome"] == "synced"


def test_a_push_to_an_app_waiting_for_its_dependency_does_not_sync_it(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    """The webhook path is held like a scheduled run: the push's commit is
    observed, not synced."""
    db = db_app(upstream, "nginx:does-not-exist")
    upstream.push("db cannot start")
    d = start(tmp_path, upstream, apps=[db], web={"dependsOn": ["db"]})
    daemons.append(d)
    wait_for(lambda: d.json("/api/v1/apps/web")["message"] == "Waiting for db: Degraded", 90, "web to wait")
    first = d.json("/api/v1/apps/web")["revision"]["commit"]
    configmaps_app(upstream.work, 3, "two")
    upstream.push("two")
    push_webhook(d, upstream)
    # the push's run (or one a dependency's run woke: the same gate) sees the new commit
    wait_for(lambda: d.json("/api/v1/apps/web")["revision"]["commit"] != first, 60, "web to see the push")
    web = d.json("/api/v1/apps/web")
    assert web["lastResult"]["outcome"] == "waiting"
    assert web["message"] == "Waiting for db: Degraded"
    assert live(tmp_path) is None
