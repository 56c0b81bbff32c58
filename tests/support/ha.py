"""Clocks and replicas for the high-availability tests.

:class:`FakeClock` stands for one node's clocks: tests move the monotonic
clock of every replica together (time passes alike everywhere) while each
wall clock may be off by its own offset (a skewed node).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from agent.cluster.base import ClusterClient
from agent.ha import LeaseStore, Replica, Settings

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FakeClock:
    offset: float = 0.0  # this node's wall clock minus true time
    shared: list[float] = field(
        default_factory=lambda: [1000.0]
    )  # true time, shared by the clocks of one test

    def monotonic(self) -> float:
        return self.shared[0]

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.shared[0] + self.offset)

    def advance(self, seconds: float) -> None:
        self.shared[0] += seconds

    def skewed(self, offset: float) -> FakeClock:
        """Another node's clocks: the same time passing, the wall clock ``offset`` s off."""
        return FakeClock(offset, self.shared)


def replicas(
    client: ClusterClient,
    names: Iterable[str],
    clock: FakeClock,
    offsets: Iterable[float] = (),
    **settings: float,
) -> list[Replica]:
    """Replicas named ``names`` over one cluster, each with a clock skewed by its offset."""
    skews = list(offsets)
    out = []
    for i, name in enumerate(names):
        own = clock.skewed(skews[i]) if i < len(skews) else clock
        out.append(Replica(LeaseStore(client, "gitops-agent"), Settings(identity=name, **settings), own))
    return out


def round_of(group: Iterable[Replica], apps: Iterable[str]) -> dict[str, set[str]]:
    """Every replica ticks, then settles ``apps``: what each owns."""
    group = list(group)
    names = list(apps)
    for r in group:
        r.tick()
    return {r.identity: r.settle(names) for r in group}


def holders(owned: dict[str, set[str]]) -> dict[str, list[str]]:
    """App to the replicas that own it (exactly one each when all is well)."""
    out: dict[str, list[str]] = {}
    for identity, apps in owned.items():
        for app in apps:
            out.setdefault(app, []).append(identity)
    return out


class Monitor:
    """Samples every replica, two passes at a time, until stopped: a leader, or
    an app, that two replicas hold in both passes of a pair is a violation
    (one pass alone could straddle a handover; both passes cannot, since a
    replica stops acting before the Lease it held may be taken)."""

    def __init__(self, group: Iterable[Replica]) -> None:
        self.group = list(group)
        self.violations: list[str] = []
        self.pairs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _pass(self) -> tuple[set[str], dict[str, set[str]]]:
        leaders = {r.identity for r in self.group if r.is_leader()}
        return leaders, {r.identity: r.owned() for r in self.group}

    def _run(self) -> None:
        while not self._stop.is_set():
            (l1, o1), (l2, o2) = self._pass(), self._pass()
            self.pairs += 1
            both = l1 & l2
            if len(both) > 1:
                self.violations.append(f"two leaders at once: {sorted(both)}")
            kept = {identity: o1[identity] & o2[identity] for identity in o1}
            for app, who in holders(kept).items():
                if len(who) > 1:
                    self.violations.append(f"{app} owned by {sorted(who)} at once")
            self._stop.wait(0.01)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join()
        return self.violations
