"""Who is alive: the member Leases of every replica, judged by observed renewals.

Each replica holds a Lease of its own (role ``member``), renewed every few
seconds, carrying its identity and its capacity.  The roster lists them and
judges each as the elector judges any Lease: live while its record keeps
changing within its duration, as seen on the local monotonic clock; dead once
released (no holder) or unchanged for its whole duration.  A Lease first seen
counts as live until it has been watched for its duration, as client-go
treats a record it has just read, so a replica that starts never declares
the others dead on their timestamps alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent.ha.elector import Sightings
from agent.ha.lease import ADDRESS, CAPACITY, Clock, Lease, LeaseStore, SystemClock, lease_name

MEMBER = "member"


@dataclass(frozen=True)
class Member:
    identity: str
    capacity: float
    lease: str  # the member Lease's name
    address: str = ""  # its HTTP API's URL, when it announces one


def capacity_of(annotations: Mapping[str, str]) -> float:
    """The capacity a member announces (1 when absent or unreadable, never below 0)."""
    try:
        return max(0.0, float(annotations.get(CAPACITY, "1")))
    except ValueError:
        return 1.0


def member_lease(identity: str) -> str:
    """The name of ``identity``'s member Lease."""
    return lease_name("gitops-agent-member", identity)


class Roster:
    """The live members as last read, and the member Leases known to be dead."""

    def __init__(self, store: LeaseStore, clock: Clock | None = None) -> None:
        self.store = store
        self.sightings = Sightings(clock or SystemClock())
        self.live: dict[str, Member] = {}
        self.dead: set[str] = set()  # member Leases released or expired, by name
        self._leases: dict[str, Lease] = {}  # every member Lease as last read

    def refresh(self) -> dict[str, Member]:
        """Read every member Lease (ClusterError when the server cannot be reached)."""
        leases = self.store.list(MEMBER)
        live: dict[str, Member] = {}
        dead: set[str] = set()
        for lease in leases:
            record = lease.record
            if self.sightings.expired(lease.name, record):
                dead.add(lease.name)
            else:
                notes = record.annotations
                live[record.holder] = Member(
                    record.holder, capacity_of(notes), lease.name, notes.get(ADDRESS, "")
                )
        self.sightings.keep({lease.name for lease in leases})
        self.live, self.dead = live, dead
        self._leases = {lease.name: lease for lease in leases}
        return live

    def stale(self, after: float) -> list[Lease]:
        """Dead member Leases (released or expired) left unchanged for ``after``
        seconds or more since first seen: a replica gone for good, such as one
        that restarted under a new identity."""
        now = self.sightings.clock.monotonic()
        out = []
        for name in sorted(self.dead):
            lease = self._leases[name]
            if now - self.sightings.see(name, lease.record) >= max(after, lease.record.duration):
                out.append(lease)
        return out

    def weights(self) -> dict[str, float]:
        """Live members and their capacities, for :func:`agent.ha.shard.assign`."""
        return {identity: m.capacity for identity, m in self.live.items()}

    def is_live(self, identity: str) -> bool:
        return identity in self.live

    def is_gone(self, identity: str) -> bool:
        """``identity``'s member Lease was read released or expired (not merely unseen)."""
        return identity not in self.live and member_lease(identity) in self.dead
