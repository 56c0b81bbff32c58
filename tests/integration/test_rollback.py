"""A failed change is rolled back; the failed commit is held; rollback by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import AgentConfig, parse_config
from agent.emulator import EmulatedCluster
from agent.errors import AgentError
from agent.models import Action, HealthStatus, SyncStatus
from agent.results import Stage
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from agent.sync.rollback import rollback_by_hand
from agent.sync.status import status
from tests.support.repos import GitRepo

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: "nginx:{tag}"}}]
"""


def live_state(cluster: EmulatedCluster) -> dict[str, object]:
    """The app's objects as a user would compare them: kind/name -> spec or data."""
    out: dict[str, object] = {}
    for api_version, kind in (("apps/v1", "Deployment"), ("v1", "ConfigMap"), ("v1", "Service")):
        for obj in cluster.list(api_version, kind, "web"):
            out[f"{kind}/{obj['metadata']['name']}"] = obj.get("spec", obj.get("data"))
    return out


@pytest.fixture
def setup(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> tuple[Context, AgentConfig, GitRepo]:
    repo.write("app/deploy.yaml", DEPLOYMENT.format(replicas=1, tag="1.27"))
    repo.write(
        "app/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n"
    )
    repo.commit("v1")
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "apps": [
                {
                    "name": "web",
                    "repo": str(repo.path),
                    "path": "app",
                    "namespace": "web",
                    "syncPolicy": {"createNamespace": True},
                }
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    return Context.create(cfg, cluster), cfg, repo


def break_it(repo: GitRepo) -> str:
    """A commit whose apply fails half-way: the Deployment and a new
    ConfigMap apply, then a Service with an invalid name is refused."""
    repo.write("app/deploy.yaml", DEPLOYMENT.format(replicas=3, tag="1.28"))
    repo.write("app/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {b: '2'}\n")
    repo.write(
        "app/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: Bad_Name}\nspec: {ports: [{port: 80}]}\n",
    )
    return repo.commit("broken")


def test_failed_apply_rolls_back_to_the_previous_revision(
    setup: tuple[Context, AgentConfig, GitRepo], cluster: EmulatedCluster
) -> None:
    ctx, cfg, repo = setup
    app = cfg.apps[0]
    assert reconcile(ctx, app).ok
    good = live_state(cluster)

    broken = break_it(repo)
    result = reconcile(ctx, app)
    assert result.failure is not None and result.failure.stage is Stage.APPLY
    assert "Service/web/Bad_Name" in result.failure.message  # the report names the failing object
    actions = {str(e.key): e.action for e in result.changeset.entries}
    assert actions["Deployment/web/web"] is Action.CONFIGURED
    assert actions["Service/web/Bad_Name"] is Action.FAILED
    assert result.rollback is not None and result.rollback.ok
    assert result.rollback.to_revision == 1
    rolled = {str(e.key): e.action for e in result.rollback.changeset.entries}
    assert rolled["Deployment/web/web"] is Action.CONFIGURED
    assert rolled["ConfigMap/web/extra"] is Action.PRUNED
    assert live_state(cluster) == good  # exactly the previous revision's objects

    history = ctx.records().history("web")
    assert [(r.number, r.operation, r.result, r.commit == broken) for r in history] == [
        (1, "sync", "Succeeded", False),
        (2, "sync", "Failed", True),
        (3, "rollback", "Succeeded", False),
    ]
    assert history[-1].hold == broken and history[-1].rollback_of == 2

    # the failed commit is held: nothing is written until a new commit or --force
    writes = cluster.writes
    held = reconcile(ctx, app)
    assert held.held is not None and "held at revision 3" in held.held and not held.ok
    assert cluster.writes == writes
    forced = reconcile(ctx, app, force=True)
    assert forced.failure is not None and forced.rollback is not None and forced.rollback.ok
    assert live_state(cluster) == good

    # a fix arrives: applied normally
    repo.remove("app/svc.yaml")
    fixed = repo.commit("fix")
    result = reconcile(ctx, app)
    assert result.ok and result.revision is not None and result.revision.commit == fixed
    assert live_state(cluster)["Deployment/web"]["replicas"] == 3  # type: ignore[index]


def test_no_rollback_when_disabled(
    tmp_path: Path, setup: tuple[Context, AgentConfig, GitRepo], cluster: EmulatedCluster
) -> None:
    ctx, _, repo = setup
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "apps": [
                {
                    "name": "web",
                    "repo": str(repo.path),
                    "path": "app",
                    "namespace": "web",
                    "syncPolicy": {"createNamespace": True, "rollbackOnFailure": False},
                }
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    app = cfg.apps[0]
    assert reconcile(ctx, app).ok
    break_it(repo)
    result = reconcile(ctx, app)
    assert result.failure is not None and result.rollback is None
    assert live_state(cluster)["Deployment/web"]["replicas"] == 3  # type: ignore[index]


def test_rollback_by_hand_holds_until_a_new_commit(
    setup: tuple[Context, AgentConfig, GitRepo], cluster: EmulatedCluster
) -> None:
    ctx, cfg, repo = setup
    app = cfg.apps[0]
    with pytest.raises(AgentError, match="no revisions recorded yet"):
        rollback_by_hand(ctx, app)
    assert reconcile(ctx, app).ok
    first = live_state(cluster)
    repo.write("app/deploy.yaml", DEPLOYMENT.format(replicas=2, tag="1.28"))
    repo.commit("v2")
    assert reconcile(ctx, app).ok

    result = rollback_by_hand(ctx, app)  # to the last healthy one before the current
    assert result.ok and result.to_revision == 1
    assert live_state(cluster) == first
    with pytest.raises(AgentError, match=r"no revision 9 in the history \(kept: 1, 2, 3\)"):
        rollback_by_hand(ctx, app, to=9)

    held = reconcile(ctx, app)
    assert held.held is not None and "rolled back by hand" in held.held
    current = status(ctx, app)
    assert current.sync_status is SyncStatus.OUT_OF_SYNC  # Git says v2, the cluster runs v1 on purpose
    assert current.last_operation == "rollback" and "held at revision 3" in current.message

    repo.write("app/deploy.yaml", DEPLOYMENT.format(replicas=4, tag="1.29"))
    repo.commit("v3")
    assert reconcile(ctx, app).ok
    assert live_state(cluster)["Deployment/web"]["replicas"] == 4  # type: ignore[index]


def test_status_reports_sync_health_and_last_revision(
    setup: tuple[Context, AgentConfig, GitRepo], cluster: EmulatedCluster
) -> None:
    ctx, cfg, _ = setup
    app = cfg.apps[0]
    before = status(ctx, app)
    assert before.sync_status is SyncStatus.OUT_OF_SYNC and before.health is HealthStatus.MISSING
    assert before.last_revision is None
    assert reconcile(ctx, app).ok
    after = status(ctx, app)
    assert after.sync_status is SyncStatus.SYNCED
    assert after.last_revision == 1 and after.last_result == "Succeeded"
    # the emulated cluster's controllers report the rollout at once (rollout_seconds=0)
    assert after.health is HealthStatus.HEALTHY
