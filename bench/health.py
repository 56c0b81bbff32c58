"""Health verdicts per second, built-in rules against user-written CEL and Lua rules.

1. A corpus of 10,000 mixed objects (Deployments, Pods, Services, custom
   resources with conditions, cert-manager Certificates, Crossplane resources)
   judged with the built-in rules alone, then with a CEL rule and with a Lua
   script for the custom kind (a fifth of the corpus).
2. A 1,000-object sync (1,000 custom resources of a CRD of this benchmark,
   in process against the emulated cluster, from a local git repository)
   without a user rule, then with a CEL rule and with a Lua script deciding
   every object's health: the ratio of their times (target: under 1.1).

Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.health import UserRules, assess
from agent.health.user import CelRule, LuaScript
from agent.sync.context import Context
from agent.sync.pipeline import reconcile

LUA = """
local hs = {status = "Progressing", message = "waiting"}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" and c.status == "True" then hs.status = "Healthy"; hs.message = "" end
    if c.type == "Ready" and c.status == "False" then hs.status = "Degraded"; hs.message = c.message or "" end
  end
elseif obj.spec ~= nil and obj.spec.size ~= nil then
  hs.status = "Healthy"
end
return hs
"""
CEL = CelRule(
    "example.com",
    "Widget",
    current="has(spec.size) || status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
    failed="has(status.conditions) && status.conditions.exists(c, c.type == 'Ready' && c.status == 'False')",
)


def corpus(n: int) -> list[dict[str, Any]]:
    ready = {"conditions": [{"type": "Ready", "status": "True"}], "observedGeneration": 1}
    shapes: list[dict[str, Any]] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "generation": 2},
            "spec": {"replicas": 3},
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}},
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "generation": 1},
            "status": ready,
        },
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "c", "generation": 1},
            "status": ready,
        },
    ]
    return [shapes[i % len(shapes)] for i in range(n)]


def rate(objects: list[dict[str, Any]], rules: UserRules | None) -> float:
    assess(objects[3], rules)  # warm: the Lua state starts on first use
    start = time.perf_counter()
    for obj in objects:
        assess(obj, rules)
    return len(objects) / (time.perf_counter() - start)


def crd() -> dict[str, Any]:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    version = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [version],
        },
    }


def sync_seconds(folder: Path, n: int, health: dict[str, Any]) -> float:
    repo = folder / "repo"
    repo.mkdir()
    widgets = [
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": f"w{i}"}, "spec": {"size": i}}
        for i in range(n)
    ]
    (repo / "app").mkdir()
    (repo / "app" / "all.yaml").write_text(yaml.safe_dump_all(widgets))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "widgets"]):
        subprocess.run(
            ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args], cwd=repo, check=True
        )
    cluster = EmulatedCluster(folder / "cluster.db")
    try:
        cluster.create(crd())
        app = {
            "name": "bench",
            "repo": str(repo),
            "path": "app",
            "namespace": "bench",
            "syncPolicy": {"createNamespace": True},
        }
        cfg = parse_config(
            {"source": {"allowedSchemes": ["file"]}, "health": health, "apps": [app]}, "a.yaml", folder
        )
        start = time.perf_counter()
        result = reconcile(Context.create(cfg, cluster), cfg.apps[0])
        seconds = time.perf_counter() - start
        if not result.ok:
            raise SystemExit(f"sync failed: {result.failure}")
        return seconds
    finally:
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--sync-objects", type=int, default=1_000)
    args = parser.parse_args()
    objects = corpus(args.objects)
    figures: dict[str, Any] = {
        "objects": args.objects,
        "builtin_per_s": round(rate(objects, None)),
        "cel_per_s": round(rate(objects, UserRules([CEL]))),
        "lua_per_s": round(rate(objects, UserRules(lua_scripts=[LuaScript("example.com", "Widget", LUA)]))),
    }
    cel = {
        "checks": [
            {"apiVersion": "example.com/v1", "kind": "Widget", "current": CEL.current, "failed": CEL.failed}
        ]
    }
    lua = {"lua": {"resource.customizations.health.example.com_Widget": LUA}}
    times = {}
    for name, health in (("builtin", {}), ("cel", cel), ("lua", lua)):
        with tempfile.TemporaryDirectory() as tmp:
            times[name] = sync_seconds(Path(tmp), args.sync_objects, health)
    figures["sync_objects"] = args.sync_objects
    figures["sync_seconds"] = {k: round(v, 3) for k, v in times.items()}
    figures["sync_ratio_cel"] = round(times["cel"] / times["builtin"], 3)
    figures["sync_ratio_lua"] = round(times["lua"] / times["builtin"], 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
