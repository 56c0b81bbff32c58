"""An app's own health rules, read from its Git repository (served over smart
HTTP on 127.0.0.1) at the commit being synced: Argo CD's
``<group>/<Kind>/health.lua`` layout in the folder ``apps[].health.luaDir``
names.  A folder that is not there or a script that does not compile fails
the sync before anything is written, naming the file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import parse_config
from agent.emulator import EmulatedCluster
from agent.results import Stage, SyncResult
from agent.sync.context import Context
from agent.sync.pipeline import reconcile
from agent.sync.status import status
from tests.support.git_servers import SmartHttp, Upstream
from tests.support.waits import poll

SCRIPT = "health/example.com/Gadget/health.lua"
CEL = "health/example.com/Gadget/health.cel"
BUILT = """
local hs = {status = "Progressing", message = "waiting to be built"}
if obj.status ~= nil and obj.status.built then
  hs.status = "Healthy"
  hs.message = "built by commit one's rule"
end
return hs
"""
BROKEN = "return {status = 'Degraded', message = 'broken parts'}"
GADGET = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "one"}, "spec": {"size": 1}}
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"kind": "Gadget", "plural": "gadgets"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    server = SmartHttp(tmp_path / "srv")
    (tmp_path / "srv").mkdir(exist_ok=True)
    up = Upstream(tmp_path, server)
    up.work.write("app/gadget.yaml", yaml.safe_dump(GADGET))
    yield up
    server.stop()


def context(
    tmp_path: Path, up: Upstream, cluster: EmulatedCluster, lua_dir: str = "health", *, rollback: bool = False
) -> Context:
    app = {
        "name": "web",
        "repo": up.url,
        "path": "app",
        "namespace": "web",
        "health": {"luaDir": lua_dir},
        "syncPolicy": {"createNamespace": True, "healthTimeoutSeconds": 3, "rollbackOnFailure": rollback},
    }
    cfg = parse_config(
        {"source": {"allowedSchemes": ["http"]}, "stateDir": str(tmp_path / "state"), "apps": [app]},
        "agent.yaml",
        tmp_path,
    )
    cluster.create(CRD)
    return Context.create(cfg, cluster)


def sync_while_built(ctx: Context, cluster: EmulatedCluster) -> SyncResult:
    """A sync, while the Gadget's controller marks it built once it exists."""
    stop = threading.Event()

    def controller() -> None:
        poll(lambda: cluster.get("example.com/v1", "Gadget", "one", "web") or stop.is_set(), 20)
        if not stop.is_set():
            patch: dict[str, Any] = {"status": {"built": True}}
            cluster.patch("example.com/v1", "Gadget", "one", "web", patch, subresource="status")

    worker = threading.Thread(target=controller, daemon=True)
    worker.start()
    try:
        return reconcile(ctx, ctx.config.apps[0])
    finally:
        stop.set()
        worker.join(10)


def test_a_script_in_the_apps_repository_decides_health_at_the_synced_commit(
    tmp_path: Path, upstream: Upstream, cluster: EmulatedCluster
) -> None:
    upstream.work.write(SCRIPT, BUILT)
    first = upstream.push("a gadget and its health rule")
    ctx = context(tmp_path, upstream, cluster)
    result = sync_while_built(ctx, cluster)
    assert result.ok, result.failure
    # without the rule the Gadget (no conditions) is Healthy at once; the sync waited for its controller
    assert cluster.get("example.com/v1", "Gadget", "one", "web")["status"] == {"built": True}
    [verdict] = [h for h in result.health if h.object.startswith("Gadget")]
    assert verdict.rule == f"Lua health script for example.com/Gadget ({SCRIPT})"
    assert (verdict.health, verdict.message) == ("Healthy", "built by commit one's rule")
    app = ctx.config.apps[0]
    checkout = ctx.source.checkout(upstream.url, first)
    assert ctx.health_rules(app, checkout.root, first) is ctx.health_rules(app, checkout.root, first)

    upstream.work.write(SCRIPT, BROKEN)  # the next commit's rule says otherwise
    upstream.work.write("app/gadget.yaml", yaml.safe_dump({**GADGET, "spec": {"size": 2}}))
    upstream.push("the rule changes")
    again = reconcile(ctx, app)
    assert again.failure is not None and again.failure.stage is Stage.HEALTH
    assert "Gadget.example.com/web/one is Degraded: broken parts" in again.failure.message
    seen = status(ctx, app)
    assert [(r.health, r.rule) for r in seen.resources if r.object.startswith("Gadget")] == [
        ("Degraded", f"Lua health script for example.com/Gadget ({SCRIPT})")
    ]


