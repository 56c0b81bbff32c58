"""A sync that finds nothing new, as a one-shot command runs it: each
command is a process of its own, so each test makes fresh Contexts (no
memory shared with the command before) over the same state folder.

The render the command before made is read from the state folder (not
rendered or schema-checked again), the live objects are read in one list
per kind, and nothing is written: not to the cluster, not a render.
A kept render that does not check out is ignored and the app rendered
again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.cluster.kube import KubeCluster
from agent.config import AgentConfig, parse_config
from agent.models import Manifest
from agent.render import RenderResult
from agent.sync.contexts import Contexts
from agent.sync.pipeline import reconcile
from agent.sync.render import AppRender, definitions_of
from agent.sync.rendercache import RenderCache
from tests.support.emulator import Backend
from tests.support.emulator import backend as served
from tests.support.repos import GitRepo

KINDS = ("ConfigMap", "Service", "ServiceAccount")


def objects(n: int) -> str:
    docs = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        body = {
            "ConfigMap": "data: {value: 'v'}",
            "Service": "spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}",
            "ServiceAccount": "",
        }[kind]
        docs.append(f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: obj-{i}}}\n{body}\n")
    return "---\n".join(docs)


def config(tmp_path: Path) -> AgentConfig:
    repo = GitRepo(tmp_path / "repo")
    repo.write("app/all.yaml", objects(30))
    repo.commit("one")
    doc: dict[str, Any] = {
        "source": {"allowedSchemes": ["file"]},
        "stateDir": str(tmp_path / "state"),
        "apps": [
            {
                "name": "web",
                "repo": str(repo.path),
                "path": "app",
                "namespace": "web",
                "syncPolicy": {"createNamespace": True},
            }
        ],
    }
    return parse_config(doc, "agent.yaml", tmp_path)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Backend]:
    with served(tmp_path, "kube-http") as b:
        assert isinstance(b.client, KubeCluster)
        yield b


def files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_a_no_change_sync_reads_one_list_per_kind_and_writes_nothing(
    cluster: Backend, tmp_path: Path
) -> None:
    cfg = config(tmp_path)
    first = Contexts(cfg, given={"default": cluster.client})
    assert reconcile(first.get(), cfg.apps[0]).changeset.changed
    renders = sorted((tmp_path / "state" / "renders").iterdir())
    assert len(renders) == 1  # the first command's render, kept
    before = files(tmp_path / "state" / "renders")
    cluster.engine.requests.clear()
    again = Contexts(cfg, given={"default": cluster.client})  # the next command
    result = reconcile(again.get(), cfg.apps[0])
    assert result.ok and not result.changeset.changed and result.record is None
    # one list per kind the app has, and one of its revision records; no get, no write
    assert dict(cluster.engine.requests) == {"list": len(KINDS) + 1}
    assert files(tmp_path / "state" / "renders") == before  # the render was read, not made again


def _app_render(cfg: AgentConfig, folder: Path, made: list[int]) -> tuple[RenderCache, Any]:
    cache = RenderCache(folder=folder)

    def render() -> RenderResult:
        made.append(1)
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"v": "1"}}
        return RenderResult((Manifest(obj, "app/cm.yaml", 0),), chart=False, inputs={"renderer": "plain"})

    return cache, lambda: cache.rendered(cfg.apps[0], "c0ffee", "owner", False, render)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-5],  # cut short
        lambda b: b.replace(b'"v":"1"', b'"v":"2"'),  # changed after its checksum
        lambda b: b"{not json\n" + b,  # a head that does not parse
        lambda b: b"",  # empty
    ],
)
def test_a_damaged_kept_render_is_ignored_and_made_again(tmp_path: Path, damage: Any) -> None:
    cfg = config(tmp_path)
    folder = tmp_path / "renders"
    made: list[int] = []
    _, first = _app_render(cfg, folder, made)
    kept = first()
    _, second = _app_render(cfg, folder, made)  # another process: found in the file
    assert second().manifests[0].obj == kept.manifests[0].obj and made == [1]
    (path,) = folder.iterdir()
    path.write_bytes(damage(path.read_bytes()))
    _, third = _app_render(cfg, folder, made)
    again = third()
    assert made == [1, 1]  # rendered again, not read from the damaged file
    assert again.manifests[0].obj["data"] == {"v": "1"}
    _, fourth = _app_render(cfg, folder, made)  # the new render was kept whole
    assert fourth().manifests[0].obj["data"] == {"v": "1"} and made == [1, 1]


def test_a_kept_render_serves_only_its_commit_and_configuration(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    folder = tmp_path / "renders"
    made: list[int] = []
    _, first = _app_render(cfg, folder, made)
    first()
    cache = RenderCache(folder=folder)
    other = cfg.apps[0].model_copy(update={"namespace": "elsewhere"})
    result = RenderResult((), chart=False)
    assert cache.rendered(other, "c0ffee", "owner", False, lambda: result) is result  # not the kept one
    assert cache.rendered(cfg.apps[0], "beef", "owner", False, lambda: result) is result


def test_a_kept_render_keeps_the_apps_it_declares(tmp_path: Path) -> None:
    """An app-of-apps' render read back by the next process still declares its apps."""
    cfg = config(tmp_path)
    folder = tmp_path / "renders"
    child = {
        "apiVersion": "gitops-agent.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "child"},
        "spec": {"path": "child"},
    }
    made = AppRender((), chart=False, definitions=(Manifest(child, "fleet/apps.yaml", 0),))
    RenderCache(folder=folder).rendered(cfg.apps[0], "c0ffee", "owner", False, lambda: made)
    again = RenderCache(folder=folder).rendered(  # another process: from the file, not rendered
        cfg.apps[0], "c0ffee", "owner", False, lambda: RenderResult((), chart=False)
    )
    assert [(m.source, m.obj) for m in definitions_of(again)] == [("fleet/apps.yaml", child)]
