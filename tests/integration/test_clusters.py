"""Several clusters in one configuration: a reconcile Context per cluster
(:class:`agent.sync.contexts.Contexts`), each app synced into its own
cluster and nowhere else, its records kept in that cluster's state
namespace, the git and render caches shared; a cluster that cannot be
connected to fails only the apps that go to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.cluster.unreachable import Unreachable
from agent.config import AgentConfig, parse_config
from agent.emulator import EmulatedCluster
from agent.results import Stage
from agent.sync.contexts import Contexts
from agent.sync.pipeline import reconcile
from agent.sync.status import status
from tests.support.repos import GitRepo


def _app(repo: GitRepo, name: str, cluster: str | None = None) -> dict[str, Any]:
    app: dict[str, Any] = {"name": name, "repo": str(repo.path), "path": name, "namespace": name}
    if cluster is not None:
        app["destination"] = {"cluster": cluster}
    return app


@pytest.fixture
def fleet_repo(repo: GitRepo) -> GitRepo:
    for name in ("web", "api", "jobs"):
        repo.write(
            f"{name}/objects.yaml",
            f"""
            apiVersion: v1
            kind: Namespace
            metadata: {{name: {name}}}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {{name: settings, namespace: {name}}}
            data: {{app: {name}}}
            """,
        )
    repo.commit("three apps")
    return repo


def _config(tmp_path: Path, repo: GitRepo, **more: Any) -> AgentConfig:
    doc = {
        "source": {"allowedSchemes": ["file"]},
        "stateDir": str(tmp_path / "state"),
        "cluster": {"emulated": {"path": str(tmp_path / "a.db")}},
        "clusters": [
            {"name": "b", "labels": {"env": "staging"}, "emulated": {"path": str(tmp_path / "b.db")}},
            {"name": "c", "emulated": {"path": str(tmp_path / "c.db")}, "stateNamespace": "agent-c"},
        ],
        "apps": [_app(repo, "web"), _app(repo, "api", "b"), _app(repo, "jobs", "c")],
    }
    return parse_config({**doc, **more}, "agent.yaml", tmp_path)


def _namespaces(db: Path) -> set[str]:
    cluster = EmulatedCluster(db)
    try:
        return {n["metadata"]["name"] for n in cluster.list("v1", "Namespace")}
    finally:
        cluster.close()


def _records(db: Path) -> dict[str, list[str]]:
    """Each record Secret's app, by the namespace it is kept in."""
    cluster = EmulatedCluster(db)
    try:
        found: dict[str, list[str]] = {}
        for s in cluster.list("v1", "Secret", label_selector={"gitops-agent.io/record-of": "web"}):
            found.setdefault(s["metadata"]["namespace"], []).append("web")
        for app in ("api", "jobs"):
            for s in cluster.list("v1", "Secret", label_selector={"gitops-agent.io/record-of": app}):
                found.setdefault(s["metadata"]["namespace"], []).append(app)
        return found
    finally:
        cluster.close()


def test_each_app_lands_in_its_cluster_and_nowhere_else(tmp_path: Path, fleet_repo: GitRepo) -> None:
    cfg = _config(tmp_path, fleet_repo)
    contexts = Contexts(cfg, shared="once")
    try:
        results = {a.name: reconcile(contexts.of(a), a) for a in cfg.apps}
        assert all(r.ok for r in results.values()), {n: r.failure for n, r in results.items()}
        statuses = {a.name: status(contexts.of(a), a) for a in cfg.apps}
        made = contexts.made()
        assert sorted(made) == ["b", "c", "default"]
        assert len({id(c.cluster) for c in made.values()}) == 3  # a connection each
        assert len({id(c.source) for c in made.values()}) == 1  # one git cache
        assert len({id(c.renders) for c in made.values()}) == 1  # one render cache
        assert len({id(c.charts()) for c in made.values()}) == 1  # one chart puller
        assert made["b"].settings.labels == {"env": "staging"}
    finally:
        contexts.close()
    assert {n: (s.cluster, str(s.sync_status)) for n, s in statuses.items()} == {
        "web": ("default", "Synced"),
        "api": ("b", "Synced"),
        "jobs": ("c", "Synced"),
    }
    assert statuses["api"].to_dict()["cluster"] == "b"
    ours = {"web", "api", "jobs"}
    assert _namespaces(tmp_path / "a.db") & ours == {"web"}
    assert _namespaces(tmp_path / "b.db") & ours == {"api"}
    assert _namespaces(tmp_path / "c.db") & ours == {"jobs"}
    # each cluster keeps its own apps' records, in its own state namespace
    assert _records(tmp_path / "a.db") == {"gitops-agent": ["web"]}
    assert _records(tmp_path / "b.db") == {"gitops-agent": ["api"]}
    assert _records(tmp_path / "c.db") == {"agent-c": ["jobs"]}


def test_only_the_clusters_the_apps_use_are_connected(tmp_path: Path, fleet_repo: GitRepo) -> None:
    cfg = _config(tmp_path, fleet_repo)
    contexts = Contexts(cfg)
    try:
        api = cfg.app("api")
        assert reconcile(contexts.of(api), api).ok
        assert list(contexts.made()) == ["b"]
    finally:
        contexts.close()
    assert not (tmp_path / "a.db").exists()  # the default cluster's database was never opened
    assert not (tmp_path / "c.db").exists()


def test_a_cluster_not_connected_to_fails_only_its_apps(tmp_path: Path, fleet_repo: GitRepo) -> None:
    missing = tmp_path / "no-such-kubeconfig"
    cfg = _config(tmp_path, fleet_repo)
    doc = cfg.model_dump(by_alias=True, exclude_none=True)
    doc["clusters"][1] = {"name": "c", "kubeconfig": {"path": str(missing)}}
    cfg = parse_config(doc, "agent.yaml", tmp_path)
    contexts = Contexts(cfg)
    try:
        results = {a.name: reconcile(contexts.of(a), a) for a in cfg.apps}
        assert isinstance(contexts.get("c").cluster, Unreachable)
    finally:
        contexts.close()
    assert results["web"].ok and results["api"].ok
    failure = results["jobs"].failure
    assert failure is not None and failure.stage is Stage.CONFIG, failure
    assert str(missing) in failure.message
    assert _namespaces(tmp_path / "a.db") & {"jobs"} == set()


def test_an_unknown_cluster_name_is_one_clear_error(tmp_path: Path, fleet_repo: GitRepo) -> None:
    from agent.errors import ConfigError

    contexts = Contexts(_config(tmp_path, fleet_repo))
    with pytest.raises(ConfigError, match=r"no cluster named 'prod' .*clusters: default, b, c"):
        contexts.get("prod")
