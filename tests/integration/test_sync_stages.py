"""Each stage of the sync fails with its own stage and typed reason, provoked
with real parts: a git URL that does not exist, a broken template, a plan the
guards refuse, an object the API server finds invalid, a delete or a record
write it refuses (fault rules), a rollout that goes Degraded or never ends,
and a cluster that does not answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import Application, parse_config
from agent.emulator import EmulatedCluster, Options
from agent.models import Action
from agent.results import Reason, Stage, SyncResult
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from tests.conftest import GitRepo
from tests.support.emulator import ours


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def deployment(image: str, progress_deadline: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": progress_deadline,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def commit(repo: GitRepo, *objs: dict[str, Any]) -> None:
    repo.write("app/all.yaml", yaml.safe_dump_all(objs))
    repo.commit("change")


@pytest.fixture
def fast_cluster(tmp_path: Path) -> Iterator[EmulatedCluster]:
    c = EmulatedCluster(tmp_path / "cluster.db", Options(time_factor=0.002))  # deadlines pass in ms
    yield c
    c.close()


def make(
    tmp_path: Path, cluster: EmulatedCluster, repo: str | Path, path: str = "app", **policy: Any
) -> tuple[Context, Application]:
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "apps": [
                {
                    "name": "web",
                    "repo": str(repo),
                    "path": path,
                    "namespace": "web",
                    "syncPolicy": {
                        "createNamespace": True,
                        "healthTimeoutSeconds": 30,
                        "rollbackOnFailure": False,
                        "retry": {"attempts": 1},
                        **policy,
                    },
                }
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    return Context.create(cfg, cluster), cfg.apps[0]


def failed_at(result: SyncResult, stage: Stage, reason: Reason) -> str:
    """Assert the stage and reason of the failure (the JSON report's too); its message."""
    assert result.failure is not None, result
    assert (result.failure.stage, result.failure.reason) == (stage, reason), result.failure
    assert result.to_dict()["failure"]["reason"] == str(reason)
    return result.failure.message


def test_fetch_of_a_repository_that_does_not_exist(tmp_path: Path, cluster: EmulatedCluster) -> None:
    ctx, app = make(tmp_path, cluster, tmp_path / "no-such-repo.git")
    result = reconcile(ctx, app)
    failed_at(result, Stage.SOURCE, Reason.SOURCE_FAILED)
    assert cluster.writes == 0


def test_render_of_a_broken_template(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    repo.write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
    repo.write("chart/templates/cm.yaml", "data: {{ .Values.nope | no_such_filter }}\n")
    repo.commit("broken template")
    ctx, app = make(tmp_path, cluster, repo.path, path="chart")
    result = reconcile(ctx, app)
    failed_at(result, Stage.RENDER, Reason.RENDER_FAILED)
    assert cluster.writes == 0


def test_plan_with_a_conflict_is_refused(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}})
    cluster.create({**configmap("taken", by="hand"), "metadata": {"name": "taken", "namespace": "web"}})
    commit(repo, configmap("taken", by="git"), configmap("free"))
    ctx, app = make(tmp_path, cluster, repo.path)
    before = cluster.writes
    result = reconcile(ctx, app)
    message = failed_at(result, Stage.PLAN, Reason.PLAN_REFUSED)
    assert "not managed by gitops-agent" in message
    assert cluster.writes == before  # nothing written


def test_plan_that_would_prune_everything_is_refused(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    commit(repo, configmap("a"), configmap("b"))
    ctx, app = make(tmp_path, cluster, repo.path, prune=True)
    assert reconcile(ctx, app).ok
    repo.write("app/all.yaml", "")
    repo.commit("empty")
    result = reconcile(ctx, app)
    failed_at(result, Stage.PLAN, Reason.PLAN_REFUSED)
    assert len(cluster.list("v1", "ConfigMap", "web", {"gitops-agent.io/app": "web"})) == 2


def test_apply_of_an_invalid_object(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "Bad_Name"},
        "spec": {"ports": [{"port": 80}]},
    }
    commit(repo, configmap("fine"), service)
    ctx, app = make(tmp_path, cluster, repo.path)
    result = reconcile(ctx, app)
    message = failed_at(result, Stage.APPLY, Reason.APPLY_FAILED)
    assert "Service/web/Bad_Name" in message


