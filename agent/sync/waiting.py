"""Waiting for health: watch the objects a batch wrote until they are all
Healthy, one turns Degraded, or the deadline passes.

One watch per kind (the app's label selects its objects), each in a thread
that re-arms its watch in short windows so it never outlives the wait by
much; events feed one queue that the waiting thread reads.  No polling: the
state of every object comes from the watch.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.cluster.base import ClusterClient
from agent.health import Health, UserRules, assess
from agent.kube.errors import ClusterError
from agent.models import HealthStatus, ObjectKey

CANCEL_CHECK_SECONDS = 0.05  # how soon a cancelled wait notices
WINDOW_SECONDS = 2.0  # each watch is re-armed after this long (bounds how long a watch outlives a wait)


@dataclass(frozen=True)
class Target:
    api_version: str
    key: ObjectKey


@dataclass(frozen=True)
class Outcome:
    status: HealthStatus  # Healthy, Degraded, or the worst pending state at the deadline
    key: ObjectKey | None = None  # the object that decided it (degraded or still pending)
    message: str = ""
    timed_out: bool = False
    verdicts: Mapping[ObjectKey, Health] = field(default_factory=dict)  # each awaited object's last verdict

    @property
    def healthy(self) -> bool:
        return self.status is HealthStatus.HEALTHY


class _Tally:
    """Health of the awaited objects, decided in O(1) per event."""

    def __init__(self, health: dict[ObjectKey, Health]) -> None:
        self.health = health
        self.done = {k for k, h in health.items() if h.status in _SETTLED}
        self.degraded = {k for k, h in health.items() if h.status is HealthStatus.DEGRADED}

    def update(self, key: ObjectKey, h: Health) -> None:
        self.health[key] = h
        (self.done.add if h.status in _SETTLED else self.done.discard)(key)
        (self.degraded.add if h.status is HealthStatus.DEGRADED else self.degraded.discard)(key)

    def decide(self) -> Outcome | None:
        if self.degraded:
            key = min(self.degraded)
            return Outcome(HealthStatus.DEGRADED, key, self.health[key].message, verdicts=dict(self.health))
        if len(self.done) == len(self.health):
            return Outcome(HealthStatus.HEALTHY, verdicts=dict(self.health))
        return None


_SETTLED = (HealthStatus.HEALTHY, HealthStatus.SUSPENDED)


def wait_for_health(
    cluster: ClusterClient,
    targets: Sequence[Target],
    *,
    selector: Mapping[str, str],
    deadline: float,
    known: Mapping[ObjectKey, Mapping[str, Any]] | None = None,
    on_wait: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
    rules: UserRules | None = None,
) -> Outcome:
    """``known`` are objects as the writes returned them: when they already
    decide the outcome, no watch is opened at all.  ``cancel`` ends a wait
    nobody needs any more (its outcome is then the worst pending state)."""
    tally = _Tally({t.key: assess((known or {}).get(t.key), rules) for t in targets})
    decided = tally.decide()
    if decided is not None or not targets:
        return decided or Outcome(HealthStatus.HEALTHY)
    health = tally.health
    pending = sorted(k for k in health if k not in tally.done)
    if on_wait is not None:
        on_wait(
            f"waiting for {len(pending)} object(s) to become healthy ({pending[0]}: {health[pending[0]]})"
        )
    wanted = set(pending)  # only what is not settled yet is watched
    events: queue.Queue[tuple[ObjectKey, Health] | ClusterError] = queue.Queue()
    stop = threading.Event()
    kinds = sorted({(t.api_version, t.key.kind) for t in targets if t.key in wanted})
    watches = _Watches(cluster, selector, deadline, wanted, events, stop, rules)
    threads = [
        threading.Thread(
            target=_watch_kind,
            args=(watches, api, kind),
            daemon=True,
            name=f"watch-{kind}",
        )
        for api, kind in kinds
    ]
    for t in threads:
        t.start()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (cancel is not None and cancel.is_set()):
                return _timed_out(health)
            try:
                wait = remaining if cancel is None else min(remaining, CANCEL_CHECK_SECONDS)
                item = events.get(timeout=wait)
            except queue.Empty:
                continue
            if isinstance(item, ClusterError):
                raise item
            tally.update(*item)
            decided = tally.decide()
            if decided is not None:
                return decided
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=0.5)


def _timed_out(health: Mapping[ObjectKey, Health]) -> Outcome:
    key, worst = max(health.items(), key=lambda kv: kv[1].status.rank)
    return Outcome(worst.status, key, worst.message or str(worst.status), True, dict(health))


@dataclass(frozen=True)
class _Watches:
    """What the watching threads of one wait share."""

    cluster: ClusterClient
    selector: Mapping[str, str]
    deadline: float
    wanted: set[ObjectKey]
    events: queue.Queue[tuple[ObjectKey, Health] | ClusterError]
    stop: threading.Event
    rules: UserRules | None = None


def _watch_kind(watches: _Watches, api_version: str, kind: str) -> None:
    cluster, stop = watches.cluster, watches.stop
    try:
        while not stop.is_set():
            window = min(WINDOW_SECONDS, watches.deadline - time.monotonic())
            if window <= 0:
                return
            for event, obj in cluster.watch(
                api_version, kind, "", watches.selector, timeout=window, stop=stop
            ):
                if stop.is_set():
                    return
                key = ObjectKey.of(obj)
                if key in watches.wanted:
                    watches.events.put((key, assess(None if event == "DELETED" else obj, watches.rules)))
    except ClusterError as e:
        watches.events.put(e)
