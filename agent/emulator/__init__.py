"""The emulated cluster: an embedded Kubernetes API engine over SQLite."""

from agent.emulator.engine import EmulatedCluster, Options

__all__ = ["EmulatedCluster", "Options"]
