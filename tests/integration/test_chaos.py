"""Syncs under injected faults (10% 503 on writes, 30% 429 on lists,
latency) against the emulated cluster over HTTP, through the official
client: with the retries every sync converges and says so; a clean sync
afterwards converges with no orphans.  bench/chaos.py measures the same
over the example apps."""

from __future__ import annotations

from pathlib import Path

import yaml

from agent.config import parse_config
from agent.models import ObjectKey
from agent.results import Stage
from agent.sync.context import Context
from agent.sync.ownership import APP_LABEL
from agent.sync.pipeline import reconcile
from tests.conftest import GitRepo
from tests.support.emulator import backend, ours

FAULTS = {
    "errors": [
        {"code": 503, "rate": 0.1, "verbs": ["create", "update", "patch", "delete"], "retryAfterSeconds": 0},
        {"code": 429, "rate": 0.3, "verbs": ["list"], "retryAfterSeconds": 0},
    ],
    "latencyMs": 2,
}


def test_syncs_under_faults_converge_or_fail_cleanly(tmp_path: Path, repo: GitRepo) -> None:
    cms = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i:02d}"}, "data": {"i": str(i)}}
        for i in range(40)
    ]
    repo.write("app/all.yaml", yaml.safe_dump_all(cms))
    repo.commit("forty")
    retry = {"attempts": 8, "backoffSeconds": 0.005, "maxBackoffSeconds": 0.05}
    apps = [
        {
            "name": f"a{n}",
            "repo": str(repo.path),
            "path": "app",
            "namespace": f"ns{n}",
            "syncPolicy": {"createNamespace": True, "retry": retry},
        }
        for n in range(6)
    ]
    cfg = parse_config({"source": {"allowedSchemes": ["file"]}, "apps": apps}, "agent.yaml", tmp_path)
    with backend(tmp_path, "kube-http") as served:
        cluster = served.engine  # to set faults and to look, in process
        ctx = Context.create(cfg, served.client)  # the syncs go over HTTP
        cluster.faults.update(**FAULTS)
        results = [reconcile(ctx, app) for app in cfg.apps]
        cluster.faults.update(errors=[], latencyMs=0)
        for app, result in zip(cfg.apps, results, strict=True):  # with the retries, every sync converges
            assert result.ok and result.unrecorded is None, result
            assert len(ours(cluster.list("v1", "ConfigMap", app.namespace))) == 40  # and it did
        for app in cfg.apps:
            final = reconcile(ctx, app)
            assert final.ok, final
            wanted = {
                ObjectKey.of({**c, "metadata": {**c["metadata"], "namespace": app.namespace}}) for c in cms
            }
            owned = {ObjectKey.of(o) for o in cluster.list("v1", "ConfigMap", "", {APP_LABEL: app.name})}
            assert owned == wanted  # no orphans, nothing missing


def test_a_sync_stops_retrying_when_its_retry_budget_is_spent(tmp_path: Path, repo: GitRepo) -> None:
    """Every write of the ConfigMap answers 429 with Retry-After: 1; the
    sync may wait 2.5 s in all, so after two waits of 1 s it gives up,
    naming the stage and the budget, with nothing half-applied; once the
    cluster answers again, the next sync converges."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    repo.write("app/cm.yaml", yaml.safe_dump(cm))
    repo.commit("one")
    retry = {"attempts": 20, "backoffSeconds": 0.01, "maxBackoffSeconds": 5, "maxTotalBackoffSeconds": 2.5}
    app = {
        "name": "a",
        "repo": str(repo.path),
        "path": "app",
        "namespace": "ns",
        "syncPolicy": {"createNamespace": True, "retry": retry, "rollbackOnFailure": False},
    }
    cfg = parse_config({"source": {"allowedSchemes": ["file"]}, "apps": [app]}, "agent.yaml", tmp_path)
    with backend(tmp_path, "kube-http") as served:
        cluster = served.engine
        ctx = Context.create(cfg, served.client)
        refusal = {"code": 429, "verbs": ["create", "update", "patch"], "kinds": ["ConfigMap"]}
        cluster.faults.update(errors=[{**refusal, "retryAfterSeconds": 1}])
        result = reconcile(ctx, cfg.apps[0])
        assert result.failure is not None, result
        assert result.failure.stage is Stage.APPLY
        assert result.failure.message.startswith("ConfigMap/ns/c: ")
        assert (
            "(gave up after 3 attempts: this sync's retries have waited 2.0 s, "
            "and retry.maxTotalBackoffSeconds is 2.5 s)"
        ) in result.failure.message
        assert cluster.get("v1", "ConfigMap", "c", "ns") is None  # nothing half-applied
        cluster.faults.update(errors=[])
        assert reconcile(ctx, cfg.apps[0]).ok
        assert cluster.get("v1", "ConfigMap", "c", "ns") is not None
