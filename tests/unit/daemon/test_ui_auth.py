"""Who may read and act through the pages: the login session, its cookie,
CSRF and Origin checks, the read token, over the HTTP app with a stub daemon."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from agent.config import parse_config
from agent.daemon.api import create_app
from agent.daemon.protocol import DaemonView
from agent.daemon.session import Sessions, safe_next, same_origin
from agent.daemon.state import AppSnapshot, Manual, RunResult
from agent.daemon.tree import Related
from agent.daemon.webhooks import Push
from agent.errors import ConfigError
from agent.report.metrics import Metrics
from agent.results import Operation, Trigger
from agent.sync.record import RevisionRecord

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "api-token-value-1"
READ = "read-token-value-2"


class Stub:
    def __init__(self, daemon: dict[str, Any], tmp_path: Path) -> None:
        self.config = parse_config(
            {
                "apps": [{"name": "web", "repo": "https://git.example.com/web.git", "path": "app"}],
                "daemon": daemon,
            },
            "agent.yaml",
            tmp_path,
        )
        self.metrics = Metrics()
        self.started = "2026-01-01T00:00:00Z"
        self.draining = False
        self.requests: list[Manual | None] = []

    def is_ready(self) -> bool:
        return True

    def snapshot(self, name: str) -> AppSnapshot | None:
        if name != "web":
            return None
        return AppSnapshot(None, None, running=False, queued=False, failures=0, last_sync="")

    def next_run(self, name: str) -> str:
        return ""

    def fleet_status(self) -> dict[str, Any]:
        return {"problems": [], "removed": []}

    def request(
        self, names: Sequence[str], trigger: Trigger, manual: Manual | None = None
    ) -> list[Future[RunResult]]:
        self.requests.append(manual)
        return [Future()]

    def targets(self, pushes: Sequence[Push]) -> list[str]:
        return []

    def history(self, name: str) -> Sequence[RevisionRecord]:
        return ()

    def related(self, name: str) -> Related:
        return Related()


def client_for(stub: Stub) -> TestClient:
    view: DaemonView = stub
    return TestClient(create_app(view), base_url="http://agent.test")  # type: ignore[arg-type]


def log_in(c: TestClient, token: str) -> str:
    """Log in; the CSRF token of the session, read from the app page."""
    answer = c.post("/login", data={"token": token, "next": "/apps/web"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/apps/web"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age" not in cookie
    assert token not in cookie and "Secure" not in cookie  # plain HTTP here
    page = c.get("/apps/web").text
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m
    return m.group(1)


def test_reading_is_open_without_a_read_token(tmp_path: Path) -> None:
    c = client_for(Stub({"apiToken": TOKEN}, tmp_path))
    assert c.get("/api/v1/apps").status_code == 200
    page = c.get("/apps/web")
    assert page.status_code == 200 and 'id="login"' in page.text
    assert "Log in with <code>daemon.apiToken</code> to sync or roll back." in page.text
    assert c.get("/apps/nope").status_code == 404


@pytest.mark.parametrize("read_token", [True, READ])
def test_a_read_token_guards_pages_and_api(tmp_path: Path, read_token: bool | str) -> None:
    c = client_for(Stub({"apiToken": TOKEN, "readToken": read_token}, tmp_path))
    assert c.get("/api/v1/apps").status_code == 401
    assert c.get("/api/v1/apps/web/drift").status_code == 401
    went = c.get("/apps/web?x=1", follow_redirects=False)
    assert went.status_code == 303 and went.headers["location"] == "/login?next=%2Fapps%2Fweb%3Fx%3D1"
    assert c.get("/", follow_redirects=False).status_code == 303
    assert c.get("/healthz").status_code == 200 and c.get("/metrics").status_code == 200
    assert c.get("/api/v1/apps", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    if isinstance(read_token, str):
        assert c.get("/api/v1/apps", headers={"Authorization": f"Bearer {READ}"}).status_code == 200
    assert c.get("/api/v1/apps", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.post("/login", data={"token": "wrong"}).status_code == 401
    log_in(c, TOKEN)
    assert c.get("/api/v1/apps").status_code == 200  # the session reads the API too
    behind_tls = c.post(
        "/login", data={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"}, follow_redirects=False
    )
    assert "Secure" in behind_tls.headers["set-cookie"]
    assert c.get("/").status_code == 200


def test_buttons_need_an_admin_session_csrf_and_same_origin(tmp_path: Path) -> None:
    stub = Stub({"apiToken": TOKEN, "readToken": READ}, tmp_path)
    c = client_for(stub)
    csrf = log_in(c, TOKEN)
    assert c.post("/apps/web/sync", data={}).status_code == 403  # no CSRF token
    assert c.post("/apps/web/sync", data={"csrf": "forged"}).status_code == 403
    evil = {"Origin": "https://evil.example"}
    assert c.post("/apps/web/sync", data={"csrf": csrf}, headers=evil).status_code == 403
    assert stub.requests == []
    done = c.post("/apps/web/sync", data={"csrf": csrf}, headers={"Origin": "http://agent.test"})
    assert done.status_code == 200 and "Sync queued" in done.text
    rolled = c.post("/apps/web/rollback", data={"csrf": csrf, "to": "3"}, follow_redirects=False)
    assert rolled.status_code == 303 and rolled.headers["location"] == "/apps/web?notice=rollback"
    assert [(m.action, m.to) for m in stub.requests if m] == [(Operation.SYNC, None), (Operation.ROLLBACK, 3)]

    reader = client_for(stub)
    reader.cookies.clear()
    read_csrf = log_in(reader, READ)
    assert reader.post("/apps/web/sync", data={"csrf": read_csrf}).status_code == 403  # readers may not act
    assert 'id="sync"' not in reader.get("/apps/web").text
    out = reader.post("/logout", data={"csrf": read_csrf}, follow_redirects=False)
    assert out.status_code == 303 and 'gitops_agent_session=""' in out.headers["set-cookie"]


def test_sessions_cannot_be_forged_or_moved_between_processes() -> None:
    a, b = Sessions(), Sessions()
    value = a.issue("admin")
    assert a.role(value) == "admin" and b.role(value) is None
    _, nonce, mac = value.split(".")
    assert a.role(f"reader.{nonce}.{mac}") is None
    assert a.role("admin") is None and a.role("") is None and a.role(None) is None
    assert a.csrf_ok(value, a.csrf(value)) and not a.csrf_ok(value, b.csrf(value))
    assert not a.csrf_ok(None, a.csrf(""))


def test_redirects_stay_on_this_server() -> None:
    assert safe_next("/apps/web?x=1") == "/apps/web?x=1"
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None, "apps"):
        assert safe_next(target) == "/"
    assert same_origin(None, "agent.test") and same_origin("http://agent.test", "agent.test")
    assert not same_origin("null", "agent.test") and not same_origin("http://evil.test", "agent.test")


def test_read_token_true_needs_an_api_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="readToken"):
        parse_config({"apps": [], "daemon": {"readToken": True}}, "agent.yaml", tmp_path)
