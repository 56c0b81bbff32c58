"""kubectl 1.27, 1.31 and 1.33 against ``gitops-agent emulator serve``, for what needs
the emulated control plane's history and RBAC: ``rollout history`` and ``rollout undo`` of
a StatefulSet and a DaemonSet (their ControllerRevisions), and ``--as`` a service
account (``auth can-i``, a request refused with the API server's message, and
``create token``)."""

from __future__ import annotations

import pytest

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.e2e

STATEFULSET = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 2
  revisionHistoryLimit: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: "busybox:1.36"}]}
"""
IMAGE = "jsonpath={.spec.template.spec.containers[0].image}"


def _revisions(kubectl: Kubectl, what: str) -> list[str]:
    history = kubectl("rollout", "history", what, "-n", "shop").stdout
    return [line.split()[0] for line in history.splitlines()[2:] if line.strip()]


def test_statefulset_and_daemonset_rollout_history_and_undo(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "shop")
    kubectl("apply", "-f", "-", stdin=STATEFULSET)
    kubectl("set", "image", "statefulset/db", "db=postgres:17", "-n", "shop")
    kubectl("set", "image", "daemonset/agent", "agent=busybox:1.37", "-n", "shop")
    assert _revisions(kubectl, "statefulset/db") == ["1", "2"]
    assert _revisions(kubectl, "daemonset/agent") == ["1", "2"]
    shown = kubectl("rollout", "history", "statefulset/db", "-n", "shop", "--revision=1").stdout
    assert "postgres:16" in shown
    kubectl("rollout", "undo", "statefulset/db", "-n", "shop")
    kubectl("rollout", "undo", "daemonset/agent", "-n", "shop")
    assert kubectl("get", "statefulset", "db", "-n", "shop", "-o", IMAGE).stdout == "postgres:16"
    assert kubectl("get", "daemonset", "agent", "-n", "shop", "-o", IMAGE).stdout == "busybox:1.36"
    assert _revisions(kubectl, "statefulset/db") == ["2", "3"]  # the old revision, renumbered
    assert _revisions(kubectl, "daemonset/agent") == ["2", "3"]
    hashes = "jsonpath={.items[*].metadata.labels.controller-revision-hash}"
    revision = kubectl("get", "controllerrevisions", "-n", "shop", "-l", "app=db", "-o", "name").stdout
    assert {
        f"controllerrevision.apps/{h}"
        for h in kubectl("get", "pods", "-n", "shop", "-l", "app=db", "-o", hashes).stdout.split()
    } <= set(revision.split())
    for image in ("postgres:18", "postgres:19", "postgres:20"):  # revisionHistoryLimit: 2 old ones kept
        kubectl("set", "image", "statefulset/db", f"db={image}", "-n", "shop")
    assert _revisions(kubectl, "statefulset/db") == ["4", "5", "6"]


def test_as_a_service_account(kubectl: Kubectl) -> None:
    bot = "system:serviceaccount:shop:bot"
    kubectl("create", "namespace", "shop")
    kubectl("create", "serviceaccount", "bot", "-n", "shop")
    kubectl("create", "deployment", "web", "-n", "shop", "--image=nginx:1.27")
    assert (
        kubectl("auth", "can-i", f"--as={bot}", "list", "secrets", "-n", "shop", ok=False).stdout.strip()
        == "no"
    )
    kubectl(
        "create", "rolebinding", "bot-view", "--clusterrole=view", "--serviceaccount=shop:bot", "-n", "shop"
    )
    assert kubectl("auth", "can-i", f"--as={bot}", "list", "pods", "-n", "shop").stdout.strip() == "yes"
    assert (
        kubectl("auth", "can-i", f"--as={bot}", "list", "secrets", "-n", "shop", ok=False).stdout.strip()
        == "no"
    )
    refused = kubectl("scale", "deployment/web", "--replicas=3", "-n", "shop", f"--as={bot}", ok=False)
    assert refused.returncode != 0
    assert (
        'deployments.apps "web" is forbidden: User "system:serviceaccount:shop:bot" cannot patch resource '
        '"deployments/scale" in API group "apps" in the namespace "shop"'
    ) in refused.stderr
    listed = kubectl("get", "pods", "-n", "shop", f"--as={bot}", "--as-group=system:serviceaccounts")
    assert listed.returncode == 0
    token = kubectl("create", "token", "bot", "-n", "shop").stdout.strip()
    assert token.count(".") == 2
    mine = kubectl("get", "deployments", "-n", "shop", f"--token={token}", "-o", "name")
    assert mine.stdout.strip() == "deployment.apps/web"
