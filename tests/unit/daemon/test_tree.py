"""The app page's resource tree: last changes from managedFields, children by
ownerReferences (read from the emulated cluster), events about the app's
objects only, newest first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.daemon.tree import MAX_EVENTS, LiveObject, last_change, related, tree
from agent.emulator import EmulatedCluster


def entry(manager: str, time: str) -> dict[str, Any]:
    return {"manager": manager, "operation": "Update", "time": time}


def test_last_change_is_the_newest_managed_fields_entry() -> None:
    live = {
        "metadata": {
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [
                entry("gitops-agent", "2026-01-02T00:00:00Z"),
                entry("kubectl-edit", "2026-01-03T00:00:00Z"),
                entry("kube-controller-manager", "2026-01-01T12:00:00Z"),
            ],
        }
    }
    assert last_change(live) == ("kubectl-edit", "2026-01-03T00:00:00Z")
    same_second = {
        "metadata": {
            "managedFields": [entry("a", "2026-01-02T00:00:00Z"), entry("b", "2026-01-02T00:00:00Z")]
        }
    }
    assert last_change(same_second) == ("b", "2026-01-02T00:00:00Z")  # the later-listed of a tie
    assert last_change({"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"}}) == (
        "",
        "2026-01-01T00:00:00Z",
    )


def obj(kind: str, name: str, uid: str, owners: tuple[str, ...] = ()) -> LiveObject:
    return LiveObject(f"{kind}/ns/{name}", "v1", kind, "ns", name, "in-sync", uid, owners)


def test_tree_groups_by_kind_and_nests_by_owner() -> None:
    deploy, cm = obj("Deployment", "web", "d1"), obj("ConfigMap", "cfg", "c1")
    owned_cm = obj("ConfigMap", "generated", "c2", owners=("d1",))  # an app object owned by another
    rs, pod = obj("ReplicaSet", "web-1", "r1", ("d1",)), obj("Pod", "web-1-a", "p1", ("r1",))
    groups = tree([cm, deploy, owned_cm], [rs, pod])
    assert [(kind, [(o.name, depth) for o, depth in rows]) for kind, rows in groups] == [
        ("ConfigMap", [("cfg", 0)]),
        ("Deployment", [("web", 0), ("generated", 1), ("web-1", 1), ("web-1-a", 2)]),
    ]


def test_related_finds_children_and_only_the_apps_events(tmp_path: Path) -> None:
    cluster = EmulatedCluster(tmp_path / "cluster.db")
    try:
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}})
        tmpl = {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "x:1"}]},
        }
        spec = {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl}
        d = cluster.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "ns"},
                "spec": spec,
            }
        )
        ref = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": d["metadata"]["uid"]}]
        rs = cluster.create(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": "web-1", "namespace": "ns", "ownerReferences": ref},
                "spec": spec,
            }
        )
        cluster.create(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": "other", "namespace": "ns"},
                "spec": spec,
            }
        )
        uids = {"web": d["metadata"]["uid"], "web-1": rs["metadata"]["uid"], "stranger": "x"}
        for i in range(MAX_EVENTS * 2):
            about = ("web", "web-1", "stranger")[i % 3]
            cluster.create(
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": f"e{i}", "namespace": "ns"},
                    "involvedObject": {
                        "kind": "Deployment",
                        "name": about,
                        "namespace": "ns",
                        "uid": uids[about],
                    },
                    "reason": f"R{i}",
                    # later than the controllers' own Events (ScalingReplicaSet ...): the newest
                    "lastTimestamp": f"2099-01-01T00:{i:02d}:00Z",
                }
            )
        app = LiveObject(
            "Deployment/ns/web", "apps/v1", "Deployment", "ns", "web", "in-sync", d["metadata"]["uid"]
        )
        found = related(cluster, [app])
        # the hand-made ReplicaSet and what the emulated cluster's controllers made
        # (the Deployment's own ReplicaSet, the Pods of both): never the stranger
        names = [c.name for c in found.children]
        assert "web-1" in names and "other" not in names
        assert any(n.startswith("web-") and n != "web-1" for n in names)
        made = next(c for c in found.children if c.name == "web-1")
        assert made.owners == (d["metadata"]["uid"],) and made.health
        reasons = [e["reason"] for e in found.events]
        assert all(int(r[1:]) % 3 != 2 for r in reasons)  # none about the stranger
        assert reasons == sorted(reasons, key=lambda r: -int(r[1:]))  # newest first
        assert len(reasons) == MAX_EVENTS  # of 40 about the app, the newest 30
    finally:
        cluster.close()
