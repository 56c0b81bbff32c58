"""Per-app claims: taken only when free, released, or held by a member known to be dead."""

from __future__ import annotations

from agent.emulator import EmulatedCluster
from agent.ha import AppClaims, LeaseStore, Roster, claim_lease
from agent.ha.lease import LeaseRecord
from tests.support.ha import FakeClock, replicas, round_of

NS = "gitops-agent"


def claims(cluster: EmulatedCluster, identity: str, clock: FakeClock) -> AppClaims:
    store = LeaseStore(cluster, NS)
    return AppClaims(store, identity, Roster(store, clock), clock=clock)


def holder(cluster: EmulatedCluster, app: str) -> str:
    lease = cluster.get("coordination.k8s.io/v1", "Lease", claim_lease(app), NS)
    assert lease is not None
    return str(lease["spec"].get("holderIdentity", ""))


def test_a_claim_of_a_holder_never_seen_is_taken_only_after_its_duration(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    store = LeaseStore(cluster, NS)
    record = LeaseRecord("stranger", 10, "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z")
    assert store.create(claim_lease("web"), "app", record) is not None
    mine = claims(cluster, "me", clock)
    mine.roster.refresh()  # no member Lease names "stranger"
    assert not mine.claim("web")
    clock.advance(9.5)
    assert not mine.claim("web") and holder(cluster, "web") == "stranger"
    clock.advance(0.5)
    assert mine.claim("web") and holder(cluster, "web") == "me"
    assert mine.taken == 1 and mine.held == {"web"}


def test_a_live_members_claim_is_never_taken(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    (alive,) = replicas(cluster, ["alive"], clock)
    assert round_of([alive], ["web"]) == {"alive": {"web"}}
    other = claims(cluster, "other", clock)
    for _ in range(30):  # 60 s, while "alive" renews every 2 s
        clock.advance(2)
        alive.tick()
        other.roster.refresh()
        assert not other.claim("web")
    assert holder(cluster, "web") == "alive" and other.held == set()


def test_release_and_verify(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    a, b = claims(cluster, "a", clock), claims(cluster, "b", clock)
    assert a.claim("web") and a.claim("api")
    assert a.release("web") and holder(cluster, "web") == ""
    assert not a.release("web")  # no longer held: nothing written
    assert b.claim("web")  # released: taken at once
    a.held.add("web")  # a remembers wrongly (say, after a pause)
    assert a.verify() == {"api"}
    assert a.release_all() == 1 and holder(cluster, "api") == ""


def test_a_release_the_cluster_refused_is_tried_again_and_a_lost_claim_is_found(
    cluster: EmulatedCluster,
) -> None:
    clock = FakeClock()
    mine = claims(cluster, "me", clock)
    assert mine.claim("web") and mine.claim("shop")
    cluster.faults.update(down=True)
    assert not mine.release("web")  # refused: the claim still names "me", so "me" still holds it
    assert mine.held == {"web", "shop"}
    cluster.faults.update(down=False)
    assert mine.release("web") and holder(cluster, "web") == "" and mine.held == {"shop"}
    mine.held.clear()  # as after a claim written whose answer was lost
    assert mine.verify() == {"shop"} and holder(cluster, "shop") == "me"
