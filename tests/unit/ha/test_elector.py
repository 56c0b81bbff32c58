"""One Lease, several candidates, client-go's rules: expiry by observed
change on the local monotonic clock, resourceVersion-guarded writes,
release on stop.  Clocks are injected; the cluster is the emulated one."""

from __future__ import annotations

import pytest

from agent.emulator import EmulatedCluster
from agent.ha import LeaseElector, LeaseStore, parse_micro_time
from agent.ha.lease import Lease, LeaseRecord
from tests.support.ha import FakeClock

NS = "gitops-agent"


def elector(cluster: EmulatedCluster, identity: str, clock: FakeClock, **kw: object) -> LeaseElector:
    return LeaseElector(LeaseStore(cluster, NS), "leader", identity, clock=clock, **kw)  # type: ignore[arg-type]


def spec(cluster: EmulatedCluster) -> dict[str, object]:
    lease = cluster.get("coordination.k8s.io/v1", "Lease", "leader", NS)
    assert lease is not None
    return dict(lease["spec"])


def test_the_first_candidate_takes_the_lease_and_renews_it(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    a, b = elector(cluster, "a", clock), elector(cluster, "b", clock)
    assert a.try_acquire_or_renew() and a.held()
    first = spec(cluster)
    assert first["holderIdentity"] == "a" and first["leaseDurationSeconds"] == 10
    assert first["leaseTransitions"] == 0
    assert str(first["renewTime"]).endswith("Z") and "." in str(first["renewTime"])  # MicroTime
    assert not b.try_acquire_or_renew() and not b.held() and b.holder() == "a"
    clock.advance(2)
    assert a.try_acquire_or_renew()
    renewed = spec(cluster)
    assert renewed["acquireTime"] == first["acquireTime"]
    moments = [parse_micro_time(str(t)) for t in (first["renewTime"], renewed["renewTime"])]
    assert (
        moments[0] is not None and moments[1] is not None and (moments[1] - moments[0]).total_seconds() == 2
    )


@pytest.mark.parametrize("skew", [-3600.0, -5.0, 5.0, 3600.0])
def test_expiry_is_judged_by_observation_not_by_the_holders_timestamps(
    cluster: EmulatedCluster, skew: float
) -> None:
    clock = FakeClock()
    a = elector(cluster, "a", clock.skewed(skew))  # the holder's wall clock is off
    b = elector(cluster, "b", clock)
    assert a.try_acquire_or_renew()
    clock.advance(1)
    assert not b.try_acquire_or_renew()  # b sees the record for the first time now
    clock.advance(9.9)
    assert not b.try_acquire_or_renew() and not b.held()  # unchanged for 9.9 s of b's own time
    clock.advance(0.1)
    assert b.try_acquire_or_renew() and b.held()  # unchanged for the whole 10 s
    assert spec(cluster)["holderIdentity"] == "b" and spec(cluster)["leaseTransitions"] == 1
    assert not a.held()  # a stopped acting long before (its renew deadline passed)
    assert not a.try_acquire_or_renew() and a.holder() == "b"


def test_every_renewal_restarts_the_others_count(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    a, b = elector(cluster, "a", clock.skewed(-30)), elector(cluster, "b", clock.skewed(30))
    assert a.try_acquire_or_renew()
    for _ in range(20):  # 40 s: b never sees the record unchanged for 10 s
        assert not b.try_acquire_or_renew()
        clock.advance(2)
        assert a.try_acquire_or_renew() and a.held()
    assert spec(cluster)["holderIdentity"] == "a"


def test_the_holder_stops_acting_before_anyone_may_take_over(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    a, b = elector(cluster, "a", clock), elector(cluster, "b", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    cluster.faults.update(down=True)
    lapsed_at = None
    for step in range(60):  # 0.25 s steps: a keeps trying, b keeps trying
        clock.advance(0.25)
        assert not a.try_acquire_or_renew() and not b.try_acquire_or_renew()
        if lapsed_at is None and not a.held():
            lapsed_at = step
        assert not b.held()
    assert lapsed_at is not None and lapsed_at < 32  # within lease - renew = 8 s
    cluster.faults.update(down=False)
    assert b.try_acquire_or_renew() and b.held() and not a.held()  # 15 s unchanged: expired


def test_release_hands_the_lease_over_at_once(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    a, b = elector(cluster, "a", clock), elector(cluster, "b", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert a.release() and not a.held()
    released = spec(cluster)
    assert "holderIdentity" not in released and released["leaseDurationSeconds"] == 1
    assert b.try_acquire_or_renew() and b.held()  # no waiting: nobody holds it
    assert not a.release()  # not held: nothing written
    assert spec(cluster)["holderIdentity"] == "b"


class RacingStore(LeaseStore):
    """A real store whose update lets another candidate write first."""

    def __init__(self, cluster: EmulatedCluster, rival: LeaseElector) -> None:
        super().__init__(cluster, NS)
        self.rival = rival

    def update(self, lease: Lease, record: LeaseRecord) -> Lease:
        assert self.rival.try_acquire_or_renew()
        return super().update(lease, record)


def test_a_write_on_a_stale_read_conflicts_and_loses(cluster: EmulatedCluster) -> None:
    clock = FakeClock()
    a = elector(cluster, "a", clock)
    assert a.try_acquire_or_renew() and a.release()
    b = elector(cluster, "b", clock)
    c = LeaseElector(RacingStore(cluster, b), "leader", "c", clock=clock)
    assert not c.try_acquire_or_renew()  # b wrote between c's read and c's write
    assert not c.held() and b.held()
    assert spec(cluster)["holderIdentity"] == "b"


def test_renew_must_be_shorter_than_the_lease(cluster: EmulatedCluster) -> None:
    with pytest.raises(ValueError, match=r"renewSeconds \(10\) must be shorter than leaseSeconds \(10\)"):
        elector(cluster, "a", FakeClock(), lease_seconds=10, renew_seconds=10)
