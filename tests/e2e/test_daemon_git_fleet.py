"""The daemon serves the apps Git declares: an app-of-apps' Application
documents and an AppSet's generated apps join, leave and stay under the
deletion budget as commits are pushed, without a restart.  ``gitops-agent
run`` as a subprocess, a smart-HTTP git server, webhooks, real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.emulator import EmulatedCluster
from tests.support.daemon import GH_SECRET, Daemon, configmaps_app, github_headers, github_push, start
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.waits import wait_for

pytestmark = pytest.mark.e2e

APPSET = """\
apiVersion: gitops-agent.io/v1alpha1
kind: AppSet
metadata: {name: services}
spec:
  generators:
    - gitDirectories: {directories: ["services/*"]}
  template:
    metadata: {name: "svc-{{ path.basename }}"}
    spec: {path: "{{ path.path }}", namespace: "svc-{{ path.basename }}", intervalSeconds: 3600}
"""


def application(name: str) -> str:
    return (
        "apiVersion: gitops-agent.io/v1alpha1\nkind: Application\n"
        f"metadata: {{name: {name}}}\n"
        f"spec: {{path: apps/{name}, namespace: {name}, intervalSeconds: 3600}}\n"
    )


def declare(up: Upstream, children: list[str], services: list[str]) -> str:
    """The fleet folder: an Application per child and the AppSet; a folder per service."""
    up.work.write("fleet/apps.yaml", "---\n".join([*(application(c) for c in children), APPSET]))
    for child in children:
        configmaps_app(up.work, 2, child, folder=f"apps/{child}", namespace=child)
    for gone in {p.parent.name for p in (up.work.path / "services").glob("*/objects.yaml")} - set(services):
        up.work.git("rm", "-rq", f"services/{gone}")
    for service in services:
        configmaps_app(up.work, 2, service, folder=f"services/{service}", namespace=f"svc-{service}")
    return up.push(f"children {children}, services {services}")


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    root = tmp_path / "srv"
    root.mkdir()
    server = SmartHttp(root)
    up = Upstream(tmp_path, server)
    configmaps_app(up.work, 2, "web")
    declare(up, ["alpha"], ["x", "y", "z"])
    yield up
    server.stop()


def apps(d: Daemon) -> dict[str, str]:
    """Each app the daemon serves, with its sync status."""
    return {a["name"]: a["syncStatus"] for a in d.json("/api/v1/apps")["apps"]}


def settings_in(tmp_path: Path, namespace: str) -> list[str]:
    cluster = EmulatedCluster(tmp_path / "cluster.db")
    try:
        return sorted(o["metadata"]["name"] for o in cluster.list("v1", "ConfigMap", namespace))
    finally:
        cluster.close()


def pushed(d: Daemon, up: Upstream) -> None:
    body = github_push(up.url)
    status, answer = d.post("/webhooks/github", body, github_headers(GH_SECRET, body))
    assert status == 202, answer


def test_apps_declared_in_git_join_leave_and_keep_to_the_budget(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    root = {"name": "root", "repo": upstream.url, "revision": "main", "path": "fleet"}
    root["intervalSeconds"] = 3600  # only webhooks move it
    d = start(tmp_path, upstream, apps=[root])
    daemons.append(d)
    everyone = {"web", "root", "alpha", "svc-x", "svc-y", "svc-z"}
    wait_for(lambda: apps(d).keys() == everyone, 90, "the apps Git declares to join")
    wait_for(lambda: set(apps(d).values()) == {"Synced"}, 90, "every app synced")
    assert settings_in(tmp_path, "alpha") == ["kube-root-ca.crt", "settings-0"]
    assert settings_in(tmp_path, "svc-z") == ["kube-root-ca.crt", "settings-0"]
    assert settings_in(tmp_path, "default") == ["kube-root-ca.crt"]  # the documents are never applied

    declare(upstream, ["beta"], ["x", "y", "z", "w"])  # alpha leaves, beta and a service folder join
    pushed(d, upstream)
    wait_for(lambda: apps(d).keys() == everyone - {"alpha"} | {"beta", "svc-w"}, 90, "the new fleet")
    wait_for(lambda: apps(d).get("beta") == "Synced" and apps(d).get("svc-w") == "Synced", 90, "new syncs")
    assert settings_in(tmp_path, "alpha") == ["kube-root-ca.crt", "settings-0"]  # orphaned, not deleted
    removed = {r["name"]: r["result"] for r in d.json("/api/v1/apps")["removed"]}
    assert removed == {"alpha": "orphaned"}

    declare(upstream, ["beta"], ["x"])  # three of four services would go: over the 50% budget
    pushed(d, upstream)
    wait_for(
        lambda: any("services" in p for p in d.json("/api/v1/apps")["problems"]), 90, "the budget's refusal"
    )
    (problem,) = [p for p in d.json("/api/v1/apps")["problems"] if "services" in p]
    assert problem.startswith("appset services: would remove 3 of its 4 apps (75%"), problem
    assert problem.endswith("nothing removed: svc-w, svc-y, svc-z"), problem
    assert {"svc-w", "svc-x", "svc-y", "svc-z"} <= apps(d).keys()  # nothing was removed
    assert d.proc.poll() is None
