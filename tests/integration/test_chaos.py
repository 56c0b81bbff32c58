"""Syncs under injected faults (10% 503 on writes, 30% 429 on lists,
latency): with the retries every sync converges and says so; a clean sync
afterwards converges with no orphans.  bench/chaos.py measures the same
over the example apps."""

from __future__ import annotations

from pathlib import Path

import yaml

from agent.config import parse_config
from agent.emulator import EmulatedCluster, Options
from agent.models import ObjectKey
from agent.sync.context import Context
from agent.sync.ownership import APP_LABEL
from agent.sync.pipeline import reconcile
from tests.conftest import GitRepo
from tests.support.emulator import ours

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
    cluster = EmulatedCluster(tmp_path / "c.db", Options(seed=7))
    try:
        ctx = Context.create(cfg, cluster)
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
    finally:
        cluster.close()
