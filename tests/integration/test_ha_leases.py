"""Replicas sharing apps through Leases on a served cluster, in real time:
the emulated cluster over HTTPS and the real API server of the test suite,
each reached through the official client, one client per replica, through
a relay a test can cut (the API server unreachable).  Durations are short
(2 s lease, 0.5 s renew); nothing here asserts a duration, only order and
counts, and every wait has a generous bound so a failure cannot hang."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cluster.kube import KubeCluster
from agent.ha import LEADER_LEASE, LeaseStore, Replica, Settings, SystemClock, assign, claim_lease
from tests.support.emulator import served_https
from tests.support.ha import Monitor, holders
from tests.support.relay import Relay, relay_for
from tests.support.waits import poll

APPS = [f"app-{i:02d}" for i in range(24)]
NS = "gitops-agent"
FAST = {"lease_seconds": 2, "renew_seconds": 0.5}
WAIT = 60  # seconds: only to end a failing test


@pytest.fixture(params=["emulated-https", "kube-real"])
def kubeconfig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A served API server's kubeconfig: the emulated cluster, or the real one (emptied)."""
    if request.param == "kube-real":
        yield request.getfixturevalue("real").kubeconfig
        return
    with served_https(tmp_path) as (_, kubeconfig):
        yield kubeconfig


@pytest.fixture
def relay(kubeconfig: Path) -> Iterator[Relay]:
    r = relay_for(kubeconfig)
    yield r
    r.close()


@pytest.fixture
def group(tmp_path: Path, kubeconfig: Path, relay: Relay) -> Iterator[list[Replica]]:
    """Three replicas, not started, wall clocks 5 s behind, right and 5 s ahead."""
    relayed = relay.kubeconfig(kubeconfig, tmp_path / "relayed")
    made: list[Replica] = []
    clients = []
    for name, offset in (("r1", -5.0), ("r2", 0.0), ("r3", 5.0)):
        client = KubeCluster.from_kubeconfig(relayed)
        clients.append(client)
        made.append(Replica(LeaseStore(client, NS), Settings(NS, name, **FAST), SystemClock(offset)))  # type: ignore[arg-type]
    yield made
    for r in made:
        r.stop(release=False)
    for c in clients:
        c.close()


def lease_spec(client: KubeCluster, name: str) -> dict[str, object]:
    lease = client.get("coordination.k8s.io/v1", "Lease", name, NS)
    assert lease is not None
    return dict(lease["spec"])


def settled(group: list[Replica]) -> dict[str, list[str]] | None:
    """Each replica's apps once every app has exactly the owner hashing gives it, with one leader."""
    owned = {r.identity: sorted(r.owned()) for r in group}
    expected = assign(APPS, {r.identity: 1.0 for r in group})
    leaders = [r for r in group if r.is_leader()]
    return owned if owned == expected and len(leaders) == 1 else None


@pytest.mark.parametrize("size", [2, 3])
def test_replicas_elect_one_leader_and_split_the_apps(
    group: list[Replica], kubeconfig: Path, size: int
) -> None:
    members = group[:size]
    monitor = Monitor(members)
    for r in members:
        r.start(APPS)
    owned = poll(lambda: settled(members), WAIT)
    assert owned, f"never settled: {[(r.identity, r.is_leader(), sorted(r.owned())) for r in members]}"
    assert all(len(apps) > 0 for apps in owned.values())

    (leader,) = [r for r in members if r.is_leader()]
    rest = [r for r in members if r is not leader]
    check = KubeCluster.from_kubeconfig(kubeconfig)
    transitions = lease_spec(check, LEADER_LEASE)["leaseTransitions"]
    leader.stop()  # a planned restart: everything released
    member = lease_spec(check, leader.member.name)
    assert "holderIdentity" not in member and member["leaseDurationSeconds"] == 1  # as ReleaseOnCancel
    assert poll(lambda: settled(rest), WAIT), "the others never took over"
    spec = lease_spec(check, LEADER_LEASE)
    assert spec["holderIdentity"] in {r.identity for r in rest}
    assert spec["leaseTransitions"] == transitions + 1
    check.close()
    assert monitor.stop() == [] and monitor.pairs > 0


def test_no_leader_while_the_server_is_unreachable_and_they_resume(
    group: list[Replica], relay: Relay
) -> None:
    monitor = Monitor(group)
    for r in group:
        r.start(APPS)
    before = poll(lambda: settled(group), WAIT)
    assert before
    taken = [r.claims.taken for r in group]
    relay.cut()
    assert poll(lambda: not any(r.active() for r in group), WAIT), "a replica kept acting without the server"
    lapsed_ticks = [r.ticks for r in group]
    assert poll(lambda: all(r.ticks >= t + 8 for r, t in zip(group, lapsed_ticks, strict=True)), WAIT)
    # several leases' worth of rounds later, still nobody leads or owns anything
    assert [r for r in group if r.is_leader() or r.owned()] == []
    relay.open()
    after = poll(lambda: settled(group), WAIT)
    assert after == before  # each resumed with the apps it had
    assert [r.claims.taken for r in group] == taken  # none taken from another
    assert monitor.stop() == []
    assert sorted(holders({k: set(v) for k, v in after.items()})) == APPS


def test_the_app_set_may_change_while_they_run(group: list[Replica], kubeconfig: Path) -> None:
    current = [APPS[:6]]
    pair = group[:2]
    for r in pair:
        r.start(lambda: current[0])

    def owned_once(expected: list[str]) -> bool:
        found = holders({r.identity: r.owned() for r in pair})
        return sorted(found) == expected and all(len(h) == 1 for h in found.values())

    assert poll(lambda: owned_once(APPS[:6]), WAIT)
    current[0] = [*APPS[1:6], "app-new"]  # app-00 removed, app-new added
    assert poll(lambda: owned_once(current[0]), WAIT), {r.identity: r.owned() for r in pair}
    check = KubeCluster.from_kubeconfig(kubeconfig)
    released = poll(lambda: "holderIdentity" not in lease_spec(check, claim_lease("app-00")), WAIT)
    assert released and lease_spec(check, claim_lease("app-00"))["leaseDurationSeconds"] == 1
    check.close()
