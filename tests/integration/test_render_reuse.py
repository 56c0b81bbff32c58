"""A poll that finds the same commit and configuration uses the render it
made before (no render, no schema check, no digest again); a new commit or
a changed configuration renders anew."""

from __future__ import annotations

from pathlib import Path

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.sync import encoding
from agent.sync.context import Context
from agent.sync.pipeline import prepare, reconcile
from tests.support.repos import GitRepo


def test_the_same_commit_is_rendered_once(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: '1'}\n")
    repo.commit("one")
    doc = {
        "source": {"allowedSchemes": ["file"]},
        "stateDir": str(tmp_path / "state"),
        "apps": [{"name": "web", "repo": str(repo.path), "path": "app", "namespace": "web"}],
    }
    cfg = parse_config(doc, "agent.yaml", tmp_path)
    cluster = EmulatedCluster(tmp_path / "cluster.db")
    try:
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}})
        ctx = Context.create(cfg, cluster)
        assert reconcile(ctx, cfg.apps[0]).ok
        first, second = prepare(ctx, cfg.apps[0]), prepare(ctx, cfg.apps[0])
        assert first.manifests is second.manifests  # rendered once, kept
        assert encoding.digest(first.manifests) == encoding.digest(second.manifests)
        assert not second.plan.writes
        repo.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: '2'}\n")
        repo.commit("two")
        moved = prepare(ctx, cfg.apps[0])
        assert moved.manifests is not first.manifests and moved.manifests[0].obj["data"] == {"v": "2"}
        other = cfg.apps[0].model_copy(update={"namespace": "elsewhere"})
        assert prepare(ctx, other).manifests[0].obj["metadata"]["namespace"] == "elsewhere"
    finally:
        cluster.close()


def test_the_digest_is_the_records_bytes(tmp_path: Path) -> None:
    from agent.models import Manifest

    manifests = tuple(
        Manifest(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"c{i}"},
                "data": {"b": "2", "a": "1"},
            }
        )
        for i in range(3)
    )
    fresh = tuple(Manifest(dict(m.obj)) for m in manifests)  # equal, not the same tuple: no memo
    encoded = encoding.EncodedManifests(tuple(m.obj for m in manifests))
    assert encoded.digest == encoding.digest(fresh)
