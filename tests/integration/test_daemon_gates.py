"""The daemon's gates in process: real git, the embedded emulated cluster,
the reconciler with its gates at an injected "now".  An app waiting for a
dependency or outside its window is observed but not synced (only the
window's deferral reports drift); a suspended app is not even read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, Application, parse_config
from agent.daemon.gates import Gates
from agent.daemon.reconciler import Reconciler
from agent.daemon.state import AppState, Manual
from agent.emulator import EmulatedCluster
from agent.fleet.suspend import Suspensions
from agent.report.metrics import Metrics
from agent.report.notifications import Notifier
from agent.results import Operation, Trigger
from agent.sync.context import Context
from tests.support.repos import GitRepo

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {value: one}\n"
NIGHT = {"kind": "deny", "schedule": "0 22 * * *", "duration": "2h", "apps": ["web"]}


class Setup:
    def __init__(self, tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, now: datetime) -> None:
        repo.write("db/cm.yaml", CONFIGMAP)
        repo.write("web/cm.yaml", CONFIGMAP)
        repo.commit("one")
        app: dict[str, Any] = {"repo": str(repo.path), "syncPolicy": {"createNamespace": True}}
        self.config: AgentConfig = parse_config(
            {
                "source": {"allowedSchemes": ["file"]},
                "syncWindows": [NIGHT],
                "apps": [
                    {"name": "db", "path": "db", "namespace": "db", **app},
                    {"name": "web", "path": "web", "namespace": "web", "dependsOn": ["db"], **app},
                ],
            },
            "agent.yaml",
            tmp_path,
        )
        self.cluster = cluster
        self.states = {a.name: AppState(a.name) for a in self.config.apps}
        ctx = Context.create(self.config, cluster)
        self.suspensions = Suspensions(cluster, self.config.cluster.state_namespace)
        self.gates = Gates(
            lambda: self.config.sync_windows,
            lambda: self.config.apps,
            lambda name: self.states[name].snapshot() if name in self.states else None,
            lambda _app: self.suspensions,
            lambda: now,
        )
        self.rec = Reconciler(ctx, Metrics(), Notifier([]), self.gates)

    def app(self, name: str) -> Application:
        return self.config.app(name)

    def run(self, name: str) -> str:
        return str(self.rec.run(self.app(name), self.states[name], Trigger.SCHEDULE).outcome)

    def live(self, namespace: str) -> bool:
        return self.cluster.get("v1", "ConfigMap", "settings", namespace) is not None


NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def test_an_app_waits_for_its_dependency_then_syncs(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    s = Setup(tmp_path, repo, cluster, NOON)
    assert s.run("web") == "waiting"
    obs = s.states["web"].observation
    assert obs is not None and obs.message == "Waiting for db: not reconciled yet"
    assert str(obs.sync_status) == "OutOfSync"  # observed: what it would change is known
    assert not s.live("web")
    assert s.states["web"].drifted_keys == frozenset()  # waiting is no drift news
    assert s.run("db") == "synced"
    assert s.run("web") == "synced"
    assert s.live("web")


def test_a_deny_window_defers_the_sync_and_reports_the_drift(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    s = Setup(tmp_path, repo, cluster, datetime(2026, 5, 4, 23, 0, tzinfo=UTC))
    assert s.run("db") == "synced"  # the window selects web only
    assert s.run("web") == "deferred"
    result = s.states["web"].last_run
    assert result is not None
    assert (
        result.message == "Sync deferred by window deny '0 22 * * *' for 2h (UTC) until 2026-05-05T00:00:00Z"
    )
    assert not s.live("web")
    assert s.states["web"].drifted_keys  # the drift is reported all the same


def test_a_suspended_app_is_not_read_and_runs_again_when_resumed(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    s = Setup(tmp_path, repo, cluster, NOON)
    assert s.suspensions.suspend("db")
    assert s.run("db") == "suspended"
    # not observed: no revision was read (an unknown observation, with the suspension's message)
    assert s.states["db"].observation is not None and s.states["db"].observation.revision is None
    assert not s.live("db")
    assert s.run("web") == "waiting"
    assert s.states["web"].last_run is not None
    assert s.states["web"].last_run.message.startswith(
        "Waiting for db: Suspended (gitops-agent suspend since "
    )
    assert s.suspensions.resume("db")
    assert s.run("db") == "synced"
    assert s.run("web") == "synced"


def test_a_sync_asked_for_by_hand_is_held_then_run_by_the_next_run_once_ready(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    s = Setup(tmp_path, repo, cluster, NOON)
    manual = Manual(Operation.SYNC, force=True)  # force applies a held commit; dependsOn still holds
    held = s.rec.run(s.app("web"), s.states["web"], Trigger.MANUAL, manual)
    assert (str(held.outcome), held.message) == ("waiting", "Waiting for db: not reconciled yet")
    assert not s.live("web")
    assert s.gates.ready_held(s.app("web")) is None  # still waiting: still held
    assert s.run("db") == "synced"
    # whichever run of web comes next (here its own timer's) is the held sync, as it was asked for
    ran = s.rec.run(s.app("web"), s.states["web"], Trigger.SCHEDULE)
    assert (ran.trigger, str(ran.outcome)) == (Trigger.MANUAL, "synced")
    assert s.live("web")
    assert s.gates.ready_held(s.app("web")) is None  # run: no longer held
