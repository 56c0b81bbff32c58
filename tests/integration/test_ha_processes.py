"""Replicas as separate processes, on the served emulated cluster and on
the real API server: wall clocks skewed by ±5 s, one replica stopped
(SIGTERM: its Leases released, its apps handed over) and one killed
(SIGKILL: its apps taken over only after its lease ran out).  Order and
counts only; waits are bounded so a failure cannot hang."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cluster.kube import KubeCluster
from agent.ha import assign, claim_lease, member_lease, parse_micro_time
from tests.support.emulator import served_https
from tests.support.ha_replica import NS, Replicas, apps
from tests.support.waits import poll

APPS = apps(24)
OFFSETS = {"p1": -5.0, "p2": 0.0, "p3": 5.0}
WAIT = 90


@pytest.fixture(params=["emulated-https", "kube-real"])
def kubeconfig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    if request.param == "kube-real":
        yield request.getfixturevalue("real").kubeconfig
        return
    with served_https(tmp_path) as (_, kubeconfig):
        yield kubeconfig


@pytest.fixture
def processes(kubeconfig: Path) -> Iterator[Replicas]:
    group = Replicas(kubeconfig, len(APPS))
    yield group
    group.close()


def split_as_hashed(group: Replicas) -> bool:
    owned = group.owned()
    expected = assign(APPS, dict.fromkeys(owned, 1.0))
    return {k: sorted(v) for k, v in owned.items()} == expected and len(group.leaders()) == 1


def spec(client: KubeCluster, name: str) -> dict[str, object]:
    lease = client.get("coordination.k8s.io/v1", "Lease", name, NS)
    assert lease is not None
    return dict(lease["spec"])


def true_time(text: object, offset: float) -> float:
    moment = parse_micro_time(str(text))
    assert moment is not None
    return moment.timestamp() - offset


def test_stopped_and_killed_replicas_hand_their_apps_over(processes: Replicas, kubeconfig: Path) -> None:
    for identity, offset in OFFSETS.items():
        processes.start(identity, offset)
    assert poll(lambda: split_as_hashed(processes), WAIT), f"never split: {processes.owned()}"
    client = KubeCluster.from_kubeconfig(kubeconfig)

    # SIGTERM: the member Lease is released and the others own everything
    assert processes.signal("p1", signal.SIGTERM) == 0
    member = spec(client, member_lease("p1"))
    assert "holderIdentity" not in member and member["leaseDurationSeconds"] == 1
    assert poll(lambda: split_as_hashed(processes), WAIT), f"p1's apps not taken: {processes.owned()}"

    # SIGKILL: nothing released; p3's apps go to p2 once p3's lease has run out
    lost = processes.owned()["p3"]
    assert lost
    processes.signal("p3", signal.SIGKILL)
    assert poll(lambda: processes.owned().get("p2") == set(APPS), WAIT), (
        f"p3's apps not taken: {processes.owned()}"
    )
    last_renewal = true_time(spec(client, member_lease("p3"))["renewTime"], OFFSETS["p3"])
    for app in sorted(lost):
        claim = spec(client, claim_lease(app))
        assert claim["holderIdentity"] == "p2"
        # taken after p3's last renewal plus its lease (the clocks are one clock, offsets removed)
        assert true_time(claim["acquireTime"], OFFSETS["p2"]) >= last_renewal + 2
    # the leader Lease runs out on its own clock: p2 leads once it has (when p3 led, a moment later)
    assert poll(lambda: processes.leaders() == ["p2"], WAIT), f"leaders: {processes.leaders()}"
    client.close()
