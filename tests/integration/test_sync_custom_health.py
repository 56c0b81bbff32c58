"""Custom resources that report Ready=False while they provision (a cert-manager
Certificate being issued, a Crossplane managed resource being created, a Cluster
API cluster waiting for its infrastructure) are waited for, not rolled back; a
Stalled one fails the sync (emulated cluster, real git, status written through
the status subresource as their controllers do)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import yaml

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.results import Stage
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from tests.support.repos import GitRepo
from tests.support.waits import poll

# (api version, kind, plural, scope, namespace of the app's object or "")
KINDS = [
    ("cert-manager.io/v1", "Certificate", "certificates", "Namespaced", "web"),
    ("s3.aws.m.upbound.io/v1beta1", "Bucket", "buckets", "Namespaced", "web"),  # Crossplane v2: namespaced
    ("cluster.x-k8s.io/v1beta1", "Cluster", "clusters", "Namespaced", "web"),
]
PROGRESS = {
    "Certificate": [{"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": "issuing"}],
    "Bucket": [
        {"type": "Ready", "status": "False", "reason": "Creating"},
        {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
    ],
    "Cluster": [
        {"type": "Ready", "status": "False", "severity": "Info", "reason": "WaitingForInfrastructure"}
    ],
}


def crd(api_version: str, kind: str, plural: str, scope: str) -> dict[str, Any]:
    group, version = api_version.split("/")
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"kind": kind, "plural": plural},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def objects() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}]
    for api_version, kind, _, _, ns in KINDS:
        meta = {"name": "edge", **({"namespace": ns} if ns else {})}
        out.append({"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": {"size": 1}})
    return out


def set_status(cluster: EmulatedCluster, api_version: str, kind: str, ns: str, conds: list[Any]) -> None:
    status = {"observedGeneration": 1, "conditions": conds}
    cluster.patch(api_version, kind, "edge", ns, {"status": status}, subresource="status")


def controller(cluster: EmulatedCluster, outcome: dict[str, list[Any]], stop: threading.Event) -> None:
    """Reports progress on each object, then (unless told otherwise) readiness."""
    for api_version, kind, _, _, ns in KINDS:
        poll(lambda a=api_version, k=kind, n=ns: cluster.get(a, k, "edge", n) or stop.is_set(), 20)
        if stop.is_set():
            return
        set_status(cluster, api_version, kind, ns, PROGRESS[kind])
    time.sleep(0.5)  # the sync sees them Progressing for a while
    for api_version, kind, _, _, ns in KINDS:
        set_status(cluster, api_version, kind, ns, outcome[kind])


def sync(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, outcome: dict[str, list[Any]]) -> Any:
    for api_version, kind, plural, scope, _ in KINDS:
        cluster.create(crd(api_version, kind, plural, scope))
    cfg = parse_config(
        {
            "source": {"allowedSchemes": ["file"]},
            "apps": [
                {
                    "name": "web",
                    "repo": str(repo.path),
                    "path": "app",
                    "namespace": "web",
                    "syncPolicy": {"createNamespace": True, "healthTimeoutSeconds": 30},
                }
            ],
        },
        "agent.yaml",
        tmp_path,
    )
    ctx = Context.create(cfg, cluster)
    repo.write("app/all.yaml", yaml.safe_dump_all(objects()[:1]))
    repo.commit("first")
    assert reconcile(ctx, cfg.apps[0]).ok
    repo.write("app/all.yaml", yaml.safe_dump_all(objects()))
    repo.commit("custom resources")
    stop = threading.Event()
    worker = threading.Thread(target=controller, args=(cluster, outcome, stop), daemon=True)
    worker.start()
    try:
        return reconcile(ctx, cfg.apps[0]), ctx
    finally:
        stop.set()
        worker.join(10)


def test_provisioning_custom_resources_are_awaited_not_rolled_back(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    ready = [{"type": "Ready", "status": "True"}]
    result, ctx = sync(tmp_path, repo, cluster, {"Certificate": ready, "Bucket": ready, "Cluster": ready})
    assert result.ok, result.failure
    assert result.rollback is None
    cert = cluster.get("cert-manager.io/v1", "Certificate", "edge", "web")
    assert cert["status"]["conditions"] == ready  # the sync returned after they became ready
    assert ctx.records().history("web")[-1].health == "Healthy"
    judged = {h.object: h for h in result.health}  # the report: each object's last verdict and its rule
    cert_health = judged["Certificate.cert-manager.io/web/edge"]
    assert (cert_health.health, cert_health.rule) == ("Healthy", "built-in Certificate.cert-manager.io")
    assert result.to_dict()["health"][0]["health"] == "Healthy"


def test_a_stalled_custom_resource_fails_the_sync(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    ready = [{"type": "Ready", "status": "True"}]
    stalled = [{"type": "Stalled", "status": "True", "reason": "Failed", "message": "issuer not found"}]
    result, _ = sync(tmp_path, repo, cluster, {"Certificate": stalled, "Bucket": ready, "Cluster": ready})
    assert result.failure is not None and result.failure.stage is Stage.HEALTH
    assert "Certificate.cert-manager.io/web/edge is Degraded" in result.failure.message
    assert "issuer not found" in result.failure.message
