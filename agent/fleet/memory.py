"""The last definition of each app a cluster serves, kept in that cluster.

An app that leaves the fleet while the agent is not running (removed from
``agent.yaml`` or from Git during a restart, or its cascade deletion cut
off by one) would otherwise be forgotten: nothing the next start reads
still names it.  So each cluster keeps, in its state namespace, one
ConfigMap (``gitops-agent.fleet``, :mod:`agent.fleet.stored`) with the
last definition of every app that goes to it, and of every app whose
cascade deletion there is not done.  At each start the daemon compares it
with the fleet once the whole fleet is known (:mod:`agent.daemon.membership`):
an app that is gone, or went to another cluster, is treated as a removal
from this cluster, as if the agent had seen it leave.

Argo CD needs no such memory (its Applications are objects, and their
finalizer resumes a cascade deletion after a restart); Flux neither (a
Kustomization deleted while its controller is down still carries its
finalizer).  Here the apps are not objects, so their last definitions are.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.cluster.base import ClusterClient
from agent.config import Application
from agent.fleet.stored import StoredApps

NAME = "gitops-agent.fleet"
LABEL = "gitops-agent.io/fleet"


class LastDefinitions:
    """The last definitions of one cluster's apps, by name."""

    def __init__(self, cluster: ClusterClient, namespace: str, cluster_name: str) -> None:
        what = f"cluster {cluster_name}: the last definitions of its apps"
        self._stored = StoredApps(cluster, namespace, NAME, {LABEL: "last-definitions"}, what)

    def load(self) -> dict[str, Application]:
        """ConfigError when the cluster cannot say."""
        return {a.name: a for a in self._stored.load()}

    def save(self, apps: Iterable[Application]) -> None:
        """ConfigError when it could not be kept.  In name order, so the
        same apps write nothing."""
        self._stored.save(sorted(apps, key=lambda a: a.name))


__all__ = ["LABEL", "NAME", "LastDefinitions"]
