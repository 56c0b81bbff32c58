"""Sync waits for health; a change that fails or never becomes healthy is
rolled back to the previous revision exactly (emulated cluster, real git)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import AgentConfig, parse_config
from agent.emulator import EmulatedCluster, Options
from agent.models import Action, HealthStatus
from agent.results import Stage
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from tests.support.repos import GitRepo


def deployment(image: str, replicas: int = 2, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
            **spec,
        },
    }


def service(name: str = "web", port: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": port}]},
    }


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def commit(repo: GitRepo, *objs: dict[str, Any]) -> str:
    repo.write("app/all.yaml", yaml.safe_dump_all(objs))
    return repo.commit("change")


def make(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, **policy: Any
) -> tuple[Context, AgentConfig]:
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "apps": [
                {
                    "name": "web",
                    "repo": str(repo.path),
                    "path": "app",
                    "namespace": "web",
                    "syncPolicy": {
                        "createNamespace": True,
                        "healthTimeoutSeconds": 30,
                        "retry": {"attempts": 2, "backoffSeconds": 0.05},
                        **policy,
                    },
                }
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    return Context.create(cfg, cluster), cfg


@pytest.fixture
def fast_cluster(tmp_path: Path) -> Any:
    c = EmulatedCluster(tmp_path / "cluster.db", Options(time_factor=0.002))  # deadlines pass in ms
    yield c
    c.close()


def snapshot(cluster: EmulatedCluster) -> dict[str, Any]:
    """The app's objects as Git wrote them (spec / data), by kind and name."""
    out: dict[str, Any] = {}
    for api_version, kind in (("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "ConfigMap")):
        for obj in cluster.list(api_version, kind, "web", {"gitops-agent.io/app": "web"}):
            body = obj.get("spec") or obj.get("data")
            if kind == "Service":
                body = {k: v for k, v in body.items() if k not in ("clusterIP", "clusterIPs")}
            out[f"{kind}/{obj['metadata']['name']}"] = body
    return out


def test_sync_waits_for_health_and_records_it(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster
) -> None:
    commit(repo, deployment("nginx:1.27"), service())
    ctx, cfg = make(tmp_path, repo, fast_cluster)
    result = reconcile(ctx, cfg.apps[0])
    assert result.ok, result.failure
    deploy = fast_cluster.get("apps/v1", "Deployment", "web", "web")
    assert deploy["status"]["availableReplicas"] == 2  # the sync returned after the rollout finished
    (record,) = ctx.records().history("web")
    assert record.health == "Healthy"


@pytest.mark.parametrize("how", ["degraded", "timeout"])
def test_unpullable_image_rolls_back_to_the_previous_revision_exactly(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster, how: str
) -> None:
    commit(repo, deployment("nginx:1.27"), service(), configmap("settings", a="1"))
    policy = {"healthTimeoutSeconds": 2} if how == "timeout" else {}
    ctx, cfg = make(tmp_path, repo, fast_cluster, **policy)
    app = cfg.apps[0]
    assert reconcile(ctx, app).ok
    good = snapshot(fast_cluster)

    deadline = {"progressDeadlineSeconds": 600 if how == "degraded" else 100_000_000}
    broken = commit(
        repo,
        deployment("nginx:does-not-exist", **deadline),
        service(),
        configmap("settings", a="2"),
        configmap("added"),
    )
    result = reconcile(ctx, app)
    assert result.failure is not None and result.failure.stage is Stage.HEALTH
    assert "Deployment/web/web" in result.failure.message
    if how == "degraded":
        assert "is Degraded" in result.failure.message and "progress deadline" in result.failure.message
    else:
        assert "after 2s" in result.failure.message
    assert result.rollback is not None and result.rollback.ok, result.rollback
    assert snapshot(fast_cluster) == good  # the objects equal the previous revision's exactly
    failed, rolled = ctx.records().history("web")[-2:]
    assert (failed.result, failed.health) == ("Failed", "Degraded" if how == "degraded" else "Progressing")
    assert (rolled.operation, rolled.result, rolled.health, rolled.hold) == (
        "rollback",
        "Succeeded",
        "Healthy",
        broken,
    )


def test_api_failure_half_way_rolls_back_and_names_the_object(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster
) -> None:
    commit(repo, deployment("nginx:1.27"), service())
    ctx, cfg = make(tmp_path, repo, fast_cluster)
    app = cfg.apps[0]
    assert reconcile(ctx, app).ok
    good = snapshot(fast_cluster)
    commit(repo, deployment("nginx:1.28"), service(), service("extra", 8080), configmap("new", a="1"))
    fast_cluster.faults.update(errors=[{"code": 500, "verbs": ["patch"], "kinds": ["Service"]}])
    result = reconcile(ctx, app)
    fast_cluster.faults.update(errors=[])
    assert result.failure is not None and result.failure.stage is Stage.APPLY
    assert result.failure.message.startswith("Service/web/extra: ")
    actions = {str(e.key): e.action for e in result.changeset.entries}
    assert actions["ConfigMap/web/new"] is Action.CREATED and actions["Service/web/extra"] is Action.FAILED
    assert result.rollback is not None and result.rollback.ok
    assert snapshot(fast_cluster) == good  # nothing left half-applied


def test_passing_api_errors_are_retried(tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster) -> None:
    commit(repo, *(configmap(f"c{i}", v=str(i)) for i in range(20)))
    ctx, cfg = make(tmp_path, repo, fast_cluster, retry={"attempts": 8, "backoffSeconds": 0.01})
    fast_cluster.faults.update(
        errors=[{"code": 429, "rate": 0.3, "verbs": ["patch"], "retryAfterSeconds": 0}]
    )
    result = reconcile(ctx, cfg.apps[0])
    fast_cluster.faults.update(errors=[])
    assert result.ok, result.failure
    assert len(fast_cluster.list("v1", "ConfigMap", "web", {"gitops-agent.io/app": "web"})) == 20


def test_hooks_wait_for_their_jobs_and_follow_delete_policies(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster
) -> None:
    def job(name: str, phase: str, policy: str) -> dict[str, Any]:
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "annotations": {
                    "argocd.argoproj.io/hook": phase,
                    "argocd.argoproj.io/hook-delete-policy": policy,
                },
            },
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox:1.36"}]}
                }
            },
        }

    commit(
        repo,
        job("migrate", "PreSync", "HookSucceeded"),
        deployment("nginx:1.27"),
        job("smoke", "PostSync", "BeforeHookCreation"),
    )
    ctx, cfg = make(tmp_path, repo, fast_cluster)
    result = reconcile(ctx, cfg.apps[0])
    assert result.ok, result.failure
    assert fast_cluster.get("batch/v1", "Job", "migrate", "web") is None  # deleted once it succeeded
    smoke = fast_cluster.get("batch/v1", "Job", "smoke", "web")
    assert smoke is not None and any(c["type"] == "Complete" for c in smoke["status"]["conditions"])
    with fast_cluster.store.transaction():
        rows = fast_cluster.store._db.execute(
            "SELECT name FROM events WHERE type='ADDED' AND namespace='web' ORDER BY rv"
        ).fetchall()
    created = [r[0] for r in rows if r[0] in ("migrate", "web", "smoke")]
    assert created == ["migrate", "web", "smoke"]
    # a PreSync hook that fails stops the sync before the app's objects change
    commit(
        repo,
        job("migrate", "PreSync", "HookFailed"),
        {
            **job("x", "PreSync", "HookFailed"),
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "m", "image": "busybox:crash"}],
                    }
                }
            },
        },
        deployment("nginx:1.28"),
    )
    fast_cluster.faults.update(crashLoopImages=["busybox:crash"])
    failed = reconcile(ctx, cfg.apps[0])
    assert failed.failure is not None and failed.failure.stage is Stage.HEALTH
    assert "Job/web/x" in failed.failure.message
    image = fast_cluster.get("apps/v1", "Deployment", "web", "web")["spec"]["template"]["spec"]["containers"][
        0
    ]
    assert image["image"] == "nginx:1.27"


