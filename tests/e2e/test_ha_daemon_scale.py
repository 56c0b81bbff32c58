"""Three ``gitops-agent run`` replicas, their wall clocks 5 s behind, right
and 5 s ahead, share 300 apps on the emulated cluster served over HTTPS.

Every write to the apps' objects is counted from the emulated cluster's
own watch (each ConfigMap written once, each app's revision record written
once), so an app reconciled by two replicas would show.  The leader Lease
never changes hands, so there was one leader throughout.  Any replica's
``/api/v1/apps`` shows every app as its owner saw it, and an app removed
with ``cascadeDelete`` is deleted by the leader alone.  Counts and order
only: every wait has a generous bound so a failure cannot hang."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.emulator import EmulatedCluster
from agent.ha import member_lease, parse_micro_time
from agent.ha.lease import CLOCK_SKEW
from tests.support.daemon import API_TOKEN, GH_SECRET, Daemon
from tests.support.emulator import served_https
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.ha_daemons import configmap_folders, replica_config
from tests.support.net import free_port
from tests.support.waits import poll, wait_for

pytestmark = pytest.mark.e2e
APPS = [f"a{i:03d}" for i in range(300)]
NS = "fleet"
GONE = APPS[-1]  # removed at the end, with cascadeDelete
SKEWS = {"r0": -5.0, "r1": 0.0, "r2": 5.0}
WAIT = 240  # seconds: only to end a failing test
RECORD_OF = "gitops-agent.io/record-of"


class Writes:
    """Every write the emulated cluster logged (its watch log, the history
    watches replay) to the fleet's ConfigMaps and to revision records, by app."""

    def __init__(self, engine: EmulatedCluster) -> None:
        self.engine = engine
        self.since = engine.registry.current_rv()

    def of(self, kind: str) -> dict[str, list[str]]:
        namespace = NS if kind == "ConfigMap" else "gitops-agent"
        rt = self.engine.resource_type("v1", kind)
        assert self.engine.registry.oldest_rv() <= self.since + 1  # nothing compacted away
        out: dict[str, list[str]] = {a: [] for a in APPS}
        rv = self.since
        while page := self.engine.registry.events_since(rv, rt, namespace):
            for rv, event, obj in page:  # noqa: B007 (rv: where the next page starts)
                meta = obj["metadata"]
                app = meta["name"] if kind == "ConfigMap" else (meta.get("labels") or {}).get(RECORD_OF)
                if app in out:
                    out[app].append(event)
        return out


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[EmulatedCluster, Path]]:
    with served_https(tmp_path) as (cluster, kubeconfig):
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        yield cluster, kubeconfig


@pytest.fixture
def upstream(tmp_path: Path, server: SmartHttp) -> Upstream:
    up = Upstream(tmp_path, server)
    configmap_folders(up, APPS, NS)
    up.push("one")
    return up


def config(tmp: Path, name: str, port: int, kubeconfig: Path, repo: str) -> Path:
    apps = [
        {
            "name": app,
            "repo": repo,
            "path": f"apps/{app}",
            "namespace": NS,
            "intervalSeconds": 5 if app == GONE else 3600,  # the fleet is read again as often
            "cascadeDelete": app == GONE,
            "syncPolicy": {"waitForHealth": False},
        }
        for app in APPS
    ]
    return replica_config(tmp, name, port, kubeconfig, apps)


@pytest.fixture
def replicas(
    tmp_path: Path, upstream: Upstream, engine: tuple[EmulatedCluster, Path]
) -> Iterator[dict[str, Daemon]]:
    running: dict[str, Daemon] = {}
    for name, skew in SKEWS.items():  # all at once: none starts alone with every app
        port = free_port()
        path = config(tmp_path, name, port, engine[1], upstream.url)
        env = {"GH_SECRET": GH_SECRET, "API_TOKEN": API_TOKEN, CLOCK_SKEW: str(skew)}
        running[name] = Daemon(path, port, env)
    try:
        for d in running.values():
            d.wait_ready(WAIT)
        yield running
    finally:
        for d in running.values():
            d.stop()


def split(running: dict[str, Daemon]) -> dict[str, str] | None:
    """App -> owner once every replica owns some, all agree and the claims add up."""
    seen = [d.json("/api/v1/apps")["replicas"]["owners"] for d in running.values()]
    held = sum(d.metric("gitops_agent_shard_apps", replica=n) for n, d in running.items())
    if any(s != seen[0] for s in seen) or held != len(APPS) or set(seen[0].values()) != set(running):
        return None
    return {a: str(o) for a, o in seen[0].items()}


def synced_runs(running: dict[str, Daemon]) -> Counter[str]:
    """App -> runs that applied a change, over every replica."""
    out: Counter[str] = Counter()
    for d in running.values():
        for labels, value in d.samples("gitops_agent_reconcile_total"):
            if labels["result"] == "synced":
                out[labels["app"]] += int(value)
    return out


