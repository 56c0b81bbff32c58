"""The only package that talks to a cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.cluster.base import ClusterClient
from agent.kube.errors import ClusterError

if TYPE_CHECKING:  # the configuration's models (pydantic) load with the configuration itself
    from agent.config import AgentConfig


def connect(config: AgentConfig, context: str | None = None) -> ClusterClient:
    """The ClusterClient the configuration names (``context`` overrides the kubeconfig's)."""
    cluster = config.cluster
    if cluster.kind == "emulated":
        from agent.config import EmulatedClusterSettings
        from agent.emulator import EmulatedCluster, Options

        emulated = cluster.emulated or EmulatedClusterSettings()
        options = Options(time_factor=emulated.time_factor, rollout_seconds=emulated.rollout_seconds)
        return EmulatedCluster(config.resolve(emulated.path), options)
    from agent.cluster.kube import KubeCluster

    if cluster.kind == "inCluster":
        return KubeCluster.in_cluster()
    kubeconfig = cluster.kubeconfig
    path = config.resolve(kubeconfig.path) if kubeconfig and kubeconfig.path else None
    return KubeCluster.from_kubeconfig(path, context or (kubeconfig.context if kubeconfig else None))


__all__ = ["ClusterClient", "ClusterError", "connect"]
