"""Holding a Lease with the semantics of client-go's ``tools/leaderelection``.

Expiry is judged as client-go judges it (``tryAcquireOrRenew``): a replica
remembers each record it reads and *when it first saw that record* on its
own monotonic clock; another holder's Lease is expired once the record has
not changed for its ``leaseDurationSeconds`` since then.  The holder's
``renewTime`` is never compared with the local wall clock, so replicas whose
clocks disagree by seconds (or hours) still agree on who holds what.  Every
write carries the resourceVersion it read; a Conflict means another replica
wrote first, and the next round reads again.

The holder acts on its Lease only while its last successful renewal started
less than ``lease - renew`` seconds ago (client-go's ``RenewDeadline``): a
replica that cannot reach the API server stops acting before any other
replica may judge its Lease expired, and never acts on a stale Lease.  On
stop, :meth:`LeaseElector.release` clears the holder and sets the duration
to one second, as client-go's ``ReleaseOnCancel`` does, so the next replica
takes over at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from agent.ha.lease import Clock, Lease, LeaseRecord, LeaseStore, SystemClock, micro_time
from agent.kube.errors import ClusterError, Conflict

log = logging.getLogger(__name__)


class Sightings:
    """When each Lease's record was first seen as it is now, on the monotonic clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._seen: dict[str, tuple[LeaseRecord, float]] = {}

    def see(self, name: str, record: LeaseRecord) -> float:
        """Note ``record`` as read; the monotonic time it was first seen unchanged."""
        known = self._seen.get(name)
        if known is None or known[0] != record:
            known = (record, self.clock.monotonic())
            self._seen[name] = known
        return known[1]

    def expired(self, name: str, record: LeaseRecord) -> bool:
        """The record holds nobody, or has not changed for its duration since first seen."""
        observed = self.see(name, record)
        if not record.holder:
            return True
        return self.clock.monotonic() - observed >= record.duration

    def reset(self) -> None:
        """Forget every sighting: each record counts as first seen at the next read."""
        self._seen.clear()

    def keep(self, names: set[str]) -> None:
        """Forget the Leases that are gone."""
        for name in set(self._seen) - names:
            del self._seen[name]


class LeaseElector:
    """One replica's hold on one Lease (a leader Lease, or its own member Lease)."""

    def __init__(
        self,
        store: LeaseStore,
        name: str,
        identity: str,
        *,
        role: str = "leader",
        lease_seconds: int = 10,
        renew_seconds: float = 2.0,
        clock: Clock | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        if not 0 < renew_seconds < lease_seconds:
            raise ValueError(
                f"renewSeconds ({renew_seconds:g}) must be shorter than leaseSeconds ({lease_seconds})"
            )
        self.store = store
        self.name = name
        self.identity = identity
        self.role = role
        self.lease_seconds = int(lease_seconds)
        self.renew_seconds = renew_seconds
        self.clock = clock or SystemClock()
        self.annotations = dict(annotations or {})
        self.sightings = Sightings(self.clock)
        self.observed = LeaseRecord()  # the last record read or written
        self._renewed_at: float | None = None  # monotonic start of the last successful renewal
        self.continuous = False  # the last renewal came before the one before had run out

    @property
    def valid_seconds(self) -> float:
        """How long a renewal lets the holder act (client-go's RenewDeadline)."""
        return self.lease_seconds - self.renew_seconds

    def held(self) -> bool:
        """This replica holds the Lease now: renewed recently enough to act on it."""
        started = self._renewed_at
        return started is not None and self.clock.monotonic() - started < self.valid_seconds

    def holder(self) -> str:
        """Who holds the Lease as last seen ("" when nobody, or when it has expired)."""
        if self.held():
            return self.identity
        record = self.observed
        return "" if self.sightings.expired(self.name, record) else record.holder

    def try_acquire_or_renew(self) -> bool:
        """One round: take the Lease when free or expired, renew it when held.
        False when another replica holds it, wrote first, or the server cannot be reached."""
        started = self.clock.monotonic()
        try:
            written = self._round()
        except ClusterError as e:
            log.debug("lease %s/%s: %s", self.store.namespace, self.name, e)
            written = None
        if written is None:
            if self.observed.holder != self.identity:
                self._renewed_at = None
            return False
        self.observed = written.record
        self.sightings.see(self.name, written.record)
        previous = self._renewed_at
        self.continuous = previous is not None and started - previous < self.valid_seconds
        self._renewed_at = started
        return True

    def _round(self) -> Lease | None:
        now = micro_time(self.clock.now())
        lease = self.store.get(self.name)
        if lease is None:
            record = LeaseRecord(self.identity, self.lease_seconds, now, now, 0, self.annotations)
            return self.store.create(self.name, self.role, record)
        old = lease.record
        self.observed = old
        expired = self.sightings.expired(self.name, old)
        if old.holder and old.holder != self.identity and not expired:
            return None
        if old.holder == self.identity:
            record = replace(old, duration=self.lease_seconds, renew_time=now, annotations=self.annotations)
        else:
            transitions = old.transitions + 1 if old.holder or old.acquire_time else old.transitions
            record = LeaseRecord(self.identity, self.lease_seconds, now, now, transitions, self.annotations)
        try:
            return self.store.update(lease, record)
        except Conflict:
            return None

    def release(self) -> bool:
        """Give the Lease up (holder cleared, duration 1 s) when this replica holds it."""
        held = self._renewed_at is not None
        self._renewed_at = None  # stop acting first
        if not held:
            return False
        try:
            lease = self.store.get(self.name)
            if lease is None or lease.record.holder != self.identity:
                return False
            now = micro_time(self.clock.now())
            record = replace(lease.record, holder="", duration=1, acquire_time=now, renew_time=now)
            self.observed = self.store.update(lease, record).record
        except ClusterError as e:
            log.info("lease %s/%s not released: %s", self.store.namespace, self.name, e)
            return False
        return True
