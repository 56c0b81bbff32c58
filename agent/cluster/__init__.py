"""The only package that talks to a cluster."""

from __future__ import annotations

from agent.cluster.base import ClusterClient, ClusterError
from agent.config import AgentConfig
from agent.errors import ConfigError


def connect(config: AgentConfig) -> ClusterClient:
    """The ClusterClient the configuration names."""
    cluster = config.cluster
    if cluster.kind == "emulated":
        from agent.cluster.emulator import EmulatedCluster

        emulated = cluster.emulated
        return EmulatedCluster(config.resolve(emulated.path if emulated else ".gitops-agent/cluster.db"))
    raise ConfigError(
        f"cluster: the {cluster.kind} backend is not available in this version; use cluster.emulated"
    )


__all__ = ["ClusterClient", "ClusterError", "connect"]
