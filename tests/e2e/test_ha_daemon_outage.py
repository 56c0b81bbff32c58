"""The cluster that holds the Leases cut off from three ``gitops-agent run``
replicas, longer than the lease, then brought back.

The ``default`` cluster (the emulated cluster over HTTPS, or the real API
server of the test suite) is reached through a relay the test cuts; half
the apps go to it, the other half to a second emulated cluster that stays
reachable.  While cut off, every replica stops acting: no leader, no app
owned, not one write to the other cluster (whose apps' timers keep firing
and whose repository has moved on), and nothing deleted or pruned on the
default one.  Once it answers again they share the apps anew and both
clusters converge.  Counts and order only: every wait has a generous bound
so a failure cannot hang."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cluster.kube import KubeCluster
from agent.emulator import EmulatedCluster
from tests.support.daemon import API_TOKEN, GH_SECRET, Daemon, github_headers, github_push
from tests.support.emulator import served_https
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.ha_daemons import configmap_folders, replica_config
from tests.support.net import free_port
from tests.support.relay import Relay, relay_for
from tests.support.waits import poll, wait_for

pytestmark = pytest.mark.e2e
HOME = [f"home-{i:02d}" for i in range(9)]  # on the default cluster, which holds the Leases
AWAY = [f"away-{i:02d}" for i in range(9)]  # on the other cluster
APPS = HOME + AWAY
NS = "fleet"
LEASE = 4  # seconds
WAIT = 120  # seconds: only to end a failing test


@pytest.fixture(params=["emulated-https", "kube-real"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """The default cluster's kubeconfig (reached directly, behind the relay)."""
    if request.param == "kube-real":
        yield request.getfixturevalue("real").kubeconfig
        return
    (tmp_path / "home").mkdir()
    with served_https(tmp_path / "home") as (_, kubeconfig):
        yield kubeconfig


@pytest.fixture
def away(tmp_path: Path) -> Iterator[tuple[EmulatedCluster, Path]]:
    """The other cluster: emulated, over HTTPS, always reachable."""
    (tmp_path / "away").mkdir()
    with served_https(tmp_path / "away") as served:
        yield served


@pytest.fixture
def relay(home: Path) -> Iterator[Relay]:
    r = relay_for(home)
    yield r
    r.close()


@pytest.fixture
def upstream(tmp_path: Path, server: SmartHttp) -> Upstream:
    up = Upstream(tmp_path, server)
    configmap_folders(up, APPS, NS, "one")
    up.push("one")
    return up


@pytest.fixture
def direct(home: Path) -> Iterator[KubeCluster]:
    """The default cluster, reached directly (not through the relay)."""
    client = KubeCluster.from_kubeconfig(home)
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    yield client
    client.close()


@pytest.fixture
def other(away: tuple[EmulatedCluster, Path]) -> Iterator[KubeCluster]:
    client = KubeCluster.from_kubeconfig(away[1])
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    yield client
    client.close()


@pytest.fixture
def replicas(
    *,
    tmp_path: Path,
    upstream: Upstream,
    home: Path,
    away: tuple[EmulatedCluster, Path],
    relay: Relay,
    direct: KubeCluster,
    other: KubeCluster,
) -> Iterator[dict[str, Daemon]]:
    relayed = relay.kubeconfig(home, tmp_path / "relayed.kubeconfig")
    running: dict[str, Daemon] = {}
    for name in ("r0", "r1", "r2"):
        port = free_port()
        apps = [
            {
                "name": app,
                "repo": upstream.url,
                "path": f"apps/{app}",
                "namespace": NS,
                "intervalSeconds": 2,  # timers keep firing while cut off
                "syncPolicy": {"waitForHealth": False},
                **({"destination": {"cluster": "away"}} if app in AWAY else {}),
            }
            for app in APPS
        ]
        away_cluster = [{"name": "away", "kubeconfig": {"path": str(away[1])}}]
        config = replica_config(tmp_path, name, port, relayed, apps, lease=LEASE, clusters=away_cluster)
        running[name] = Daemon(config, port, {"GH_SECRET": GH_SECRET, "API_TOKEN": API_TOKEN})
    try:
        for d in running.values():
            d.wait_ready(WAIT)
        yield running
    finally:
        for d in running.values():
            d.stop()


