"""Syncs of apps shaped like argocd-example-apps (a Helm chart in Go
templates, a Kustomize overlay with PreSync/PostSync hook Jobs over a base)
and of charts from an HTTP chart repository and an OCI registry, into the
emulated cluster: converged, no drift afterwards, no renderer started by a
no-change sync, the render's inputs in the revision record, and a rollback
that re-applies the recorded manifests after the chart repository changed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import AgentConfig, parse_config
from agent.emulator import EmulatedCluster
from agent.models import Action
from agent.render import engines
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from agent.sync.rollback import rollback_by_hand
from agent.sync.status import drift
from tests.support.charts import evil_archive, pack, serve
from tests.support.commands import agent
from tests.support.repos import PROJECT, GitRepo

pytestmark = pytest.mark.usefixtures("helm_binary")
FIXTURES = PROJECT / "tests" / "integration" / "fixtures" / "renderers"


def _config(tmp_path: Path, repo: GitRepo, *apps: dict[str, Any]) -> AgentConfig:
    full = [
        {"repo": str(repo.path), "syncPolicy": {"createNamespace": True, "healthTimeoutSeconds": 60}, **a}
        for a in apps
    ]
    doc = {"source": {"allowedSchemes": ["file", "http"]}, "apps": full}
    return parse_config(doc, "agent.yaml", tmp_path)


def test_example_apps_shaped_like_argo_cds_converge_without_drift(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    shutil.copytree(FIXTURES, repo.path / "apps")
    repo.commit("apps")
    cfg = _config(
        tmp_path,
        repo,
        {
            "name": "helm-guestbook",
            "path": "apps/guestbook-chart",
            "namespace": "helm-guestbook",
            "valuesFiles": ["values-production.yaml"],
        },
        {"name": "pre-post-sync", "path": "apps/pre-post-sync", "namespace": "pre-post-sync"},
    )
    ctx = Context.create(cfg, cluster)
    helm_app, kustomize_app = cfg.apps
    synced = reconcile(ctx, helm_app)
    assert synced.ok, synced.failure
    deploy = cluster.get("apps/v1", "Deployment", "helm-guestbook-guestbook-chart", "helm-guestbook")
    assert deploy is not None and deploy["spec"]["replicas"] == 2
    hooks = reconcile(ctx, kustomize_app)
    assert hooks.ok, hooks.failure
    assert cluster.get("apps/v1", "Deployment", "pre-post-sync-kustomize-guestbook-ui", "pre-post-sync")
    for app in cfg.apps:  # rendered as an upgrade now (.Release.IsUpgrade): helm runs once more
        assert drift(ctx, app).drifted == (), app.name
    runs = dict(engines.RUNS)
    for app in cfg.apps:
        again = reconcile(ctx, app)
        assert again.ok, app.name
        changed = {e.key.name for e in again.changeset.entries if e.action is not Action.UNCHANGED}
        # hooks run on every sync, as Argo CD runs them; nothing else changes
        assert changed <= {"pre-post-sync-before", "pre-post-sync-after"}, (app.name, changed)
    assert runs == engines.RUNS  # neither helm nor kustomize ran again
    for app in cfg.apps:
        assert drift(ctx, app).drifted == (), app.name
    (record,) = ctx.records(helm_app).history(helm_app.name)
    assert record.render["renderer"] == "helm" and record.render["chart"] == "guestbook-chart"
    assert record.render["version"] == "0.3.1" and record.render["engine"].startswith("helm v")
    assert record.render["capabilities"]["kubeVersion"].startswith("v1.")
    krecord = ctx.records(kustomize_app).history(kustomize_app.name)[-1]  # one a sync: hooks ran
    assert krecord.render["renderer"] == "kustomize" and krecord.render["digest"].startswith("sha256:")


def _chart(tmp_path: Path, version: str, greeting: str) -> bytes:
    folder = tmp_path / "src" / version / "hello"
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: hello\nversion: {version}\n")
    (folder / "values.yaml").write_text(f"greeting: {greeting}\n")
    (folder / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n  chart: {{ .Chart.Version | quote }}\n"
    )
    return pack(folder)


@pytest.mark.parametrize("where", ["http", "oci"])
def test_a_chart_from_a_repository_and_a_rollback_after_it_changed(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, where: str
) -> None:
    repo.write("hello/values.yaml", "greeting: from git\n")
    repo.commit("values")
    with serve(registry=where == "oci") as server:
        if where == "oci":
            server.push("charts/hello", "1.0.0", _chart(tmp_path, "1.0.0", "one"))
            chart = {"repo": f"oci://{server.base.removeprefix('http://')}/charts", "plainHttp": True}
        else:
            server.add_to_index("hello", "1.0.0", _chart(tmp_path, "1.0.0", "one"))
            chart = {"repo": server.base}
        app_doc = {"name": "hello", "path": "hello", "namespace": "hello", "valuesFiles": ["values.yaml"]}
        cfg = _config(tmp_path, repo, {**app_doc, "chart": {**chart, "name": "hello", "version": "^1"}})
        ctx = Context.create(cfg, cluster)
        first = reconcile(ctx, cfg.apps[0])
        assert first.ok, first.failure
        live = cluster.get("v1", "ConfigMap", "hello", "hello")
        assert live is not None and live["data"] == {"greeting": "from git", "chart": "1.0.0"}
        record = ctx.records(cfg.apps[0]).history("hello")[-1]
        assert record.render["version"] == "1.0.0" and record.render["chartDigest"].startswith("sha256:")
        assert record.render["chartRepository"].endswith(("hello:1.0.0", "hello-1.0.0.tgz"))
        if where == "oci":
            server.push("charts/hello", "1.1.0", _chart(tmp_path, "1.1.0", "two"))
        else:
            server.add_to_index("hello", "1.1.0", _chart(tmp_path, "1.1.0", "two"))
        ctx = Context.create(cfg, cluster)  # a new agent: the range is asked again
        second = reconcile(ctx, cfg.apps[0])
        assert second.ok and second.changeset.count(Action.CONFIGURED) == 1
        assert cluster.get("v1", "ConfigMap", "hello", "hello")["data"]["chart"] == "1.1.0"
        back = rollback_by_hand(ctx, cfg.apps[0], 1)
        assert back.failure is None, back.failure
    data = cluster.get("v1", "ConfigMap", "hello", "hello")["data"]
    assert data == {"greeting": "from git", "chart": "1.0.0"}  # as recorded, the repository gone
    last = ctx.records(cfg.apps[0]).history("hello")[-1]
    assert last.render["version"] == "1.0.0"


@pytest.mark.parametrize("where", ["http", "oci"])
def test_the_examples_echo_chart_served_by_a_chart_repository(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, where: str
) -> None:
    """examples-repo's echo chart as users take charts: packed and served by
    a chart repository, with the values of examples-repo/apps/echo from Git."""
    shutil.copytree(PROJECT / "examples-repo" / "apps" / "echo", repo.path / "echo")
    repo.commit("echo values")
    archive = pack(PROJECT / "examples-repo" / "charts" / "echo")
    with serve(registry=where == "oci") as server:
        if where == "oci":
            server.push("charts/echo", "1.2.0", archive)
            chart = {"repo": f"oci://{server.base.removeprefix('http://')}/charts", "plainHttp": True}
        else:
            server.add_to_index("echo", "1.2.0", archive)
            chart = {"repo": server.base}
        app = {"name": "echo", "path": "echo", "namespace": "echo", "valuesFiles": ["values.yaml"]}
        cfg = _config(tmp_path, repo, {**app, "chart": {**chart, "name": "echo", "version": "~1.2"}})
        ctx = Context.create(cfg, cluster)
        result = reconcile(ctx, cfg.apps[0])
        assert result.ok, result.failure
        assert drift(ctx, cfg.apps[0]).drifted == ()
    deploy = cluster.get("apps/v1", "Deployment", "echo", "echo")
    assert deploy is not None and deploy["spec"]["replicas"] == 2
    args = deploy["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["-listen=:5678", "-text=hello from examples-repo"]
    assert cluster.get("policy/v1", "PodDisruptionBudget", "echo", "echo") is not None


def test_a_no_change_poll_of_100_apps_starts_neither_kustomize_nor_helm(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    """50 Kustomize overlays and 50 Helm charts: synced once, then polled
    (reconciled again, nothing changed in Git): no process is started."""
    repo.write(
        "base/kustomization.yaml",
        "resources: [cm.yaml]\nconfigMapGenerator: [{name: gen, literals: [a=b]}]\n",
    )
    repo.write("base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {a: b}\n")
    apps: list[dict[str, Any]] = []
    for n in range(50):
        repo.write(f"overlays/o{n}/kustomization.yaml", f"namePrefix: o{n}-\nresources: [../../base]\n")
        repo.write(f"charts/c{n}/Chart.yaml", f"apiVersion: v2\nname: c{n}\nversion: 1.0.{n}\n")
        repo.write(
            f"charts/c{n}/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n"
            "  chart: {{ .Chart.Name | quote }}\n",
        )
        apps.append({"name": f"k{n}", "path": f"overlays/o{n}", "namespace": "poll"})
        apps.append({"name": f"h{n}", "path": f"charts/c{n}", "namespace": "poll"})
    repo.commit("100 apps")
    policy = {"createNamespace": True, "waitForHealth": False}
    cfg = _config(tmp_path, repo, *({**a, "syncPolicy": policy} for a in apps))
    ctx = Context.create(cfg, cluster)
    for app in cfg.apps:
        assert reconcile(ctx, app).ok, app.name
    for app in cfg.apps:  # the first upgrade render (.Release.IsUpgrade) of each chart
        assert drift(ctx, app).drifted == (), app.name
    runs = dict(engines.RUNS)
    for app in cfg.apps:
        polled = reconcile(ctx, app)
        assert polled.ok and not polled.changeset.changed, app.name
    assert runs == engines.RUNS


def test_a_malicious_chart_archive_changes_nothing_in_the_cluster(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    repo.write("evil/values.yaml", "{}\n")
    repo.commit("values")
    with serve() as server:
        server.add_to_index("evil", "1.0.0", evil_archive("dotdot"))
        app = {
            "name": "evil",
            "path": "evil",
            "namespace": "evil",
            "chart": {"repo": server.base, "name": "evil"},
        }
        cfg = _config(tmp_path, repo, app)
        result = reconcile(Context.create(cfg, cluster), cfg.apps[0])
    assert result.failure is not None
    assert "archive entry 'evil/../../escaped.txt' leaves the chart; refused" in result.failure.message
    assert "\n" not in result.failure.message
    assert cluster.writes == 0
    assert not (tmp_path / "escaped.txt").exists()


def test_a_dependency_from_a_chart_repository_at_its_locked_version(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    with serve() as server:
        for version, greeting in (("1.0.0", "locked"), ("1.1.0", "newest")):
            server.add_to_index("hello", version, _chart(tmp_path, version, greeting))
        repo.write(
            "app/Chart.yaml",
            f"apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n"
            f"  - name: hello\n    version: ^1.0.0\n    repository: {server.base}\n",
        )
        repo.write(
            "app/Chart.lock",
            f"dependencies:\n- name: hello\n  repository: {server.base}\n  version: 1.0.0\n"
            "digest: sha256:0\ngenerated: '2026-01-01T00:00:00Z'\n",
        )
        repo.write(
            "app/templates/own.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-own'}\n",
        )
        repo.commit("a chart with a dependency from a chart repository")
        cfg = _config(tmp_path, repo, {"name": "deps", "path": "app", "namespace": "deps"})
        ctx = Context.create(cfg, cluster)
        result = reconcile(ctx, cfg.apps[0])
        assert result.ok, result.failure
    assert cluster.get("v1", "ConfigMap", "deps", "deps")["data"] == {"greeting": "locked", "chart": "1.0.0"}
    assert cluster.get("v1", "ConfigMap", "deps-own", "deps") is not None
    record = ctx.records(cfg.apps[0]).history("deps")[-1]
    assert record.render["dependencies"].startswith("hello 1.0.0 sha256:")
    assert drift(ctx, cfg.apps[0]).drifted == ()  # the pulled dependency is in the cache now


def test_render_prints_an_app_from_a_chart_repository(tmp_path: Path, repo: GitRepo) -> None:
    """``gitops-agent render APP`` renders a chart app as a sync would."""
    repo.write("hello/values.yaml", "greeting: rendered\n")
    repo.commit("values")
    with serve() as server:
        server.add_to_index("hello", "1.0.0", _chart(tmp_path, "1.0.0", "one"))
        app = {
            "name": "hello",
            "repo": str(repo.path),
            "path": "hello",
            "namespace": "hello",
            "valuesFiles": ["values.yaml"],
            "chart": {"repo": server.base, "name": "hello", "version": "1.0.0"},
        }
        doc = {
            "source": {"allowedSchemes": ["file", "http"]},
            "stateDir": str(tmp_path / "state"),
            "apps": [app],
        }
        config = tmp_path / "agent.yaml"
        config.write_text(yaml.safe_dump(doc))
        done = agent("render", "hello", "-c", str(config), "--set", "greeting=from the command line")
    assert done.returncode == 0, done.stdout + done.stderr
    (obj,) = [d for d in yaml.safe_load_all(done.stdout) if d]
    assert obj["data"] == {"greeting": "from the command line", "chart": "1.0.0"}
    assert obj["metadata"]["namespace"] == "hello"
