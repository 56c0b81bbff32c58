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
    context = context or (kubeconfig.context if kubeconfig else None)
    return KubeCluster.from_kubeconfig(path, context, kubeconfig.cluster if kubeconfig else None)


def describe(config: AgentConfig) -> str:
    """Which cluster the configuration reaches, for a command's header:
    the emulated cluster's database, or the kubeconfig's context and server."""
    cluster = config.cluster
    if cluster.kind == "emulated":
        from agent.config import EmulatedClusterSettings

        return f"emulated cluster at {config.resolve((cluster.emulated or EmulatedClusterSettings()).path)}"
    if cluster.kind == "inCluster":
        return "the cluster the agent runs in (its service account)"
    from agent.cluster.connection import kubeconfig_target

    kubeconfig = cluster.kubeconfig
    path = config.resolve(kubeconfig.path) if kubeconfig and kubeconfig.path else None
    name, server = kubeconfig_target(
        path, kubeconfig.context if kubeconfig else None, kubeconfig.cluster if kubeconfig else None
    )
    return f"context {name}, server {server}"


__all__ = ["ClusterClient", "ClusterError", "connect", "describe"]
