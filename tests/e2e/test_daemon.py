"""``gitops-agent run`` as a user runs it: a subprocess against the emulated
cluster's SQLite file, a smart-HTTP git server on loopback, real HTTP."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from agent.emulator import EmulatedCluster
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
from tests.support.repos import write_config
from tests.support.waits import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def upstream(tmp_path: Path, server: SmartHttp) -> Upstream:
    up = Upstream(tmp_path, server)
    configmaps_app(up.work, 10, "one")
    up.push("one")
    return up


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[Path]:
    """The emulated cluster served over HTTPS (its REST API, as a real API
    server would be); yields the kubeconfig for it."""
    with served_https(tmp_path) as (_, kubeconfig):
        yield kubeconfig


def revision_of(d: Daemon, app: str = "web") -> str | None:
    doc = d.json(f"/api/v1/apps/{app}")
    rev = doc.get("revision") or {}
    return rev.get("commit") if doc["syncStatus"] == "Synced" else None


def live(tmp_path: Path, name: str = "settings-0") -> str | None:
    cluster = EmulatedCluster(tmp_path / "cluster.db")
    try:
        obj = cluster.get("v1", "ConfigMap", name, "web")
        return None if obj is None else obj["data"]["value"]
    finally:
        cluster.close()


def test_push_then_signed_webhook_converges_and_status_reports_it(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon], api_server: Path
) -> None:
    d = start(tmp_path, upstream, kubeconfig=api_server)  # the cluster over HTTPS, through kube.py
    daemons.append(d)
    first = upstream.work.git("rev-parse", "HEAD")
    wait_for(lambda: revision_of(d) == first, 60, "the first sync")
    assert live(tmp_path) == "one"

    configmaps_app(upstream.work, 10, "two")
    second = upstream.push("two")
    body = github_push(upstream.url)
    status, answer = d.post("/webhooks/github", body, github_headers(GH_SECRET, body))
    assert status == 202, answer
    wait_for(lambda: revision_of(d) == second, 60, "the webhook's sync")
    assert all(live(tmp_path, f"settings-{i}") == "two" for i in range(9))

    app = d.json("/api/v1/apps/web")
    assert app["health"] == "Healthy"
    assert app["lastResult"]["trigger"] == "webhook"
    assert app["lastResult"]["outcome"] == "synced"
    assert app["drift"]["drifted"] == 0
    assert [a["name"] for a in d.json("/api/v1/apps")["apps"]] == ["web"]
    history = d.json("/api/v1/apps/web/history")["revisions"]
    assert [(r["commit"], r["trigger"]) for r in history] == [(first, "schedule"), (second, "webhook")]
    assert d.metric("gitops_agent_reconcile_total", app="web", trigger="webhook", result="synced") == 1
    assert d.metric("gitops_agent_webhook_requests_total", provider="github", result="accepted") == 1
    assert d.metric("gitops_agent_app_sync_status", app="web", status="Synced") == 1
    assert d.metric("gitops_agent_git_fetch_duration_seconds_count") >= 2

    # every log line names app, revision and stage; a sync line names the commit
    records = d.log_records()
    assert records and all({"app", "revision", "stage"} <= r.keys() for r in records)
    assert any(
        r["app"] == "web" and r["revision"] == second[:12] and r.get("trigger") == "webhook" for r in records
    )
    assert GH_SECRET not in d.logs() and API_TOKEN not in d.logs()


def test_refused_webhooks_cause_no_reconcile(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    d = start(tmp_path, upstream)
    daemons.append(d)
    wait_for(lambda: revision_of(d) is not None, 60, "the first sync")
    configmaps_app(upstream.work, 10, "two")
    upstream.push("two")
    body = github_push(upstream.url)

    wrong = d.post("/webhooks/github", body, github_headers("not-the-secret", body))
    unsigned = d.post("/webhooks/github", body, {"X-GitHub-Event": "push"})
    big = b'{"x": "' + b"a" * (1024 * 1024 + 1) + b'"}'
    oversized = d.post("/webhooks/github", big, github_headers(GH_SECRET, big))
    junk = b'{"ref": "refs/heads/main", "repository": '
    malformed = d.post("/webhooks/github", junk, github_headers(GH_SECRET, junk))
    unknown = d.post("/webhooks/svn", body)
    ping = d.post("/webhooks/github", b"{}", github_headers(GH_SECRET, b"{}", event="ping"))

    assert wrong[0] == unsigned[0] == 401
    assert oversized[0] == 413
    assert malformed[0] == 400
    assert b"refs/heads" not in malformed[1] and b"Traceback" not in malformed[1]
    assert unknown[0] == 404
    assert ping[0] == 200
    assert d.metric("gitops_agent_reconcile_total", app="web", trigger="webhook", result="synced") == 0
    assert live(tmp_path) == "one"
    assert d.metric("gitops_agent_webhook_requests_total", provider="github", result="unauthorized") == 2
    assert d.metric("gitops_agent_webhook_requests_total", provider="github", result="too-large") == 1
    assert d.metric("gitops_agent_webhook_requests_total", provider="github", result="malformed") == 1
    assert "Traceback" not in d.logs()


def test_webhook_flood_one_reconcile_per_window_and_503_when_the_queue_is_full(
    tmp_path: Path, server: SmartHttp, upstream: Upstream, daemons: list[Daemon]
) -> None:
    other = Upstream(tmp_path, server, "other.git")
    configmaps_app(other.work, 2, "x", namespace="other")
    other.push("x")
    d = start(
        tmp_path,
        upstream,
        {"webhook": {"debounceSeconds": 3, "queueSize": 1}},
        [
            {
                "name": "other",
                "repo": other.url,
                "revision": "main",
                "path": "app",
                "namespace": "other",
                "intervalSeconds": 3600,
            }
        ],
    )
    daemons.append(d)
    wait_for(lambda: revision_of(d) is not None and revision_of(d, "other") is not None, 60, "first syncs")
    configmaps_app(upstream.work, 10, "two")
    second = upstream.push("two")
    body = github_push(upstream.url)
    answers = [d.post("/webhooks/github", body, github_headers(GH_SECRET, body))[0] for _ in range(30)]
    other_body = github_push(other.url)
    full = d.post("/webhooks/github", other_body, github_headers(GH_SECRET, other_body))
    assert answers == [202] * 30  # the same app: all join one waiting reconcile
    assert full[0] == 503  # another app does not fit in a queue of one
    wait_for(lambda: revision_of(d) == second, 60, "the webhook's sync")
    wait_for(lambda: d.json("/api/v1/apps/web")["queued"] is False, 30, "the queue to drain")
    assert d.metric("gitops_agent_reconcile_total", app="web", trigger="webhook", result="synced") == 1
    assert d.metric("gitops_agent_reconcile_total", app="other", trigger="webhook", result="synced") == 0
    assert d.metric("gitops_agent_webhook_requests_total", provider="github", result="queue-full") == 1


def test_api_sync_and_rollback_need_the_token(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    d = start(tmp_path, upstream)
    daemons.append(d)
    first = upstream.work.git("rev-parse", "HEAD")
    wait_for(lambda: revision_of(d) == first, 60, "the first sync")
    configmaps_app(upstream.work, 10, "two")
    second = upstream.push("two")

    assert d.post("/api/v1/apps/web/sync")[0] == 401
    assert d.post("/api/v1/apps/web/sync", headers={"Authorization": "Bearer wrong"})[0] == 401
    auth = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    assert d.post("/api/v1/apps/nope/sync", b"{}", auth)[0] == 404
    status, body = d.post("/api/v1/apps/web/sync", b"{}", auth)
    assert status == 200, body
    result = json.loads(body)
    assert result["trigger"] == "manual" and result["outcome"] == "synced"
    assert result["sync"]["revision"]["commit"] == second
    assert live(tmp_path) == "two"

    status, body = d.post("/api/v1/apps/web/rollback", json.dumps({"to": 1}).encode(), auth)
    assert status == 200, body
    assert json.loads(body)["rollback"]["commit"] == first
    assert live(tmp_path) == "one"
    assert d.metric("gitops_agent_rollbacks_total", app="web", kind="manual") == 1
    app = d.json("/api/v1/apps/web")
    assert app["held"] and second[:7] in app["held"]

    status, body = d.post("/api/v1/apps/web/rollback", json.dumps({"to": 99}).encode(), auth)
    assert status == 409 and b"no revision 99" in body

    openapi = d.json("/openapi.json")
    assert {"/api/v1/apps", "/api/v1/apps/{name}/drift", "/api/v1/apps/{name}/sync"} <= set(openapi["paths"])
    assert d.get("/api/v1/apps/web/drift?format=markdown")[0] == 200
    drift = d.json("/api/v1/apps/web/drift")
    assert drift["kind"] == "DriftReport" and drift["apps"][0]["app"] == "web"
    assert d.get("/healthz")[0] == 200


def test_actions_are_disabled_without_a_token(
    tmp_path: Path, upstream: Upstream, daemons: list[Daemon]
) -> None:
    d = start(tmp_path, upstream)
    d.stop()
    doc = yaml.safe_load(d.config.read_text())
    del doc["daemon"]["apiToken"]
    port = doc["daemon"]["port"] = free_port()
    d.config.write_text(yaml.safe_dump(doc))
    again = Daemon(d.config, port, {"GH_SECRET": GH_SECRET})
    daemons.append(again)
    again.wait_ready()
    status, body = again.post("/api/v1/apps/web/sync", headers={"Authorization": "Bearer anything"})
    assert status == 403 and b"disabled" in body


def test_sigterm_during_a_sync_lets_it_finish(
    tmp_path: Path, server: SmartHttp, upstream: Upstream, daemons: list[Daemon]
) -> None:
    d = start(tmp_path, upstream)
    first = upstream.work.git("rev-parse", "HEAD")
    wait_for(lambda: revision_of(d) == first, 60, "the first sync")
    configmaps_app(upstream.work, 10, "two")
    second = upstream.push("two")
    server.delay = 1.0  # the fetch of the new commit is slow: the sync is under way for a while
    requests = len(server.requests)
    body = github_push(upstream.url)
    assert d.post("/webhooks/github", body, github_headers(GH_SECRET, body))[0] == 202
    wait_for(lambda: len(server.requests) > requests, 30, "the sync to reach the git server")
    d.proc.send_signal(signal.SIGTERM)
    code = d.stop(timeout=90)
    server.delay = 0
    assert code == 0, d.logs()[-3000:]
    assert live(tmp_path) == "two"  # the running sync finished before the exit
    logs = d.logs()
    assert "waiting up to" in logs and "1 running reconcile" in logs
    cluster = EmulatedCluster(tmp_path / "cluster.db")
    try:
        records = cluster.list("v1", "Secret", "gitops-agent")
    finally:
        cluster.close()
    assert len(records) == 2  # the sync was recorded
    assert any(r["metadata"]["name"] == "gitops-agent.web.v2" for r in records)
    assert "cut off" not in logs and second[:12] in logs  # finished, and logged with its commit


def test_sigterm_grace_over_cuts_off_and_a_restart_converges(
    tmp_path: Path, server: SmartHttp, upstream: Upstream, daemons: list[Daemon]
) -> None:
    d = start(tmp_path, upstream, {"shutdownGraceSeconds": 0.2})
    first = upstream.work.git("rev-parse", "HEAD")
    wait_for(lambda: revision_of(d) == first, 60, "the first sync")
    configmaps_app(upstream.work, 10, "two")
    second = upstream.push("two")
    server.delay = 2.0
    requests = len(server.requests)
    body = github_push(upstream.url)
    d.post("/webhooks/github", body, github_headers(GH_SECRET, body))
    wait_for(lambda: len(server.requests) > requests, 30, "the sync to reach the git server")
    d.proc.send_signal(signal.SIGTERM)
    assert d.stop(timeout=60) == 1
    assert "cut off: web (safe to run again)" in d.logs()
    server.delay = 0
    restarted = Daemon(d.config, d.port, {"GH_SECRET": GH_SECRET, "API_TOKEN": API_TOKEN})
    daemons.append(restarted)
    restarted.wait_ready()
    wait_for(lambda: revision_of(restarted) == second, 60, "the restarted daemon's sync")
    assert live(tmp_path) == "two"


def test_slow_headers_are_cut_off(tmp_path: Path, upstream: Upstream, daemons: list[Daemon]) -> None:
    d = start(tmp_path, upstream, {"headerTimeoutSeconds": 0.5})
    daemons.append(d)
    with socket.create_connection(("127.0.0.1", d.port), timeout=30) as sock:
        sock.sendall(b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        assert sock.recv(1024) == b""  # the server closed the connection
    assert d.get("/healthz")[0] == 200
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 40_000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", d.port), timeout=30) as sock:
        sock.sendall(big)  # in one go: 40 KB of headers, over the documented 16 KiB
        assert sock.recv(1024).startswith(b"HTTP/1.1 431 ")
    fine = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8_000 + b"\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", d.port), timeout=30) as sock:
        sock.sendall(fine)
        assert sock.recv(1024).startswith(b"HTTP/1.1 200 ")


def test_bad_config_is_one_error_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "agent.yaml", "daemon:\n  concurrency: 0\n")

    out = subprocess.run(
        [sys.executable, "-m", "agent", "run", "-c", str(config)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 3
    assert "daemon.concurrency" in out.stderr and "Traceback" not in out.stderr
