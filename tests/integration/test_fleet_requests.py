"""Requests at fleet scale: one list per kind for every app, not per app.

Counted on the emulated cluster served over HTTP (by the server, per verb)
and on the real API server (by the official client, every request it
sends): a command over many apps lists each kind once; the daemon, once its
shared view is filled, reconciles an app in steady state without a request;
the view takes its own writes at once, and lists afresh when its watch's
version has expired.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.cluster.kube import KubeCluster
from agent.cluster.view import ClusterView
from agent.config import AgentConfig, parse_config
from agent.daemon.reconciler import Reconciler
from agent.daemon.state import AppState
from agent.emulator import EmulatedCluster
from agent.report.metrics import Metrics
from agent.report.notifications import Notifier
from agent.results import Trigger
from agent.sync.context import Context
from agent.sync.fleet import each_app
from agent.sync.ownership import APP_LABEL
from agent.sync.pipeline import reconcile
from agent.sync.record import RECORD_OF_LABEL
from tests.support import apiserver
from tests.support.emulator import backend as served
from tests.support.repos import GitRepo

APP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {value: "one"}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner}
"""
KINDS = 3  # ConfigMap, ServiceAccount, and the revision records (Secrets)


class Fleet:
    def __init__(self, client: KubeCluster, engine: EmulatedCluster | None) -> None:
        self.client = client
        self.engine = engine

    def lists(self) -> int:
        """Lists the server answered (the emulator's count), else -1."""
        return self.engine.requests["list"] if self.engine is not None else -1


@pytest.fixture(params=["kube-http", "kube-real"])
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fleet]:
    if request.param == "kube-real":
        server = request.getfixturevalue("real_server")
        apiserver.reset(server.kubeconfig)
        client = KubeCluster.from_kubeconfig(server.kubeconfig, discovery_cache=tmp_path / "discovery.json")
        try:
            yield Fleet(client, None)
        finally:
            client.close()
        return
    with served(tmp_path, "kube-http") as b:
        assert isinstance(b.client, KubeCluster)
        yield Fleet(b.client, b.engine)


def config(tmp_path: Path, apps: int) -> AgentConfig:
    repo = GitRepo(tmp_path / "repo")
    repo.write("app/all.yaml", APP)
    repo.commit("one")
    doc: dict[str, Any] = {
        "source": {"allowedSchemes": ["file"]},
        "stateDir": str(tmp_path / "state"),
        "apps": [
            {
                "name": f"app-{i}",
                "repo": str(repo.path),
                "path": "app",
                "namespace": f"fleet-{i}",
                "syncPolicy": {"createNamespace": True, "waitForHealth": False},
            }
            for i in range(apps)
        ],
    }
    return parse_config(doc, "agent.yaml", tmp_path)


@pytest.mark.parametrize("apps", [2, 6])
def test_a_command_over_many_apps_lists_each_kind_once(fleet: Fleet, tmp_path: Path, apps: int) -> None:
    cfg = config(tmp_path, apps)
    first = Context.create(cfg, fleet.client, shared="once")
    assert all(r.ok and r.changeset.changed for r in each_app(cfg.apps, lambda a: reconcile(first, a)))
    again = Context.create(cfg, fleet.client, shared="once")  # the next command: a view of its own
    view = again.cluster
    assert isinstance(view, ClusterView)
    sent, lists = fleet.client.requests, fleet.lists()
    results = each_app(cfg.apps, lambda a: reconcile(again, a), again.source)
    assert again.source.counters.ls_remote == 1  # one per repository for the command's apps
    assert all(r.ok and not r.changeset.changed for r in results)
    assert view.lists == KINDS  # whatever the number of apps
    assert fleet.client.requests - sent == KINDS + 1  # and the server's version, asked once
    if fleet.engine is not None:
        assert fleet.lists() - lists == KINDS