CASES = {
    "syntax-error": (
        {SCRIPT: "local hs = {}\nreturn {status = "},
        "health",
        f"{SCRIPT}:2: unexpected symbol",
    ),
    "no-folder": ({SCRIPT: "return {}"}, "rules", "health.luaDir: rules/ is not a folder of the repository"),
    "not-utf8": ({SCRIPT: "\udcff"}, "health", f"{SCRIPT}: not UTF-8 text"),
    "cel-syntax": ({CEL: 'current: "status.phase =="'}, "health", f"CEL rule for example.com/Gadget ({CEL})"),
    "cel-shape": ({CEL: "- status.ready"}, "health", f"{CEL}: must be one mapping of current (required)"),
    "cel-yaml": ({CEL: "current: [unclosed"}, "health", CEL),
}


@pytest.mark.parametrize("case", CASES)
def test_rules_that_cannot_be_read_fail_the_sync_naming_the_file_and_change_nothing(
    tmp_path: Path, upstream: Upstream, cluster: EmulatedCluster, case: str
) -> None:
    files, lua_dir, words = CASES[case]
    for rel, text in files.items():
        path = upstream.work.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
    sha = upstream.push("a broken rule")
    ctx = context(tmp_path, upstream, cluster, lua_dir)
    result = reconcile(ctx, ctx.config.apps[0])
    assert result.failure is not None and result.failure.stage is Stage.RENDER
    assert words in result.failure.message and f"(commit {sha[:12]})" in result.failure.message
    assert "Traceback" not in result.failure.message
    assert cluster.get("example.com/v1", "Gadget", "one", "web") is None  # nothing was applied


def test_a_cel_rule_in_the_apps_repository_decides_health(
    tmp_path: Path, upstream: Upstream, cluster: EmulatedCluster
) -> None:
    upstream.work.write(CEL, 'inProgress: "!has(status.built)"\ncurrent: status.built\n')
    upstream.work.write("health/example.com/Gadget/health_test.yaml", "tests: []\n")  # Argo CD's: left alone
    upstream.push("a gadget and its CEL rule")
    ctx = context(tmp_path, upstream, cluster)
    result = sync_while_built(ctx, cluster)
    assert result.ok, result.failure
    assert cluster.get("example.com/v1", "Gadget", "one", "web")["status"] == {"built": True}
    [verdict] = [h for h in result.health if h.object.startswith("Gadget")]
    assert (verdict.health, verdict.rule) == ("Healthy", f"CEL rule for example.com/Gadget ({CEL})")


def test_a_rollback_waits_with_the_rules_of_the_commit_it_returns_to(
    tmp_path: Path, upstream: Upstream, cluster: EmulatedCluster
) -> None:
    upstream.work.write(SCRIPT, BUILT)
    upstream.push("a gadget and its health rule")
    ctx = context(tmp_path, upstream, cluster, rollback=True)
    app = ctx.config.apps[0]
    assert sync_while_built(ctx, cluster).ok
    cluster.patch("example.com/v1", "Gadget", "one", "web", {"status": {"built": None}}, subresource="status")
    upstream.work.write(SCRIPT, BROKEN)
    upstream.work.write("app/gadget.yaml", yaml.safe_dump({**GADGET, "spec": {"size": 2}}))
    upstream.push("a change its own rule calls broken")
    result = reconcile(ctx, app)
    assert result.failure is not None and "Degraded: broken parts" in result.failure.message
    rollback = result.rollback
    assert rollback is not None and rollback.to_revision == 1
    # the revision it returns to judges by its own rule: not built, so the rollback waits and times out;
    # the failed commit's rule would call it Degraded, the built-in rules Healthy
    assert rollback.failure is not None, rollback
    assert "is still Progressing after 3s (waiting to be built)" in rollback.failure.message
    assert "broken parts" not in rollback.failure.message
