"""One replica's part in the group: its member Lease, the leader Lease, its apps.

Every ``renew`` seconds a :class:`Replica` renews its member Lease, reads the
roster, and tries for the leader Lease; :meth:`Replica.settle` then claims
the apps that rendezvous hashing gives it over the live members and releases
the ones it no longer should have.  Nothing here acts unless the member
Lease was renewed within its deadline: a replica cut off from the API server
owns no app and leads nothing until it renews again (and then reads its
claims anew, since others may have taken them meanwhile).  :meth:`Replica.stop`
releases the claims, the leader Lease and the member Lease, so a planned
restart hands everything over at once.

A single replica needs no configuration: it is the only member, elects
itself and owns every app.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agent.config.ha import HaSettings
from agent.ha import shard
from agent.ha.claims import AppClaims
from agent.ha.elector import LeaseElector
from agent.ha.lease import ADDRESS, CAPACITY, Clock, LeaseStore, SystemClock
from agent.ha.members import MEMBER, Roster, member_lease
from agent.kube.errors import ClusterError

log = logging.getLogger(__name__)
LEADER_LEASE = "gitops-agent-leader"
STALE_LEASES = 10  # a dead member Lease unchanged this many lease durations is deleted


def default_identity() -> str:
    """``<hostname>-<pid>``: unique per process, as client-go's examples use the pod name plus a uid."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Settings:
    namespace: str = "gitops-agent"
    identity: str = field(default_factory=default_identity)
    lease_seconds: int = 10
    renew_seconds: float = 2.0
    capacity: float = 1.0
    address: str = ""  # announced on the member Lease, for forwarding

    @classmethod
    def of(cls, ha: HaSettings, namespace: str, address: str = "") -> Settings:
        """From ``daemon.ha`` and the state namespace (``cluster.stateNamespace``)."""
        return cls(
            address=address,
            namespace=namespace,
            identity=ha.identity or default_identity(),
            lease_seconds=ha.lease_seconds,
            renew_seconds=ha.renew_seconds,
            capacity=ha.capacity,
        )


