"""Benchmark: syncs under injected faults, sorted by how they ended.

The example apps (``examples-repo``) and a generated app of 200 ConfigMaps
are synced ``--runs`` times (20 by default) against the emulated cluster
over HTTP, through the official client (``--in-process``: the cluster in
the agent's process), each run on a fresh cluster, under 10% 503 on writes, 30% 429 on lists
and 5 ms of latency.  Each sync is put in one of:

- converged and reported ok;
- converged but reported failed (the target: 0);
- failed cleanly (reported failed, and its objects are all there or none);
- half-applied (reported failed with some of its objects written: the target: 0).

Then the faults are switched off, every app is synced once more and the
objects carrying an app's label that its manifests do not name are counted
as orphans (the target: 0).

Run from the repository root: ``.venv/bin/python bench/chaos.py [--runs 20] [--in-process]``.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from agent.config import parse_config
from agent.emulator import EmulatedCluster, EmulatorServer, Options, write_kubeconfig
from agent.models import ObjectKey
from agent.sync.context import Context
from agent.sync.ownership import APP_LABEL
from agent.sync.pipeline import prepare, reconcile
from tests.support.repos import GitRepo

ROOT = Path(__file__).resolve().parent.parent
FAULTS = {
    "errors": [
        {"code": 503, "rate": 0.1, "verbs": ["create", "update", "patch", "delete"], "retryAfterSeconds": 0},
        {"code": 429, "rate": 0.3, "verbs": ["list"], "retryAfterSeconds": 0},
    ],
    "latencyMs": 5,
}
RETRY = {"attempts": 8, "backoffSeconds": 0.01, "maxBackoffSeconds": 0.2}


def repository(tmp: Path) -> GitRepo:
    repo = GitRepo(tmp / "repo")
    shutil.copytree(ROOT / "examples-repo" / "apps", repo.path / "apps")
    shutil.copytree(ROOT / "examples-repo" / "charts", repo.path / "charts")
    cms = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i:03d}"}, "data": {"i": str(i)}}
        for i in range(200)
    ]
    repo.write("generated/all.yaml", yaml.safe_dump_all(cms))
    repo.commit("apps")
    return repo


def apps(repo: GitRepo, run: int) -> list[dict[str, Any]]:
    examples = yaml.safe_load((ROOT / "examples-repo" / "agent.yaml").read_text())["apps"]
    out = []
    for app in examples:
        if "/" in app["path"] and not (repo.path / app["path"].removeprefix("examples-repo/")).is_dir():
            continue
        out.append(
            {
                **app,
                "name": f"{app['name']}-{run}",
                "repo": str(repo.path),
                "path": app["path"].removeprefix("examples-repo/"),
                "namespace": f"{app.get('namespace', app['name'])}-{run}",
                "syncPolicy": {
                    **app.get("syncPolicy", {}),
                    "createNamespace": True,
                    "retry": RETRY,
                    "healthTimeoutSeconds": 60,
                },
            }
        )
    out.append(
        {
            "name": f"generated-{run}",
            "repo": str(repo.path),
            "path": "generated",
            "namespace": f"generated-{run}",
            "syncPolicy": {"createNamespace": True, "retry": RETRY},
        }
    )
    return out


def present(cluster: EmulatedCluster, manifests: Any) -> int:
    found = 0
    for m in manifests:
        if cluster.get(m.api_version, m.key.kind, m.key.name, m.key.namespace) is not None:
            found += 1
    return found


def classify(cluster: EmulatedCluster, result: Any, manifests: Any) -> str:
    there = present_clean(cluster, manifests)
    if result.ok:
        return "converged_reported_ok" if there == len(manifests) else "reported_ok_not_converged"
    if there == len(manifests) and result.failure.stage.value != "Health":
        return "converged_reported_failed"
    return "failed_cleanly" if there in (0, len(manifests)) else "half_applied"


def one_run(tmp: Path, repo: GitRepo, run: int, tally: Counter[str], http: bool) -> int:
    """One run on a fresh cluster (the examples hold cluster-wide objects);
    the orphans its clean syncs leave."""
    cfg = parse_config({"source": {"allowedSchemes": ["file"]}, "apps": apps(repo, run)}, "agent.yaml", tmp)
    cluster = EmulatedCluster(tmp / f"cluster-{run}.db", Options(time_factor=0.01, seed=run))
    server = EmulatorServer(cluster).start() if http else None
    client: ClusterClient = cluster
    if server is not None:
        config = write_kubeconfig(tmp / f"kubeconfig-{run}", server.url, server.token)
        client = KubeCluster.from_kubeconfig(config, discovery_cache=tmp / f"discovery-{run}.json")
    try:
        ctx = Context.create(cfg, client)
        wanted = {app.name: prepare(ctx, app).manifests for app in cfg.apps}  # before the faults
        cluster.faults.update(**FAULTS)
        for app in cfg.apps:
            tally[classify(cluster, reconcile(ctx, app), wanted[app.name])] += 1
        cluster.faults.update(errors=[], latencyMs=0)
        orphans = 0
        for app in cfg.apps:
            tally["final_sync_ok"] += int(reconcile(ctx, app).ok)
            names = {m.key for m in wanted[app.name]}
            for kind in {(m.api_version, m.key.kind) for m in wanted[app.name]}:
                for obj in cluster.list(kind[0], kind[1], "", {APP_LABEL: app.name}):
                    orphans += int(ObjectKey.of(obj) not in names)
        return orphans
    finally:
        if isinstance(client, KubeCluster):
            client.close()
        if server is not None:
            server.stop()
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--in-process", action="store_true", help="the cluster in process, not over HTTP")
    args = parser.parse_args()
    tally: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        repo = repository(tmp)
        orphans = sum(one_run(tmp, repo, run, tally, not args.in_process) for run in range(args.runs))
    figures = {
        "syncs": sum(v for k, v in tally.items() if k != "final_sync_ok"),
        "converged_reported_ok": tally["converged_reported_ok"],
        "converged_reported_failed": tally["converged_reported_failed"],
        "failed_cleanly": tally["failed_cleanly"],
        "half_applied": tally["half_applied"],
        "reported_ok_not_converged": tally["reported_ok_not_converged"],
        "final_sync_ok": tally["final_sync_ok"],
        "orphans": orphans,
    }
    bad = figures["converged_reported_failed"] + figures["half_applied"] + orphans
    print(json.dumps({**figures, "target_met": bad == 0}))


def present_clean(cluster: EmulatedCluster, manifests: Any) -> int:
    """How many of the manifests are in the cluster (read without faults)."""
    saved = cluster.faults.to_json()
    cluster.faults.update(errors=[], latencyMs=0)
    try:
        return present(cluster, manifests)
    finally:
        cluster.faults.replace(saved)


if __name__ == "__main__":
    main()
