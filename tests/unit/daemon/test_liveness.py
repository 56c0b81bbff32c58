"""/livez follows the scheduler's heartbeat; daemon.address follows the
environment when the file does not set it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from agent.config import parse_config
from agent.daemon.api import create_app
from agent.daemon.scheduler import Scheduler
from agent.report.metrics import Metrics
from tests.support.waits import wait_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


class Stalling:
    """The part of DaemonView the probes read."""

    def __init__(self, tmp_path: Path) -> None:
        self.config = parse_config({"apps": [], "daemon": {"livenessSeconds": 30}}, "agent.yaml", tmp_path)
        self.metrics = Metrics()
        self.draining = False
        self.stalled = 0.0

    def stalled_for(self) -> float:
        return self.stalled

    def is_ready(self) -> bool:
        return True


def test_livez_fails_when_the_scheduler_has_not_ticked(tmp_path: Path) -> None:
    d = Stalling(tmp_path)
    c = TestClient(create_app(d))  # type: ignore[arg-type]  # a partial DaemonView: the probes only
    assert c.get("/livez").json() == {"status": "ok", "sinceTickSeconds": 0.0}
    d.stalled = 31
    stuck = c.get("/livez")
    assert stuck.status_code == 503
    assert stuck.json()["detail"] == "the scheduler has not ticked for 31s (daemon.livenessSeconds: 30)"
    assert c.get("/healthz").status_code == 200  # the startup probe: the process answers
    d.draining = True  # shutting down: the scheduler is paused on purpose, no restart
    assert c.get("/livez").status_code == 200


def test_the_heartbeat_ticks_and_stops_with_the_scheduler(tmp_path: Path) -> None:
    config = parse_config({"apps": [], "daemon": {"livenessSeconds": 5}}, "agent.yaml", tmp_path)
    sched = Scheduler(config, lambda *a: None)  # type: ignore[arg-type,return-value]  # no apps: never runs
    assert sched.heartbeat == 1.25
    sched.start()
    try:
        first = sched.last_tick
        wait_for(lambda: sched.last_tick > first, 10, "a heartbeat")
        sched._scheduler.pause()  # the scheduler's loop runs no job any more, as when its thread hangs
        wait_for(lambda: sched.stalled_for() > 2 * sched.heartbeat, 10, "the heartbeat to stop")
    finally:
        sched.drain(0)


def test_address_comes_from_the_environment_unless_the_file_sets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITOPS_AGENT_ADDRESS", raising=False)
    assert parse_config({"apps": []}, "agent.yaml", tmp_path).daemon.address == "127.0.0.1"
    monkeypatch.setenv("GITOPS_AGENT_ADDRESS", "0.0.0.0")  # noqa: S104 - what the image sets
    assert parse_config({"apps": []}, "agent.yaml", tmp_path).daemon.address == "0.0.0.0"  # noqa: S104
    doc = {"apps": [], "daemon": {"address": "127.0.0.2"}}
    assert parse_config(doc, "agent.yaml", tmp_path).daemon.address == "127.0.0.2"
