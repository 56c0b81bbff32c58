"""The daemon follows ``agent.yaml`` while it runs: apps added, changed and
removed without a restart (removed: orphaned, or deleted with
``cascadeDelete``), and an invalid file keeps the running fleet and says
why.  ``gitops-agent run`` as a subprocess, a smart-HTTP git server, the
emulated cluster's file, real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.emulator import EmulatedCluster
from tests.support.daemon import GH_SECRET, Daemon, configmaps_app, github_headers, github_push, start
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.waits import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    root = tmp_path / "srv"
    root.mkdir()
    server = SmartHttp(root)
    up = Upstream(tmp_path, server)
    configmaps_app(up.work, 4, "web")  # app/: Namespace web, settings-0..2
    configmaps_app(up.work, 5, "other", folder="other", namespace="other")  # settings-0..3
    configmaps_app(up.work, 3, "moved", folder="moved", namespace="other")  # settings-0..1
    up.push("three folders")
    yield up
    server.stop()


def other_app(upstream: Upstream, **fields: Any) -> dict[str, Any]:
    return {
        "name": "other",
        "repo": upstream.url,
        "revision": "main",
        "path": "other",
        "namespace": "other",
        "intervalSeconds": 3600,
        **fields,
    }


def rewrite(d: Daemon, change: Any) -> None:
    """Edit agent.yaml as a person or a ConfigMap mount would: the whole
    file replaced at once.  ``change``: the new text, or a function that
    changes the parsed document."""
    if isinstance(change, str):
        text = change
    else:
        doc = yaml.safe_load(d.config.read_text())
        change(doc)
        text = yaml.safe_dump(doc, sort_keys=False)
    fresh = d.config.with_suffix(".new")
    fresh.write_text(text)
    os.replace(fresh, d.config)


def configmaps(tmp_path: Path, namespace: str) -> dict[str, str]:
    cluster = EmulatedCluster(tmp_path / "cluster.db")
    try:
        found = cluster.list("v1", "ConfigMap", namespace)
        return {
            o["metadata"]["name"]: o["data"]["value"] for o in found if "settings-" in o["metadata"]["name"]
        }
    finally:
        cluster.close()


def records_of(tmp_path: Path, app: str) -> int:
    cluster = EmulatedCluster(tmp_path / "cluster.db")
    try:
        return len(cluster.list("v1", "Secret", "gitops-agent", {"gitops-agent.io/record-of": app}))
    finally:
        cluster.close()


def synced(d: Daemon, *names: str) -> bool:
    apps = {a["name"]: a for a in d.json("/api/v1/apps")["apps"]}
    return all(n in apps and apps[n]["syncStatus"] == "Synced" for n in names)


def names(d: Daemon) -> list[str]:
    return [a["name"] for a in d.json("/api/v1/apps")["apps"]]


def test_an_app_added_to_agent_yaml_syncs_and_a_changed_path_brings_its_objects(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    d = start(tmp_path, upstream)
    daemons.append(d)
    wait_for(lambda: synced(d, "web"), 60, "the first sync")

    rewrite(d, lambda doc: doc["apps"].append(other_app(upstream)))
    wait_for(lambda: synced(d, "other"), 60, "the added app's sync")
    assert names(d) == ["web", "other"]
    assert configmaps(tmp_path, "other") == {f"settings-{i}": "other" for i in range(4)}
    assert d.metric("gitops_agent_app_sync_status", app="other", status="Synced") == 1

    rewrite(d, lambda doc: doc["apps"][1].update(path="moved"))  # its interval is an hour: no timer helps
    wait_for(lambda: configmaps(tmp_path, "other").get("settings-0") == "moved", 60, "the new path's sync")
    wait_for(lambda: synced(d, "other"), 60, "the new path synced")
    assert configmaps(tmp_path, "other") == {"settings-0": "moved", "settings-1": "moved"}  # 2, 3 pruned
    assert d.json("/api/v1/apps/other")["path"] == "moved"
    assert d.metric("gitops_agent_reconcile_total", app="web", trigger="schedule", result="synced") == 1
    assert d.proc.poll() is None
    fleet = [r for r in d.log_records() if r["stage"] == "fleet"]
    assert [(r["app"], r["message"].split(":")[0]) for r in fleet] == [
        ("other", "joined the fleet"),
        ("other", "definition changed (path)"),
    ]


def test_a_removed_app_is_orphaned_or_with_cascade_delete_deleted(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    d = start(tmp_path, upstream, apps=[other_app(upstream, cascadeDelete=True)])
    daemons.append(d)
    wait_for(lambda: synced(d, "web", "other"), 60, "the first syncs")
    assert records_of(tmp_path, "other") == 1

    rewrite(d, lambda doc: doc.update(apps=[{**doc["apps"][0], "name": "kept"}]))  # web and other leave
    wait_for(lambda: names(d) == ["kept"], 60, "the fleet to change")
    wait_for(lambda: configmaps(tmp_path, "other") == {}, 60, "the cascade deletion")
    assert configmaps(tmp_path, "web") == {f"settings-{i}": "web" for i in range(3)}  # web's objects stay
    assert d.get("/api/v1/apps/web")[0] == 404
    assert d.get("/apps/other")[0] == 404
    wait_for(lambda: records_of(tmp_path, "other") == 0, 30, "other's revision records to go")
    removed = {r["name"]: r for r in d.json("/api/v1/apps")["removed"]}
    assert removed["web"]["result"] == "orphaned" and removed["web"]["cascadeDelete"] is False
    assert removed["other"]["result"] == "deleted"
    assert removed["other"]["cascade"]["error"] == ""
    deleted = removed["other"]["cascade"]["deleted"]
    assert len(deleted) == 5 and deleted[-1] == "Namespace/other"  # the reverse of applying
    assert records_of(tmp_path, "web") == 1  # an orphan keeps its records
    assert d.metric("gitops_agent_app_sync_status", app="web", status="Synced") == 0  # its series are gone
    assert 'app="web"' not in d.get("/metrics")[1].decode()

    body = github_push(upstream.url)  # every app follows this repository: only the served one is asked
    status, answer = d.post("/webhooks/github", body, github_headers(GH_SECRET, body))
    assert (status, yaml.safe_load(answer)["apps"]) == (202, 1)
    cascade = [r for r in d.log_records() if r["stage"] == "cascade"]
    assert [r["app"] for r in cascade] == ["other"] and "deleted 5 object(s)" in cascade[0]["message"]


def test_an_invalid_agent_yaml_keeps_the_running_fleet_and_says_why(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    d = start(tmp_path, upstream)
    daemons.append(d)
    wait_for(lambda: synced(d, "web"), 60, "the first sync")
    first = d.config.read_text()

    def problems() -> list[str]:
        found: list[str] = d.json("/api/v1/apps")["problems"]
        return found

    rewrite(d, lambda doc: doc.update(apps=[{**doc["apps"][0], "intervalSeconds": 0}]))
    wait_for(problems, 30, "the problem to show")
    (problem,) = problems()
    assert problem == f"{d.config}: apps[0].intervalSeconds: must be > 0; the running fleet is kept"
    assert names(d) == ["web"] and synced(d, "web")
    assert "apps[0].intervalSeconds: must be &gt; 0" in d.get("/")[1].decode()  # the status page shows it
    errors = [r for r in d.log_records() if r["level"] == "error"]
    assert [r["stage"] for r in errors] == ["config"] and problem in errors[0]["message"]

    rewrite(d, "apps: [unclosed\n")
    wait_for(lambda: problems() != [problem], 30, "the next problem")
    (problem,) = problems()
    assert problem.startswith(f"{d.config}:2: invalid YAML")  # the file and the line
    assert names(d) == ["web"]
    assert configmaps(tmp_path, "web") == {f"settings-{i}": "web" for i in range(3)}

    fixed = yaml.safe_load(first)  # valid again, with a new app and a new port
    fixed["daemon"]["port"] = d.port + 1
    fixed["apps"].append(other_app(upstream))
    rewrite(d, yaml.safe_dump(fixed))
    wait_for(lambda: not problems(), 30, "the problem to clear")
    wait_for(lambda: synced(d, "other"), 60, "the new app's sync")  # answered on the port it started on
    warnings = [r["message"] for r in d.log_records() if r["level"] == "warning" and r["stage"] == "config"]
    assert (
        len(warnings) == 1 and "daemon.port changed; kept as running until the agent restarts" in warnings[0]
    )
    assert str(d.port + 1) not in warnings[0]  # settings are named, their values never written
    assert [r["level"] for r in d.log_records() if r["level"] == "error"] == ["error", "error"]
    assert d.proc.poll() is None
