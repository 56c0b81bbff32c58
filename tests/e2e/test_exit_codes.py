"""Each exit code of the README's table, from the command a user runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.commands import agent
from tests.support.net import closed_port
from tests.support.repos import GitRepo, write_config

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


def _app(tmp_path: Path, *, rollback: bool = True) -> tuple[GitRepo, Path]:
    repo = GitRepo(tmp_path / "repo")
    repo.write("app/web.yaml", DEPLOYMENT.replace("IMAGE", "1.27"))
    repo.commit("web")
    config = write_config(
        tmp_path / "agent.yaml",
        f"""
        cluster:
          emulated: {{path: {tmp_path / "cluster.db"}, timeFactor: 0.01}}
        stateDir: {tmp_path / "state"}
        source: {{allowedSchemes: [file]}}
        apps:
          - name: web
            repo: {repo.path}
            path: app
            namespace: web
            syncPolicy:
              createNamespace: true
              healthTimeoutSeconds: 30
              retry: {{attempts: 1}}
              rollbackOnFailure: {str(rollback).lower()}
        """,
    )
    return repo, config


def _break(repo: GitRepo) -> None:
    repo.write("app/web.yaml", DEPLOYMENT.replace("IMAGE", "does-not-exist"))
    repo.commit("broken image")


def test_usage_errors_exit_2_and_run_nothing(tmp_path: Path) -> None:
    for args in (["sync", "--no-such-option"], ["no-such-command"], ["sync", "-o", "pdf"]):
        done = agent(*args, "-c", str(tmp_path / "agent.yaml"))
        assert done.returncode == 2, (args, done.stderr)
    bad = agent("run", "-c", str(tmp_path / "agent.yaml"), "--log-format", "xml")
    assert bad.returncode == 3  # the configuration is read first: it is missing


def test_an_unreachable_cluster_exits_5_before_any_change_naming_the_cluster_stage(tmp_path: Path) -> None:
    _, config = _app(tmp_path)
    kubeconfig = write_config(
        tmp_path / "kubeconfig",
        f"""
        apiVersion: v1
        kind: Config
        clusters: [{{name: gone, cluster: {{server: "https://127.0.0.1:{closed_port()}"}}}}]
        users: [{{name: u, user: {{token: t0ken-not-shown}}}}]
        contexts: [{{name: gone, context: {{cluster: gone, user: u}}}}]
        current-context: gone
        """,
    )
    for command in ("sync", "diff", "status", "history"):
        args = [command, "-c", str(config)] + (["web"] if command == "history" else [])
        done = agent("--kubeconfig", str(kubeconfig), *args)
        assert done.returncode == 5, (command, done.stdout, done.stderr)
        said = done.stdout + done.stderr
        assert "Cluster failed" in said or "cannot be reached" in said, (command, said)
        assert "Record failed" not in said and "t0ken-not-shown" not in said
        assert "cluster: context gone, server https://127.0.0.1:" in done.stderr  # the header names it


def test_failed_and_rolled_back_exits_7_then_held_exits_8(tmp_path: Path) -> None:
    repo, config = _app(tmp_path)
    assert agent("sync", "-c", str(config)).returncode == 0
    _break(repo)
    failed = agent("sync", "-c", str(config))
    assert failed.returncode == 7, failed.stdout + failed.stderr
    assert "rolled back to revision 1" in failed.stdout
    held = agent("sync", "-c", str(config))
    assert held.returncode == 8, held.stdout + held.stderr
    assert "held" in held.stdout


def test_failed_without_rollback_exits_6(tmp_path: Path) -> None:
    repo, config = _app(tmp_path, rollback=False)
    assert agent("sync", "-c", str(config)).returncode == 0
    _break(repo)
    failed = agent("sync", "-c", str(config))
    assert failed.returncode == 6, failed.stdout + failed.stderr
    assert "rolled back" not in failed.stdout


def test_drift_exits_1_and_an_error_before_any_change_exits_3(tmp_path: Path) -> None:
    repo, config = _app(tmp_path)
    assert agent("sync", "-c", str(config)).returncode == 0
    patched = agent(
        "emulator",
        "patch",
        "deployment",
        "web",
        "-n",
        "web",
        "-c",
        str(config),
        "-p",
        '{"spec":{"replicas":2}}',
    )
    assert patched.returncode == 0, patched.stderr
    assert agent("diff", "-c", str(config)).returncode == 1
    assert agent("status", "-c", str(config)).returncode == 1
    repo.write("app/web.yaml", "kind: [not, an, object")
    repo.commit("not YAML")
    for command in ("sync", "diff", "status"):
        done = agent(command, "-c", str(config))
        assert done.returncode == 3, (command, done.stdout, done.stderr)