def claims(engine: EmulatedCluster) -> dict[str, str]:
    """App -> the holder of its claim Lease."""
    found = engine.list("coordination.k8s.io/v1", "Lease", "gitops-agent", {"gitops-agent.io/lease": "app"})
    return {
        c["metadata"]["annotations"]["gitops-agent.io/app"]: c["spec"].get("holderIdentity", "")
        for c in found
    }


def leader_lease(engine: EmulatedCluster) -> dict[str, Any]:
    found = engine.get("coordination.k8s.io/v1", "Lease", "gitops-agent-leader", "gitops-agent")
    assert found is not None
    return dict(found["spec"])


def test_three_skewed_replicas_split_300_apps_each_written_once(
    tmp_path: Path, upstream: Upstream, engine: tuple[EmulatedCluster, Path], replicas: dict[str, Daemon]
) -> None:
    cluster = engine[0]
    writes = Writes(cluster)
    wait_for(lambda: synced_runs(replicas) == dict.fromkeys(APPS, 1), WAIT, "every app synced", 0.5)
    owner = poll(lambda: split(replicas), WAIT, 0.5)
    assert owner, {n: d.metric("gitops_agent_shard_apps", replica=n) for n, d in replicas.items()}
    assert claims(cluster) == owner  # the claims say so too
    # each app's objects written once: one ConfigMap created, one revision record created
    wait_for(lambda: all(writes.of("Secret").values()), WAIT, "every record seen", 0.5)
    assert writes.of("ConfigMap") == {a: ["ADDED"] for a in APPS}
    assert writes.of("Secret") == {a: ["ADDED"] for a in APPS}
    # one leader throughout: the leader Lease never changed hands, skewed clocks and all
    lease = leader_lease(cluster)
    assert lease["leaseTransitions"] == 0 and lease["holderIdentity"] in SKEWS
    renewed = {
        n: parse_micro_time(
            cluster.get("coordination.k8s.io/v1", "Lease", member_lease(n), "gitops-agent")["spec"][
                "renewTime"
            ]
        )
        for n in SKEWS
    }
    assert (renewed["r2"] - renewed["r0"]).total_seconds() > 8  # the clocks were 10 s apart
    leaders = {n: d.metric("gitops_agent_leader") for n, d in replicas.items()}
    assert leaders == {n: float(n == lease["holderIdentity"]) for n in SKEWS}

    # any replica's list shows every app as its owner saw it
    for name, d in replicas.items():
        listing = d.json("/api/v1/apps")
        assert listing["replicas"]["unreached"] == []
        rows = {r["name"]: r for r in listing["apps"]}
        assert {a: r["owner"] for a, r in rows.items()} == owner, name
        assert {r["syncStatus"] for r in rows.values()} == {"Synced"}, name
        outcomes = {r["lastResult"]["outcome"] for r in rows.values()}  # the owner's own last run
        assert outcomes <= {"synced", "unchanged"}, (name, outcomes)
    app = next(a for a in APPS if owner[a] == "r1")
    code, answer = replicas["r0"].post(
        f"/api/v1/apps/{app}/sync", b"", {"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert code == 200, answer
    row = next(r for r in replicas["r2"].json("/api/v1/apps")["apps"] if r["name"] == app)
    assert row["lastResult"]["trigger"] == "manual"  # r2 shows r1's latest run

    # an app with cascadeDelete leaves the fleet: its objects are deleted by the leader alone
    leader = lease["holderIdentity"]
    for d in replicas.values():
        doc = yaml.safe_load(d.config.read_text())
        doc["apps"] = [a for a in doc["apps"] if a["name"] != GONE]
        d.config.write_text(yaml.safe_dump(doc, sort_keys=False))
    wait_for(lambda: writes.of("ConfigMap")[GONE] == ["ADDED", "DELETED"], WAIT, "the cascade", 0.5)

    def results() -> dict[str, list[tuple[str, str | None]]]:
        return {
            n: [(r["name"], r.get("result")) for r in d.json("/api/v1/apps")["removed"]]
            for n, d in replicas.items()
        }

    expected = {n: [(GONE, "deleted" if n == leader else "deleted by the leader")] for n in SKEWS}
    assert poll(lambda: results() == expected, WAIT, 0.5), results()
    cascades = {n: sum(r.get("stage") == "cascade" for r in d.log_records()) for n, d in replicas.items()}
    assert cascades == {n: int(n == leader) for n in SKEWS}
    assert writes.of("ConfigMap")[GONE] == ["ADDED", "DELETED"]
    # and its claim Lease goes too (by the leader, once released): the others' stay
    wait_for(lambda: set(claims(cluster)) == set(APPS) - {GONE}, WAIT, "the removed app's claim deleted", 0.5)
    assert sum(1 for a, found in writes.of("ConfigMap").items() if found != ["ADDED"]) == 1
