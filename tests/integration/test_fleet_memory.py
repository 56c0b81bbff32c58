"""The last definitions each cluster keeps of its apps (agent.fleet.memory,
agent.daemon.remembered), against the embedded emulated cluster: written by
the replica that leads only, read afresh when it starts leading, compared
with the fleet by name and cluster, and an unreadable ConfigMap left as it
is and reported."""

from __future__ import annotations

from pathlib import Path

from agent.config import Application
from agent.daemon.remembered import Remembered
from agent.emulator import EmulatedCluster
from agent.fleet.memory import NAME, LastDefinitions


def app(name: str, cluster: str = "default", **fields: object) -> Application:
    return Application.model_validate(
        {"name": name, "repo": "https://git.example.com/r.git", "destination": {"cluster": cluster}, **fields}
    )


def test_only_the_leader_reads_and_writes_and_a_new_leader_reads_afresh(tmp_path: Path) -> None:
    cluster = EmulatedCluster(tmp_path / "c.db")
    try:
        leads = [False]
        memory = Remembered(lambda _c: LastDefinitions(cluster, "gitops-agent", "default"), lambda: leads[0])
        assert memory.read(["default"]) is False  # a follower: nothing read, nothing written
        assert memory.held == {}
        leads[0] = True
        assert memory.read(["default"]) is True and memory.held == {"default": {}}
        memory.write([app("web", cascadeDelete=True), app("api")], [])
        stored = cluster.get("v1", "ConfigMap", NAME, "gitops-agent")
        assert (
            stored is not None and stored["metadata"]["labels"]["gitops-agent.io/fleet"] == "last-definitions"
        )
        writes = cluster.writes
        memory.write([app("api"), app("web", cascadeDelete=True)], [])  # the same apps: nothing written
        assert cluster.writes == writes
        # another replica led meanwhile and kept other definitions
        LastDefinitions(cluster, "gitops-agent", "default").save([app("db", cascadeDelete=True)])
        leads[0] = False
        memory.read(["default"])
        leads[0] = True
        memory.read(["default"])
        assert list(memory.held["default"]) == ["db"]
        gone = memory.gone({"web": app("web")})
        assert [(a.name, a.cascade_delete) for a in gone] == [("db", True)]  # as it was defined
    finally:
        cluster.close()


def test_an_app_sent_to_another_cluster_is_gone_from_the_first(tmp_path: Path) -> None:
    a, b = EmulatedCluster(tmp_path / "a.db"), EmulatedCluster(tmp_path / "b.db")
    try:
        engines = {"default": a, "b": b}
        memory = Remembered(lambda c: LastDefinitions(engines[c], "gitops-agent", c), lambda: True)
        memory.read(["default", "b"])
        memory.write([app("web"), app("api", "b")], [])
        assert memory.gone({"web": app("web", "b"), "api": app("api", "b")}) == [app("web")]
        moved = app("web", "b")
        memory.write([moved, app("api", "b")], [app("web", cascadeDelete=True)])  # its cascade on a not done
        assert LastDefinitions(a, "gitops-agent", "default").load() == {"web": app("web", cascadeDelete=True)}
        assert sorted(LastDefinitions(b, "gitops-agent", "b").load()) == ["api", "web"]
        memory.forget(app("web", cascadeDelete=True))  # its cascade is done
        assert LastDefinitions(a, "gitops-agent", "default").load() == {}
    finally:
        a.close()
        b.close()


def test_an_unreadable_memory_is_reported_and_left_alone(tmp_path: Path) -> None:
    cluster = EmulatedCluster(tmp_path / "c.db")
    try:
        cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "gitops-agent"},
            }
        )
        broken = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": NAME, "namespace": "gitops-agent"},
        }
        cluster.apply({**broken, "binaryData": {"apps.json.gz": "bm90IGd6aXA="}})
        memory = Remembered(lambda _c: LastDefinitions(cluster, "gitops-agent", "default"), lambda: True)
        memory.read(["default"])
        assert memory.held == {}
        assert memory.problems["default"].startswith(
            "cluster default: the last definitions of its apps: ConfigMap gitops-agent/gitops-agent.fleet "
            "is unreadable"
        )
        writes = cluster.writes
        memory.write([app("web")], [])
        assert cluster.writes == writes  # not read: not overwritten
    finally:
        cluster.close()
