"""Shared parts of the drift tests: the corpus app on a real git repository,
and the emulated cluster in process or served over HTTP to the official
client (``agent.cluster.kube``), plus a second client that plays the other
field managers (kubectl, controllers) over HTTP."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.cluster.base import ClusterClient
from agent.cluster.emulator import EmulatedCluster, Options
from agent.cluster.emulator.serving import EmulatorServer, write_kubeconfig
from agent.cluster.kube import KubeCluster
from agent.config import AgentConfig, parse_config
from agent.sync.engine import Context
from tests.conftest import GitRepo

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "drift"
CORPUS = FIXTURES / "corpus"
APP_PATH = "apps/shop"


@dataclass
class Backend:
    engine: EmulatedCluster
    client: ClusterClient  # what the agent uses
    kubeconfig: Path | None = None  # set when served over HTTP
    other: KubeCluster | None = None  # another client, for out-of-band changes


@contextmanager
def backend(tmp_path: Path, mode: str) -> Iterator[Backend]:
    engine = EmulatedCluster(tmp_path / "cluster.db", Options(time_factor=0.001))
    if mode == "emulated":
        try:
            yield Backend(engine, engine)
        finally:
            engine.close()
        return
    server = EmulatorServer(engine).start()
    config = write_kubeconfig(tmp_path / "kubeconfig", server.url, server.token)
    client = KubeCluster.from_kubeconfig(config, discovery_cache=tmp_path / "discovery.json")
    other = KubeCluster.from_kubeconfig(config, discovery_cache=tmp_path / "discovery-other.json")
    try:
        yield Backend(engine, client, config, other)
    finally:
        other.close()
        client.close()
        server.stop()
        engine.close()


def corpus_repo(path: Path) -> GitRepo:
    repo = GitRepo(path)
    shutil.copytree(CORPUS, repo.path / APP_PATH)
    repo.commit("the shop")
    return repo


def app_config(tmp_path: Path, repo: GitRepo, **app: Any) -> dict[str, Any]:
    return {
        "source": {"allowedSchemes": ["file"]},
        "apps": [{"name": "shop", "repo": str(repo.path), "path": APP_PATH, "namespace": "shop", **app}],
    }


def make_ctx(tmp_path: Path, repo: GitRepo, client: ClusterClient, **app: Any) -> tuple[Context, AgentConfig]:
    cfg = parse_config(app_config(tmp_path, repo, **app), "agent.yaml", tmp_path)
    return Context.create(cfg, client), cfg