def test_prune_refused_by_the_cluster(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    commit(repo, configmap("keep"), configmap("gone"))
    ctx, app = make(tmp_path, cluster, repo.path, prune=True)
    assert reconcile(ctx, app).ok
    commit(repo, configmap("keep"))
    cluster.faults.update(errors=[{"code": 403, "verbs": ["delete"], "kinds": ["ConfigMap"]}])
    result = reconcile(ctx, app)
    cluster.faults.update(errors=[])
    failed_at(result, Stage.PRUNE, Reason.PRUNE_FAILED)
    actions = {str(e.key): e.action for e in result.changeset.entries}
    assert actions["ConfigMap/web/gone"] is Action.FAILED


def test_settle_of_a_degraded_rollout(tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster) -> None:
    commit(repo, deployment("nginx:does-not-exist", progress_deadline=600))  # unpullable: the default rule
    ctx, app = make(tmp_path, fast_cluster, repo.path, healthTimeoutSeconds=30)
    result = reconcile(ctx, app)
    message = failed_at(result, Stage.HEALTH, Reason.HEALTH_DEGRADED)
    assert "Deployment/web/web is Degraded" in message


def test_settle_that_times_out(tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster) -> None:
    commit(repo, deployment("nginx:does-not-exist", progress_deadline=100_000_000))  # never Degraded
    ctx, app = make(tmp_path, fast_cluster, repo.path, healthTimeoutSeconds=1)
    result = reconcile(ctx, app)
    message = failed_at(result, Stage.HEALTH, Reason.HEALTH_TIMEOUT)
    assert "after 1s" in message


def test_record_write_refused_by_the_cluster(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    """The objects converged: the sync says so, and that the record is not
    written; it is not a failed sync, and the next sync writes the record."""
    commit(repo, configmap("a"))
    ctx, app = make(tmp_path, cluster, repo.path)
    cluster.faults.update(errors=[{"code": 403, "verbs": ["create"], "kinds": ["Secret"]}])
    result = reconcile(ctx, app)
    cluster.faults.update(errors=[])
    assert result.ok and result.failure is None
    assert result.record is None and result.unrecorded is not None
    assert "cannot write revision record 1 of web" in result.unrecorded
    assert result.to_dict()["recordNotWritten"] == result.unrecorded
    assert cluster.get("v1", "ConfigMap", "a", "web") is not None  # the apply itself went through
    again = reconcile(ctx, app)
    assert again.ok and again.record == 1 and again.unrecorded is None


def test_every_cluster_call_of_a_sync_is_retried(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    """Half the reads (lists, gets) and of the record's writes fail with 503
    or 429: the live reads, the record reads and the record write are retried
    like the apply, and the sync converges and says so."""
    commit(repo, configmap("a"), configmap("b"))
    retry = {"attempts": 20, "backoffSeconds": 0.001, "maxBackoffSeconds": 0.01}
    ctx, app = make(tmp_path, cluster, repo.path, retry=retry)
    cluster.faults.update(
        errors=[
            {"code": 503, "rate": 0.3, "verbs": ["list", "get"], "retryAfterSeconds": 0},
            {"code": 429, "rate": 0.3, "verbs": ["list", "get"], "retryAfterSeconds": 0},
            {
                "code": 503,
                "rate": 0.5,
                "verbs": ["create", "delete"],
                "kinds": ["Secret"],
                "retryAfterSeconds": 0,
            },
        ]
    )
    results = [reconcile(ctx, app) for _ in range(3)]
    cluster.faults.update(errors=[])
    for result in results:
        assert result.ok and result.unrecorded is None, result
    assert results[0].record == 1
    assert [r["metadata"]["name"] for r in ours(cluster.list("v1", "ConfigMap", "web"))] == ["a", "b"]


def test_read_live_refused_by_the_cluster(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    commit(repo, configmap("a"))
    ctx, app = make(tmp_path, cluster, repo.path)
    cluster.faults.update(errors=[{"code": 403, "verbs": ["list"], "kinds": ["ConfigMap"]}])
    result = reconcile(ctx, app)
    cluster.faults.update(errors=[])
    failed_at(result, Stage.CLUSTER, Reason.CLUSTER_REFUSED)


def test_unreachable_cluster(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    commit(repo, configmap("a"))
    ctx, app = make(tmp_path, cluster, repo.path)
    cluster.faults.update(down=True)
    result = reconcile(ctx, app)
    cluster.faults.update(down=False)
    message = failed_at(result, Stage.CLUSTER, Reason.CLUSTER_UNAVAILABLE)
    assert "down" in message
