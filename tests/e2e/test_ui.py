"""The app's page as a person uses it: ``gitops-agent run`` against the
emulated cluster over HTTPS, driven in headless Chromium (the DevTools
protocol): log in, read the resource tree, drift, history and events, open a
revision, press Sync and Rollback; at 1280 px and on a phone's viewport,
asserted on the DOM, with screenshots kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.emulator import EmulatedCluster
from tests.support.browser import CHROMIUM, SCREENSHOTS, Page
from tests.support.daemon import API_TOKEN, GH_SECRET, Daemon, github_headers, github_push, start
from tests.support.emulator import served_https
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.net import request
from tests.support.waits import wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (.ci/run installs it with apt-get as root)",
    ),
]
PASSWORD = "s3cr3t-ui-Pa55word"
APP = """\
apiVersion: v1
kind: Namespace
metadata: {{name: web}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: web}}
data: {{value: "{value}"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: web}}
stringData: {{password: "{password}"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: "registry.example.com/web:1.0"}}]
"""
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
# An app whose folder does not exist: its long error message must wrap on the status page.
BROKEN = {
    "name": "broken",
    "repo": "",  # set to the upstream's URL
    "revision": "main",
    "path": "apps/" + "a-folder-name-that-goes-on-and-on-" * 4 + "end",
    "namespace": "broken",
    "intervalSeconds": 3600,
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[EmulatedCluster, Path]]:
    with served_https(tmp_path) as served:
        yield served


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    root = tmp_path / "srv"
    root.mkdir()
    server = SmartHttp(root)
    up = Upstream(tmp_path, server)
    up.work.write("app/objects.yaml", APP.format(value="one", password=PASSWORD))
    up.push("one")
    yield up
    server.stop()


def api(d: Daemon, path: str) -> Any:
    status, body = request("GET", d.base + path, headers=AUTH)
    assert status == 200, (status, body)
    return json.loads(body)


def webhook(d: Daemon, up: Upstream) -> None:
    body = github_push(up.url)
    status, answer = d.post("/webhooks/github", body, github_headers(GH_SECRET, body))
    assert status == 202, answer


def controllers_and_events(cluster: EmulatedCluster) -> None:
    """What the cluster's controllers add: the emulated cluster's deployment
    controller makes the Deployment's ReplicaSet and its Pod; Events about
    them (and one about another object) are added here."""
    deploy = cluster.get("apps/v1", "Deployment", "web", "web")
    assert deploy is not None

    def children(api_version: str, kind: str, parent: dict[str, Any]) -> list[dict[str, Any]]:
        uid = parent["metadata"]["uid"]
        listed = cluster.list(api_version, kind, namespace="web")
        return [o for o in listed if any(r["uid"] == uid for r in o["metadata"].get("ownerReferences", []))]

    wait_for(lambda: children("apps/v1", "ReplicaSet", deploy), 30, "the Deployment's ReplicaSet")
    (rs,) = children("apps/v1", "ReplicaSet", deploy)
    wait_for(lambda: children("v1", "Pod", rs), 30, "the ReplicaSet's Pod")
    (pod,) = children("v1", "Pod", rs)
    rs_name, pod_name = rs["metadata"]["name"], pod["metadata"]["name"]
    for name, about, reason, message in (
        ("web.1", deploy, "ScalingReplicaSet", f"Scaled up replica set {rs_name} from 0 to 1"),
        (f"{pod_name}.1", pod, "BackOff", "Back-off pulling image registry.example.com/web:1.0"),
    ):
        meta = about["metadata"]
        cluster.create(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": name, "namespace": "web"},
                "involvedObject": {
                    "kind": about["kind"],
                    "name": meta["name"],
                    "namespace": "web",
                    "uid": meta["uid"],
                },
                "reason": reason,
                "message": message,
                "type": "Warning" if reason == "BackOff" else "Normal",
                "lastTimestamp": "2026-01-01T00:00:00Z",
                "source": {"component": "deployment-controller"},
            }
        )
    cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "elsewhere.1", "namespace": "web"},
            "involvedObject": {"kind": "Pod", "name": "elsewhere", "namespace": "web", "uid": "not-ours"},
            "reason": "NotAboutTheApp",
            "message": "an event about something else",
        }
    )


def login(page: Page, base: str, token: str) -> None:
    page.goto(base + "/apps/web")
    assert page.evaluate("location.pathname") == "/login"  # reading is guarded: the form first
    page.navigating(
        f"document.getElementById('token').value = {json.dumps(token)};"
        "document.querySelector('form.login').submit()"
    )


def text(page: Page, selector: str) -> str:
    return str(page.evaluate(f"document.querySelector({json.dumps(selector)}).innerText"))


def rows(page: Page, selector: str) -> list[str]:
    return list(
        page.evaluate(f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.innerText)")
    )


def no_horizontal_overflow(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _prepare(tmp_path: Path, upstream: Upstream, engine: tuple[EmulatedCluster, Path]) -> Daemon:
    """Two synced commits, drift by kubectl edit, controllers' children and events."""
    cluster, kubeconfig = engine
    d = start(
        tmp_path,
        upstream,
        daemon={"readToken": True},
        kubeconfig=kubeconfig,
        web={"syncPolicy": {"selfHeal": False}},
        apps=[{**BROKEN, "repo": upstream.url}],
    )
    first = upstream.work.git("rev-parse", "HEAD")
    wait_for(lambda: (api(d, "/api/v1/apps/web")["revision"] or {}).get("commit") == first, 60, "sync 1")
    upstream.work.write("app/objects.yaml", APP.format(value="two", password=PASSWORD))
    second = upstream.push("two")
    webhook(d, upstream)
    wait_for(lambda: (api(d, "/api/v1/apps/web")["revision"] or {}).get("commit") == second, 60, "sync 2")
    assert len(api(d, "/api/v1/apps/web/history")["revisions"]) == 2
    cluster.merge_patch(
        "v1", "ConfigMap", "settings", "web", {"data": {"value": "by-hand"}}, field_manager="kubectl-edit"
    )
    controllers_and_events(cluster)
    webhook(d, upstream)  # the same commit: the reconcile only reports the drift (selfHeal is off)
    wait_for(lambda: api(d, "/api/v1/apps/web")["drifted"] == 1, 60, "the drift to be seen")
    objects = {o["object"]: o for o in api(d, "/api/v1/apps/web")["objects"]}
    assert objects["ConfigMap/web/settings"]["status"] == "modified"
    assert objects["ConfigMap/web/settings"]["changedBy"] == "kubectl-edit"
    return d