class Replica:
    """Membership, leadership and app claims of one agent process."""

    def __init__(self, store: LeaseStore, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.identity = settings.identity
        self.clock = clock or SystemClock()
        self.member = self._elector(store, member_lease(settings.identity), MEMBER, self._announced(settings))
        self.leader = self._elector(store, LEADER_LEASE, "leader", {})
        self.roster = Roster(store, self.clock)
        self.claims = AppClaims(
            store, settings.identity, self.roster, lease_seconds=settings.lease_seconds, clock=self.clock
        )
        self._lapsed = True  # claims must be read again before they are trusted
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0

    @staticmethod
    def _announced(settings: Settings) -> dict[str, str]:
        notes = {CAPACITY: f"{settings.capacity:g}"}
        if settings.address:
            notes[ADDRESS] = settings.address
        return notes

    def _elector(self, store: LeaseStore, name: str, role: str, annotations: dict[str, str]) -> LeaseElector:
        s = self.settings
        return LeaseElector(
            store,
            name,
            s.identity,
            role=role,
            lease_seconds=s.lease_seconds,
            renew_seconds=s.renew_seconds,
            clock=self.clock,
            annotations=annotations,
        )

    # -- state ---------------------------------------------------------------------------------
    def active(self) -> bool:
        """The member Lease is fresh: this replica may act."""
        return self.member.held()

    def is_leader(self) -> bool:
        return self.active() and self.leader.held()

    def members(self) -> dict[str, float]:
        """Live members and their capacities (this one included while active)."""
        if not self.active():
            return {}
        weights = self.roster.weights()
        weights[self.identity] = self.settings.capacity
        return weights

    def desired(self, apps: Iterable[str], key: Callable[[str], str] | None = None) -> list[str]:
        """The apps hashing gives this replica over the live members; with
        ``key``, each app goes where its key hashes (apps sharing a key stay together)."""
        if key is None:
            return shard.assign(apps, self.members()).get(self.identity, [])
        members = self.members()
        return [a for a in apps if shard.owner(key(a), members) == self.identity]

    def owns(self, app: str) -> bool:
        """This replica holds ``app``'s claim and may act on it now."""
        return self.active() and not self._lapsed and app in self.claims.held

    def owned(self) -> set[str]:
        return set(self.claims.held) if self.active() and not self._lapsed else set()

    # -- one round -----------------------------------------------------------------------------
    def tick(self) -> bool:
        """Renew the member Lease, read the roster, try for leadership; True while active."""
        self.ticks += 1
        if not self.member.try_acquire_or_renew():
            self._lapsed = self._lapsed or not self.member.held()
            return self.member.held()
        if not self.member.continuous:  # it ran out before this renewal (cut off, or stalled)
            self._lapsed = True
        try:
            if self._lapsed:
                self._look_again()
            self.roster.refresh()
            if self._lapsed:
                self.claims.verify()
                self._lapsed = False
        except ClusterError as e:
            log.debug("roster: %s", e)
        self.leader.try_acquire_or_renew()
        if self.is_leader():
            self.collect()
        return self.active()

    def collect(self) -> list[str]:
        """The leader deletes member Leases dead for :data:`STALE_LEASES` lease
        durations (a replica gone for good, or restarted under a new identity),
        each only if unchanged since read: one renewed meanwhile is kept."""
        deleted: list[str] = []
        for lease in self.roster.stale(STALE_LEASES * self.settings.lease_seconds):
            try:
                gone = self.roster.store.delete(lease)
            except ClusterError as e:
                log.debug("member Lease %s not deleted: %s", lease.name, e)
                return deleted
            if gone:
                deleted.append(lease.name)
                log.info("deleted member Lease %s (its replica is gone)", lease.name)
        return deleted

    def _look_again(self) -> None:
        """After a lapse, what was seen before says nothing about what happened
        meanwhile: count every other Lease as first seen now, so a replica coming
        back from an outage does not judge the others dead because it could not
        watch them renew (they may have been cut off just as long)."""
        for sightings in (self.roster.sightings, self.claims.sightings, self.leader.sightings):
            sightings.reset()

    def settle(
        self, apps: Iterable[str], busy: Iterable[str] = (), key: Callable[[str], str] | None = None
    ) -> set[str]:
        """Claim the apps this replica should own, release those it should not
        (unless ``busy``: a sync in flight finishes first); the apps owned now."""
        if not self.active() or self._lapsed:
            return set()
        wanted = set(self.desired(apps, key))
        keep = set(busy)
        for app in sorted(self.claims.held - wanted - keep):
            self.claims.release(app)
        for app in sorted(wanted - self.claims.held):
            if not self.active():
                break
            self.claims.claim(app)
        return self.owned()

    # -- running -------------------------------------------------------------------------------
    def start(self, apps: Iterable[str] | Callable[[], Iterable[str]] | None = None) -> Replica:
        """Tick every ``renew`` seconds on a thread, and settle ``apps`` when given:
        a list, or a function returning the app set as it is now (it changes)."""
        fixed = None if apps is None or callable(apps) else list(apps)

        def current() -> Iterable[str] | None:
            return apps() if callable(apps) else fixed

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    names = current()
                    if self.tick() and names is not None:
                        self.settle(names)
                except Exception:  # a bug must not end the renewals silently
                    log.exception("replica %s: tick failed", self.identity)
                self._stop.wait(self.settings.renew_seconds)

        self._thread = threading.Thread(target=loop, name=f"ha-{self.identity}", daemon=True)
        self._thread.start()
        return self

    def stop(self, release: bool = True) -> None:
        """Stop renewing; with ``release``, give up the claims, the leader Lease and the member Lease."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.lease_seconds * 3)
            self._thread = None
        if release:
            self.claims.release_all()
            self.leader.release()
            self.member.release()
