"""High availability: replicas of the agent that share the apps through Leases.

Each replica holds a member Lease in the state namespace, one of them the
leader Lease; apps are spread over the live members by rendezvous hashing
(:mod:`agent.ha.shard`) and each is reconciled by the one replica that holds
its claim.  Everything goes through :class:`agent.cluster.ClusterClient`, so
the emulated cluster and a real API server behave alike.
"""

from __future__ import annotations

from agent.ha.claims import AppClaims, claim_lease
from agent.ha.elector import LeaseElector, Sightings
from agent.ha.lease import Clock, LeaseRecord, LeaseStore, SystemClock, micro_time, parse_micro_time
from agent.ha.members import Member, Roster, member_lease
from agent.ha.replica import LEADER_LEASE, Replica, Settings, default_identity
from agent.ha.shard import assign, moved, owner

__all__ = [
    "LEADER_LEASE",
    "AppClaims",
    "Clock",
    "LeaseElector",
    "LeaseRecord",
    "LeaseStore",
    "Member",
    "Replica",
    "Roster",
    "Settings",
    "Sightings",
    "SystemClock",
    "assign",
    "claim_lease",
    "default_identity",
    "member_lease",
    "micro_time",
    "moved",
    "owner",
    "parse_micro_time",
]
