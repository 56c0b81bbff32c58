"""The daemon's gates over its apps' states: when a dependency is ready,
which dependents a finished run wakes, a window at an injected time."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.config import AgentConfig, Application
from agent.daemon.gates import Gates, readiness
from agent.daemon.state import AppSnapshot, Observation, Outcome, RunResult
from agent.models import HealthStatus, SyncStatus
from agent.results import Trigger


def _run(outcome: Outcome, message: str = "") -> RunResult:
    return RunResult(Trigger.SCHEDULE, "t0", "t1", 0.1, outcome, message=message)


def _snap(
    health: HealthStatus = HealthStatus.HEALTHY,
    sync: SyncStatus = SyncStatus.SYNCED,
    outcome: Outcome = Outcome.SYNCED,
    message: str = "",
    *,
    running: bool = False,
) -> AppSnapshot:
    obs = Observation("t1", None, sync, health, None)
    return AppSnapshot(obs, _run(outcome, message), running, False, 0, "")


def test_a_dependency_is_ready_when_synced_and_healthy_and_its_run_was_not_stopped() -> None:
    assert readiness(_snap()) is None
    assert readiness(None) == "not in the fleet"
    assert readiness(AppSnapshot(None, None, True, False, 0, "")) == "not reconciled yet"
    assert readiness(_snap(HealthStatus.DEGRADED, outcome=Outcome.FAILED)) == "Degraded"
    assert readiness(_snap(sync=SyncStatus.OUT_OF_SYNC, outcome=Outcome.DRIFT)) == "OutOfSync"
    assert readiness(_snap(outcome=Outcome.FAILED)) == "Failed"
    assert readiness(_snap(outcome=Outcome.SUSPENDED, message="Suspended (x)")) == "Suspended (x)"


def _gates(apps: Sequence[Application], snaps: dict[str, AppSnapshot], **config: Any) -> Gates:
    cfg = AgentConfig.model_validate({"apps": [a.model_dump(by_alias=True) for a in apps], **config})
    clock = lambda: datetime(2026, 5, 4, 23, 0, tzinfo=UTC)  # noqa: E731 - a fixed "now"
    return Gates(lambda: cfg.sync_windows, lambda: apps, snaps.get, lambda _app: None, clock)  # type: ignore[arg-type, return-value]


def _app(name: str, *deps: str, **more: Any) -> Application:
    return Application.model_validate({"name": name, "repo": "r", "dependsOn": list(deps), **more})


def test_waiting_names_the_first_dependency_not_ready() -> None:
    web = _app("web", "cache", "db")
    gates = _gates([web, _app("cache"), _app("db")], {"cache": _snap(), "db": _snap(HealthStatus.DEGRADED)})
    assert gates.waiting(web) == "Waiting for db: Degraded"
    assert gates.waiting(_app("cache")) is None


def test_a_finished_run_wakes_the_dependents_waiting_for_it_or_deciding_now() -> None:
    apps = [_app("db"), _app("web", "db"), _app("api", "db"), _app("docs", "db"), _app("other")]
    snaps = {
        "web": _snap(outcome=Outcome.WAITING, message="Waiting for db: Progressing"),
        "api": _snap(outcome=Outcome.UNCHANGED, running=True),
        "docs": _snap(outcome=Outcome.UNCHANGED),
        "other": _snap(outcome=Outcome.WAITING),
    }
    asked: list[tuple[list[str], Trigger]] = []

    def request(names: Sequence[str], trigger: Trigger, _manual: object) -> list[Any]:
        asked.append((list(names), trigger))
        return []

    gates = _gates(apps, snaps)
    gates.after_run("db", _run(Outcome.SYNCED), request)
    assert asked == [(["web", "api"], Trigger.SCHEDULE)]
    gates.after_run("db", _run(Outcome.WAITING), request)  # db changed nothing: no one is woken
    assert len(asked) == 1


def test_dependents_are_indexed_once_per_change_of_the_app_set() -> None:
    apps = [_app("db"), _app("web", "db")]
    reads = [0]

    def listed() -> list[Application]:
        reads[0] += 1
        return list(apps)

    snaps = {"web": _snap(outcome=Outcome.WAITING), "api": _snap(outcome=Outcome.WAITING)}
    gates = Gates(lambda: [], listed, snaps.get, lambda _app: None)  # type: ignore[arg-type, return-value]
    generation = [0]
    gates.generation = lambda: generation[0]
    asked: list[list[str]] = []

    def request(names: Sequence[str], _trigger: Trigger, _manual: object) -> list[Any]:
        asked.append(list(names))
        return []

    for _ in range(3):
        gates.after_run("db", _run(Outcome.SYNCED), request)
    assert asked == [["web"]] * 3 and reads[0] == 1  # one scan for three runs
    apps.append(_app("api", "db"))  # the app set changes: the index is built again
    generation[0] += 1
    gates.after_run("db", _run(Outcome.SYNCED), request)
    assert asked[-1] == ["web", "api"] and reads[0] == 2


def test_the_window_is_decided_at_the_injected_time() -> None:
    night = {"kind": "deny", "schedule": "0 22 * * *", "duration": "2h", "apps": ["web"]}
    gates = _gates([_app("web"), _app("db")], {}, syncWindows=[night])
    found = gates.window(_app("web"))
    assert found is not None and found.until == datetime(2026, 5, 5, tzinfo=UTC)
    assert gates.window(_app("db")) is None


def test_a_deferred_app_runs_again_when_its_window_closes_before_its_next_poll() -> None:
    night = {"kind": "deny", "schedule": "0 22 * * *", "duration": "2h"}
    closing = datetime(2026, 5, 5, tzinfo=UTC) - timedelta(milliseconds=100)
    apps = [_app("web", intervalSeconds=600), _app("api", intervalSeconds=1)]
    cfg = AgentConfig.model_validate(
        {"apps": [a.model_dump(by_alias=True) for a in apps], "syncWindows": [night]}
    )
    gates = Gates(lambda: cfg.sync_windows, lambda: apps, {}.get, lambda _app: None, lambda: closing)  # type: ignore[arg-type]
    asked: list[list[str]] = []
    done = threading.Event()

    def request(names: Sequence[str], _trigger: Trigger, _manual: object) -> list[Any]:
        asked.append(list(names))
        done.set()
        return []

    gates.after_run("api", _run(Outcome.DEFERRED), request)  # polled every second: no timer
    gates.after_run("web", _run(Outcome.DEFERRED), request)
    assert done.wait(30)
    assert asked == [["web"]]
    done.clear()
    assert not done.wait(2.5)  # and api, polled each second anyway, was given no run of its own
    assert asked == [["web"]]
