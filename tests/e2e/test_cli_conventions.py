"""What kubectl, helm, argocd and flux users expect of a command line:
completion, version, init, progress and whole lines where no terminal is."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.commands import agent
from tests.support.repos import EXAMPLES, GIT_ENV

pytestmark = pytest.mark.e2e


def test_completion_scripts_complete_commands_and_options_in_bash(tmp_path: Path) -> None:
    for shell, marker in (
        ("bash", "complete -o default -F"),
        ("zsh", "#compdef gitops-agent"),
        ("fish", "complete"),
    ):
        done = agent("completion", shell)
        assert done.returncode == 0 and marker in done.stdout, (shell, done.stderr)
    assert agent("completion", "tcsh").returncode == 2
    # the bash script, sourced in a real bash, asks the agent and fills COMPREPLY
    script = tmp_path / "completion.bash"
    script.write_text(agent("completion", "bash").stdout)
    shim = tmp_path / "bin" / "gitops-agent"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {os.sys.executable} -m agent "$@"\n')
    shim.chmod(0o755)
    probe = (
        f"source {script}; COMP_WORDS=(gitops-agent sy); COMP_CWORD=1; _gitops_agent_completion gitops-agent;"
        ' echo "${COMPREPLY[@]}"; COMP_WORDS=(gitops-agent sync --dry); COMP_CWORD=2;'
        ' _gitops_agent_completion gitops-agent; echo "${COMPREPLY[@]}";'
        " COMP_WORDS=(gitops-agent history gu); COMP_CWORD=2;"
        ' _gitops_agent_completion gitops-agent; echo "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{shim.parent}:{os.environ['PATH']}"}
    env["GITOPS_AGENT_CONFIG"] = str(EXAMPLES / "agent.yaml")  # the apps' names come from it
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    said = done.stdout.split("\n")
    assert said[:3] == ["sync", "--dry-run", "guestbook-staging guestbook-production"], (
        done.stdout + done.stderr
    )


def test_version_names_agent_python_renderers_and_cluster(tmp_path: Path) -> None:
    agent("init", str(tmp_path / "repo"))
    done = agent("version", "-c", str(tmp_path / "repo" / "agent.yaml"), "-o", "json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["agent"] and found["python"].count(".") == 2
    renderers = found["renderers"]
    assert renderers["jinja"].startswith("jinja2 3.") and renderers["kustomize"].startswith("v5.")
    assert "helm" in renderers  # its version, or that it is not installed
    assert (
        found["cluster"]["version"].startswith("v1.") and "emulated cluster at" in found["cluster"]["server"]
    )
    client = json.loads(agent("version", "--client", "-o", "json").stdout)
    assert "cluster" not in client


def test_init_makes_a_repository_that_syncs_and_never_overwrites(tmp_path: Path) -> None:
    where = tmp_path / "deploys"
    env_identity = {**os.environ, **GIT_ENV}
    made = subprocess.run(
        [os.sys.executable, "-m", "agent", "init", str(where), "--app", "shop"],
        capture_output=True, text=True, env=env_identity, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (where / "agent.yaml").is_file() and (where / "apps" / "shop" / "app.yaml").is_file()
    assert "first commit" in made.stdout
    synced = agent("sync", "-c", str(where / "agent.yaml"))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "✔ shop: 4 created; revision 1 recorded" in synced.stdout
    again = agent("init", str(where), "--app", "shop")
    assert again.returncode == 3 and "already exist" in again.stderr
    assert agent("init", str(tmp_path / "x"), "--app", "Not_A_Label").returncode == 2


def test_progress_lines_where_no_terminal_is_and_each_step_with_verbose(tmp_path: Path) -> None:
    agent("init", str(tmp_path / "repo"))
    config = str(tmp_path / "repo" / "agent.yaml")
    verbose = agent("-v", "sync", "-c", config)
    assert verbose.returncode == 0, verbose.stderr
    assert "hello: created Deployment/hello/hello (" in verbose.stderr  # each step, as it happens
    # a sync that waits: a Deployment that never becomes ready, the health timeout given by --timeout
    app = tmp_path / "repo" / "apps" / "hello" / "app.yaml"
    app.write_text(app.read_text().replace("nginx:1.27", "nginx:does-not-exist"))
    subprocess.run(
        ["git", "commit", "-qam", "broken"], cwd=app.parent, env={**os.environ, **GIT_ENV}, check=True
    )
    env = {**os.environ, "NO_COLOR": "1", "GITOPS_AGENT_PROGRESS_SECONDS": "0.5"}
    waited = subprocess.run(
        [os.sys.executable, "-m", "agent", "sync", "-c", config, "--timeout", "3"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert waited.returncode == 7, waited.stdout + waited.stderr  # failed, rolled back
    lines = [line for line in waited.stderr.splitlines() if line.startswith("hello: ")]
    assert len(lines) >= 3, waited.stderr  # a line every half second while it waited
    assert (
        "HealthTimeout" in agent("history", "hello", "-c", config, "-o", "json").stdout
        or "3" in waited.stdout
    )


def test_tables_are_not_cut_where_no_terminal_is(tmp_path: Path) -> None:
    agent("init", str(tmp_path / "repo"))
    config = tmp_path / "repo" / "agent.yaml"
    config.write_text(config.read_text().replace("path: apps/hello", "path: apps/" + "x" * 150))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [os.sys.executable, "-m", "agent", "status", "-c", str(config)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert "x" * 150 in done.stdout and "…" not in done.stdout, done.stdout


def test_config_schema_and_validate(tmp_path: Path) -> None:
    from tests.support.repos import PROJECT

    schema = agent("config", "schema")
    assert (
        schema.returncode == 0 and schema.stdout == (PROJECT / "templates" / "agent.schema.json").read_text()
    )
    good = agent("config", "validate", str(EXAMPLES / "agent.yaml"))
    assert good.returncode == 0 and "valid (6 apps:" in good.stdout
    bad = tmp_path / "agent.yaml"
    bad.write_text("apps:\n  - {name: a, repo: r, syncPolicy: {healthTimeoutSeconds: 0}}\n")
    done = agent("config", "validate", str(bad))
    assert done.returncode == 3
    assert f"{bad}: apps[0].syncPolicy.healthTimeoutSeconds: must be > 0" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_short_help_and_the_emulator_commands_name_their_cluster(tmp_path: Path) -> None:
    assert agent("sync", "-h").stdout.startswith("Usage: gitops-agent sync")
    agent("init", str(tmp_path / "repo"))
    config = str(tmp_path / "repo" / "agent.yaml")
    got = agent("emulator", "get", "namespaces", "-c", config)
    assert got.returncode == 0 and "namespace/default" in got.stdout
    assert got.stderr.startswith(
        f"cluster: emulated cluster at {tmp_path / 'repo' / '.gitops-agent' / 'cluster.db'}"
    )
    assert agent("emulator", "get", "namespaces", "-c", config, "-q").stderr == ""
