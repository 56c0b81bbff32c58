"""What a command loads before it does its work: start-up time.

Every Python module a command imports costs start-up time on every run, so a
command imports what it uses and nothing more.  These tests run the command in
a fresh interpreter with ``-X importtime`` (the test process has imported
everything already) and read the list of modules it loaded: deterministic,
unlike a timing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.repos import GitRepo, write_config

pytestmark = pytest.mark.e2e

# Loaded only where they are used: deepdiff at the first difference, jsonschema
# (with referencing and attrs) when an object or values are checked against a
# schema, jinja2 and the chart sandbox for charts and Markdown/HTML reports,
# rich.progress for a progress bar on a terminal.
HEAVY = (
    "deepdiff",
    "jsonschema",
    "referencing",
    "attrs",
    "jinja2",
    "rich.progress",
    "agent.render.templates",
)
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)$", re.MULTILINE)


def imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args], capture_output=True, text=True, env=env, timeout=120
    )
    return done, set(_IMPORTED.findall(done.stderr))


def run_agent(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    return imported("-m", "agent", *args)


@pytest.fixture
def plain_app(tmp_path: Path) -> Path:
    """A plain-YAML app (no chart) on the embedded emulated cluster."""
    repo = GitRepo(tmp_path / "repo")
    repo.write(
        "app/config.yaml",
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {greeting: hello}
        """,
    )
    repo.commit("app")
    return write_config(
        tmp_path / "agent.yaml",
        f"""
        cluster:
          emulated: {{path: {tmp_path / "cluster.db"}}}
        stateDir: {tmp_path / "state"}
        source: {{allowedSchemes: [file]}}
        apps:
          - name: plain
            repo: {repo.path}
            path: app
            namespace: plain
            openapiValidation: false
            syncPolicy: {{createNamespace: true}}
        """,
    )


def test_sync_diff_status_of_plain_yaml_load_none_of_the_heavy_modules(plain_app: Path) -> None:
    for command in ("sync", "sync", "diff", "status"):  # a cold sync, then a sync with nothing to do
        done, modules = run_agent(command, "-c", str(plain_app), "-o", "json")
        assert done.returncode == 0, done.stdout + done.stderr
        assert '"plain"' in done.stdout
        assert {"agent.sync.pipeline", "pydantic", "git"} <= modules  # the list is read right
        assert sorted(m for m in HEAVY if m in modules) == [], command


def test_drift_loads_deepdiff_and_markdown_loads_jinja2(plain_app: Path) -> None:
    assert run_agent("sync", "-c", str(plain_app))[0].returncode == 0
    patched = run_agent(
        "emulator", "patch", "configmap", "settings", "-n", "plain", "-c", str(plain_app),
        "-p", '{"data": {"greeting": "changed by hand"}}',
    )[0]  # fmt: skip
    assert patched.returncode == 0, patched.stderr
    done, modules = run_agent("diff", "-c", str(plain_app), "-o", "markdown")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "data.greeting" in done.stdout
    assert {"deepdiff", "jinja2"} <= modules
    assert "agent.render.templates" not in modules  # still no chart


def test_what_a_sync_imports_before_it_connects() -> None:
    """The modules a sync imports up front, on the emulated cluster and on a
    real one (the official client's parts it uses, not its dynamic client,
    which loads jsonschema through kubernetes-validate)."""
    code = (
        "import sys, agent.cli, agent.sync.pipeline, agent.report, agent.emulator; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

    _, modules = imported("-c", "import agent.cli, agent.sync.pipeline, agent.report, agent.cluster.kube")
    assert {"kubernetes.client.rest", "kubernetes.config.kube_config"} <= modules
    # the package's __init__ is not run (agent.cluster.lightly): no dynamic client, no streams
    assert (
        sorted(m for m in ("kubernetes.dynamic", "kubernetes.stream", "kubernetes.watch") if m in modules)
        == []
    )
    not_needed = ("deepdiff", "jinja2", "rich.progress", "agent.render.templates")
    assert sorted(m for m in not_needed if m in modules) == []


def test_help_loads_neither_the_configuration_nor_a_stage() -> None:
    done, modules = run_agent("--help")
    assert done.returncode == 0, done.stderr
    assert "sync" in done.stdout
    assert "typer" in modules
    unexpected = ("pydantic", "yaml", "agent.config", "agent.diff", "agent.sync", "git", "kubernetes", *HEAVY)
    assert sorted(m for m in unexpected if m in modules) == []
