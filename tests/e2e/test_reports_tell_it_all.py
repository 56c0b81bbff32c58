"""Reports that tell the whole story: a failed sync's rollback in every
format, and the daemon's "Last sync" from the records, whoever synced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.commands import agent
from tests.support.daemon import Daemon
from tests.support.net import free_port
from tests.support.repos import GitRepo, write_config
from tests.support.waits import wait_for

pytestmark = pytest.mark.e2e

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  progressDeadlineSeconds: 60
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:IMAGE"}]}
"""


def _app(tmp_path: Path, daemon_port: int | None = None) -> tuple[GitRepo, Path]:
    repo = GitRepo(tmp_path / "repo")
    repo.write("app/web.yaml", DEPLOYMENT.replace("IMAGE", "1.27"))
    repo.commit("web")
    daemon = f"daemon: {{port: {daemon_port}}}" if daemon_port else ""
    config = write_config(
        tmp_path / "agent.yaml",
        f"""
        cluster:
          emulated: {{path: {tmp_path / "cluster.db"}, timeFactor: 0.01}}
        stateDir: {tmp_path / "state"}
        source: {{allowedSchemes: [file]}}
        {daemon}
        apps:
          - name: web
            repo: {repo.path}
            path: app
            namespace: web
            syncPolicy: {{createNamespace: true, healthTimeoutSeconds: 30}}
        """,
    )
    return repo, config


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_a_failed_sync_says_it_was_rolled_back_in_every_format(tmp_path: Path, fmt: str) -> None:
    repo, config = _app(tmp_path)
    assert agent("sync", "-c", str(config)).returncode == 0
    repo.write("app/web.yaml", DEPLOYMENT.replace("IMAGE", "does-not-exist"))
    repo.commit("broken")
    done = agent("sync", "-c", str(config), "-o", fmt)
    assert done.returncode == 7, done.stdout + done.stderr
    said = done.stdout
    if fmt == "json":
        rollback = json.loads(said)["apps"][0]["rollback"]
        assert rollback["ok"] and rollback["toRevision"] == 1 and rollback["record"] == 3
    elif fmt == "text":
        assert "↩ web: rolled back to revision 1" in said and "revision 3 recorded" in said
    elif fmt == "markdown":
        assert "### Rollback to revision 1 ↩️ succeeded" in said and "recorded as revision 3" in said
        assert "| `Deployment/web/web` | configured |" in said.split("### Rollback")[1]
    else:
        section = said.split('id="rollback-web"')[1]
        assert (
            "Rollback to revision 1" in section
            and "Rolled back" in section
            and "recorded as revision 3" in section
        )
    held = agent("sync", "-c", str(config), "-o", "markdown" if fmt != "json" else "json")
    assert held.returncode == 8 and ("Held" in held.stdout or '"held": "' in held.stdout)


def test_last_sync_comes_from_the_records_when_another_process_synced(tmp_path: Path) -> None:
    port = free_port()
    _, config = _app(tmp_path, port)
    assert agent("sync", "-c", str(config)).returncode == 0  # the command line syncs, not the daemon
    finished = json.loads(agent("history", "web", "-c", str(config), "-o", "json").stdout)["revisions"][-1]
    daemon = Daemon(config, port)
    try:
        daemon.wait_ready()
        wait_for(lambda: daemon.json("/api/v1/apps/web")["observedAt"], 60, "the first observation")
        app = daemon.json("/api/v1/apps/web")
        assert app["lastSync"] == finished["finished"] != ""
        page = daemon.get("/")[1].decode()
        assert finished["finished"] in page
    finally:
        assert daemon.stop() == 0
