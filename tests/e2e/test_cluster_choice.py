"""Which cluster a command talks to: the configuration's, or the one
--kubeconfig, --context and --cluster choose (as kubectl), named in every
command's header; and a note when KUBECONFIG is set but unused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.commands import agent
from tests.support.emulator import serve, stop
from tests.support.net import closed_port
from tests.support.repos import GitRepo, write_config
from tests.support.waits import wait_for_kubeconfig

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Path]:
    """A served emulated cluster, and a kubeconfig with two contexts: ``good``
    reaches it, ``gone`` points at a closed port (cluster ``gone``)."""
    written = tmp_path / "served.kubeconfig"
    proc = serve(tmp_path / "served.db", written)
    try:
        doc = wait_for_kubeconfig(written, proc)
        (cluster,), (user,) = doc["clusters"], doc["users"]
        gone = {"name": "gone", "cluster": {"server": f"https://127.0.0.1:{closed_port()}"}}
        contexts = [
            {"name": "good", "context": {"cluster": cluster["name"], "user": user["name"]}},
            {"name": "gone", "context": {"cluster": "gone", "user": user["name"]}},
        ]
        both = {**doc, "clusters": [cluster, gone], "contexts": contexts, "current-context": "gone"}
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(both))
        yield path
    finally:
        stop(proc)


def _config(tmp_path: Path, *, cluster: bool = True) -> Path:
    repo = GitRepo(tmp_path / "repo")
    repo.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")
    repo.commit("app")
    named = f"cluster: {{emulated: {{path: {tmp_path / 'local.db'}}}}}" if cluster else ""
    return write_config(
        tmp_path / "agent.yaml",
        f"""
        {named}
        stateDir: {tmp_path / "state"}
        source: {{allowedSchemes: [file]}}
        apps:
          - name: plain
            repo: {repo.path}
            path: app
            namespace: plain
            syncPolicy: {{createNamespace: true, retry: {{attempts: 1}}}}
        """,
    )


def test_global_options_choose_the_cluster_and_the_header_names_it(tmp_path: Path, served: Path) -> None:
    config = str(_config(tmp_path))
    local = agent("sync", "-c", config)
    assert local.returncode == 0, local.stderr
    assert local.stderr.startswith(f"cluster: emulated cluster at {tmp_path / 'local.db'}")

    chosen = agent("--kubeconfig", str(served), "--context", "good", "sync", "-c", config)
    assert chosen.returncode == 0, chosen.stderr
    assert "cluster: context good, server https://127.0.0.1:" in chosen.stderr
    assert "1 created" in chosen.stdout  # a cluster of its own: created again there

    # the kubeconfig's current context points at a closed port: exit 5, named
    current = agent("--kubeconfig", str(served), "status", "-c", config)
    assert current.returncode == 5, current.stdout + current.stderr
    assert "cluster: context gone, server https://127.0.0.1:" in current.stderr
    # --cluster puts another cluster of the kubeconfig under the context (as kubectl)
    name = yaml.safe_load(served.read_text())["clusters"][0]["name"]
    other = agent("--kubeconfig", str(served), "--cluster", name, "status", "-c", config, "-o", "json")
    assert other.returncode == 0, other.stdout + other.stderr
    assert '"syncStatus": "Synced"' in other.stdout

    # global options after the command, as kubectl takes them
    quiet = agent("status", "-c", config, "-q", "--kubeconfig", str(served), "--context", "good")
    assert quiet.returncode == 0 and quiet.stderr == ""

    unknown = agent("--kubeconfig", str(served), "--context", "nope", "status", "-c", config)
    assert unknown.returncode == 3 and "nope" in unknown.stderr and "Traceback" not in unknown.stderr


def test_kubeconfig_set_but_no_cluster_configured_says_which_is_used(tmp_path: Path, served: Path) -> None:
    config = str(_config(tmp_path, cluster=False))
    os.environ["KUBECONFIG"] = str(served)  # read by the child process only
    try:
        done = agent("status", "-c", config)
    finally:
        del os.environ["KUBECONFIG"]
    assert "KUBECONFIG is set, but" in done.stderr and "names no cluster" in done.stderr
    assert "using the embedded emulated cluster" in done.stderr
    assert '--kubeconfig "$KUBECONFIG"' in done.stderr
    assert "cluster: emulated cluster at" in done.stderr
