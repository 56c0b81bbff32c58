"""Per-app claims: one Lease per app says which replica reconciles it.

Sharding says which replica *should* own an app; the claim makes sure only
one *does* at any moment, whatever the replicas' views of the membership.
A claim is taken (a create, or an update carrying the resourceVersion read)
only when nobody holds it, its holder released it, or its holder is known
to be dead: that holder's member Lease was read released or expired.  A
claim whose holder the roster has never seen is taken only after the claim
itself has not changed for its duration.  Claims are not renewed one by one
(a thousand apps would mean a thousand writes every few seconds): a claim
lives as long as its holder's member Lease, and a replica whose member
Lease lapses stops acting on all its claims at once.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from agent.ha.elector import Sightings
from agent.ha.lease import APP, Clock, LeaseRecord, LeaseStore, SystemClock, lease_name, micro_time
from agent.ha.members import Roster
from agent.kube.errors import ClusterError, Conflict

log = logging.getLogger(__name__)
APP_ROLE = "app"


def claim_lease(app: str) -> str:
    """The name of ``app``'s claim Lease."""
    return lease_name("gitops-agent-app", app)


class AppClaims:
    """The claims one replica holds, and how it takes and gives them up."""

    def __init__(
        self,
        store: LeaseStore,
        identity: str,
        roster: Roster,
        *,
        lease_seconds: int = 10,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.identity = identity
        self.roster = roster
        self.lease_seconds = lease_seconds
        self.clock = clock or SystemClock()
        self.sightings = Sightings(self.clock)
        self.held: set[str] = set()
        self.taken = 0  # claims taken from another holder (a failover or a rebalance)

    def claim(self, app: str) -> bool:
        """Hold ``app``'s claim: True when this replica holds it now."""
        try:
            ok = self._claim(app)
        except ClusterError as e:
            log.debug("claim %s: %s", app, e)
            ok = False
        if ok:
            self.held.add(app)
        else:
            self.held.discard(app)
        return ok

    def _claim(self, app: str) -> bool:
        name = claim_lease(app)
        now = micro_time(self.clock.now())
        mine = LeaseRecord(self.identity, self.lease_seconds, now, now, 0, {APP: app})
        lease = self.store.get(name)
        if lease is None:
            return self.store.create(name, APP_ROLE, mine) is not None
        old = lease.record
        if old.holder == self.identity:
            return True
        if old.holder and not self._takeable(name, old):
            return False
        try:
            self.store.update(lease, replace(mine, transitions=old.transitions + 1))
        except Conflict:
            return False
        if old.holder:
            self.taken += 1
        return True

    def _takeable(self, name: str, old: LeaseRecord) -> bool:
        if self.roster.is_live(old.holder):
            return False
        if self.roster.is_gone(old.holder):
            return True
        return self.sightings.expired(name, old)

    def release(self, app: str) -> bool:
        """Give ``app``'s claim up (holder cleared, duration 1 s) when held.
        When the write fails the claim still names this replica, so no other
        may take it: the app stays held, and the next round tries again (else
        it would stay claimed by a live replica that no longer knows it)."""
        try:
            lease = self.store.get(claim_lease(app))
            if lease is None or lease.record.holder != self.identity:
                self.held.discard(app)
                return False
            now = micro_time(self.clock.now())
            self.store.update(lease, replace(lease.record, holder="", duration=1, renew_time=now))
        except ClusterError as e:
            log.info("claim %s not released (tried again at the next round): %s", app, e)
            return False
        self.held.discard(app)
        return True

    def release_all(self) -> int:
        return sum(self.release(app) for app in sorted(self.held))

    def verify(self) -> set[str]:
        """Read every claim again (after this replica could not renew for a while,
        others may have taken some): the apps held now are exactly those whose
        claim names this replica, including one whose write went through while
        its answer was lost."""
        leases = self.store.list(APP_ROLE)
        mine = {
            lease.record.annotations.get(APP, "") for lease in leases if lease.record.holder == self.identity
        }
        self.held = mine - {""}
        return set(self.held)