def _logged_in_with_a_safe_cookie(page: Page, base: str) -> None:
    assert request("GET", base + "/api/v1/apps")[0] == 401  # reading needs the token
    login(page, base, "wrong-token")
    assert text(page, "#login-error") == "That token is not accepted."
    login(page, base, API_TOKEN)
    assert page.evaluate("location.pathname") == "/apps/web"
    cookies = page.send("Network.getCookies")["cookies"]
    (session,) = [c for c in cookies if c["name"] == "gitops_agent_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["session"]
    assert API_TOKEN not in session["value"]
    assert "gitops_agent_session" not in page.evaluate("document.cookie")  # no script can read it


def _tree_drift_history_events(page: Page) -> None:
    assert text(page, "#sync-status") == "OutOfSync"
    kinds = page.evaluate("[...document.querySelectorAll('#resources tbody.kind')].map(b => b.dataset.kind)")
    assert kinds == ["Namespace", "Secret", "ConfigMap", "Deployment"]  # the order a sync applies them
    tree = page.evaluate(
        "[...document.querySelectorAll('tbody[data-kind=Deployment] tr.object')]"
        ".map(r => [r.dataset.object, r.dataset.depth])"
    )
    (deployment, deployment_depth), (rs, rs_depth), (pod, pod_depth) = tree  # the controllers' children
    assert (deployment, deployment_depth, rs_depth, pod_depth) == ("Deployment/web/web", "0", "1", "2")
    assert rs.startswith("ReplicaSet/web/web-") and pod.startswith("Pod/web/" + rs.split("/")[2] + "-")
    settings = "#resources tr[data-object='ConfigMap/web/settings']"
    assert text(page, settings + " td.sync") == "modified"
    assert "kubectl-edit" in text(page, settings + " td.change")
    assert "built-in: exists" in text(page, settings + " td.health")
    assert text(page, "#resources tr[data-object='Secret/web/creds'] td.sync") == "in-sync"
    assert "kubectl-edit" in text(page, "#drift table")
    assert "-  value: by-hand" in text(page, "#drift pre.diff")
    assert [r.split("\t")[0] for r in rows(page, "#history tbody tr")] == ["2", "1"]
    events = "\n".join(rows(page, "#events tbody tr"))
    assert "ScalingReplicaSet" in events and "BackOff" in events and "NotAboutTheApp" not in events
    html = page.evaluate("document.documentElement.outerHTML")
    assert PASSWORD not in html and API_TOKEN not in html
    assert no_horizontal_overflow(page)


def _revision(page: Page) -> None:
    page.navigating("document.querySelector('#history a[href$=\"/revisions/2\"]').click()")
    assert page.evaluate("location.pathname") == "/apps/web/revisions/2"
    diff = text(page, "#diff")
    assert "-  value: one" in diff and "+  value: two" in diff
    manifests = text(page, "#manifests")
    assert "kind: Deployment" in manifests and PASSWORD not in manifests
    page.screenshot(SCREENSHOTS / "revision-page.png")


def _buttons(page: Page, d: Daemon, cluster: EmulatedCluster) -> None:
    page.goto(d.base + "/apps/web")
    page.navigating("document.getElementById('sync').click()")
    assert "Sync queued" in text(page, "#notice")
    wait_for(lambda: api(d, "/api/v1/apps/web")["drifted"] == 0, 60, "the sync by the button")
    assert api(d, "/api/v1/apps/web")["lastResult"]["trigger"] == "manual"

    page.goto(d.base + "/apps/web")
    page.navigating("document.getElementById('to').value = '1'; document.getElementById('rollback').click()")
    assert "Rollback queued" in text(page, "#notice")

    def live_value() -> str:
        obj = cluster.get("v1", "ConfigMap", "settings", "web")
        return "" if obj is None else str(obj["data"]["value"])

    wait_for(lambda: live_value() == "one", 60, "the rollback by the button")


def _status_page_fits(page: Page, base: str) -> None:
    page.goto(base + "/")
    wait_for(
        lambda: text(page, "#app-broken td.msg") or page.goto(base + "/"), 30, "the broken app's message"
    )
    assert "a-folder-name-that-goes-on-and-on" in text(page, "#app-broken td.msg")
    width = page.evaluate("window.innerWidth")
    assert width == 1280
    for cell in ("#app-broken td.msg", "#app-web td:nth-child(8)"):  # the message, and the links column
        right = page.evaluate(f"document.querySelector({cell!r}).getBoundingClientRect().right")
        assert right <= width, (cell, right)
    assert no_horizontal_overflow(page)
    page.screenshot(SCREENSHOTS / "status-page-1280.png")


def test_app_page_login_tree_drift_history_events_and_buttons(
    tmp_path: Path, upstream: Upstream, engine: tuple[EmulatedCluster, Path]
) -> None:
    d = _prepare(tmp_path, upstream, engine)
    page = Page(tmp_path / "chromium")
    try:
        _logged_in_with_a_safe_cookie(page, d.base)
        _status_page_fits(page, d.base)
        page.goto(d.base + "/apps/web")
        _tree_drift_history_events(page)
        page.screenshot(SCREENSHOTS / "app-page-1280.png")
        _revision(page)
        _buttons(page, d, engine[0])
    finally:
        page.close()
        d.stop()


def test_pages_on_a_phone_and_the_api_docs_offline(
    tmp_path: Path, upstream: Upstream, engine: tuple[EmulatedCluster, Path]
) -> None:
    d = _prepare(tmp_path, upstream, engine)
    page = Page(tmp_path / "phone", 390, 844, mobile=True)
    try:
        login(page, d.base, API_TOKEN)
        assert page.evaluate("window.innerWidth") == 390
        assert no_horizontal_overflow(page)
        assert page.evaluate("getComputedStyle(document.querySelector('#sync')).display") != "none"
        page.screenshot(SCREENSHOTS / "app-page-phone.png")
        page.goto(d.base + "/apps/web/revisions/2")
        assert "+  value: two" in text(page, "#diff")
        assert no_horizontal_overflow(page)
        page.goto(d.base + "/")
        assert no_horizontal_overflow(page)
        assert page.evaluate("document.querySelector('#app-web a').getAttribute('href')") == "/apps/web"
        page.screenshot(SCREENSHOTS / "status-page-phone.png")

        page.goto(d.base + "/docs")
        scripts = page.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)")
        assert scripts and all(s.startswith(d.base + "/") for s in scripts), scripts
        wait_for(
            lambda: page.evaluate(
                "(document.querySelector('.swagger-ui .info .title') || {}).innerText || ''"
            ).startswith("gitops-agent"),
            30,
            "Swagger UI to render the API",
        )
        assert page.evaluate("document.querySelectorAll('.opblock').length") >= 8
        page.screenshot(SCREENSHOTS / "api-docs-phone.png")
    finally:
        page.close()
        d.stop()