def values(client: KubeCluster, apps: list[str]) -> dict[str, tuple[str, str]]:
    """App -> (its ConfigMap's value, resourceVersion)."""
    found = {c["metadata"]["name"]: c for c in client.list("v1", "ConfigMap", NS)}
    return {
        a: (found[a].get("data", {}).get("value", ""), found[a]["metadata"]["resourceVersion"])
        for a in apps
        if a in found
    }


def converged(home: KubeCluster, away: KubeCluster, value: str) -> bool:
    seen = {a: v for a, (v, _) in {**values(home, HOME), **values(away, AWAY)}.items()}
    return seen == dict.fromkeys(APPS, value)


def shared(running: dict[str, Daemon]) -> bool:
    """One leader, and every app owned by one replica."""
    leaders = sum(d.metric("gitops_agent_leader") for d in running.values())
    held = sum(d.metric("gitops_agent_shard_apps", replica=n) for n, d in running.items())
    return leaders == 1 and held == len(APPS)


def idle(running: dict[str, Daemon]) -> bool:
    """No replica leads or owns anything."""
    return all(
        d.metric("gitops_agent_leader") == 0 and d.metric("gitops_agent_shard_apps", replica=n) == 0
        for n, d in running.items()
    )


def said(d: Daemon, words: str) -> bool:
    return any(words in r.get("message", "") for r in d.log_records() if r.get("stage") == "ha")


def test_replicas_stop_acting_while_the_lease_cluster_is_cut_off_and_resume(
    *,
    upstream: Upstream,
    away: tuple[EmulatedCluster, Path],
    relay: Relay,
    direct: KubeCluster,
    other: KubeCluster,
    replicas: dict[str, Daemon],
) -> None:
    wait_for(lambda: converged(direct, other, "one"), WAIT, "every app synced", 0.5)
    wait_for(lambda: shared(replicas), WAIT, "one leader and every app owned", 0.5)

    relay.cut()  # the default cluster unreachable: its Leases cannot be renewed
    wait_for(lambda: idle(replicas), WAIT, "every replica to stop acting", 0.5)
    assert all(
        said(d, "cannot renew its Lease in gitops-agent of cluster default") for d in replicas.values()
    )
    kept = values(direct, HOME)
    writes = away[0].writes
    configmap_folders(upstream, APPS, NS, "two")
    upstream.push("two")  # the timers see it; a push says so too
    body = github_push(upstream.url)
    for d in replicas.values():
        code, answer = d.post("/webhooks/github", body, github_headers(GH_SECRET, body))
        assert code == 202, answer
    code, answer = replicas["r0"].post(
        f"/api/v1/apps/{AWAY[0]}/sync", b"", {"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert code == 503 and b"no replica owns" in answer, answer
    # longer than the lease, several timer rounds: nobody writes to the reachable cluster either
    assert not poll(lambda: away[0].writes != writes, 2 * LEASE, 0.5), "a write while the Leases were cut off"
    assert idle(replicas)
    assert {a: v for a, (v, _) in values(other, AWAY).items()} == dict.fromkeys(AWAY, "one")
    assert values(direct, HOME) == kept  # nothing deleted, pruned or written on the default one

    relay.open()
    wait_for(lambda: shared(replicas), WAIT, "the replicas to share the apps again", 0.5)
    assert all(said(d, "renewed its Lease again") for d in replicas.values())
    wait_for(lambda: converged(direct, other, "two"), WAIT, "both clusters to converge", 0.5)
    assert set(values(other, AWAY)) == set(AWAY) and set(values(direct, HOME)) == set(HOME)
