"""The command line against a real kube-apiserver (tests/apiserver): the
example apps and the drift corpus synced with no false drift, drift made
with kubectl reported and healed, pruning, rollback of a refused change.

No controller-manager or kubelet runs beside that server: a Deployment or a
StatefulSet never gets a status, so it can never be judged Healthy. These
syncs therefore run with ``waitForHealth: false`` (apply, record, no wait);
health against real controllers is not tested here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import apiserver
from tests.support.commands import agent
from tests.support.drift import app_config, corpus_repo
from tests.support.repos import EXAMPLES, PROJECT, GitRepo

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(tmp_path: Path, real: apiserver.RealServer) -> tuple[GitRepo, Path]:
    """examples-repo/ committed in git, and a configuration that syncs its
    apps into the real server (without waiting for health)."""
    repo = GitRepo(tmp_path / "project")
    shutil.copytree(EXAMPLES, repo.path / "examples-repo", ignore=shutil.ignore_patterns(".gitops-agent"))
    repo.commit("examples")
    doc = yaml.safe_load((repo.path / "examples-repo" / "agent.yaml").read_text())
    doc["cluster"] = {"kubeconfig": {"path": str(real.kubeconfig)}}
    for app in doc["apps"]:
        app.setdefault("syncPolicy", {})["waitForHealth"] = False
    config = repo.path / "examples-repo" / "agent-real.yaml"
    config.write_text(yaml.safe_dump(doc))
    return repo, config


def kubectl(real: apiserver.RealServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(real.kubeconfig), *args], capture_output=True, text=True, timeout=60
    )


def live(real: apiserver.RealServer, *args: str) -> Any:
    done = kubectl(real, "get", *args, "-o", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_sync_then_no_drift_then_kubectl_edits_reported_and_healed(
    project: tuple[GitRepo, Path], real: apiserver.RealServer
) -> None:
    _, config = project
    first = agent("sync", "-c", str(config))
    assert first.returncode == 0, first.stdout + first.stderr
    for app, count in (("guestbook-staging", 4), ("guestbook-production", 4), ("hello", 4), ("redis", 10)):
        assert re.search(rf"^✔ {app}: {count} created", first.stdout, re.MULTILINE), first.stdout
    assert "production-secret-value" not in first.stdout + first.stderr
    assert live(real, "deployment", "hello", "-n", "hello")["spec"]["replicas"] == 1

    clean = agent("diff", "-c", str(config))
    assert clean.returncode == 0, clean.stdout + clean.stderr

    assert kubectl(real, "scale", "deployment", "hello", "-n", "hello", "--replicas=4").returncode == 0
    edited = kubectl(
        real, "patch", "configmap", "hello-content", "-n", "hello", "-p", '{"data":{"index.html":"changed"}}'
    )
    assert edited.returncode == 0, edited.stderr
    image = kubectl(real, "set", "image", "deployment/hello", "web=nginx:1.28", "-n", "hello")
    assert image.returncode == 0, image.stderr
    secrets = [s["metadata"]["name"] for s in live(real, "secret", "-n", "guestbook-staging")["items"]]
    secret = next(name for name in secrets if name.endswith("-redis"))
    leaked = kubectl(
        real,
        "patch",
        "secret",
        secret,
        "-n",
        "guestbook-staging",
        "-p",
        '{"stringData":{"password":"leaked-9f3"}}',
    )
    assert leaked.returncode == 0, leaked.stderr
    drifted = agent("diff", "-c", str(config))
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert f"Secret/guestbook-staging/{secret} modified" in drifted.stdout
    assert "leaked-9f3" not in drifted.stdout + drifted.stderr
    assert "staging-not-so-secret" not in drifted.stdout + drifted.stderr
    assert re.search(r"image: git nginx:1\.27\s+live nginx:1\.28 \(kubectl-set, ", drifted.stdout), (
        drifted.stdout
    )
    assert "Deployment/hello/hello modified" in drifted.stdout
    assert re.search(r"spec\.replicas: git 1 live 4 \(kubectl", drifted.stdout), drifted.stdout
    assert "ConfigMap/hello/hello-content modified" in drifted.stdout
    assert re.search(r'data\["index\.html"\]: git .*\n\s*live changed \(kubectl-patch, ', drifted.stdout)

    healed = agent("sync", "-c", str(config), "hello", "guestbook-staging")
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert (
        live(real, "deployment", "hello", "-n", "hello")["spec"]["template"]["spec"]["containers"][0]["image"]
        == "nginx:1.27"
    )
    assert live(real, "deployment", "hello", "-n", "hello")["spec"]["replicas"] == 1
    assert live(real, "configmap", "hello-content", "-n", "hello")["data"]["index.html"].startswith("<h1>")
    after = agent("diff", "-c", str(config))
    assert after.returncode == 0, after.stdout + after.stderr


def test_prune_removes_what_git_no_longer_has(
    project: tuple[GitRepo, Path], real: apiserver.RealServer
) -> None:
    repo, config = project
    assert agent("sync", "-c", str(config), "hello").returncode == 0
    assert kubectl(real, "get", "service", "hello", "-n", "hello").returncode == 0
    app = repo.path / "examples-repo" / "apps" / "hello" / "app.yaml"
    docs = [d for d in yaml.safe_load_all(app.read_text()) if d and d["kind"] != "Service"]
    app.write_text(yaml.safe_dump_all(docs))
    repo.commit("no Service")
    pruned = agent("sync", "-c", str(config), "hello")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    gone = kubectl(real, "get", "service", "hello", "-n", "hello")
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    assert kubectl(real, "get", "deployment", "hello", "-n", "hello").returncode == 0
    assert agent("diff", "-c", str(config), "hello").returncode == 0


def test_drift_corpus_syncs_with_no_false_drift(tmp_path: Path, real: apiserver.RealServer) -> None:
    """The drift tests' real-world-style manifests (every common kind, a CRD
    and its resource, RBAC, policies) against the real server's defaulting."""
    repo = corpus_repo(tmp_path / "repo")
    doc = app_config(tmp_path, repo, syncPolicy={"waitForHealth": False}, strictDrift=True)
    doc["cluster"] = {"kubeconfig": {"path": str(real.kubeconfig)}}
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(doc))
    first = agent("sync", "-c", str(config))
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"^✔ shop: (\d+) created", first.stdout, re.MULTILINE), first.stdout
    clean = agent("diff", "-c", str(config))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    again = agent("sync", "-c", str(config))
    assert again.returncode == 0 and re.search(r"^✔ shop: \d+ unchanged", again.stdout, re.MULTILINE), (
        again.stdout
    )


