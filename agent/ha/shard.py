"""Which replica owns which app: rendezvous (highest random weight) hashing.

Every (member, app) pair gets a pseudo-random score from a hash of both
names; an app belongs to the member with the highest score.  Each replica
computes the same answer from the same member list without talking to the
others, and when a member joins or leaves only the apps whose best score
changes move, about 1/N of them (Thaler and Ravishankar, "Using
Name-Based Mappings to Increase Hit Rates", 1998).  A member's weight (its
capacity) scales its share: the score is ``-weight / ln(u)`` for the hash
``u`` in (0, 1), the weighted form of the same scheme (Schindelhauer and
Schomaker, 2005), so a member of weight 2 owns twice the share of one of
weight 1, and changing one weight still moves only apps to or from that member.

Argo CD shards clusters by a hash modulo the replica count (most move when it
changes) and Flux by labels set by hand; this needs neither.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping

_SPAN = float(1 << 64)


def score(member: str, app: str, weight: float = 1.0) -> float:
    """The pair's score: higher wins."""
    digest = hashlib.blake2b(f"{member}\0{app}".encode(), digest_size=8).digest()
    unit = (int.from_bytes(digest, "big") + 0.5) / _SPAN  # in (0, 1), never 0 or 1
    return -weight / math.log(unit)


def owner(app: str, members: Mapping[str, float]) -> str | None:
    """The member (name to weight) that owns ``app``; None when there are none.
    Members of weight 0 or less own nothing; ties go to the smaller name."""
    best: tuple[float, str] | None = None
    for member, weight in members.items():
        if weight <= 0:
            continue
        candidate = (score(member, app, weight), member)
        if best is None or candidate[0] > best[0] or (candidate[0] == best[0] and member < best[1]):
            best = candidate
    return best[1] if best else None


def assign(apps: Iterable[str], members: Mapping[str, float]) -> dict[str, list[str]]:
    """Each member's apps (every member present, sorted lists); no members: no owners."""
    shares: dict[str, list[str]] = {m: [] for m, w in members.items() if w > 0}
    for app in sorted(set(apps)):
        found = owner(app, members)
        if found is not None:
            shares[found].append(app)
    return shares


def moved(before: Mapping[str, list[str]], after: Mapping[str, list[str]]) -> set[str]:
    """The apps whose owner differs between two assignments (apps in only one count too)."""
    old = {app: m for m, apps in before.items() for app in apps}
    new = {app: m for m, apps in after.items() for app in apps}
    return {app for app in old.keys() | new.keys() if old.get(app) != new.get(app)}
