"""The agent killed in the middle of a sync: the next sync converges and
nothing the app owns is orphaned (ownership lives on the objects)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from agent.emulator import EmulatedCluster
from tests.support.emulator import ours
from tests.support.repos import GitRepo, write_config

pytestmark = pytest.mark.e2e

N = 30


def configmaps(n: int) -> str:
    return yaml.safe_dump_all(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"c{i:02d}"},
                "data": {"i": str(i)},
            }
            for i in range(n)
        ]
    )


def test_killed_sync_is_safe_to_run_again(tmp_path: Path, repo: GitRepo) -> None:
    repo.write("app/all.yaml", configmaps(N))
    repo.commit("thirty")
    config = write_config(
        tmp_path / "agent.yaml",
        f"""
        cluster: {{emulated: {{path: cluster.db}}}}
        source: {{allowedSchemes: [file]}}
        apps:
          - name: big
            repo: {repo.path}
            path: app
            namespace: big
            syncPolicy: {{createNamespace: true, parallelism: 1}}
        """,
    )
    db = tmp_path / "cluster.db"
    cluster = EmulatedCluster(db)
    cluster.faults.update(latencyMs=100, latencyVerbs=["patch"], persist=True)  # kept in the database
    cluster.close()

    env = {**os.environ, "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "agent", "sync", "-c", str(config)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    watcher = EmulatedCluster(db)
    try:
        for _ in range(600):  # until the sync is part-way (bounded)
            if len(ours(watcher.store.list("", "configmaps", "big"))) >= 5:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        part = len(ours(watcher.store.list("", "configmaps", "big")))
        assert 0 < part < N  # cut off half-way
        watcher.faults.update(latencyMs=0, persist=True)
    finally:
        watcher.close()

    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{N - part} created" in done.stdout and f"{part} unchanged" in done.stdout

    # nothing is orphaned: what the killed run created is owned and pruned like the rest
    repo.write("app/all.yaml", configmaps(2))
    repo.commit("two")
    pruned = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    check = EmulatedCluster(db)
    try:
        assert sorted(o["metadata"]["name"] for o in ours(check.list("v1", "ConfigMap", "big"))) == [
            "c00",
            "c01",
        ]
    finally:
        check.close()