def test_a_refused_change_is_rolled_back(project: tuple[GitRepo, Path], real: apiserver.RealServer) -> None:
    """The injected failure is one the real server makes: a commit whose
    Deployment it refuses (a probe port given as a string of digits), after
    the ConfigMap of the same commit was applied; the sync fails and the
    previous revision is applied again."""
    repo, config = project
    assert agent("sync", "-c", str(config), "hello").returncode == 0
    app = repo.path / "examples-repo" / "apps" / "hello" / "app.yaml"
    docs = list(yaml.safe_load_all(app.read_text()))
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            doc["data"]["index.html"] = "<h1>broken release</h1>\n"
        if doc["kind"] == "Deployment":
            doc["spec"]["template"]["spec"]["containers"][0]["startupProbe"] = {"tcpSocket": {"port": "8080"}}
    app.write_text(yaml.safe_dump_all(docs))
    repo.commit("a release the API server refuses")
    failed = agent("sync", "-c", str(config), "hello")
    assert failed.returncode != 0, failed.stdout
    assert "must contain at least one letter" in failed.stdout + failed.stderr
    assert "rolled back to revision 1" in failed.stdout, failed.stdout
    assert re.search(r"^ConfigMap/hello/hello-content +configured", failed.stdout, re.MULTILINE)
    content = live(real, "configmap", "hello-content", "-n", "hello")["data"]["index.html"]
    assert content == "<h1>Hello from Git</h1>\n"
    deployment = live(real, "deployment", "hello", "-n", "hello")
    assert "startupProbe" not in deployment["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("required", [False, True])
def test_without_go_the_real_server_tests_skip_naming_it(tmp_path: Path, required: bool) -> None:
    """On a machine without Go (and no binary built): one clear skip reason,
    or a failure when GITOPS_AGENT_REQUIRE_APISERVER=1, as in CI."""
    env = {k: v for k, v in os.environ.items() if k != apiserver.REQUIRE_VARIABLE}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "go").exists()]
    env |= {"PATH": os.pathsep.join(path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    if required:
        env[apiserver.REQUIRE_VARIABLE] = "1"
    test = "tests/contract/test_cluster_contract.py::test_create_get_list_delete[kube-real]"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-rs", test],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=env,
        timeout=120,
    )
    reason = "the real Kubernetes API server tests need Go: `go` was not found on PATH"
    assert reason in done.stdout, done.stdout + done.stderr
    if required:
        assert done.returncode != 0 and "1 error" in done.stdout, done.stdout
    else:
        assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout
