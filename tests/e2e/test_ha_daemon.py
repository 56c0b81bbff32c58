"""Replicas of ``gitops-agent run`` sharing one fleet: real processes, real
HTTP between them, one git repository served over smart HTTP, and one
cluster served over HTTPS (the emulated cluster, and the real API server of
the test suite).  Counts and order only: every wait has a generous bound so
a failure cannot hang, none is asserted as a duration."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from agent.cluster.kube import KubeCluster
from agent.emulator import EmulatedCluster, EmulatorServer, write_kubeconfig
from tests.support.daemon import API_TOKEN, GH_SECRET, Daemon, github_headers, github_push
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.ha_daemons import configmap_folders, replica_config
from tests.support.net import closed_port, free_port
from tests.support.waits import poll, wait_for

pytestmark = pytest.mark.e2e
APPS = [f"a{i:03d}" for i in range(60)]
NS = "fleet"
CHAIN = {APPS[1]: [APPS[0]], APPS[2]: [APPS[1]]}  # a000 <- a001 <- a002: one group, one owner
WAIT = 180  # seconds: only to end a failing test


@pytest.fixture(params=["emulated-https", "kube-real"])
def kubeconfig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    if request.param == "kube-real":
        yield request.getfixturevalue("real").kubeconfig
        return
    engine = EmulatedCluster(tmp_path / "cluster.db")
    server = EmulatorServer(engine, tls=True).start()
    try:
        yield server.write_kubeconfig(tmp_path / "kubeconfig")
    finally:
        server.stop()
        engine.close()


@pytest.fixture
def cluster(kubeconfig: Path) -> Iterator[KubeCluster]:
    client = KubeCluster.from_kubeconfig(kubeconfig)
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    yield client
    client.close()


@pytest.fixture
def upstream(tmp_path: Path, server: SmartHttp) -> Upstream:
    up = Upstream(tmp_path, server)
    write_fleet(up, "one")
    up.push("one")
    return up


def write_fleet(up: Upstream, value: str) -> None:
    configmap_folders(up, APPS, NS, value)


@dataclass
class Group:
    tmp: Path
    upstream: Upstream
    kubeconfig: Path
    running: dict[str, Daemon]

    def start(self, name: str) -> Daemon:
        port = free_port()
        d = Daemon(self.write(name, port), port, {"GH_SECRET": GH_SECRET, "API_TOKEN": API_TOKEN})
        self.running[name] = d
        d.wait_ready(WAIT)
        return d

    def write(self, name: str, port: int) -> Path:
        apps = [
            {
                "name": app,
                "repo": self.upstream.url,
                "revision": "main",
                "path": f"apps/{app}",
                "namespace": NS,
                "intervalSeconds": 3600,
                "syncPolicy": {"waitForHealth": False},
                "dependsOn": CHAIN.get(app, []),
            }
            for app in APPS
        ]
        return replica_config(self.tmp, name, port, self.kubeconfig, apps)


@pytest.fixture
def group(tmp_path: Path, upstream: Upstream, kubeconfig: Path, cluster: KubeCluster) -> Iterator[Group]:
    g = Group(tmp_path, upstream, kubeconfig, {})
    yield g
    for d in g.running.values():
        d.stop()


def synced(group: Group, trigger: str | None = None) -> dict[str, float]:
    """App -> syncs that applied a change, over every replica running."""
    out = dict.fromkeys(APPS, 0.0)
    for d in group.running.values():
        for labels, value in d.samples("gitops_agent_reconcile_total"):
            if labels.get("result") == "synced" and trigger in (None, labels.get("trigger")):
                out[labels["app"]] += value
    return out


def runs(d: Daemon, app: str, trigger: str) -> float:
    """Runs of ``app`` for ``trigger`` on one replica, whatever they came to."""
    found = d.samples("gitops_agent_reconcile_total")
    return sum(v for labels, v in found if labels["app"] == app and labels["trigger"] == trigger)


def exporters(group: Group) -> dict[str, list[str]]:
    """App -> the replicas exporting its sync status."""
    out: dict[str, list[str]] = {a: [] for a in APPS}
    for name, d in sorted(group.running.items()):
        for app in {labels["app"] for labels, _ in d.samples("gitops_agent_app_sync_status")}:
            out[app].append(name)
    return out


def owners(d: Daemon) -> dict[str, str | None]:
    return dict(d.json("/api/v1/apps")["replicas"]["owners"])


def split(group: Group) -> dict[str, str] | None:
    """App -> owner once every running replica owns some, all agree and the claims add up."""
    seen = [owners(d) for d in group.running.values()]
    counts = {n: d.metric("gitops_agent_shard_apps", replica=n) for n, d in group.running.items()}
    if any(s != seen[0] for s in seen) or sum(counts.values()) != len(APPS) or 0 in counts.values():
        return None
    found = seen[0]
    if set(found.values()) != set(group.running):
        return None
    return {a: str(o) for a, o in found.items()}


def values(cluster: KubeCluster) -> dict[str, str]:
    return {
        c["metadata"]["name"]: c.get("data", {}).get("value", "") for c in cluster.list("v1", "ConfigMap", NS)
    }


def records(cluster: KubeCluster) -> dict[str, int]:
    out = dict.fromkeys(APPS, 0)
    for s in cluster.list("v1", "Secret", "gitops-agent"):
        app = s["metadata"].get("labels", {}).get("gitops-agent.io/record-of")
        if app in out:
            out[app] += 1
    return out


def converged(cluster: KubeCluster, value: str) -> bool:
    found = values(cluster)
    return {k: v for k, v in found.items() if k in APPS} == dict.fromkeys(APPS, value)


def webhook(d: Daemon, upstream: Upstream) -> None:
    body = github_push(upstream.url)
    status, answer = d.post("/webhooks/github", body, github_headers(GH_SECRET, body))
    assert status == 202, answer


def test_replicas_split_the_fleet_forward_requests_and_take_over(  # noqa: PLR0915 (one story, in order)
    group: Group, cluster: KubeCluster
) -> None:
    for name in ("r0", "r1", "r2"):
        group.start(name)
    r0, r1, r2 = (group.running[n] for n in ("r0", "r1", "r2"))
    wait_for(lambda: converged(cluster, "one"), WAIT, "every app synced")
    owner = poll(lambda: split(group), WAIT)
    assert owner, {n: d.metric("gitops_agent_shard_apps", replica=n) for n, d in group.running.items()}
    # no app synced by two replicas: one sync and one revision record each
    poll(lambda: all(synced(group).values()), WAIT)
    assert synced(group) == dict.fromkeys(APPS, 1.0)
    assert records(cluster) == dict.fromkeys(APPS, 1)
    assert sum(d.metric("gitops_agent_leader") for d in group.running.values()) == 1
    # an app's state series come from its owner only (one series per app for alerts and joins)
    assert poll(lambda: exporters(group) == {a: [o] for a, o in owner.items()}, WAIT), exporters(group)
    status = r0.json("/api/v1/apps")
    assert [m["identity"] for m in status["replicas"]["members"]] == ["r0", "r1", "r2"]
    assert all(m["address"].startswith("http://127.0.0.1:") for m in status["replicas"]["members"])
    assert {a["name"]: a["owner"] for a in status["apps"]} == owner
    assert owner[APPS[0]] == owner[APPS[1]] == owner[APPS[2]]  # a dependsOn chain stays together
    page = r0.get("/")[1].decode()
    assert 'id="replicas"' in page and f"on {owner[APPS[0]]}" in page

    # a manual sync sent to a replica that does not own the app runs on its owner
    app = next(a for a in APPS if owner[a] == "r1")
    code, answer = r0.post(f"/api/v1/apps/{app}/sync", b"", {"Authorization": f"Bearer {API_TOKEN}"})
    assert code == 200, answer
    assert json.loads(answer)["app"] == app
    assert (runs(r1, app, "manual"), runs(r0, app, "manual")) == (1, 0)
    code, answer = r0.post(f"/api/v1/apps/{app}/sync", b"", {"Authorization": "Bearer wrong"})
    assert code in (401, 403), answer  # the owner checks the token
    assert runs(r1, app, "manual") == 1
    assert r0.json(f"/api/v1/apps/{app}")["lastResult"]["trigger"] == "manual"  # read from its owner

    # a push sent to one replica reaches the owners of all the apps it selects
    write_fleet(group.upstream, "two")
    group.upstream.push("two")
    webhook(r0, group.upstream)
    wait_for(lambda: converged(cluster, "two"), WAIT, "the push synced everywhere")
    poll(lambda: all(synced(group, "webhook").values()), WAIT)  # the objects land before the runs end
    by_webhook = synced(group, "webhook")
    assert by_webhook == dict.fromkeys(APPS, 1.0)
    for name, d in group.running.items():
        mine = {a for a, o in owner.items() if o == name}
        assert {a for a, n in by_webhook.items() if n} >= mine
        assert sum(runs(d, a, "webhook") for a in APPS) == len(mine)

    # a replica killed while its runs go: the others take its apps over
    write_fleet(group.upstream, "three")
    group.upstream.push("three")
    webhook(r2, group.upstream)
    r2.proc.send_signal(signal.SIGKILL)
    r2.proc.wait()
    # its Lease has not run out yet (4 s, judged by watching it): the owner is named, not reached
    lost = next(a for a in APPS if owner[a] == "r2")
    code, answer = r0.post(f"/api/v1/apps/{lost}/sync", b"", {"Authorization": f"Bearer {API_TOKEN}"})
    assert code == 503 and json.loads(answer)["owner"] == "r2", answer
    del group.running["r2"]
    after = poll(lambda: split(group), WAIT)
    assert after and set(after.values()) == {"r0", "r1"}
    assert all(after[a] == owner[a] for a in APPS if owner[a] != "r2")  # only r2's apps moved
    webhook(r1, group.upstream)
    wait_for(lambda: converged(cluster, "three"), WAIT, "the fleet converged after the kill")
    assert set(values(cluster)) - {"kube-root-ca.crt"} == set(APPS)  # nothing orphaned, nothing extra
    failovers = sum(d.metric("gitops_agent_failover_seconds_count") for d in group.running.values())
    assert failovers >= 1
    assert all(d.metric("gitops_agent_rebalances_total") >= 1 for d in group.running.values())

    # a replica joins: about a third of the apps move, all to it
    group.start("r3")
    joined = poll(lambda: split(group), WAIT)
    assert joined
    moved = [a for a in APPS if joined[a] != after[a]]
    assert all(joined[a] == "r3" for a in moved)
    assert len(APPS) * 0.15 <= len(moved) <= len(APPS) * 0.55, len(moved)
    # the killed replica's runs may have recorded their sync or been cut off before: 2 or 3, never more
    assert set(records(cluster).values()) <= {2, 3}


@pytest.mark.parametrize("kubeconfig", ["emulated-https"], indirect=True)
def test_a_stopped_replica_hands_its_apps_over_and_ha_can_be_turned_off(
    group: Group, cluster: KubeCluster
) -> None:
    for name in ("r0", "r1"):
        group.start(name)
    wait_for(lambda: converged(cluster, "one"), WAIT, "every app synced")
    assert poll(lambda: split(group), WAIT)
    r0 = group.running.pop("r0")
    assert r0.stop() == 0  # SIGTERM: drain, then release
    member = cluster.get("coordination.k8s.io/v1", "Lease", "gitops-agent-member-r0", "gitops-agent")
    assert member is not None and not member["spec"].get("holderIdentity")
    claims = cluster.list("coordination.k8s.io/v1", "Lease", "gitops-agent", {"gitops-agent.io/lease": "app"})
    assert len(claims) == len(APPS)
    assert all(c["spec"].get("holderIdentity") != "r0" for c in claims)  # released, not left to expire
    r1 = group.running["r1"]
    wait_for(lambda: r1.metric("gitops_agent_shard_apps", replica="r1") == len(APPS), WAIT, "r1 owning all")
    assert r1.metric("gitops_agent_leader") == 1
    r1_stopped = group.running.pop("r1")
    assert r1_stopped.stop() == 0

    # daemon.ha.enabled: false: no Lease written, every app reconciled here
    before = {c["metadata"]["name"]: c["metadata"]["resourceVersion"] for c in leases(cluster)}
    write_fleet(group.upstream, "two")
    group.upstream.push("two")
    doc = yaml.safe_load((group.tmp / "agent-r0.yaml").read_text())
    doc["daemon"]["ha"] = {"enabled": False}
    doc["daemon"]["port"] = free_port()
    config = group.tmp / "agent-alone.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    alone = group.running["alone"] = Daemon(
        config, doc["daemon"]["port"], {"GH_SECRET": GH_SECRET, "API_TOKEN": API_TOKEN}
    )
    alone.wait_ready(WAIT)
    webhook(alone, group.upstream)
    wait_for(lambda: converged(cluster, "two"), WAIT, "the push synced by the one replica")
    assert "replicas" not in alone.json("/api/v1/apps")
    assert "gitops_agent_leader" not in alone.get("/metrics")[1].decode()
    after = {c["metadata"]["name"]: c["metadata"]["resourceVersion"] for c in leases(cluster)}
    assert after == before


def leases(cluster: KubeCluster) -> list[dict[str, object]]:
    return list(cluster.list("coordination.k8s.io/v1", "Lease", "gitops-agent"))


def test_a_sync_no_replica_can_own_is_refused_naming_why(tmp_path: Path, upstream: Upstream) -> None:
    """The cluster holding the Leases does not answer: no replica may act, and a
    sync is answered 503 at once instead of waiting in a queue nobody runs."""
    kubeconfig = write_kubeconfig(tmp_path / "gone.kubeconfig", f"https://127.0.0.1:{closed_port()}", "t")
    group = Group(tmp_path, upstream, kubeconfig, {})
    port = free_port()
    config = group.write("r0", port)
    d = Daemon(config, port, {"GH_SECRET": GH_SECRET, "API_TOKEN": API_TOKEN})
    try:
        wait_for(lambda: d.get("/healthz")[0] == 200, WAIT, "the daemon to answer")
        code, answer = d.post(f"/api/v1/apps/{APPS[0]}/sync", b"", {"Authorization": f"Bearer {API_TOKEN}"})
        assert code == 503, answer
        assert json.loads(answer) == {
            "detail": f"no replica owns {APPS[0]} yet: the replicas are starting, "
            "or cannot reach the cluster that holds their Leases",
            "owner": None,
        }
        assert d.metric("gitops_agent_leader") == 0
        assert d.metric("gitops_agent_shard_apps", replica="r0") == 0
    finally:
        assert d.stop() == 0
