"""Shared parts of the drift tests: the corpus app on a real git repository,
and the emulated cluster in process or served over HTTP to the official
client (``agent.cluster.kube``), plus a second client that plays the other
field managers (kubectl, controllers) over HTTP."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

from agent.cluster.base import ClusterClient
from agent.config import AgentConfig, parse_config
from agent.sync.context import Context
from tests.support.emulator import Backend
from tests.support.repos import PROJECT, GitRepo

FIXTURES = PROJECT / "tests" / "integration" / "fixtures" / "drift"
CORPUS = FIXTURES / "corpus"
APP_PATH = "apps/shop"
SHOP = "shop"


def corpus_repo(path: Path) -> GitRepo:
    repo = GitRepo(path)
    shutil.copytree(CORPUS, repo.path / APP_PATH)
    repo.commit("the shop")
    return repo


def app_config(tmp_path: Path, repo: GitRepo, **app: Any) -> dict[str, Any]:
    return {
        "source": {"allowedSchemes": ["file"]},
        "apps": [{"name": "shop", "repo": str(repo.path), "path": APP_PATH, "namespace": "shop", **app}],
    }


def make_ctx(tmp_path: Path, repo: GitRepo, client: ClusterClient, **app: Any) -> tuple[Context, AgentConfig]:
    cfg = parse_config(app_config(tmp_path, repo, **app), "agent.yaml", tmp_path)
    return Context.create(cfg, client), cfg


def change_out_of_band(b: Backend) -> dict[str, str]:
    """Every change of the issue's list, each under its own field manager.
    Returns the clear Secret values involved (which must never be shown)."""
    k = b.other
    assert k is not None

    def pod(*items: dict[str, Any]) -> dict[str, Any]:
        out: Any = {"spec": {"template": {"spec": {"containers": list(items)}}}}
        return out

    k.patch(
        "apps/v1",
        "Deployment",
        "web",
        SHOP,
        pod({"name": "web", "image": "registry.example.com/shop/web:2.5.0"}),
        patch_type="strategic",
        field_manager="kubectl-set",
    )
    k.patch(
        "apps/v1",
        "Deployment",
        "web",
        SHOP,
        {"spec": {"replicas": 5}},
        field_manager="kubectl-scale",
        subresource="scale",
    )
    k.patch(
        "apps/v1",
        "Deployment",
        "worker",
        SHOP,
        pod({"name": "worker", "env": [{"name": "QUEUE_URL", "value": "amqp://other:5672"}]}),
        patch_type="strategic",
        field_manager="kubectl-edit",
    )
    k.patch(
        "apps/v1",
        "StatefulSet",
        "db",
        SHOP,
        pod({"name": "postgres", "env": [{"name": "PGTZ", "value": "UTC"}]}),
        patch_type="strategic",
        field_manager="kubectl-edit",
    )
    k.patch(
        "v1",
        "Service",
        "web",
        SHOP,
        {"metadata": {"labels": {"app.kubernetes.io/name": None}}},
        field_manager="kubectl-label",
    )
    k.patch(
        "networking.k8s.io/v1",
        "Ingress",
        "web",
        SHOP,
        {"metadata": {"annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "64m"}}},
        field_manager="kubectl-annotate",
    )
    k.patch(
        "apps/v1",
        "Deployment",
        "echo",
        SHOP,
        pod({"name": "debug", "image": "busybox:1.36", "command": ["sleep", "3600"]}),
        patch_type="strategic",
        field_manager="kubectl-debug",
    )
    k.patch(
        "v1",
        "Service",
        "web",
        SHOP,
        {"spec": {"ports": [{"port": 9102, "targetPort": 9103}]}},
        patch_type="strategic",
        field_manager="kubectl-edit",
    )
    k.patch(
        "v1",
        "Service",
        "web-nodeport",
        SHOP,
        {"spec": {"ports": [{"port": 80, "nodePort": 30081}]}},
        patch_type="strategic",
        field_manager="kubectl-patch",
    )
    new_password = "n3w-Pa55word-from-kubectl"
    encoded = base64.b64encode(new_password.encode()).decode()
    k.patch(
        "v1", "Secret", "db-credentials", SHOP, {"data": {"password": encoded}}, field_manager="kubectl-edit"
    )
    k.patch(
        "v1", "ConfigMap", "web-config", SHOP, {"data": {"FEATURE_FLAGS": None}}, field_manager="kubectl-edit"
    )
    k.delete("policy/v1", "PodDisruptionBudget", "db", SHOP)
    k.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "intruder",
                "namespace": SHOP,
                "labels": {"gitops-agent.io/app": "shop", "app.kubernetes.io/managed-by": "gitops-agent"},
                "annotations": {"gitops-agent.io/owner": "gitops-agent/shop"},
            },
            "data": {"hello": "world"},
        },
        field_manager="kubectl-create",
    )
    return {"new": new_password, "new64": encoded}
