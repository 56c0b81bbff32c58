"""The daemon's decisions, in-process: real git, the embedded emulated cluster,
the real scheduler.  automated / selfHeal / report-only, no writes when
nothing changed, notifications to a real HTTP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig, parse_config
from agent.daemon.reconciler import Reconciler
from agent.daemon.state import AppState, Manual
from agent.emulator import EmulatedCluster
from agent.report.metrics import Metrics
from agent.report.notifications import Notifier
from agent.sync.context import Context
from tests.support.repos import GitRepo

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{value: '{value}'}}\n"


class Receiver:
    """A real HTTP endpoint that records what notifications it gets; answers
    ``fail_first`` requests with 503 first, to exercise retries."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.got = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                outer.attempts += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.attempts <= outer.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.received.append(json.loads(body))
                outer.got.set()
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    yield r
    r.close()


def make(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, policy: dict[str, Any], receiver: Receiver | None
):
    repo.write("app/cm.yaml", CONFIGMAP.format(value="one"))
    repo.commit("one")
    notifications = (
        [{"name": "team", "url": receiver.url, "format": "json", "retries": 3}]
        if receiver is not None
        else []
    )
    cfg: AgentConfig = parse_config(
        {
            "daemon": {"notifications": notifications},
            "source": {"allowedSchemes": ["file"]},
            "apps": [
                {
                    "name": "web",
                    "repo": str(repo.path),
                    "path": "app",
                    "namespace": "web",
                    "syncPolicy": {"createNamespace": True, **policy},
                }
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    notifier = Notifier(cfg.daemon.notifications, backoff=0.01)
    rec = Reconciler(Context.create(cfg, cluster), Metrics(), notifier)
    return cfg.apps[0], rec, AppState("web")


def live_value(cluster: EmulatedCluster) -> str | None:
    obj = cluster.get("v1", "ConfigMap", "settings", "web")
    return None if obj is None else obj["data"]["value"]


def drift_it(cluster: EmulatedCluster) -> None:
    cluster.merge_patch("v1", "ConfigMap", "settings", "web", {"data": {"value": "by-hand"}})


def test_automated_syncs_new_commits_and_writes_nothing_when_unchanged(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    app, rec, state = make(tmp_path, repo, cluster, {}, None)
    assert rec.run(app, state, "schedule").outcome == "synced"
    assert live_value(cluster) == "one"
    writes = cluster.writes
    again = rec.run(app, state, "schedule")
    assert again.outcome == "unchanged"
    assert cluster.writes == writes  # a poll with nothing to do writes nothing
    repo.write("app/cm.yaml", CONFIGMAP.format(value="two"))
    commit = repo.commit("two")
    result = rec.run(app, state, "webhook")
    assert result.outcome == "synced"
    assert live_value(cluster) == "two"
    assert state.observation is not None and state.observation.revision is not None
    assert state.observation.revision.commit == commit
    records = rec.ctx.records().history("web")
    assert [r.trigger for r in records] == ["schedule", "webhook"]


def test_self_heal_corrects_drift_and_notifies_it(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, receiver: Receiver
) -> None:
    app, rec, state = make(tmp_path, repo, cluster, {"selfHeal": True}, receiver)
    rec.run(app, state, "schedule")
    drift_it(cluster)
    result = rec.run(app, state, "schedule")
    assert result.outcome == "synced"
    assert live_value(cluster) == "one"
    assert receiver.got.wait(30)
    (note,) = receiver.received
    assert note["event"] == "drift" and note["app"] == "web"
    assert note["objects"] == ["ConfigMap/web/settings"]
    assert "selfHeal" in note["message"]
    assert receiver.attempts == 2  # the first delivery got 503 and was retried


def test_without_self_heal_drift_is_reported_not_corrected(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    app, rec, state = make(tmp_path, repo, cluster, {"selfHeal": False}, None)
    rec.run(app, state, "schedule")
    drift_it(cluster)
    writes = cluster.writes
    result = rec.run(app, state, "schedule")
    assert result.outcome == "drift"
    assert live_value(cluster) == "by-hand"
    assert cluster.writes == writes
    assert state.observation is not None and state.observation.drifted == 1
    repo.write("app/cm.yaml", CONFIGMAP.format(value="three"))
    repo.commit("three")
    assert rec.run(app, state, "schedule").outcome == "synced"  # a new commit is still synced
    assert live_value(cluster) == "three"


def test_report_only_never_writes(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    app, rec, state = make(tmp_path, repo, cluster, {"automated": False}, None)
    result = rec.run(app, state, "schedule")
    assert result.outcome == "drift"
    assert cluster.writes == 0
    assert live_value(cluster) is None
    assert state.observation is not None and str(state.observation.sync_status) == "OutOfSync"
    manual = rec.run(app, state, "manual", Manual("sync"))  # a sync by hand still works
    assert manual.outcome == "synced"
    assert live_value(cluster) == "one"


def test_failure_is_reported_with_its_stage_and_notified_once(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, receiver: Receiver
) -> None:
    app, rec, state = make(tmp_path, repo, cluster, {}, receiver)
    rec.run(app, state, "schedule")
    repo.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n")
    repo.commit("broken")
    first = rec.run(app, state, "schedule")
    second = rec.run(app, state, "schedule")
    assert first.outcome == second.outcome == "failed"
    assert "Render failed" in first.message
    assert state.failures == 2
    assert receiver.got.wait(30)
    notifier = rec.notifier
    notifier.close(wait=True)
    assert [n["event"] for n in receiver.received] == ["sync-failed"]
    assert live_value(cluster) == "one"


def test_manual_rollback(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    app, rec, state = make(tmp_path, repo, cluster, {}, None)
    rec.run(app, state, "schedule")
    repo.write("app/cm.yaml", CONFIGMAP.format(value="two"))
    repo.commit("two")
    rec.run(app, state, "schedule")
    result = rec.run(app, state, "manual", Manual("rollback", to=1))
    assert result.outcome == "rolled-back"
    assert live_value(cluster) == "one"
    held = rec.run(app, state, "schedule")  # the commit rolled back from is held, not re-applied
    assert held.outcome == "held"
    assert live_value(cluster) == "one"
    bad = rec.run(app, state, "manual", Manual("rollback", to=42))
    assert bad.outcome == "failed" and "no revision 42" in bad.message


def test_report_only_keeps_notifying_drift_after_new_commits(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    """A report-only app never syncs, so its last record stays at an old
    commit: drift the cluster takes on after a new commit, and what a new
    commit itself changes, are still notified, each object once."""
    receiver = Receiver()
    try:
        repo.write("app/other.yaml", CONFIGMAP.format(value="x").replace("settings", "other"))
        app, rec, state = make(tmp_path, repo, cluster, {"automated": False}, receiver)
        assert rec.run(app, state, "manual", Manual("sync")).outcome == "synced"
        repo.write("NOTES.md", "not part of the app\n")
        repo.commit("notes")
        assert rec.run(app, state, "schedule").outcome == "unchanged"
        cluster.merge_patch("v1", "ConfigMap", "other", "web", {"data": {"value": "by-hand"}})
        assert rec.run(app, state, "schedule").outcome == "drift"
        assert rec.run(app, state, "schedule").outcome == "drift"  # the same drift: no second note
        repo.write("app/cm.yaml", CONFIGMAP.format(value="two"))
        repo.commit("two")
        assert rec.run(app, state, "schedule").outcome == "drift"
        rec.notifier.close(wait=True)
        assert [(n["event"], n["objects"]) for n in receiver.received] == [
            ("drift", ["ConfigMap/web/other"]),
            ("drift", ["ConfigMap/web/other", "ConfigMap/web/settings"]),
        ]
        assert all("automated sync is off" in n["message"] for n in receiver.received)
        assert live_value(cluster) == "one"
    finally:
        receiver.close()
