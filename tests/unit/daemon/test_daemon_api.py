"""The HTTP app over a stub daemon: the routers need only the DaemonView
protocol, so they are tested here without a scheduler, Git or a cluster."""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig, parse_config
from agent.daemon.api import create_app
from agent.daemon.protocol import DaemonView, QueueFull
from agent.daemon.state import AppSnapshot, Manual, Outcome, RunResult
from agent.daemon.webhooks import Push
from agent.errors import RecordFailed
from agent.report.metrics import Metrics
from agent.results import Operation, Trigger
from agent.sync.record import RevisionRecord

with warnings.catch_warnings():  # starlette would have httpx2, which the agent does not depend on
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "api-token-value"
SECRET = "webhook-secret-value"


class Stub:
    """A DaemonView that records requests and answers from fixed values."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.started = "2026-01-01T00:00:00Z"
        self.draining = False
        self.ready = True
        self.full = False
        self.requests: list[tuple[list[str], Trigger, Manual | None]] = []

    def is_ready(self) -> bool:
        return self.ready

    def snapshot(self, name: str) -> AppSnapshot | None:
        if name not in {a.name for a in self.config.apps}:
            return None
        return AppSnapshot(None, None, running=False, queued=False, failures=0, last_sync="")

    def next_run(self, name: str) -> str:
        return ""

    def fleet_status(self) -> dict[str, Any]:
        return {"problems": [], "removed": []}

    def request(
        self, names: Sequence[str], trigger: Trigger, manual: Manual | None = None
    ) -> list[Future[RunResult]]:
        if self.full:
            raise QueueFull("1 apps are waiting for a reconcile (queue size 1)")
        self.requests.append((list(names), trigger, manual))
        if manual is None:
            return []
        future: Future[RunResult] = Future()
        outcome = Outcome.FAILED if manual.action == Operation.ROLLBACK else Outcome.SYNCED
        future.set_result(RunResult(trigger, "t0", "t1", 0.5, outcome, message="done"))
        return [future]

    def targets(self, pushes: Sequence[Push]) -> list[str]:
        return ["web"] if any("team/web" in u for p in pushes for u in p.urls) else []

    def history(self, name: str) -> Sequence[RevisionRecord]:
        raise RecordFailed("the cluster did not answer")


@pytest.fixture
def stub(tmp_path: Path) -> Stub:
    config = parse_config(
        {
            "apps": [{"name": "web", "repo": "https://git.example.com/team/web.git", "path": "app"}],
            "daemon": {"apiToken": TOKEN, "webhook": {"secrets": {"github": SECRET}}},
        },
        "agent.yaml",
        tmp_path,
    )
    return Stub(config)


@pytest.fixture
def client(stub: Stub) -> TestClient:
    view: DaemonView = stub  # the stub satisfies the protocol (checked by mypy where tests are typed)
    return TestClient(create_app(view))  # type: ignore[arg-type]  # BodyLimits is an ASGI app


def test_probes_follow_the_daemon(stub: Stub, client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    stub.ready = False
    assert client.get("/readyz").json() == {"status": "waiting for the cluster"}
    stub.draining = True
    assert client.get("/readyz").status_code == 503
    assert "gitops_agent_api_requests_total" in client.get("/metrics").text


def test_apps_list_one_app_and_unknown_app(client: TestClient) -> None:
    apps = client.get("/api/v1/apps").json()["apps"]
    assert [a["name"] for a in apps] == ["web"] and apps[0]["syncStatus"] == "Unknown"
    assert client.get("/api/v1/apps/web").json()["links"]["drift"] == "/api/v1/apps/web/drift"
    assert client.get("/api/v1/apps/nope").status_code == 404
    drift = client.get("/api/v1/apps/web/drift")
    assert drift.status_code == 503 and drift.headers["Retry-After"] == "5"
    assert client.get("/api/v1/apps/web/history").json() == {"detail": "the cluster did not answer"}


def test_triggers_need_the_token_and_answer_with_the_result(stub: Stub, client: TestClient) -> None:
    assert client.post("/api/v1/apps/web/sync").status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    synced = client.post("/api/v1/apps/web/sync", headers=auth, json={"revision": "v2"})
    assert synced.status_code == 200 and synced.json()["outcome"] == "synced"
    ((names, trigger, manual),) = stub.requests
    assert names == ["web"] and trigger == Trigger.MANUAL and manual == Manual(Operation.SYNC, revision="v2")
    failed = client.post("/api/v1/apps/web/rollback", headers=auth, json={"to": 1})
    assert failed.status_code == 409 and failed.json()["trigger"] == "manual"
    assert client.post("/api/v1/apps/web/sync?wait=false", headers=auth).status_code == 202
    stub.full = True
    full = client.post("/api/v1/apps/web/sync", headers=auth)
    assert full.status_code == 503 and full.headers["Retry-After"] == "10"


def test_webhooks_are_verified_matched_and_counted(stub: Stub, client: TestClient) -> None:
    body = json.dumps(
        {"ref": "refs/heads/main", "repository": {"clone_url": "https://git.example.com/team/web.git"}}
    ).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    push = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    assert client.post("/webhooks/github", content=body, headers=push).status_code == 401
    accepted = client.post(
        "/webhooks/github", content=body, headers={**push, "X-Hub-Signature-256": signature}
    )
    assert accepted.status_code == 202 and accepted.json() == {"status": "queued", "apps": 1}
    assert stub.requests == [(["web"], Trigger.WEBHOOK, None)]
    assert client.post("/webhooks/nowhere", content=b"{}").status_code == 404
    metrics = client.get("/metrics").text
    for result, provider in (
        ("unauthorized", "github"),
        ("accepted", "github"),
        ("unknown-provider", "unknown"),
    ):
        line = f'gitops_agent_webhook_requests_total{{provider="{provider}",result="{result}"}} 1.0'
        assert line in metrics
