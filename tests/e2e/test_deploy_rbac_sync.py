"""The agent syncs the example apps as deploy/'s ServiceAccount, with exactly deploy/'s
RBAC, into the emulated cluster (which enforces RBAC for every user but its admin):
``kubectl apply -k deploy/``, a token for the account (``kubectl create token``), and a
kubeconfig with that token, as a Pod's mounted token would be used.

The README's "Permissions" command (binding ``gitops-agent-secrets`` cluster-wide) is read
from the README and run literally.  The apps then sync; the one with a custom resource
deploy/ does not grant fails with the agent's error naming the object and the permission
it lacks, and creates nothing of it; widened as the README says (a rule for the kind), it
syncs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.commands import agent
from tests.support.emulator import serve, stop
from tests.support.readme import blocks
from tests.support.repos import EXAMPLES, PROJECT, GitRepo
from tests.support.waits import wait_for_kubeconfig

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]
WIDER = {"apiGroups": ["cache.example.com"], "resources": ["redisbackups"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}  # fmt: skip


def _kubectl(kubeconfig: Path, *args: str) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Path]:
    """An emulated cluster with deploy/ applied: the admin's kubeconfig."""
    kubeconfig = tmp_path / "admin-kubeconfig"
    proc = serve(tmp_path / "cluster.db", kubeconfig, "--rollout-seconds", "0.2")
    try:
        wait_for_kubeconfig(kubeconfig, proc)
        _kubectl(kubeconfig, "apply", "-k", str(PROJECT / "deploy"))
        yield kubeconfig
    finally:
        stop(proc)


def _as_the_agent(admin: Path, tmp_path: Path) -> Path:
    """A kubeconfig for the same server with the ServiceAccount's token instead of the admin's."""
    token = _kubectl(admin, "create", "token", "gitops-agent", "-n", "gitops-agent").strip()
    doc = yaml.safe_load(admin.read_text())
    for user in doc["users"]:
        user["user"] = {"token": token}
    path = tmp_path / "agent-kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def _project(tmp_path: Path, kubeconfig: Path) -> Path:
    repo = GitRepo(tmp_path / "project")
    shutil.copytree(EXAMPLES, repo.path / "examples-repo", ignore=shutil.ignore_patterns(".gitops-agent"))
    repo.commit("examples")
    doc = yaml.safe_load((repo.path / "examples-repo" / "agent.yaml").read_text())
    doc["cluster"] = {"kubeconfig": {"path": str(kubeconfig)}, "stateNamespace": "gitops-agent"}
    config = repo.path / "examples-repo" / "agent-in-cluster.yaml"
    config.write_text(yaml.safe_dump(doc))
    return config


def _permissions_block(admin: Path) -> None:
    """The README's "Permissions" command block, run literally with the admin's kubeconfig."""
    block = next(b for b in blocks(PROJECT / "README.md") if b.heading.endswith("Permissions"))
    done = subprocess.run(
        ["bash", "-euc", "\n".join(block.lines)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "KUBECONFIG": str(admin), "HOME": str(admin.parent)},
    )
    assert done.returncode == 0, done.stderr
    assert "clusterrolebinding.rbac.authorization.k8s.io/gitops-agent-secrets created" in done.stdout


def test_the_example_apps_sync_with_deploys_rbac_and_a_missing_rule_is_named(
    admin: Path, tmp_path: Path
) -> None:
    config = _project(tmp_path, _as_the_agent(admin, tmp_path))
    _permissions_block(admin)

    first = agent("sync", "-c", str(config))
    assert first.returncode != 0, first.stdout + first.stderr
    for app in ("guestbook-staging", "guestbook-production", "hello", "shop-staging", "shop-production"):
        assert re.search(rf"^✔ {app}: ", first.stdout, re.MULTILINE), first.stdout + first.stderr
    assert (
        "error: redis: Apply failed: RedisBackup.cache.example.com/redis/redis-daily: "
        'redisbackups.cache.example.com "redis-daily" is forbidden: '
        'User "system:serviceaccount:gitops-agent:gitops-agent" cannot patch resource "redisbackups" '
        'in API group "cache.example.com" in the namespace "redis"'
    ) in first.stdout + first.stderr, first.stdout + first.stderr
    assert json.loads(_kubectl(admin, "get", "redisbackups", "-n", "redis", "-o", "json"))["items"] == []

    _kubectl(admin, "patch", "clusterrole", "gitops-agent", "--type=json",
             "-p", json.dumps([{"op": "add", "path": "/rules/-", "value": WIDER}]))  # fmt: skip
    again = agent("sync", "-c", str(config), "redis")
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"^✔ redis: ", again.stdout, re.MULTILINE), again.stdout
    assert _kubectl(admin, "get", "redisbackups", "-n", "redis", "-o", "name").strip() == (
        "redisbackup.cache.example.com/redis-daily"
    )


def test_apps_without_secrets_sync_with_deploys_rbac_alone(admin: Path, tmp_path: Path) -> None:
    """Two apps that deploy no Secret need no cluster-wide right to Secrets: the
    revision records are read in the state namespace only (a cluster-wide list
    of them was refused with 403 before)."""
    config = _project(tmp_path, _as_the_agent(admin, tmp_path))
    done = agent("sync", "-c", str(config), "hello", "shop-staging")
    assert done.returncode == 0, done.stdout + done.stderr