def test_dry_run_changes_nothing(tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster) -> None:
    commit(repo, deployment("nginx:1.27"), configmap("settings", a="1"))
    ctx, cfg = make(tmp_path, repo, fast_cluster)
    preview = reconcile(ctx, cfg.apps[0], dry_run=True)
    assert preview.ok and preview.dry_run, preview.failure
    assert preview.changeset.summary() == {"created": 2}
    assert fast_cluster.list("apps/v1", "Deployment", "web") == []
    assert ctx.records().history("web") == []
    assert reconcile(ctx, cfg.apps[0]).ok
    commit(repo, deployment("nginx:1.28"), configmap("settings", a="1"))
    assert reconcile(ctx, cfg.apps[0], dry_run=True).changeset.summary() == {"configured": 1, "unchanged": 1}
    live = fast_cluster.get("apps/v1", "Deployment", "web", "web")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"


def test_immutable_field_is_refused_or_replaced(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster
) -> None:
    commit(repo, deployment("nginx:1.27"))
    ctx, cfg = make(tmp_path, repo, fast_cluster, rollbackOnFailure=False)
    assert reconcile(ctx, cfg.apps[0]).ok
    changed = deployment("nginx:1.27")
    changed["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "front"}}
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "front"
    commit(repo, changed)
    refused = reconcile(ctx, cfg.apps[0])
    assert refused.failure is not None and "spec.selector" in refused.failure.message
    assert "replaceOnImmutable" in refused.failure.message
    uid = fast_cluster.get("apps/v1", "Deployment", "web", "web")["metadata"]["uid"]
    changed["metadata"]["annotations"] = {"gitops-agent.io/sync-options": "Replace=true"}
    commit(repo, changed)
    replaced = reconcile(ctx, cfg.apps[0])
    assert replaced.ok, replaced.failure
    live = fast_cluster.get("apps/v1", "Deployment", "web", "web")
    assert live["metadata"]["uid"] != uid and live["spec"]["selector"]["matchLabels"]["tier"] == "front"


def test_a_no_change_reconcile_lists_each_kind_once_and_writes_nothing(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster
) -> None:
    objs = [
        deployment("nginx:1.27"),
        service(),
        configmap("a", x="1"),
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}},
    ]
    commit(repo, *objs)
    ctx, cfg = make(tmp_path, repo, fast_cluster)
    assert reconcile(ctx, cfg.apps[0]).ok
    fast_cluster.requests.clear()
    again = reconcile(ctx, cfg.apps[0])
    assert again.ok and again.changeset.summary() == {"unchanged": 5}
    counts = dict(fast_cluster.requests)
    assert counts == {"list": 5 + 1}  # one list per kind, one for the revision records; nothing else
    assert fast_cluster.writes == 0
    assert HealthStatus.HEALTHY.label == "Healthy"


