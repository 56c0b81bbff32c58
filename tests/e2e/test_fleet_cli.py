"""``gitops-agent apps`` and ``--selector``, as a user runs them: a fleet
declared in a real repository (an app-of-apps and an AppSet), listed,
selected by labels, and synced by the name only Git declares."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.emulator import EmulatedCluster
from tests.support import apiserver
from tests.support.commands import agent
from tests.support.repos import GitRepo, write_config

pytestmark = pytest.mark.e2e

APPS = """\
apiVersion: gitops-agent.io/v1alpha1
kind: Application
metadata: {name: web, labels: {team: shop}}
spec: {path: apps/web, namespace: web, syncPolicy: {createNamespace: true}}
---
apiVersion: gitops-agent.io/v1alpha1
kind: AppSet
metadata: {name: teams}
spec:
  generators:
    - list: {elements: [{team: data}, {team: search}]}
  template:
    metadata: {name: "{{ team }}-api", labels: {team: "{{ team }}"}}
    spec: {path: "apps/api", namespace: "{{ team }}", syncPolicy: {createNamespace: true}}
"""


def configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{app: {name}}}\n"


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[str, Path]:
    repo = GitRepo(tmp_path / "repo")
    repo.write("fleet/apps.yaml", APPS)
    repo.write("apps/web/cm.yaml", configmap("web"))
    repo.write("apps/api/cm.yaml", configmap("api"))
    repo.commit("a fleet")
    config = write_config(
        tmp_path / "agent.yaml",
        f"""
        cluster: {{emulated: {{path: {tmp_path / "cluster.db"}}}}}
        stateDir: {tmp_path / "state"}
        source: {{allowedSchemes: [file]}}
        apps:
          - {{name: root, repo: {repo.path}, path: fleet, namespace: default, labels: {{team: platform}}}}
        """,
    )
    return str(config), tmp_path / "cluster.db"


def test_apps_lists_the_fleet_with_origins(fleet: tuple[str, Path]) -> None:
    config, _ = fleet
    done = agent("apps", "-c", config)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert rows[0] == ["NAME", "CLUSTER", "NAMESPACE", "SOURCE", "ORIGIN", "LABELS"]
    assert [(r[0], r[-2], r[-1]) for r in rows[1:]] == [
        ("root", "config", "team=platform"),
        ("web", "root", "team=shop"),
        ("data-api", "teams", "team=data"),
        ("search-api", "teams", "team=search"),
    ]
    assert rows[2][5] == "app" and rows[3][5] == "appset"
    document = json.loads(agent("apps", "-c", config, "-o", "json").stdout)
    assert document["problems"] == []
    assert document["apps"][1]["origin"] == {"kind": "app", "parent": "root"}
    assert document["apps"][2]["path"] == "apps/api" and document["apps"][2]["namespace"] == "data"
    selected = json.loads(agent("apps", "-c", config, "-o", "json", "-l", "team!=shop,team!=platform").stdout)
    assert [a["name"] for a in selected["apps"]] == ["data-api", "search-api"]


def test_sync_by_selector_and_by_a_name_only_git_declares(fleet: tuple[str, Path]) -> None:
    config, db = fleet
    done = agent("sync", "-c", config, "--selector", "team=data", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert [a["app"] for a in json.loads(done.stdout)["apps"]] == ["data-api"]
    done = agent("sync", "-c", config, "web")
    assert done.returncode == 0, done.stderr
    cluster = EmulatedCluster(db)
    try:
        assert cluster.get("v1", "ConfigMap", "api", "data")["data"] == {"app": "api"}
        assert cluster.get("v1", "ConfigMap", "web", "web") is not None
        assert cluster.get("v1", "ConfigMap", "api", "search") is None  # not selected
    finally:
        cluster.close()
    status = agent("status", "-c", config, "-l", "team=data", "-o", "json")
    assert status.returncode == 0, status.stderr
    assert [a["app"] for a in json.loads(status.stdout)["apps"]] == ["data-api"]


def test_render_and_diff_between_commits_take_a_name_only_git_declares(fleet: tuple[str, Path]) -> None:
    config, db = fleet
    rendered = agent("render", "search-api", "-c", config)
    assert rendered.returncode == 0, rendered.stderr
    assert "name: api" in rendered.stdout and "namespace: search" in rendered.stdout
    same = agent("diff", "web", "--from", "HEAD", "--to", "HEAD", "-c", config)
    assert same.returncode == 0, same.stderr
    assert "= web: HEAD and HEAD render the same objects" in same.stdout
    missing = agent("render", "nope", "-c", config)
    assert missing.returncode == 3 and "no app named 'nope' in the fleet" in missing.stderr
    assert not db.exists() or _no_configmaps(db)  # reading the fleet changed nothing in the cluster


def _no_configmaps(db: Path) -> bool:
    cluster = EmulatedCluster(db)
    try:
        wanted = (("web", "web"), ("api", "search"), ("api", "data"))
        return all(cluster.get("v1", "ConfigMap", name, ns) is None for name, ns in wanted)
    finally:
        cluster.close()


def test_selector_errors(fleet: tuple[str, Path]) -> None:
    config, _ = fleet
    bad = agent("sync", "-c", config, "-l", "team=s p")
    assert bad.returncode == 2 and "--selector: 'team=s p' is not a label selector term" in bad.stderr
    none = agent("diff", "-c", config, "-l", "team=nobody")
    assert none.returncode == 3
    assert "no app matches --selector team=nobody (4 apps in the fleet)" in none.stderr
    unknown = agent("sync", "-c", config, "nope")
    assert unknown.returncode == 3 and "no app named 'nope' in the fleet" in unknown.stderr


def test_problems_are_listed_after_the_apps(fleet: tuple[str, Path], tmp_path: Path) -> None:
    config, _ = fleet
    repo = GitRepo.__new__(GitRepo)
    repo.path = tmp_path / "repo"
    repo.write("fleet/apps.yaml", APPS.replace("path: apps/web", "path: /etc"))
    repo.commit("a bad path")
    done = agent("apps", "-c", config)
    assert done.returncode == 3
    assert "1 problem(s):" in done.stdout
    assert (
        "fleet/apps.yaml (document 1): Application web: spec.path: '/etc' must be a path inside"
        in done.stdout
    )
    assert "Traceback" not in done.stderr


def test_a_fleet_synced_into_the_real_api_server(tmp_path: Path, real: apiserver.RealServer) -> None:
    """The real server serves no gitops-agent.io kinds: a document sent to it
    would fail the sync. The AppSet's memory is a ConfigMap it stores."""
    repo = GitRepo(tmp_path / "repo")
    repo.write("fleet/apps.yaml", APPS)
    repo.write("apps/web/cm.yaml", configmap("web"))
    repo.write("apps/api/cm.yaml", configmap("api"))
    repo.commit("a fleet")
    config = write_config(
        tmp_path / "agent.yaml",
        f"""
        cluster: {{kubeconfig: {{path: {real.kubeconfig}}}}}
        stateDir: {tmp_path / "state"}
        source: {{allowedSchemes: [file]}}
        apps:
          - {{name: root, repo: {repo.path}, path: fleet, namespace: default}}
        """,
    )
    done = agent("sync", "-c", str(config), "-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    synced = {a["app"]: a for a in json.loads(done.stdout)["apps"]}
    assert sorted(synced) == ["data-api", "root", "search-api", "web"]
    for name, namespace in (("web", "web"), ("api", "data"), ("api", "search")):
        assert apiserver.kubectl_json(real, "get", "configmap", name, "-n", namespace)["data"]["app"] in (
            "web",
            "api",
        )
    state = apiserver.kubectl_json(
        real, "get", "configmap", "gitops-agent.appset.teams", "-n", "gitops-agent"
    )
    kept = json.loads(gzip.decompress(base64.b64decode(state["binaryData"]["apps.json.gz"])))
    assert sorted(a["name"] for a in kept) == ["data-api", "search-api"]


def test_a_dry_run_keeps_no_appset_memory(fleet: tuple[str, Path]) -> None:
    config, db = fleet
    done = agent("sync", "-c", config, "--dry-run")
    assert done.returncode == 0, done.stderr
    cluster = EmulatedCluster(db)
    try:
        assert cluster.get("v1", "ConfigMap", "gitops-agent.appset.teams", "gitops-agent") is None
    finally:
        cluster.close()
    assert agent("sync", "-c", config, "-l", "team=search").returncode == 0
    cluster = EmulatedCluster(db)
    try:
        assert cluster.get("v1", "ConfigMap", "gitops-agent.appset.teams", "gitops-agent") is not None
    finally:
        cluster.close()


def _complete(tmp_path: Path, config: str, words: str) -> subprocess.CompletedProcess[str]:
    """The bash completion script, sourced in a real bash, completing ``words``."""
    script = tmp_path / "completion.bash"
    script.write_text(agent("completion", "bash").stdout)
    shim = tmp_path / "bin" / "gitops-agent"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m agent "$@"\n')
    shim.chmod(0o755)
    typed = words.split(" ")  # the last is the word being completed ("" after a space)
    quoted = " ".join(f"'{w}'" for w in typed)
    probe = (
        f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(typed) - 1};"
        ' _gitops_agent_completion gitops-agent; echo "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{shim.parent}:{os.environ['PATH']}", "GITOPS_AGENT_CONFIG": config}
    return subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=60)


