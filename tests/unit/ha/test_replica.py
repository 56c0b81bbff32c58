"""Replicas together: one leader, every app owned by exactly one replica,
failover after the lease on a crash and at once on a stop, skewed wall
clocks, and an unreachable API server.  Clocks are injected and moved by
hand; the cluster is the emulated one."""

from __future__ import annotations

from agent.emulator import EmulatedCluster
from agent.ha import LEADER_LEASE, Replica, assign, claim_lease
from tests.support.ha import FakeClock, holders, replicas, round_of

APPS = [f"app-{i:02d}" for i in range(30)]


def leaders(group: list[Replica]) -> list[str]:
    return [r.identity for r in group if r.is_leader()]


def test_a_single_replica_elects_itself_and_owns_every_app(cluster: EmulatedCluster) -> None:
    (one,) = replicas(cluster, ["solo"], FakeClock())
    owned = round_of([one], APPS)
    assert owned == {"solo": set(APPS)}
    assert one.is_leader()
    lease = cluster.get("coordination.k8s.io/v1", "Lease", claim_lease("app-07"), "gitops-agent")
    assert lease is not None and lease["spec"]["holderIdentity"] == "solo"
    assert lease["metadata"]["annotations"] == {"gitops-agent.io/app": "app-07"}


def test_three_replicas_split_the_apps_with_one_leader(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    group = replicas(cluster, ["r1", "r2", "r3"], clock, offsets=[-5, 0, 5])
    round_of(group, APPS)  # the first round: each sees only those that started before it
    clock.advance(2)
    owned = round_of(group, APPS)
    assert len(leaders(group)) == 1
    assert sorted(holders(owned)) == APPS and all(len(h) == 1 for h in holders(owned).values())
    expected = assign(APPS, {"r1": 1, "r2": 1, "r3": 1})
    for _ in range(3):  # handovers finish once the first owners have released
        clock.advance(2)
        owned = round_of(group, APPS)
    assert {k: sorted(v) for k, v in owned.items()} == expected


def test_a_stopped_replica_hands_over_at_once(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    group = replicas(cluster, ["r1", "r2", "r3"], clock)
    for _ in range(4):
        clock.advance(2)
        round_of(group, APPS)
    (leader,) = [r for r in group if r.is_leader()]
    rest = [r for r in group if r is not leader]
    leader.stop()  # releases its claims, the leader Lease and its member Lease
    owned = round_of(rest, APPS)  # no time passes
    assert len(leaders(rest)) == 1
    assert sorted(holders(owned)) == APPS and all(len(h) == 1 for h in holders(owned).values())
    lease = cluster.get("coordination.k8s.io/v1", "Lease", LEADER_LEASE, "gitops-agent")
    assert lease is not None and lease["spec"]["leaseTransitions"] == 1


def test_a_crashed_replicas_apps_move_after_the_lease_and_not_before(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    group = replicas(cluster, ["r1", "r2", "r3"], clock, offsets=[5, -5, 0])
    for _ in range(4):
        clock.advance(2)
        owned = round_of(group, APPS)
    crashed, rest = group[0], group[1:]
    lost = owned["r1"]
    assert lost  # it had a share
    waited = 0.0
    while True:  # r1 renews nothing from now on
        clock.advance(0.5)
        waited += 0.5
        owned = round_of(rest, APPS)
        if lost & (owned["r2"] | owned["r3"]):
            break
        assert waited < 30
    assert 10 <= waited <= 12  # the lease (10 s) plus at most one round
    clock.advance(0.5)
    owned = round_of(rest, APPS)
    assert sorted(holders(owned)) == APPS and all(len(h) == 1 for h in holders(owned).values())
    assert not crashed.active() and crashed.owned() == set()  # it would not act, were it alive


def test_an_unreachable_server_leaves_no_leader_and_they_resume(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    group = replicas(cluster, ["r1", "r2", "r3"], clock)
    for _ in range(4):
        clock.advance(2)
        round_of(group, APPS)
    assert len(leaders(group)) == 1
    cluster.faults.update(down=True)
    for _ in range(40):  # 20 s without the API server
        clock.advance(0.5)
        owned = round_of(group, APPS)
        assert len(leaders(group)) <= 1
    assert leaders(group) == [] and owned == {"r1": set(), "r2": set(), "r3": set()}
    cluster.faults.update(down=False)
    for _ in range(4):
        clock.advance(2)
        owned = round_of(group, APPS)
    assert len(leaders(group)) == 1
    assert sorted(holders(owned)) == APPS and all(len(h) == 1 for h in holders(owned).values())


def test_after_an_outage_each_replica_keeps_its_apps(cluster: EmulatedCluster) -> None:
    """Coming back, a replica does not judge the others dead for not having
    renewed while nobody could: nothing changes hands."""
    clock = FakeClock()
    group = replicas(cluster, ["r1", "r2", "r3"], clock)
    for _ in range(5):
        clock.advance(2)
        before = round_of(group, APPS)
    taken = [r.claims.taken for r in group]
    cluster.faults.update(down=True)
    for _ in range(10):  # 30 s down
        clock.advance(3)
        round_of(group, APPS)
    cluster.faults.update(down=False)
    rounds = []
    for _ in range(8):  # r3 first: the last to read before the outage, it saw everyone's last renewal
        clock.advance(2)
        rounds.append(round_of(reversed(group), APPS))
    assert rounds[0] == before  # the first round back already owns what it owned
    assert all(after == before for after in rounds)
    assert [r.claims.taken for r in group] == taken  # no claim was taken from another


def test_a_stalled_replica_reads_its_claims_again_before_acting(cluster: EmulatedCluster) -> None:
    """A replica that stood still (a long pause, not an error) past its renew
    deadline renews without error when it wakes: it must still not trust the
    claims it remembers, since the others took them meanwhile."""
    clock = FakeClock()
    group = replicas(cluster, ["r1", "r2"], clock)
    for _ in range(4):
        clock.advance(2)
        before = round_of(group, APPS)
    stalled, other = group
    assert before["r1"] and before["r2"]
    for _ in range(12):  # 12 s: only r2 runs
        clock.advance(1)
        after = round_of([other], APPS)
    assert after["r2"] == set(APPS)  # r1's apps were taken
    assert stalled.tick()  # r1 wakes: its member Lease renews fine
    assert stalled.owned() == set() and not any(stalled.owns(app) for app in APPS)
    owned = round_of(group, APPS)
    assert not owned["r1"] & owned["r2"]
