"""The command line as a new user runs it, on a copy of examples-repo."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.support.commands import agent
from tests.support.repos import EXAMPLES, GitRepo

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(tmp_path: Path) -> GitRepo:
    """A checkout like the project's own: examples-repo/ committed in git."""
    repo = GitRepo(tmp_path / "project")
    shutil.copytree(EXAMPLES, repo.path / "examples-repo", ignore=shutil.ignore_patterns(".gitops-agent"))
    repo.commit("examples")
    return repo


def db_rows(path: Path) -> list[tuple[str, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT grp, resource, namespace, name, rv FROM objects ORDER BY 1, 2, 3, 4"
        ).fetchall()


def test_quickstart_sync_then_nothing_to_do(project: GitRepo) -> None:
    config = project.path / "examples-repo" / "agent.yaml"
    first = agent("sync", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "Deployment/guestbook-production/guestbook-production" in first.stdout
    assert "✔ guestbook-production: 4 created; revision 1 recorded" in first.stdout
    assert "✔ hello: 4 created; revision 1 recorded" in first.stdout
    assert "✔ redis: 10 created; revision 1 recorded" in first.stdout
    assert "production-secret-value" not in first.stdout + first.stderr

    db = project.path / "examples-repo" / ".gitops-agent" / "cluster.db"
    before = db_rows(db)
    second = agent("sync", "--config", str(config))
    assert second.returncode == 0, second.stderr
    for app, count in (("guestbook-staging", 4), ("guestbook-production", 4), ("hello", 4), ("redis", 10)):
        # nothing recorded: the line ends with the sync's time
        assert re.search(rf"^✔ {app}: {count} unchanged \(\d+\.\d s\)$", second.stdout, re.MULTILINE)
    assert db_rows(db) == before  # nothing written: same objects, same resourceVersions


def test_diff_exit_codes_and_named_field(project: GitRepo) -> None:
    config = str(project.path / "examples-repo" / "agent.yaml")
    assert agent("sync", "-c", config).returncode == 0
    clean = agent("diff", "-c", config)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    patched = agent(
        "emulator",
        "patch",
        "deployment",
        "hello",
        "-n",
        "hello",
        "-c",
        config,
        "-p",
        '{"spec": {"replicas": 4}}',
    )
    assert patched.returncode == 0, patched.stderr
    drifted = agent("diff", "-c", config)
    assert drifted.returncode == 1
    assert "Deployment/hello/hello modified" in drifted.stdout
    assert "spec.replicas: git 1 live 4 (gitops-agent-cli, " in drifted.stdout

    doc = json.loads(agent("diff", "-c", config, "-o", "json", "hello").stdout)
    assert doc["schemaVersion"] == "gitops-agent.io/report/v1"
    (app,) = doc["apps"]
    assert app["syncStatus"] == "OutOfSync"
    changed = [o for o in app["objects"] if o["status"] == "modified"]
    (change,) = changed[0]["changes"]
    assert {k: change[k] for k in ("path", "desired", "live", "kind")} == {
        "path": "spec.replicas",
        "desired": 1,
        "live": 4,
        "kind": "changed",
    }
    assert change["manager"] == "gitops-agent-cli" and change["time"].endswith("Z")  # who changed it

    md = agent("diff", "-c", config, "-o", "markdown", "hello").stdout
    assert "| `Deployment/hello/hello` | modified | `spec.replicas` | `1` | `4` |" in md


def test_secret_values_never_printed(project: GitRepo) -> None:
    config = str(project.path / "examples-repo" / "agent.yaml")
    agent("sync", "-c", config)
    agent(
        "emulator",
        "patch",
        "secret",
        "guestbook-staging-redis",
        "-n",
        "guestbook-staging",
        "-c",
        config,
        "-p",
        '{"data": {"password": "bGVha2VkLXZhbHVl"}}',
    )
    outputs = [agent("diff", "-c", config, "-o", fmt) for fmt in ("text", "json", "markdown")]
    outputs.append(agent("sync", "-c", config, "-o", "json"))
    for out in outputs:
        text = out.stdout + out.stderr
        for secret in (
            "staging-not-so-secret",
            "c3RhZ2luZy1ub3Qtc28tc2VjcmV0",
            "leaked-value",
            "bGVha2VkLXZhbHVl",
        ):
            assert secret not in text
    assert "data.password" in outputs[0].stdout


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (
            lambda p: (p / "examples-repo" / "agent.yaml").write_text("apps:\n  - name: x\n    repo: [\n"),
            "agent.yaml:",
        ),
        (
            lambda p: (p / "examples-repo" / "agent.yaml").write_text(
                "source: {allowedSchemes: [file]}\n"
                "apps:\n  - name: x\n    repo: ..\n    path: examples-repo/apps/missing\n"
            ),
            "examples-repo/apps/missing: folder not found",
        ),
        (
            lambda p: (p / "examples-repo" / "apps" / "guestbook" / "templates" / "broken.yaml").write_text(
                "x: {{ values.no_such_value }}\n"
            ),
            "examples-repo/apps/guestbook/templates/broken.yaml:1:",
        ),
    ],
    ids=["malformed-config", "missing-chart-folder", "template-error"],
)
def test_bad_input_one_clear_line_and_no_change(project: GitRepo, setup, expected: str) -> None:  # type: ignore[no-untyped-def]
    config = project.path / "examples-repo" / "agent.yaml"
    assert agent("sync", "-c", str(config)).returncode == 0
    db = project.path / "examples-repo" / ".gitops-agent" / "cluster.db"
    before = db_rows(db)
    setup(project.path)
    project.commit("break it")
    # only the apps the breakage touches (the others may sync on)
    apps = ["guestbook-staging", "guestbook-production"] if "guestbook" in expected else []
    result = agent("sync", "-c", str(config), *apps)
    assert result.returncode == 3
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]
    assert errors and expected in errors[0]
    assert "Traceback" not in result.stderr
    assert db_rows(db) == before


