"""The two clusters every differential scenario runs against."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from tests.support import apiserver
from tests.support.emulator import backend as served


@pytest.fixture
def clients(
    real_server: apiserver.RealServer, tmp_path: Path
) -> Iterator[tuple[ClusterClient, ClusterClient]]:
    apiserver.reset(real_server.kubeconfig)
    real = KubeCluster.from_kubeconfig(real_server.kubeconfig, discovery_cache=tmp_path / "real.json")
    with served(tmp_path, "kube-http") as emulated:
        try:
            yield real, emulated.client
        finally:
            real.close()