def test_completion_offers_the_apps_git_declares_once_the_fleet_was_resolved(
    tmp_path: Path, fleet: tuple[str, Path]
) -> None:
    config, _ = fleet
    before = _complete(tmp_path, config, "gitops-agent status ")
    assert before.returncode == 0 and before.stderr == ""
    assert before.stdout.split() == ["root"]  # nothing resolved yet: agent.yaml's apps, no error
    assert agent("apps", "-c", config).returncode == 0  # a resolve leaves the fleet's names in stateDir
    after = _complete(tmp_path, config, "gitops-agent status ")
    assert after.stdout.split() == ["root", "web", "data-api", "search-api"], after.stderr
    assert after.stderr == ""
    assert _complete(tmp_path, config, "gitops-agent sync da").stdout.split() == ["data-api"]
    kept = Path(config).parent / "state" / "fleet.json"
    kept.write_text("{not json")  # a damaged file: agent.yaml's apps, quietly
    damaged = _complete(tmp_path, config, "gitops-agent status ")
    assert damaged.stdout.split() == ["root"] and damaged.stderr == ""
    missing = _complete(tmp_path, str(tmp_path / "nowhere.yaml"), "gitops-agent status ")
    assert missing.returncode == 0 and missing.stdout.split() == [] and missing.stderr == ""
