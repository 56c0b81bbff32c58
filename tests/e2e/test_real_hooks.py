"""Hooks named by the API server (``metadata.generateName``) synced through
the command line into the real kube-apiserver (tests/apiserver).

No controller runs beside that server: a Job never completes and nothing
collects garbage.  So the app of Argo CD's example shape (hook Jobs) is
synced once without waiting for health, and the app synced twice uses
ConfigMap hooks, which are healthy as soon as they exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import apiserver
from tests.support.commands import agent
from tests.support.repos import GitRepo

pytestmark = pytest.mark.e2e

SYNC_WAVES = """\
apiVersion: batch/v1
kind: Job
metadata:
  generateName: upgrade-sql-schema
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  template:
    spec:
      containers: [{name: run, image: "alpine:latest", command: [sleep, "5"]}]
      restartPolicy: Never
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: backend}
spec:
  replicas: 1
  selector: {matchLabels: {tier: backend}}
  template:
    metadata: {labels: {tier: backend}}
    spec:
      containers: [{name: main, image: "nginx:latest"}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: maint-page-up
  annotations: {argocd.argoproj.io/hook: Sync, argocd.argoproj.io/sync-wave: "1"}
spec:
  template:
    spec:
      containers: [{name: run, image: "alpine:latest", command: [sleep, "2"]}]
      restartPolicy: Never
"""
NOTES = """\
apiVersion: v1
kind: ConfigMap
metadata:
  generateName: migrate-
  annotations: {helm.sh/hook: "pre-install,pre-upgrade"}
data: {ran: "yes"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  generateName: smoke-
  annotations: {argocd.argoproj.io/hook: PostSync, argocd.argoproj.io/hook-delete-policy: HookSucceeded}
data: {ran: "yes"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {level: info}
"""


kubectl = apiserver.kubectl_json


def names(real: apiserver.RealServer, kind: str, namespace: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in kubectl(real, "get", kind, "-n", namespace)["items"])


def test_generated_hooks_on_the_real_server(tmp_path: Path, real: apiserver.RealServer) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("apps/sync-waves/manifests.yaml", SYNC_WAVES)
    repo.write("apps/notes/all.yaml", NOTES)
    repo.commit("apps")
    policies = {
        "sync-waves": {"waitForHealth": False, "createNamespace": True},
        "notes": {"createNamespace": True, "healthTimeoutSeconds": 30},
    }
    doc = {
        "cluster": {"kubeconfig": {"path": str(real.kubeconfig)}},
        "source": {"allowedSchemes": ["file"]},
        "stateDir": str(tmp_path / "state"),
        "apps": [
            {"name": n, "repo": str(repo.path), "path": f"apps/{n}", "namespace": n, "syncPolicy": p}
            for n, p in policies.items()
        ],
    }
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(doc))
    first = agent("sync", "-c", str(config))
    assert first.returncode == 0, first.stdout + first.stderr
    jobs = names(real, "jobs", "sync-waves")
    assert len(jobs) == 2 and "maint-page-up" in jobs, jobs
    (run,) = [j for j in jobs if j.startswith("upgrade-sql-schema")]
    assert run != "upgrade-sql-schema"  # named by the server
    assert re.search(r"^✔ sync-waves: .*", first.stdout, re.MULTILINE), first.stdout
    runs = [n for n in names(real, "configmaps", "notes") if n.startswith(("migrate-", "smoke-"))]
    assert len(runs) == 1 and runs[0].startswith("migrate-"), runs  # smoke-: HookSucceeded

    again = agent("sync", "-c", str(config), "notes")
    assert again.returncode == 0, again.stdout + again.stderr
    later = [n for n in names(real, "configmaps", "notes") if n.startswith(("migrate-", "smoke-"))]
    assert len(later) == 1 and later != runs, (runs, later)  # BeforeHookCreation: one run left
    assert re.search(r"^✔ notes: .*1 unchanged", again.stdout, re.MULTILINE), again.stdout

    clean = agent("diff", "-c", str(config))
    assert clean.returncode == 0, clean.stdout + clean.stderr