class _ServicesAfterDeploymentWatch:
    """The emulated cluster, except that a Service is written only once a
    Deployment is being watched (or after 5 s): whether health is awaited
    while later ranks are still being written."""

    def __init__(self, inner: EmulatedCluster) -> None:
        self.inner = inner
        self.watching = threading.Event()
        self.watched_first: list[bool] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def watch(self, api_version: str, kind: str, *args: Any, **kwargs: Any) -> Any:
        if kind == "Deployment":
            self.watching.set()
        return self.inner.watch(api_version, kind, *args, **kwargs)

    def apply(self, obj: dict[str, Any], **kwargs: Any) -> Any:
        if obj.get("kind") == "Service":
            self.watched_first.append(self.watching.wait(5))
        return self.inner.apply(obj, **kwargs)


def test_health_is_awaited_while_later_ranks_are_written(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster
) -> None:
    deployments = [{**deployment("nginx:1.27"), "metadata": {"name": f"web-{i}"}} for i in range(3)]
    commit(repo, *deployments, service("a"), service("b", 81), service("c", 82))
    cluster = _ServicesAfterDeploymentWatch(fast_cluster)
    ctx, cfg = make(tmp_path, repo, cluster)  # type: ignore[arg-type]
    result = reconcile(ctx, cfg.apps[0])
    assert result.ok, result.failure
    assert cluster.watched_first == [True, True, True]
    assert result.changeset.summary() == {"created": 6}


def test_a_degraded_rank_fails_the_wave_written_after_it(
    tmp_path: Path, repo: GitRepo, fast_cluster: EmulatedCluster
) -> None:
    """The Deployment's wait starts before its Service is written; its
    Degraded outcome still decides the wave, named in the failure."""
    broken = deployment("nginx:does-not-exist", progressDeadlineSeconds=1)
    commit(repo, broken, service())
    ctx, cfg = make(tmp_path, repo, fast_cluster, rollbackOnFailure=False)
    result = reconcile(ctx, cfg.apps[0])
    assert result.failure is not None and result.failure.stage is Stage.HEALTH
    assert "Deployment/web/web is Degraded" in result.failure.message
    assert result.changeset.summary() == {"created": 2}