def test_the_daemon_reconciles_in_steady_state_without_a_request(fleet: Fleet, tmp_path: Path) -> None:
    cfg = config(tmp_path, 4)
    ctx = Context.create(cfg, fleet.client, shared="follow")
    rec = Reconciler(ctx, Metrics(), Notifier(cfg.daemon.notifications))
    states = {a.name: AppState(a.name) for a in cfg.apps}
    try:
        for a in cfg.apps:
            assert rec.run(a, states[a.name], Trigger.SCHEDULE).outcome == "synced"
            assert states[a.name].observation is not None
            assert states[a.name].observation.sync_status == "Synced"
        assert isinstance(ctx.cluster, ClusterView) and ctx.cluster.lists == KINDS
        sent, asked = fleet.client.requests, ctx.source.counters.ls_remote
        verbs = dict(fleet.engine.requests) if fleet.engine is not None else {}
        for _ in range(2):  # two poll rounds of every app, one app after another
            since = time.monotonic()
            for a in cfg.apps:
                with ctx.source.round(since):
                    assert rec.run(a, states[a.name], Trigger.SCHEDULE).outcome == "unchanged"
        assert fleet.client.requests == sent  # no list, no get, no watch: the shared view answers
        assert ctx.source.counters.ls_remote - asked == 2  # one ls-remote per repository and round
        if fleet.engine is not None:
            assert {k: v for k, v in fleet.engine.requests.items() if v != verbs.get(k)} == {}
    finally:
        assert isinstance(ctx.cluster, ClusterView)
        ctx.cluster.stop()


def test_the_daemon_view_follows_changes_made_by_others(fleet: Fleet, tmp_path: Path) -> None:
    cfg = config(tmp_path, 2)
    ctx = Context.create(cfg, fleet.client, shared="follow")
    rec = Reconciler(ctx, Metrics(), Notifier(cfg.daemon.notifications))
    state = AppState("app-0")
    other = KubeCluster(fleet.client.api_client)
    try:
        assert rec.run(cfg.apps[0], state, Trigger.SCHEDULE).outcome == "synced"
        other.patch("v1", "ConfigMap", "settings", "fleet-0", {"data": {"value": "by-hand"}})
        view = ctx.cluster
        assert isinstance(view, ClusterView)

        def seen() -> bool:
            found = view.list("v1", "ConfigMap", "fleet-0", {APP_LABEL: "app-0"})
            return bool(found) and found[0]["data"]["value"] == "by-hand"

        done = threading.Event()
        for _ in range(100):
            if seen():
                done.set()
                break
            done.wait(0.05)
        assert done.is_set(), "the view never saw the change"
        assert rec.run(cfg.apps[0], state, Trigger.SCHEDULE).outcome == "synced"  # healed
        found = view.list("v1", "ConfigMap", "fleet-0", {APP_LABEL: "app-0"})
        assert found[0]["data"]["value"] == "one"  # the write's answer, at once
        assert state.observation is not None and state.observation.sync_status == "Synced"
        assert view.lists == KINDS
    finally:
        assert isinstance(ctx.cluster, ClusterView)
        ctx.cluster.stop()


def test_the_view_takes_its_own_writes_at_once_and_lists_again_after_410(tmp_path: Path) -> None:
    with served(tmp_path, "kube-http") as b:
        assert isinstance(b.client, KubeCluster)
        view = ClusterView(b.client, (APP_LABEL,))
        b.client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "v"}})
        mine = {APP_LABEL: "a"}

        def cm(name: str, value: str) -> dict[str, Any]:
            meta = {"name": name, "namespace": "v", "labels": mine}
            return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"v": value}}

        assert view.list("v1", "ConfigMap", "", mine) == []
        written = view.apply(cm("one", "1"))
        lists = b.engine.requests["list"]
        assert view.list("v1", "ConfigMap", "v", mine) == [written]  # no stale read after our own write
        view.apply(cm("dry", "1"), dry_run=True)
        assert [o["metadata"]["name"] for o in view.list("v1", "ConfigMap", "", mine)] == ["one"]
        assert b.engine.requests["list"] == lists and view.lists == 1

        b.engine.store.events_kept = 10  # the server keeps few events: the view's version expires
        for i in range(30):
            b.client.apply(cm(f"other-{i}", "x"))
        b.client.delete("v1", "ConfigMap", "one", "v")
        stop = threading.Event()
        events = view.watch("v1", "ConfigMap", "v", mine, timeout=10, stop=stop)
        first = next(events)  # what the view held: "one" and what it saw written
        assert first[0] == "ADDED"
        seen: dict[str, str] = {}
        for kind, obj in events:
            seen[obj["metadata"]["name"]] = kind
            if seen.get("one") == "DELETED" and len(seen) >= 31:
                break
        stop.set()
        assert seen["one"] == "DELETED" and seen["other-29"] == "ADDED"
        assert view.lists == 2  # the expired watch listed afresh once
        names = {o["metadata"]["name"] for o in view.list("v1", "ConfigMap", "v", mine)}
        assert "one" not in names and len(names) == 30
        view.stop()


