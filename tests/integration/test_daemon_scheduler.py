"""The scheduler's guarantees, with the real APScheduler and a probe runner:
runs of one app never overlap, apps run in parallel up to the concurrency,
a request during a run causes exactly one more run, the queue is bounded,
failures back off, and draining lets running work finish."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agent.config import parse_config
from agent.daemon.scheduler import Draining, QueueFull, Scheduler
from agent.daemon.state import AppState, Manual, RunResult
from tests.support.waits import wait_for


class Probe:
    """Runs that take ``hold`` seconds and record how many ran at once."""

    def __init__(self, hold: float = 0.05, fail: set[str] | None = None) -> None:
        self.hold = hold
        self.fail = fail or set()
        self.lock = threading.Lock()
        self.active: Counter[str] = Counter()
        self.max_per_app = 0
        self.max_total = 0
        self.runs: list[tuple[str, str]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, app: Any, state: AppState, trigger: str, manual: Manual | None) -> RunResult:
        with self.lock:
            self.active[app.name] += 1
            self.max_per_app = max(self.max_per_app, self.active[app.name])
            self.max_total = max(self.max_total, sum(self.active.values()))
            self.runs.append((app.name, trigger))
        time.sleep(self.hold)
        self.release.wait(30)
        with self.lock:
            self.active[app.name] -= 1
        failed = app.name in self.fail
        if failed:
            state.failures += 1
        else:
            state.failures = 0
        return RunResult(trigger, "", "", self.hold, "failed" if failed else "unchanged")


def config(tmp_path: Path, apps: int, **daemon: Any) -> Any:
    return parse_config(
        {
            "daemon": {"concurrency": 2, **daemon},
            "apps": [
                {"name": f"app-{i}", "repo": "https://git.example.invalid/r.git", "intervalSeconds": 3600}
                for i in range(apps)
            ],
        },
        "agent.yaml",
        tmp_path,
    )


@pytest.fixture
def started() -> Any:
    made: list[Scheduler] = []

    def start(s: Scheduler) -> Scheduler:
        s.start()
        made.append(s)
        return s

    yield start
    for s in made:
        if not s.draining:
            s.drain(5)


def test_one_app_never_overlaps_and_apps_share_the_pool(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0.05)
    s = started(Scheduler(config(tmp_path, 4, webhook={"debounceSeconds": 0}), probe))
    wait_for(lambda: len(probe.runs) >= 4 and not s.running(), 30, "first runs")
    threads = [
        threading.Thread(target=lambda n=n: [s.request([f"app-{n % 4}"], "webhook") for _ in range(20)])
        for n in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: not s.running() and s.queued() == 0, 30, "idle")
    assert probe.max_per_app == 1
    assert probe.max_total <= 2
    assert probe.max_total == 2  # different apps did run side by side


def test_requests_during_a_run_cause_exactly_one_more_run(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0)
    s = started(Scheduler(config(tmp_path, 1, webhook={"debounceSeconds": 0}), probe))
    wait_for(lambda: len(probe.runs) == 1 and not s.running(), 30, "the first run")
    probe.release.clear()
    s.request(["app-0"], "webhook")
    wait_for(lambda: s.running() == ["app-0"], 30, "a run in progress")
    for _ in range(10):
        s.request(["app-0"], "webhook")
    probe.release.set()
    wait_for(lambda: not s.running() and s.queued() == 0, 30, "idle")
    assert probe.runs == [("app-0", "schedule"), ("app-0", "webhook"), ("app-0", "webhook")]


def test_debounce_window_merges_a_burst(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0)
    s = started(Scheduler(config(tmp_path, 1, webhook={"debounceSeconds": 1}), probe))
    wait_for(lambda: len(probe.runs) == 1 and not s.running(), 30, "the first run")
    for _ in range(25):
        s.request(["app-0"], "webhook")
    wait_for(lambda: len(probe.runs) == 2 and not s.running(), 30, "the webhook run")
    assert probe.runs[1] == ("app-0", "webhook")
    assert s.queued() == 0


def test_queue_is_bounded_and_all_or_nothing(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0)
    s = started(Scheduler(config(tmp_path, 3, webhook={"debounceSeconds": 30, "queueSize": 2}), probe))
    wait_for(lambda: len(probe.runs) == 3 and not s.running(), 30, "first runs")
    s.request(["app-0"], "webhook")
    s.request(["app-0", "app-1"], "webhook")  # app-0 joins the waiting run: one new slot
    assert s.queued() == 2
    with pytest.raises(QueueFull):
        s.request(["app-2"], "webhook")
    s.request(["app-1"], "webhook")  # already waiting: accepted at no cost
    assert s.queued() == 2


def test_an_empty_queue_takes_a_push_selecting_more_apps_than_it_holds(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0)
    s = started(Scheduler(config(tmp_path, 3, webhook={"debounceSeconds": 30, "queueSize": 2}), probe))
    wait_for(lambda: len(probe.runs) == 3 and not s.running(), 30, "first runs")
    assert s.queued() == 0
    s.request(["app-0", "app-1", "app-2"], "webhook")
    assert s.queued() == 3


def test_failures_back_off_and_others_keep_running(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0, fail={"app-0"})
    cfg = config(tmp_path, 2, backoff={"initialSeconds": 0.2, "maxSeconds": 0.4})
    s = started(Scheduler(cfg, probe))
    wait_for(lambda: sum(1 for name, _ in probe.runs if name == "app-0") >= 4, 30, "retries")
    assert [t for name, t in probe.runs if name == "app-1"] == ["schedule"]  # ran once, on its interval
    assert s.states["app-0"].failures >= 4
    assert s.states["app-1"].failures == 0


def test_drain_lets_a_running_reconcile_finish_and_refuses_new_work(tmp_path: Path) -> None:
    probe = Probe(hold=0)
    s = Scheduler(config(tmp_path, 1, webhook={"debounceSeconds": 0}), probe)
    s.start()
    wait_for(lambda: len(probe.runs) == 1 and not s.running(), 30, "the first run")
    probe.release.clear()
    s.request(["app-0"], "webhook")
    wait_for(lambda: s.running() == ["app-0"], 30, "a run in progress")
    threading.Timer(0.3, probe.release.set).start()
    assert s.drain(30) is True
    assert not s.running()
    with pytest.raises(Draining):
        s.request(["app-0"], "webhook")


def test_drain_reports_a_cut_off_reconcile(tmp_path: Path) -> None:
    probe = Probe(hold=0)
    s = Scheduler(config(tmp_path, 1, webhook={"debounceSeconds": 0}), probe)
    s.start()
    wait_for(lambda: len(probe.runs) == 1 and not s.running(), 30, "the first run")
    probe.release.clear()
    s.request(["app-0"], "webhook")
    wait_for(lambda: s.running() == ["app-0"], 30, "a run in progress")
    assert s.drain(0.1) is False
    probe.release.set()
