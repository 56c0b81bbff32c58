"""The scheduler's guarantees, with the real APScheduler and a probe runner:
runs of one app never overlap, apps run in parallel up to the concurrency,
a request during a run causes exactly one more run, the queue is bounded,
failures back off, and draining lets running work finish; apps join, change
and leave while others run."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agent.config import Application, parse_config
from agent.daemon.scheduler import AppRemoved, Draining, QueueFull, Scheduler
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
        self.seen: list[Any] = []  # the definition each run was given
        self.release = threading.Event()
        self.release.set()

    def __call__(self, app: Any, state: AppState, trigger: str, manual: Manual | None) -> RunResult:
        with self.lock:
            self.active[app.name] += 1
            self.max_per_app = max(self.max_per_app, self.active[app.name])
            self.max_total = max(self.max_total, sum(self.active.values()))
            self.runs.append((app.name, trigger))
            self.seen.append(app)
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


def app(name: str, **fields: Any) -> Application:
    return Application.model_validate(
        {"name": name, "repo": "https://git.example.invalid/r.git", "intervalSeconds": 3600, **fields}
    )


def busy(s: Scheduler, probe: Probe, name: str = "app-0") -> None:
    """Every app's first run done, then a second one of ``name`` held going."""
    firsts = lambda: {n for n, t in probe.runs if t == "schedule"} == set(s.names())  # noqa: E731
    wait_for(lambda: firsts() and not s.running(), 30, "the first runs")
    probe.release.clear()
    s.request([name], "webhook")
    wait_for(lambda: s.running() == [name], 30, "a run in progress")


def test_an_app_added_while_another_runs_gets_its_first_run(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0)
    s = started(Scheduler(config(tmp_path, 1, webhook={"debounceSeconds": 0}), probe))
    busy(s, probe)
    s.add(app("new"))
    wait_for(lambda: sorted(s.running()) == ["app-0", "new"], 30, "the new app's first run, side by side")
    probe.release.set()
    wait_for(lambda: not s.running(), 30, "idle")
    assert ("new", "schedule") in probe.runs
    assert s.names() == ["app-0", "new"]


def test_a_removed_app_finishes_its_run_and_its_waiting_requests_fail(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0)
    s = started(Scheduler(config(tmp_path, 2, webhook={"debounceSeconds": 0}), probe))
    busy(s, probe)
    (waiting,) = s.request(["app-0"], "manual", Manual("sync"))  # joins the run after this one
    s.request(["app-0"], "webhook")
    finished = threading.Event()
    assert s.remove("app-0", then=finished.set) is True
    with pytest.raises(AppRemoved, match="app-0 was removed from the fleet"):
        waiting.result(5)
    assert "app-0" not in s.states and s.names() == ["app-1"]
    assert s.running() == ["app-0"] and not finished.is_set()  # its run goes on
    assert s.queued() == 0
    probe.release.set()
    wait_for(finished.is_set, 30, "the removal to follow the run")
    assert not s.running()
    assert [t for name, t in probe.runs if name == "app-0"] == ["schedule", "webhook"]  # nothing after
    assert s.request(["app-0", "app-1"], "webhook") == []  # a push for it selects the others only
    with pytest.raises(AppRemoved, match="no app named 'app-0'"):
        s.request(["app-0"], "manual", Manual("sync"))
    assert s.next_run("app-0") == ""
    assert s.remove("app-0") is False


def test_an_idle_app_is_removed_at_once(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0)
    s = started(Scheduler(config(tmp_path, 1), probe))
    wait_for(lambda: len(probe.runs) == 1 and not s.running(), 30, "the first run")
    finished = threading.Event()
    s.remove("app-0", then=finished.set)
    assert finished.is_set()
    assert s.names() == []


def test_an_app_back_before_its_removal_finished_never_overlaps(tmp_path: Path, started: Any) -> None:
    probe = Probe(hold=0)
    s = started(Scheduler(config(tmp_path, 1, webhook={"debounceSeconds": 0}), probe))
    busy(s, probe)
    removed = threading.Event()
    s.remove("app-0", then=removed.set)
    s.add(app("app-0", path="again"))  # its first run waits for the run still going
    assert s.running() == ["app-0"]
    probe.release.set()
    wait_for(lambda: len(probe.runs) == 3 and not s.running(), 30, "the run with the new definition")
    assert probe.max_per_app == 1
    assert not removed.is_set()  # taken back: no removal to finish
    assert probe.seen[-1].path == "again"


def test_a_changed_definition_takes_effect_at_the_next_run_and_a_new_interval_reschedules(
    tmp_path: Path, started: Any
) -> None:
    probe = Probe(hold=0)
    s = started(Scheduler(config(tmp_path, 1, webhook={"debounceSeconds": 0}, jitterPercent=0), probe))
    busy(s, probe)
    s.update(app("app-0", path="moved", intervalSeconds=0.2))
    assert probe.seen[-1].path == "."  # the run going on keeps what it began with
    probe.release.set()
    wait_for(lambda: sum(1 for _, t in probe.runs if t == "schedule") >= 3, 30, "runs on the new interval")
    assert probe.seen[-1].path == "moved"
    with pytest.raises(KeyError):
        s.update(app("unknown"))


def test_a_request_as_a_run_ends_is_not_lost(tmp_path: Path, started: Any) -> None:
    """A request that comes after a run decided to stop but before its job
    returned (APScheduler still counts that instance) runs at once, not at
    the app's next timer an hour later."""
    probe = Probe(hold=0)
    asked = threading.Event()

    class Late(Scheduler):
        def _retire(self, state: AppState) -> None:  # the window: the run is over, its job not yet
            super()._retire(state)
            if not asked.is_set():
                asked.set()
                self.request([state.name], "webhook")
                time.sleep(0.5)  # the scheduler's loop looks at the due job meanwhile

    s = started(Late(config(tmp_path, 1, webhook={"debounceSeconds": 0}), probe))
    wait_for(lambda: len(probe.runs) == 2 and not s.running() and s.queued() == 0, 30, "the request's run")
    assert probe.runs == [("app-0", "schedule"), ("app-0", "webhook")]
