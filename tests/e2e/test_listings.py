"""status and history in every -o format, manifests of a revision, diff
between two revisions or commits, and --help for every command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.support.commands import agent
from tests.support.repos import GitRepo, write_config

pytestmark = pytest.mark.e2e

SECRET = "c2VjcmV0LXZhbHVl"  # base64 of a value no output may show


@pytest.fixture
def two_revisions(tmp_path: Path) -> tuple[GitRepo, str, list[str]]:
    repo = GitRepo(tmp_path / "repo")
    repo.write(
        "app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {size: small}\n"
    )
    repo.write(
        "app/secret.yaml", f"apiVersion: v1\nkind: Secret\nmetadata: {{name: creds}}\ndata: {{p: {SECRET}}}\n"
    )
    commits = [repo.commit("one")]
    config = write_config(
        tmp_path / "agent.yaml",
        f"""
        cluster: {{emulated: {{path: {tmp_path / "cluster.db"}}}}}
        stateDir: {tmp_path / "state"}
        source: {{allowedSchemes: [file]}}
        apps:
          - {{name: web, repo: {repo.path}, path: app, namespace: web, syncPolicy: {{createNamespace: true}}}}
        """,
    )
    assert agent("sync", "-c", str(config)).returncode == 0
    repo.write(
        "app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {size: large}\n"
    )
    commits.append(repo.commit("two"))
    assert agent("sync", "-c", str(config)).returncode == 0
    return repo, str(config), commits


def test_history_in_every_format_links_manifests_and_diffs(
    two_revisions: tuple[GitRepo, str, list[str]],
) -> None:
    _, config, commits = two_revisions
    assert agent("history", "web", "-c", config, "-o", "name").stdout == "1\n2\n"
    wide = agent("history", "web", "-c", config, "-o", "wide").stdout
    assert commits[0] in wide and commits[1] in wide  # whole commits
    assert [
        r["number"]
        for r in json.loads(agent("history", "web", "-c", config, "-o", "json").stdout)["revisions"]
    ] == [1, 2]
    assert yaml.safe_load(agent("history", "web", "-c", config, "-o", "yaml").stdout)["kind"] == "History"
    for fmt in ("markdown", "html"):
        doc = agent("history", "web", "-c", config, "-o", fmt).stdout
        assert "#revision-2-diff" in doc and "#revision-1-manifests" in doc and 'id="revision-2-diff"' in doc
        assert "-  size: small" in doc and "+  size: large" in doc  # the diff from revision 1
        assert "(HEAD)" not in doc and SECRET not in doc and "secret:" in doc
    table = agent("history", "web", "-c", config).stdout
    assert "(HEAD)" not in table


def test_manifests_and_diff_between_revisions_and_commits(
    two_revisions: tuple[GitRepo, str, list[str]],
) -> None:
    _, config, commits = two_revisions
    first = agent("manifests", "web", "--revision", "1", "-c", config)
    assert first.returncode == 0, first.stderr
    docs = [d for d in yaml.safe_load_all(first.stdout) if d]
    assert {d["kind"] for d in docs} == {"ConfigMap", "Secret"} and SECRET not in first.stdout
    assert "size: small" in first.stdout and commits[0] in first.stdout
    assert "size: large" in agent("manifests", "web", "-c", config).stdout  # default: the last
    missing = agent("manifests", "web", "--revision", "9", "-c", config)
    assert missing.returncode == 3 and "no revision 9 recorded (kept: 1, 2)" in missing.stderr

    numbers = agent("diff", "web", "--from", "1", "--to", "2", "-c", config)
    assert numbers.returncode == 1, numbers.stderr
    assert "ConfigMap/web/settings changed" in numbers.stdout and "+  size: large" in numbers.stdout
    assert "Secret" not in numbers.stdout  # unchanged objects are not shown
    by_commit = json.loads(
        agent("diff", "web", "--from", commits[0], "--to", commits[1], "-c", config, "-o", "json").stdout
    )
    assert [o["object"] for o in by_commit["objects"]] == ["ConfigMap/web/settings"]
    assert (
        agent("diff", "web", "--from", "2", "--to", commits[1], "-c", config).returncode == 0
    )  # the same objects
    assert agent("diff", "web", "--from", "1", "-c", config).returncode == 2  # --to missing: usage


def test_status_in_every_format(two_revisions: tuple[GitRepo, str, list[str]]) -> None:
    _, config, commits = two_revisions
    assert agent("status", "-c", config, "-o", "name").stdout == "web\n"
    assert commits[1] in agent("status", "-c", config, "-o", "wide").stdout
    assert (
        yaml.safe_load(agent("status", "-c", config, "-o", "yaml").stdout)["apps"][0]["syncStatus"]
        == "Synced"
    )
    md = agent("status", "-c", config, "-o", "markdown").stdout
    assert md.startswith("# Status") and "| `web` | Synced | Healthy |" in md
    html = agent("status", "-c", config, "-o", "html").stdout
    assert html.startswith("<!DOCTYPE html>") and 'id="app-web"' in html and "emulated cluster at" in html


def test_every_help_has_examples_and_no_python_types() -> None:
    top = agent("--help").stdout
    commands = re.findall(r"^  (\w[\w-]*)  ", top.split("Commands:")[1], re.MULTILINE)
    assert {"sync", "diff", "status", "history", "manifests", "init", "version", "completion"} <= set(
        commands
    )
    for command in [[], *([c] for c in commands), ["emulator", "get"], ["emulator", "serve"]]:
        text = agent(*command, "--help").stdout
        assert "Examples:" in text, command
        assert not re.search(r"<(list\[|str>|int>|path>|float>)", text), (command, text)
