"""The emulated cluster: an embedded Kubernetes API engine over SQLite."""

from agent.cluster.emulator.engine import EmulatedCluster

__all__ = ["EmulatedCluster"]
