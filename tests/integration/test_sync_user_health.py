"""User-written health rules decide in a sync: an Argo CD-format Lua script and
a Flux-format CEL rule, each for a CRD of this test, against the emulated
cluster; a broken script is Unknown and fails the sync by its timeout, naming
the error."""

from __future__ import annotations

import threading
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

GADGET_LUA = """
local hs = {status = "Progressing", message = "waiting to be built"}
if obj.status ~= nil and obj.status.built then
  hs.status = "Healthy"
  hs.message = "built"
end
return hs
"""
WIDGET_CEL = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "current": "status.phase == 'Running'",
    "failed": "status.phase == 'Crashed'",
}


def crd(kind: str) -> dict[str, Any]:
    plural = kind.lower() + "s"
    version = {
        "name": "v1",
        "served": True,
        "storage": True,
        "subresources": {"status": {}},
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural},
            "versions": [version],
        },
    }


def custom(kind: str) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": kind, "metadata": {"name": "one"}, "spec": {"size": 1}}


def controller(cluster: EmulatedCluster, statuses: dict[str, dict[str, Any]], stop: threading.Event) -> None:
    """Sets each object's status once it exists, as its controller would."""
    for kind, status in statuses.items():
        poll(lambda k=kind: cluster.get("example.com/v1", k, "one", "web") or stop.is_set(), 20)
        if stop.is_set():
            return
        cluster.patch("example.com/v1", kind, "one", "web", {"status": status}, subresource="status")


def sync(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster, statuses: dict[str, Any], lua: str = GADGET_LUA
) -> Any:
    for kind in ("Gadget", "Widget"):
        cluster.create(crd(kind))
    health = {"checks": [WIDGET_CEL], "lua": {"resource.customizations.health.example.com_Gadget": lua}}
    app = {
        "name": "web",
        "repo": str(repo.path),
        "path": "app",
        "namespace": "web",
        "syncPolicy": {"createNamespace": True, "healthTimeoutSeconds": 3, "rollbackOnFailure": False},
    }
    cfg = parse_config(
        {"source": {"allowedSchemes": ["file"]}, "health": health, "apps": [app]}, "agent.yaml", tmp_path
    )
    repo.write("app/all.yaml", yaml.safe_dump_all([custom("Gadget"), custom("Widget")]))
    repo.commit("custom resources")
    stop = threading.Event()
    worker = threading.Thread(target=controller, args=(cluster, statuses, stop), daemon=True)
    worker.start()
    try:
        return reconcile(Context.create(cfg, cluster), cfg.apps[0])
    finally:
        stop.set()
        worker.join(10)


def test_lua_and_cel_rules_decide_health_in_a_sync(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    result = sync(tmp_path, repo, cluster, {"Gadget": {"built": True}, "Widget": {"phase": "Running"}})
    assert result.ok, result.failure
    # without the rules both would be Healthy at once; the sync returned after their controllers spoke
    assert cluster.get("example.com/v1", "Gadget", "one", "web")["status"] == {"built": True}
    assert cluster.get("example.com/v1", "Widget", "one", "web")["status"] == {"phase": "Running"}


def test_a_cel_failure_fails_the_sync(tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster) -> None:
    result = sync(tmp_path, repo, cluster, {"Gadget": {"built": True}, "Widget": {"phase": "Crashed"}})
    assert result.failure is not None and result.failure.stage is Stage.HEALTH
    assert "Widget.example.com/web/one is Degraded: failed is true" in result.failure.message


def test_a_script_that_loops_forever_is_unknown_and_named(
    tmp_path: Path, repo: GitRepo, cluster: EmulatedCluster
) -> None:
    result = sync(tmp_path, repo, cluster, {"Widget": {"phase": "Running"}}, lua="while true do end")
    assert result.failure is not None and result.failure.stage is Stage.HEALTH
    assert "Gadget.example.com/web/one" in result.failure.message
    assert "stopped after 1000000 instructions" in result.failure.message
