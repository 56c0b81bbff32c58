"""The same chart and values give the same bytes, in any process.

Drift detection compares what Git renders to what the cluster has: if two
renders of one commit differed (hash seeds, dict order, file listing order),
every reconcile would see drift that is not there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.render import Release, RenderRequest, parse_set, render
from agent.render.manifests import to_yaml_stream
from tests.support.repos import EXAMPLES, PROJECT, GitRepo

ARGS = ["--set", "replicas=3,auth.password=p4ss", "--release", "cache", "-n", "data"]


def cli_render(chart: Path, seed: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "agent", "render", str(chart), *args],
        capture_output=True,
        env=env,
        cwd=PROJECT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("app", ["redis", "guestbook"])
def test_byte_identical_across_processes(app: str) -> None:
    chart = EXAMPLES / "apps" / app
    args = ARGS if app == "redis" else []
    runs = [cli_render(chart, seed, *args) for seed in ("1", "2")]
    for r in runs:
        assert r.returncode == 0, r.stderr.decode()
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.startswith(b"---\n# Source: ")


def test_cli_bytes_equal_the_library_bytes() -> None:
    chart = EXAMPLES / "apps" / "redis"
    out = cli_render(chart, "7", *ARGS)
    assert out.returncode == 0, out.stderr.decode()
    result = render(
        RenderRequest(
            root=PROJECT,
            path="examples-repo/apps/redis",
            label=str(chart),
            release=Release("cache", "data"),
            overrides=[parse_set(["replicas=3,auth.password=p4ss"])],
        )
    )
    assert out.stdout.decode() == to_yaml_stream(result.manifests)
    assert (
        "NOTES:\nRedis 7.2.5 runs as StatefulSet cache-redis (3 replicas) in namespace data."
        in out.stderr.decode()
    )


def test_cli_errors_are_one_line_and_exit_3(tmp_path: Path) -> None:
    chart = EXAMPLES / "apps" / "redis"
    out = cli_render(chart, "0", "--set", "auth.password=")
    assert out.returncode == 3
    err = out.stderr.decode()
    assert err.startswith("error: ") and "auth.password is required" in err and "Traceback" not in err
    assert out.stdout == b""


def test_cli_render_options(tmp_path: Path) -> None:
    values = tmp_path / "mine.yaml"
    values.write_text("exporter: {enabled: false}\nbackup: {enabled: false}\n")
    chart = EXAMPLES / "apps" / "redis"
    out = cli_render(
        chart,
        "0",
        "-f",
        str(values),
        "--set-string",
        "image.tag=7",
        "--kube-version",
        "1.30",
        "--no-validate",
    )
    assert out.returncode == 0, out.stderr.decode()
    text = out.stdout.decode()
    assert "image: docker.io/library/redis:7\n" in text
    assert "name: redis-metrics" not in text and "kind: RedisBackup\nmetadata" not in text


def test_cli_renders_each_example_app_from_the_config(tmp_path: Path) -> None:
    """The apps read the repository at its committed HEAD, as in the quick start."""
    repo = GitRepo(tmp_path / "project")
    shutil.copytree(EXAMPLES, repo.path / "examples-repo", ignore=shutil.ignore_patterns(".gitops-agent"))
    repo.commit("examples")
    config = str(repo.path / "examples-repo" / "agent.yaml")
    for app in ("guestbook-staging", "guestbook-production", "hello", "redis"):
        out = subprocess.run(
            [sys.executable, "-m", "agent", "render", app, "-c", config],
            capture_output=True,
            cwd=PROJECT,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, (app, out.stderr.decode())
        expected = (Path(__file__).parent / "fixtures" / "golden" / f"{app}.yaml").read_text()
        assert out.stdout.decode() == expected.split("# NOTES:\n")[0]
