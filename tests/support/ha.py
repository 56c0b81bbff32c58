"""Clocks and replicas for the high-availability tests.

:class:`FakeClock` stands for one node's clocks: tests move the monotonic
clock of every replica together (time passes alike everywhere) while each
wall clock may be off by its own offset (a skewed node).
"""

from __future__ import annotations

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
