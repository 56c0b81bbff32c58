"""A fleet across clusters: a clusters generator (by label) inside an app's
render, matrixed with a list, each generated app synced into its own
cluster; an Application document naming a cluster the file does not have
is refused with the document named."""

from __future__ import annotations

from pathlib import Path

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.fleet import Origin
from agent.fleet.resolve import resolve
from agent.sync.contexts import Contexts
from agent.sync.pipeline import reconcile
from tests.support.repos import GitRepo

APPSET = """\
apiVersion: gitops-agent.io/v1alpha1
kind: AppSet
metadata: {name: everywhere}
spec:
  generators:
    - matrix:
        generators:
          - list: {elements: [{app: web}, {app: api}]}
          - clusters: {selector: {tier: workload}}
  template:
    metadata:
      name: "{{ app }}-{{ cluster.name }}"
      labels: {env: "{{ cluster.labels.env }}"}
    spec:
      path: "apps/{{ app }}"
      destination: {cluster: "{{ cluster.name }}", namespace: "{{ app }}"}
      syncPolicy: {createNamespace: true}
---
apiVersion: gitops-agent.io/v1alpha1
kind: Application
metadata: {name: lost}
spec: {path: apps/web, destination: {cluster: nowhere}}
"""


def test_a_clusters_generator_puts_each_app_in_its_cluster(tmp_path: Path, repo: GitRepo) -> None:
    repo.write("fleet/apps.yaml", APPSET)
    for app in ("web", "api"):
        repo.write(f"apps/{app}/cm.yaml", f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {app}}}\n")
    repo.commit("everywhere")
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "stateDir": str(tmp_path / "state"),
            "cluster": {"emulated": {"path": str(tmp_path / "a.db")}},
            "clusters": [
                {
                    "name": "staging",
                    "labels": {"tier": "workload", "env": "staging"},
                    "emulated": {"path": str(tmp_path / "b.db")},
                },
                {
                    "name": "prod",
                    "labels": {"tier": "workload", "env": "prod"},
                    "emulated": {"path": str(tmp_path / "c.db")},
                },
            ],
            "apps": [{"name": "root", "repo": str(repo.path), "path": "fleet", "namespace": "default"}],
        },
        "agent.yaml",
        tmp_path,
    )
    contexts = Contexts(cfg)
    try:
        fleet = resolve(contexts)
        assert [(f.app.name, f.app.cluster, f.app.labels["env"]) for f in fleet.apps[1:]] == [
            ("web-staging", "staging", "staging"),
            ("web-prod", "prod", "prod"),
            ("api-staging", "staging", "staging"),
            ("api-prod", "prod", "prod"),
        ]
        assert {f.origin for f in fleet.apps[1:]} == {Origin("appset", "everywhere")}
        (problem,) = fleet.problems
        assert problem == "app root: app 'lost': destination.cluster 'nowhere' is not configured; app refused"
        for f in fleet.apps:
            result = reconcile(contexts.of(f.app), f.app)
            assert result.ok, result.failure
        # the AppSet's memory is kept in the default cluster
        assert contexts.get().cluster.get("v1", "ConfigMap", "gitops-agent.appset.everywhere", "gitops-agent")
    finally:
        contexts.close()
    for db, present, absent in (("b.db", "staging", "prod"), ("c.db", "prod", "staging")):
        cluster = EmulatedCluster(tmp_path / db)
        try:
            assert cluster.get("v1", "ConfigMap", "web", "web") is not None
            assert cluster.get("v1", "ConfigMap", "api", "api") is not None
            apps = {
                s["metadata"]["labels"]["gitops-agent.io/record-of"]
                for s in cluster.list("v1", "Secret", "gitops-agent")
            }
            assert apps == {f"web-{present}", f"api-{present}"} and f"web-{absent}" not in apps
        finally:
            cluster.close()
