"""Member Leases of replicas gone for good are deleted by the leader, and a
delete carries the resourceVersion it read, so a Lease renewed meanwhile is
kept: on the embedded emulated cluster, the emulated cluster over HTTPS and
the real API server of the test suite.  Time is a fake clock (only the
monotonic clock judges expiry), so nothing waits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from agent.emulator import EmulatedCluster
from agent.ha import LeaseStore, member_lease
from agent.ha.replica import STALE_LEASES
from agent.kube.errors import Conflict
from tests.support.emulator import served_https
from tests.support.ha import FakeClock, replicas

NS = "gitops-agent"
LEASE = 4  # seconds
SETTINGS = {"lease_seconds": LEASE, "renew_seconds": 1.0}


@pytest.fixture(params=["emulated", "emulated-https", "kube-real"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClusterClient]:
    if request.param == "emulated":
        engine = EmulatedCluster(tmp_path / "cluster.db")
        yield engine
        engine.close()
        return
    if request.param == "kube-real":
        c = KubeCluster.from_kubeconfig(request.getfixturevalue("real").kubeconfig)
        yield c
        c.close()
        return
    with served_https(tmp_path) as (_, kubeconfig):
        c = KubeCluster.from_kubeconfig(kubeconfig)
        yield c
        c.close()


def names(client: ClusterClient) -> set[str]:
    found = client.list("coordination.k8s.io/v1", "Lease", NS, {"gitops-agent.io/lease": "member"})
    return {lease["metadata"]["name"] for lease in found}


def test_a_delete_whose_resource_version_is_stale_is_refused(client: ClusterClient) -> None:
    clock = FakeClock()
    (r,) = replicas(client, ["r0"], clock, **SETTINGS)
    r.tick()
    store = LeaseStore(client, NS)
    read = store.get(member_lease("r0"))
    assert read is not None
    clock.advance(1)
    r.tick()  # renewed: a new resourceVersion
    with pytest.raises(Conflict):
        client.delete(
            "coordination.k8s.io/v1",
            "Lease",
            read.name,
            NS,
            preconditions={"resourceVersion": read.resource_version},
        )
    assert store.delete(read) is False
    assert member_lease("r0") in names(client)
    fresh = store.get(member_lease("r0"))
    assert fresh is not None and store.delete(fresh) is True
    assert member_lease("r0") not in names(client)


def test_the_leader_deletes_member_leases_dead_for_long_and_keeps_one_renewed(client: ClusterClient) -> None:
    clock = FakeClock()
    r1, r2, old, back = replicas(client, ["r1", "r2", "old", "back"], clock, **SETTINGS)
    r1.tick()  # r1 leads
    for r in (r2, old, back):
        r.tick()
    old.stop()  # a restart under a new identity: its member Lease is released and left behind
    back.stop(release=False)  # a replica that stops renewing (killed), and will come back

    def rounds(seconds: float) -> None:
        for _ in range(int(seconds)):
            clock.advance(1)
            r1.tick()
            r2.tick()

    rounds(STALE_LEASES * LEASE - 2)  # dead, but not yet for long
    assert {member_lease(n) for n in ("r1", "r2", "old", "back")} <= names(client)
    assert r1.is_leader() and not r2.is_leader()

    # "back" renews between the leader's read and its delete: the precondition keeps it
    r1.roster.refresh()
    stale = {lease.name: lease for lease in r1.roster.stale(0)}
    assert set(stale) == {member_lease("old"), member_lease("back")}
    back.member.try_acquire_or_renew()
    assert r1.roster.store.delete(stale[member_lease("back")]) is False
    rounds(4)  # "old" now dead for long: deleted
    assert names(client) == {member_lease(n) for n in ("r1", "r2", "back")}

    # "back" stops again: deleted once dead for long
    rounds(STALE_LEASES * LEASE + 2)
    assert names(client) == {member_lease("r1"), member_lease("r2")}
