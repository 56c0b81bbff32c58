"""Syncs of Kustomize apps and of cluster-scoped kinds into the emulated
cluster: generated names stable from one sync to the next (no drift), a
no-change sync that starts no Kustomize, cluster-scoped objects never given a
namespace (built-in kinds by the scope table, custom ones by the cluster's
discovery), and a Secret's empty value not drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.models import Action
from agent.render import engines
from agent.results import Stage
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from agent.sync.status import drift
from tests.support.repos import GitRepo

OVERLAY = {
    "base/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator:\n"
    "- name: settings\n  files: [settings.ini]\nsecretGenerator:\n- name: creds\n  literals: [token=abc]\n",
    "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {a: b}\n",
    "base/settings.ini": "level=1\n",
    "overlays/dev/kustomization.yaml": "namePrefix: dev-\nresources: [../../base]\n",
}
CLUSTER_KINDS = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: validating}
webhooks: []
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: mutating}
webhooks: []
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.kinds.example.com}
spec:
  group: kinds.example.com
  version: v1alpha1
  groupPriorityMinimum: 100
  versionPriority: 10
  service: {name: api, namespace: default, port: 443}
  insecureSkipTLSVerify: true
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: runc}
handler: runc
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: kinds.csi.example.com}
spec: {attachRequired: false}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: important}
value: 1000
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: example.com/fast
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: edge}
spec: {controller: example.com/edge}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: []
---
apiVersion: v1
kind: Secret
metadata: {name: empty-values}
stringData: {blank: ""}
data: {alsoblank: ""}
"""
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: tenants.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Tenant, plural: tenants, singular: tenant, listKind: TenantList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def _config(tmp_path: Path, repo: GitRepo, *apps: dict[str, Any]) -> Any:
    full = [{"repo": str(repo.path), "syncPolicy": {"waitForHealth": False}, **a} for a in apps]
    return parse_config({"source": {"allowedSchemes": ["file"]}, "apps": full}, "agent.yaml", tmp_path)


def test_generated_names_cause_no_drift_and_a_second_sync_runs_no_kustomize(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    for rel, text in OVERLAY.items():
        repo.write(f"app/{rel}", text)
    repo.commit("overlay")
    cfg_ns = _config(
        tmp_path,
        repo,
        {
            "name": "dev",
            "path": "app/overlays/dev",
            "namespace": "dev",
            "syncPolicy": {"waitForHealth": False, "createNamespace": True},
        },
    )
    ctx = Context.create(cfg_ns, cluster)
    first = reconcile(ctx, cfg_ns.apps[0])
    assert first.ok, first.failure
    names = {e.key.name for e in first.changeset.entries}
    assert "dev-plain" in names
    assert any(n.startswith("dev-settings-") for n in names) and any(
        n.startswith("dev-creds-") for n in names
    )
    runs = engines.RUNS["kustomize"]
    second = reconcile(ctx, cfg_ns.apps[0])
    assert second.ok and second.changeset.count(Action.CREATED) == 0
    assert not second.changeset.changed
    assert engines.RUNS["kustomize"] == runs  # the same tree: no process
    assert drift(ctx, cfg_ns.apps[0]).drifted == ()

    repo.write("app/base/settings.ini", "level=2\n")
    repo.commit("new settings")
    third = reconcile(ctx, cfg_ns.apps[0])
    assert third.ok, third.failure
    created = {e.key.name for e in third.changeset.entries if e.action is Action.CREATED}
    pruned = {e.key.name for e in third.changeset.entries if e.action is Action.PRUNED}
    assert len(created) == 1 and next(iter(created)).startswith("dev-settings-")
    assert len(pruned) == 1 and next(iter(pruned)).startswith("dev-settings-") and pruned != created
    assert drift(ctx, cfg_ns.apps[0]).drifted == ()


def test_cluster_scoped_kinds_get_no_namespace_and_empty_secret_values_are_no_drift(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    repo.write("crd/crd.yaml", CRD)
    repo.write("kinds/all.yaml", CLUSTER_KINDS)
    repo.write(
        "tenants/t.yaml", "apiVersion: example.com/v1\nkind: Tenant\nmetadata: {name: acme}\nspec: {}\n"
    )
    repo.commit("cluster-scoped kinds")
    cfg = _config(
        tmp_path,
        repo,
        {"name": "crd", "path": "crd", "namespace": "default"},
        {"name": "kinds", "path": "kinds", "namespace": "default"},
        {"name": "tenants", "path": "tenants", "namespace": "default"},
    )
    ctx = Context.create(cfg, cluster)
    for app in cfg.apps:
        result = reconcile(ctx, app)
        assert result.ok, result.failure
        for entry in result.changeset.entries:
            if entry.key.kind != "Secret":
                assert entry.key.namespace == "", entry.key
        assert drift(ctx, app).drifted == (), app.name
    assert cluster.get("example.com/v1", "Tenant", "acme") is not None
    assert cluster.get("scheduling.k8s.io/v1", "PriorityClass", "important") is not None
    for api_version, kind, name in (
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "validating"),
        ("apiregistration.k8s.io/v1", "APIService", "v1alpha1.kinds.example.com"),
        ("node.k8s.io/v1", "RuntimeClass", "runc"),
        ("storage.k8s.io/v1", "CSIDriver", "kinds.csi.example.com"),
    ):
        live = cluster.get(api_version, kind, name)
        assert live is not None and "namespace" not in live["metadata"], (kind, live)


REFUSED = {
    "remote base": {"app/kustomization.yaml": "resources:\n- github.com/org/repo//base?ref=main\n"},
    "exec function": {
        "app/kustomization.yaml": "generators: [fn.yaml]\n",
        "app/fn.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fn\n  annotations:\n"
        "    config.kubernetes.io/function: |\n      exec: {path: ./run.sh}\n",
    },
    "helm charts": {
        "app/kustomization.yaml": "helmCharts:\n- {name: redis, repo: https://charts.example.com}\n"
    },
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_kustomization_changes_nothing_in_the_cluster(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, name: str
) -> None:
    for rel, text in REFUSED[name].items():
        repo.write(rel, text)
    repo.commit(name)
    cfg = _config(tmp_path, repo, {"name": "app", "path": "app", "namespace": "default"})
    result = reconcile(Context.create(cfg, cluster), cfg.apps[0])
    assert result.failure is not None and result.failure.stage is Stage.RENDER
    message = result.failure.message
    assert message.startswith(
        ("app/kustomization.yaml:", "app/fn.yaml:1 (named at app/kustomization.yaml:1)")
    )
    assert "\n" not in message
    assert cluster.writes == 0
