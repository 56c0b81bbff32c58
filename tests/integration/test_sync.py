"""Git -> render -> diff -> apply -> record, against the emulated cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.config import AgentConfig, parse_config
from agent.emulator import EmulatedCluster
from agent.errors import AgentError
from agent.models import Action, ChangeKind, DiffStatus
from agent.results import Stage
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from agent.sync.status import drift
from tests.support.crds import widget_crd
from tests.support.repos import GitRepo

CHART_FILES = {
    "apps/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "apps/web/values.yaml": "replicas: 1\nimage: nginx:1.27\ngreeting: hello\n",
    "apps/web/templates/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ release.name }}
        spec:
          replicas: {{ values.replicas }}
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
                - name: web
                  image: {{ values.image }}
        """,
    "apps/web/templates/configmap.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ release.name }}-config
        data:
          greeting: {{ values.greeting | quote }}
        """,
    "apps/web/templates/secret.yaml": """
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ release.name }}-secret
        stringData:
          token: very-secret-token
        """,
    "apps/web/templates/namespace.yaml": """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {{ release.namespace }}
        """,
}


@pytest.fixture
def chart_repo(repo: GitRepo) -> GitRepo:
    for rel, text in CHART_FILES.items():
        repo.write(rel, text)
    repo.commit("chart")
    return repo


def make_ctx(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, **app: object
) -> tuple[Context, AgentConfig]:
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "apps": [{"name": "web", "repo": str(repo.path), "path": "apps/web", "namespace": "web", **app}],
        },
        "agent.yaml",
        tmp_path,
    )
    return Context.create(cfg, cluster), cfg


def test_sync_change_prune_and_no_change(
    tmp_path: Path, chart_repo: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx, cfg = make_ctx(tmp_path, chart_repo, cluster)
    app = cfg.apps[0]

    first = reconcile(ctx, app)
    assert first.ok, first.failure
    assert first.changeset.summary() == {"created": 4}
    assert first.record == 1
    assert cluster.get("apps/v1", "Deployment", "web", "web")["spec"]["replicas"] == 1
    assert cluster.get("v1", "Secret", "web-secret", "web")["data"]["token"]

    # a second sync with nothing changed writes nothing
    before = cluster.writes
    again = reconcile(ctx, app)
    assert again.ok and again.changeset.summary() == {"unchanged": 4}
    assert again.record is None
    assert cluster.writes == before

    # a commit changes one object and removes another
    chart_repo.write("apps/web/values.yaml", "replicas: 3\nimage: nginx:1.28\ngreeting: hello\n")
    chart_repo.remove("apps/web/templates/configmap.yaml")
    commit = chart_repo.commit("scale and drop config")
    third = reconcile(ctx, app)
    assert third.ok, third.failure
    assert third.revision is not None and third.revision.commit == commit
    assert {str(e.key): e.action for e in third.changeset.entries} == {
        "Namespace/web": Action.UNCHANGED,
        "Secret/web/web-secret": Action.UNCHANGED,
        "Deployment/web/web": Action.CONFIGURED,
        "ConfigMap/web/web-config": Action.PRUNED,
    }
    deploy = cluster.get("apps/v1", "Deployment", "web", "web")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert deploy["metadata"]["generation"] == 2
    assert cluster.get("v1", "ConfigMap", "web-config", "web") is None
    assert third.record == 2
    history = ctx.records().history("web")
    assert [(r.number, r.commit, r.result) for r in history][-1] == (2, commit, "Succeeded")
    assert {i.name for i in history[-1].inventory} == {"web", "web-secret"}


def test_drift_after_a_hand_edit(tmp_path: Path, chart_repo: GitRepo, cluster: EmulatedCluster) -> None:
    ctx, cfg = make_ctx(tmp_path, chart_repo, cluster)
    app = cfg.apps[0]
    assert reconcile(ctx, app).ok
    report = drift(ctx, app)
    assert not report.drifted

    cluster.merge_patch("apps/v1", "Deployment", "web", "web", {"spec": {"replicas": 5}})
    cluster.merge_patch("v1", "Secret", "web-secret", "web", {"data": {"token": "Y2hhbmdlZA=="}})
    report = drift(ctx, app)
    drifted = {str(d.key): d for d in report.drifted}
    assert set(drifted) == {"Deployment/web/web", "Secret/web/web-secret"}
    (replicas,) = drifted["Deployment/web/web"].changes
    assert (replicas.path, replicas.desired, replicas.live) == ("spec.replicas", 1, 5)
    assert "very-secret-token" not in repr(report) and "Y2hhbmdlZA==" not in repr(report)

    cluster.delete("v1", "Secret", "web-secret", "web")
    statuses = {str(d.key): d.status for d in drift(ctx, app).drifted}
    assert statuses["Secret/web/web-secret"] is DiffStatus.MISSING

    # sync repairs it, and then there is no drift
    assert reconcile(ctx, app).ok
    assert not drift(ctx, app).drifted


@pytest.mark.parametrize(
    ("breakage", "stage"),
    [
        ({"apps/web/templates/deployment.yaml": "replicas: {{ values.nope }}\n"}, Stage.RENDER),
        (
            {
                "apps/web/Chart.yaml": "name: web\nversion: 0.1.0\n",
                "apps/web/templates/x.yaml": "kind: ConfigMap\n",
            },
            Stage.RENDER,
        ),
    ],
)
def test_bad_commit_changes_nothing(
    tmp_path: Path, chart_repo: GitRepo, cluster: EmulatedCluster, breakage: dict[str, str], stage: Stage
) -> None:
    ctx, cfg = make_ctx(tmp_path, chart_repo, cluster)
    app = cfg.apps[0]
    assert reconcile(ctx, app).ok
    for rel, text in breakage.items():
        chart_repo.write(rel, text)
    chart_repo.commit("break")
    before = cluster.writes
    result = reconcile(ctx, app)
    assert result.failure is not None and result.failure.stage is stage
    assert "apps/web/templates/" in result.failure.message
    assert cluster.writes == before


def test_missing_path_is_a_render_failure(
    tmp_path: Path, chart_repo: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx, cfg = make_ctx(tmp_path, chart_repo, cluster, path="apps/nope")
    result = reconcile(ctx, cfg.apps[0])
    assert result.failure is not None and result.failure.stage is Stage.RENDER
    assert "apps/nope: folder not found" in result.failure.message
    assert cluster.writes == 0


def test_existing_unowned_object_is_not_overwritten(
    tmp_path: Path, chart_repo: GitRepo, cluster: EmulatedCluster
) -> None:
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}})
    cluster.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-config", "namespace": "web"},
            "data": {"mine": "yes"},
        }
    )
    ctx, cfg = make_ctx(tmp_path, chart_repo, cluster)
    before = cluster.writes
    result = reconcile(ctx, cfg.apps[0])
    assert result.failure is not None
    assert (
        "ConfigMap/web/web-config already exists and is not managed by gitops-agent" in result.failure.message
    )
    assert cluster.writes == before
    assert cluster.get("v1", "ConfigMap", "web-config", "web")["data"] == {"mine": "yes"}


def test_empty_render_does_not_prune_everything(
    tmp_path: Path, chart_repo: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx, cfg = make_ctx(tmp_path, chart_repo, cluster)
    assert reconcile(ctx, cfg.apps[0]).ok
    for name in ("deployment", "configmap", "secret", "namespace"):
        chart_repo.remove(f"apps/web/templates/{name}.yaml")
    chart_repo.commit("oops")
    result = reconcile(ctx, cfg.apps[0])
    assert result.failure is not None and "no objects" in result.failure.message
    assert cluster.get("apps/v1", "Deployment", "web", "web") is not None


def test_prune_off_keeps_removed_objects_owned(
    tmp_path: Path, chart_repo: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx, cfg = make_ctx(tmp_path, chart_repo, cluster, syncPolicy={"prune": False})
    assert reconcile(ctx, cfg.apps[0]).ok
    chart_repo.remove("apps/web/templates/configmap.yaml")
    chart_repo.commit("drop config")
    result = reconcile(ctx, cfg.apps[0])
    assert {str(e.key): e.action for e in result.changeset.entries}[
        "ConfigMap/web/web-config"
    ] is Action.SKIPPED
    assert cluster.get("v1", "ConfigMap", "web-config", "web") is not None
    # pruning later, by override, still finds it: it stayed in the inventory
    pruned = reconcile(ctx, cfg.apps[0], prune=True)
    assert {str(e.key): e.action for e in pruned.changeset.entries}[
        "ConfigMap/web/web-config"
    ] is Action.PRUNED


def created_order(cluster: EmulatedCluster) -> list[str]:
    with cluster.store.transaction():
        rows = cluster.store._db.execute(
            # what the sync created: not what the controllers made for it (a namespace's
            # ServiceAccount and CA bundle, a Deployment's ReplicaSet and Pods)
            "SELECT name FROM events WHERE type='ADDED' AND namespace='web'"
            " AND resource NOT IN ('serviceaccounts', 'replicasets', 'pods') AND name != 'kube-root-ca.crt'"
            " ORDER BY rv"
        ).fetchall()
    return [r[0] for r in rows]


def test_waves_and_hooks_run_in_order(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    docs = []
    for kind, name, notes in [
        ("ConfigMap", "post", {"argocd.argoproj.io/hook": "PostSync"}),
        ("ConfigMap", "late", {"gitops-agent.io/sync-wave": "2"}),
        ("Service", "svc", {}),
        ("ConfigMap", "cfg", {}),
        ("ConfigMap", "pre", {"argocd.argoproj.io/hook": "PreSync"}),
        ("ConfigMap", "mid", {"argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/sync-wave": "1"}),
        ("ConfigMap", "on-failure", {"argocd.argoproj.io/hook": "SyncFail"}),
    ]:
        doc: dict = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "annotations": notes}}
        if kind == "Service":
            doc["spec"] = {"ports": [{"port": 80}]}
        docs.append(doc)
    repo.write("app/all.yaml", yaml.safe_dump_all(docs))
    repo.commit("waves")
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
    ctx = Context.create(cfg, cluster)
    result = reconcile(ctx, cfg.apps[0])
    assert result.ok, result.failure
    assert created_order(cluster) == ["pre", "cfg", "svc", "mid", "late", "post"]
    # hooks are not part of the app: not in the inventory, not drift
    (record,) = ctx.records().history("web")
    assert {i.name for i in record.inventory} == {"cfg", "svc", "late"}
    assert not drift(ctx, cfg.apps[0]).drifted
    # the next sync runs the hooks again (BeforeHookCreation) and leaves the rest alone
    again = reconcile(ctx, cfg.apps[0])
    assert again.ok, again.failure
    actions = {e.key.name: e.action for e in again.changeset.entries}
    assert actions == {
        "pre": Action.CREATED,
        "cfg": Action.UNCHANGED,
        "svc": Action.UNCHANGED,
        "mid": Action.CREATED,
        "late": Action.UNCHANGED,
        "post": Action.CREATED,
    }


def test_ignored_fields_are_not_drift_and_sync_leaves_them(
    tmp_path: Path, chart_repo: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx, cfg = make_ctx(
        tmp_path, chart_repo, cluster, ignoreDifferences=[{"kind": "Deployment", "paths": ["spec.replicas"]}]
    )
    app = cfg.apps[0]
    assert reconcile(ctx, app).ok
    cluster.merge_patch("apps/v1", "Deployment", "web", "web", {"spec": {"replicas": 9}})
    assert not drift(ctx, app).drifted
    # a real change next to the ignored one: synced, and replicas keep their live value
    chart_repo.write("apps/web/values.yaml", "replicas: 1\nimage: nginx:1.29\ngreeting: hello\n")
    chart_repo.commit("new image")
    result = reconcile(ctx, app)
    assert result.ok, result.failure
    deploy = cluster.get("apps/v1", "Deployment", "web", "web")
    assert deploy["spec"]["replicas"] == 9
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.29"


def test_fields_dropped_from_git_are_drift_and_removed_by_sync(
    tmp_path: Path, chart_repo: GitRepo, cluster: EmulatedCluster
) -> None:
    ctx, cfg = make_ctx(tmp_path, chart_repo, cluster)
    app = cfg.apps[0]
    assert reconcile(ctx, app).ok
    # a commit that drops a key from the ConfigMap: the live key is drift until synced
    chart_repo.write(
        "apps/web/templates/configmap.yaml",
        """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ release.name }}-config
        data:
          other: "x"
        """,
    )
    chart_repo.commit("drop greeting")
    report = drift(ctx, app)
    (entry,) = [d for d in report.drifted if d.key.kind == "ConfigMap"]
    kinds = {c.path: c.kind for c in entry.changes}
    assert kinds == {"data.greeting": ChangeKind.REMOVED_IN_GIT, "data.other": ChangeKind.CHANGED}
    assert reconcile(ctx, app).ok
    assert cluster.get("v1", "ConfigMap", "web-config", "web")["data"] == {"other": "x"}
    assert not drift(ctx, app).drifted


def test_bad_ignore_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match=r"apps\[0\]\.ignoreDifferences\[0\]\.paths: .*cannot parse"):
        parse_config(
            {"apps": [{"name": "a", "repo": "r", "ignoreDifferences": [{"paths": ['spec["x']}]}]},
            "agent.yaml",
            tmp_path,
        )


def test_templates_see_the_clusters_capabilities(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    repo.write("chart/Chart.yaml", "apiVersion: v2\nname: caps\nversion: 0.1.0\n")
    repo.write(
        "chart/templates/cm.yaml",
        """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: caps
        data:
          kube: {{ capabilities.kube_version.version | quote }}
          widgets: {{ capabilities.api_versions.has("example.com/v1/Widget") | string | quote }}
        """,
    )
    repo.commit("caps")
    ctx, cfg = make_ctx(tmp_path, repo, cluster, path="chart", syncPolicy={"createNamespace": True})
    assert reconcile(ctx, cfg.apps[0]).ok
    data = cluster.get("v1", "ConfigMap", "caps", "web")["data"]
    assert data == {"kube": "v1.33.0", "widgets": "false"}
    cluster.create(widget_crd())
    ctx2, _ = make_ctx(tmp_path, repo, cluster, path="chart", syncPolicy={"createNamespace": True})
    assert reconcile(ctx2, cfg.apps[0]).ok
    assert cluster.get("v1", "ConfigMap", "caps", "web")["data"]["widgets"] == "true"