def test_render_command_prints_manifests(project: GitRepo) -> None:
    chart = project.path / "examples-repo" / "apps" / "guestbook"
    out = agent(
        "render",
        str(chart),
        "-f",
        str(chart / "values-production.yaml"),
        "--set",
        "replicaCount=7",
        "-n",
        "prod",
        "--release",
        "gb",
    )
    assert out.returncode == 0, out.stderr
    assert "replicas: 7" in out.stdout and "namespace: prod" in out.stdout
    by_app = agent("render", "hello", "-c", str(project.path / "examples-repo" / "agent.yaml"))
    assert by_app.returncode == 0, by_app.stderr
    assert "kind: Deployment" in by_app.stdout


def test_version_and_help() -> None:
    assert agent("--version").stdout.startswith("gitops-agent ")
    help_text = agent("--help").stdout
    for command in ("sync", "diff", "render", "emulator"):
        assert command in help_text


def test_status_history_and_rollback_commands(project: GitRepo) -> None:
    config = str(project.path / "examples-repo" / "agent.yaml")
    assert agent("sync", "-c", config, "hello").returncode == 0
    deploy = project.path / "examples-repo" / "apps" / "hello" / "app.yaml"
    deploy.write_text(deploy.read_text().replace("replicas: 1", "replicas: 2"))
    project.commit("scale hello")
    assert agent("sync", "-c", config, "hello").returncode == 0

    history = agent("history", "hello", "-c", config)
    assert history.returncode == 0, history.stderr
    rows = [line.split() for line in history.stdout.splitlines()[1:]]
    assert [r[0] for r in rows] == ["1", "2"] and all("Succeeded" in r for r in rows)

    back = agent("rollback", "hello", "--to", "1", "-c", config)
    assert back.returncode == 0, back.stdout + back.stderr
    assert "rolled back to revision 1" in back.stdout
    held = agent("sync", "-c", config, "hello")
    assert held.returncode == 8 and "held at revision 3" in held.stdout

    st = agent("status", "-c", config, "hello", "-o", "json")
    (app,) = json.loads(st.stdout)["apps"]
    assert (
        app["syncStatus"] == "OutOfSync" and app["lastRevision"] == 3 and app["lastOperation"] == "rollback"
    )
    assert st.returncode == 1
    judged = {r["object"]: r for r in app["resources"]}  # each object's health and its deciding rule
    assert all(r["health"] == "Healthy" and r["rule"].startswith("built-in") for r in judged.values()), judged
    assert any(o.startswith("Deployment/") for o in judged)
    table = agent("status", "-c", config, "hello")
    assert "OutOfSync" in table.stdout and "rollback" in table.stdout
