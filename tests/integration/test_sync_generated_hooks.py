"""Hooks named by the API server (``metadata.generateName``), as Argo CD's
example apps ``helm-hooks`` and ``sync-waves`` declare them: synced into the
emulated cluster, run again by a second sync, never drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import AgentConfig, parse_config
from agent.emulator import EmulatedCluster
from agent.models import Action
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from agent.sync.status import drift
from tests.support.repos import GitRepo


def job(head: str, notes: dict[str, str], seconds: int = 1) -> str:
    lines = "".join(f"\n    {k}: {v!r}" for k, v in notes.items())
    return f"""---
apiVersion: batch/v1
kind: Job
metadata:
  {head}
  annotations:{lines}
spec:
  template:
    spec:
      containers:
        - name: run
          image: alpine:latest
          command: ["sleep", "{seconds}"]
      restartPolicy: Never
"""


def tier(name: str, port: int, notes: str = "") -> str:
    meta = f"\n  annotations: {{{notes}}}" if notes else ""
    return f"""---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}{meta}
spec:
  replicas: 1
  selector: {{matchLabels: {{tier: {name}}}}}
  template:
    metadata: {{labels: {{tier: {name}}}}}
    spec:
      containers: [{{name: main, image: "nginx:latest"}}]
---
apiVersion: v1
kind: Service
metadata:
  name: {name}{meta}
spec:
  selector: {{tier: {name}}}
  ports: [{{protocol: TCP, port: {port}, targetPort: {port}}}]