def test_a_prune_checks_the_view_against_the_server_first(tmp_path: Path) -> None:
    with served(tmp_path, "kube-http") as b:
        assert isinstance(b.client, KubeCluster) and b.other is not None
        cfg = config(tmp_path, 2)
        first = Context.create(cfg, b.client, shared="once")
        assert all(r.ok for r in each_app(cfg.apps, lambda a: reconcile(first, a)))
        ctx = Context.create(cfg, b.client, shared="once")  # the next command's view
        view = ctx.cluster
        assert isinstance(view, ClusterView)
        assert [r.ok for r in each_app(cfg.apps, lambda a: reconcile(ctx, a, dry_run=True))] == [True, True]
        lists = view.lists
        b.other.delete("v1", "ServiceAccount", "runner", "fleet-0")  # behind the view's back
        repo = GitRepo(tmp_path / "repo")  # the app's repository, opened again
        repo.write("app/all.yaml", APP.split("---", maxsplit=1)[0])  # Git drops the ServiceAccount
        repo.commit("two")
        result = reconcile(ctx, cfg.apps[0])
        assert result.ok, result.failure
        pruned = [e for e in result.changeset.entries if e.key.kind == "ServiceAccount"]
        assert pruned == []  # the view was behind: read and planned again, nothing left to prune
        assert view.lists == lists + 1  # one list of the pruned kind, to check
        again = reconcile(ctx, cfg.apps[1])  # the other app's ServiceAccount is really there
        assert [str(e.action) for e in again.changeset.entries if e.key.kind == "ServiceAccount"] == [
            "pruned"
        ]
        assert b.other.get("v1", "ServiceAccount", "runner", "fleet-1") is None


def test_a_key_scoped_to_one_namespace_is_listed_there_only(tmp_path: Path) -> None:
    """The records' key is scoped to the state namespace: the view lists and
    keeps only that namespace's objects, and a list by the key elsewhere
    goes to the server (so no cluster-wide right to Secrets is needed)."""
    with served(tmp_path, "kube-http") as b:
        assert isinstance(b.client, KubeCluster)
        key = {RECORD_OF_LABEL: "a"}
        for ns in ("state", "elsewhere"):
            b.client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            meta = {"name": "r", "namespace": ns, "labels": key}
            b.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
        view = ClusterView(b.client, {RECORD_OF_LABEL: "state"})
        before = b.engine.requests["list"]
        assert [o["metadata"]["namespace"] for o in view.list("v1", "ConfigMap", "state", key)] == ["state"]
        assert view.lists == 1
        assert [o["metadata"]["namespace"] for o in view.list("v1", "ConfigMap", "elsewhere", key)] == [
            "elsewhere"
        ]
        assert sorted(o["metadata"]["namespace"] for o in view.list("v1", "ConfigMap", "", key)) == [
            "elsewhere",
            "state",
        ]
        assert view.lists == 1 and b.engine.requests["list"] == before + 3  # one to fill, two passed on
        view.apply({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "s", "namespace": "elsewhere", "labels": key}})  # fmt: skip
        assert [o["metadata"]["name"] for o in view.list("v1", "ConfigMap", "state", key)] == ["r"]