"""


# The shape of argocd-example-apps' helm-hooks: Helm hook annotations, one
# generated hook Job without a delete policy (BeforeHookCreation by default).
HELM_HOOKS = (
    job("generateName: upgrade-sql-schema", {"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "-2"})
    + job(
        "name: maint-page-up",
        {
            "helm.sh/hook": "pre-install",
            "helm.sh/hook-delete-policy": "before-hook-creation",
            "helm.sh/hook-weight": "-1",
        },
    )
    + tier("frontend", 80)
    + job(
        "name: maint-page-down",
        {"helm.sh/hook": "post-install", "helm.sh/hook-delete-policy": "before-hook-creation"},
    )
)
# The shape of its sync-waves: Argo CD hook annotations and waves.
SYNC_WAVES = (
    job("generateName: upgrade-sql-schema", {"argocd.argoproj.io/hook": "PreSync"})
    + tier("backend", 8080)
    + job(
        "name: maint-page-up",
        {
            "argocd.argoproj.io/hook": "Sync",
            "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
            "argocd.argoproj.io/sync-wave": "1",
        },
    )
    + tier("frontend", 80, "argocd.argoproj.io/sync-wave: '2'")
    + job(
        "name: maint-page-down",
        {
            "argocd.argoproj.io/hook": "Sync",
            "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
            "argocd.argoproj.io/sync-wave": "3",
        },
    )
)


def make_ctx(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> tuple[Context, AgentConfig]:
    policy = {"createNamespace": True, "healthTimeoutSeconds": 60}
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "apps": [
                {"name": n, "repo": str(repo.path), "path": f"apps/{n}", "namespace": n, "syncPolicy": policy}
                for n in ("helm-hooks", "sync-waves")
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    return Context.create(cfg, cluster), cfg


def jobs(cluster: EmulatedCluster, namespace: str) -> list[str]:
    return sorted(j["metadata"]["name"] for j in cluster.list("batch/v1", "Job", namespace))


@pytest.fixture
def hooks_repo(repo: GitRepo) -> GitRepo:
    repo.write("apps/helm-hooks/manifests.yaml", HELM_HOOKS)
    repo.write("apps/sync-waves/manifests.yaml", SYNC_WAVES)
    repo.commit("argocd-example-apps' hook apps")
    return repo


def test_generated_hooks_run_each_sync_and_leave_one_run(
    tmp_path: Path, hooks_repo: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx, cfg = make_ctx(tmp_path, hooks_repo, cluster)
    helm_hooks, sync_waves = cfg.apps
    first = reconcile(ctx, sync_waves)
    assert first.ok, first.failure
    runs = [n for n in jobs(cluster, "sync-waves") if n.startswith("upgrade-sql-schema")]
    assert len(runs) == 1 and runs[0] != "upgrade-sql-schema", runs  # the server named it
    created = {str(e.key.name) for e in first.changeset.entries if e.action is Action.CREATED}
    assert runs[0] in created
    assert not drift(ctx, sync_waves).drifted
    (record,) = ctx.records().history("sync-waves")
    assert {i.name for i in record.inventory} == {"backend", "frontend"}  # hooks are no inventory

    again = reconcile(ctx, sync_waves)
    assert again.ok, again.failure
    later = [n for n in jobs(cluster, "sync-waves") if n.startswith("upgrade-sql-schema")]
    assert len(later) == 1 and later != runs, (runs, later)  # BeforeHookCreation: one run left
    assert not drift(ctx, sync_waves).drifted
    actions = {e.key.name: e.action for e in again.changeset.entries if e.key.kind != "Job"}
    assert set(actions.values()) == {Action.UNCHANGED}, actions

    installed = reconcile(ctx, helm_hooks)
    assert installed.ok, installed.failure
    names = jobs(cluster, "helm-hooks")
    assert "maint-page-up" in names and "maint-page-down" in names
    assert len([n for n in names if n.startswith("upgrade-sql-schema")]) == 1
    assert not drift(ctx, helm_hooks).drifted
    # pre-install and post-install are Helm's first-sync hooks: an upgrade runs none, and
    # the install's runs are neither drift nor pruned
    upgraded = reconcile(ctx, helm_hooks)
    assert upgraded.ok, upgraded.failure
    assert jobs(cluster, "helm-hooks") == names
    assert not drift(ctx, helm_hooks).drifted


def test_a_generated_name_on_an_ordinary_object_is_refused(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    repo.write(
        "apps/helm-hooks/manifests.yaml", tier("frontend", 80) + job("generateName: run-", {"team": "a"})
    )
    repo.write("apps/sync-waves/manifests.yaml", tier("backend", 80))
    repo.commit("a generated object that is no hook")
    ctx, cfg = make_ctx(tmp_path, repo, cluster)
    result = reconcile(ctx, cfg.apps[0])
    assert not result.ok and result.failure is not None
    message = result.failure.message
    assert "manifests.yaml (document 3)" in message and "generateName 'run-'" in message, message
    assert "only hooks" in message
    assert "\n" not in message and "Traceback" not in message
    assert cluster.list("apps/v1", "ReplicaSet", "helm-hooks") == []  # nothing written


def note(generate: str, phase: str, policy: str) -> str:
    return f"""---
apiVersion: v1
kind: ConfigMap
metadata:
  generateName: {generate}
  annotations: {{argocd.argoproj.io/hook: {phase}, argocd.argoproj.io/hook-delete-policy: {policy}}}
data: {{ran: "yes"}}
"""


def test_delete_policies_of_generated_hooks(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    repo.write(
        "apps/helm-hooks/all.yaml",
        tier("frontend", 80)
        + note("gone-", "PreSync", "HookSucceeded")
        + note("kept-", "PostSync", "HookFailed")
        + note("last-", "PostSync", "BeforeHookCreation,HookFailed"),
    )
    repo.write("apps/sync-waves/all.yaml", tier("backend", 80))
    repo.commit("delete policies")
    ctx, cfg = make_ctx(tmp_path, repo, cluster)
    for _ in range(2):
        result = reconcile(ctx, cfg.apps[0])
        assert result.ok, result.failure
    names = [c["metadata"]["name"] for c in cluster.list("v1", "ConfigMap", "helm-hooks")]
    assert not [n for n in names if n.startswith("gone-")], names  # HookSucceeded: deleted once done
    assert len([n for n in names if n.startswith("kept-")]) == 2, (
        names
    )  # no policy to delete them: they pile up
    assert len([n for n in names if n.startswith("last-")]) == 1, names  # BeforeHookCreation: one run
    assert not drift(ctx, cfg.apps[0]).drifted
