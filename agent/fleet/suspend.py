"""Suspended apps: not reconciled until resumed.

``gitops-agent suspend APP`` writes a ConfigMap ``gitops-agent.suspend.<app>``
in the cluster's state namespace (beside the revision records, labelled as
the agent's), and ``resume`` deletes it: every replica of the agent reads
the same answer, and a restart forgets nothing.  The ConfigMap carries the
label of the app's records (``gitops-agent.io/record-of``) beside its own,
so the daemon's shared view of the cluster answers "is it suspended?" from
memory: one list and watch of these ConfigMaps for all apps, no request per
poll.  ``suspend: true`` in the
app's definition suspends it from Git (Flux's ``spec.suspend``); resuming
then means changing the definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.cluster.base import ClusterClient
from agent.config import Application, RetryPolicy
from agent.kube.errors import AlreadyExists, NotFound
from agent.sync.context import Context
from agent.sync.ownership import MANAGED_BY, MANAGED_BY_LABEL
from agent.sync.record import RECORD_OF_LABEL, now
from agent.sync.retry import create_once, delete_once, ensure_namespace, with_retries

SUSPEND_OF_LABEL = "gitops-agent.io/suspend-of"


def suspension_name(app: str) -> str:
    return f"gitops-agent.suspend.{app}"


@dataclass(frozen=True)
class Suspension:
    app: str
    since: str = ""
    source: str = "cluster"  # "cluster" (gitops-agent suspend) or "definition" (suspend: true)

    @property
    def message(self) -> str:
        if self.source == "definition":
            return "Suspended (suspend: true in its definition)"
        since = f" since {self.since}" if self.since else ""
        return f"Suspended (gitops-agent suspend{since}; gitops-agent resume {self.app} ends it)"


def suspensions_of(ctx: Context) -> Suspensions:
    """The suspensions of the cluster ``ctx`` reaches (its state namespace)."""
    return Suspensions(ctx.cluster, ctx.settings.state_namespace)


class Suspensions:
    """The suspensions kept in one cluster's state namespace."""

    def __init__(self, cluster: ClusterClient, namespace: str, retry: RetryPolicy | None = None) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.retry = retry or RetryPolicy(attempts=3, max_total_backoff_seconds=10)

    def get(self, app: str) -> Suspension | None:
        selector = {RECORD_OF_LABEL: app, SUSPEND_OF_LABEL: app}
        try:
            found = with_retries(
                self.retry, lambda: self.cluster.list("v1", "ConfigMap", self.namespace, selector)
            )
        except NotFound:
            return None
        name = suspension_name(app)
        kept = next((o for o in found if (o.get("metadata") or {}).get("name") == name), None)
        if kept is None:
            return None
        return Suspension(app, str((kept.get("data") or {}).get("since", "")))

    def of(self, app: Application) -> Suspension | None:
        """The app's suspension: its definition's, else the cluster's."""
        if app.suspend:
            return Suspension(app.name, source="definition")
        return self.get(app.name)

    def suspend(self, app: str) -> bool:
        """Suspend ``app``; False when it already was."""
        ensure_namespace(self.cluster, self.namespace, self.retry)
        obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": suspension_name(app),
                "namespace": self.namespace,
                "labels": {MANAGED_BY_LABEL: MANAGED_BY, RECORD_OF_LABEL: app, SUSPEND_OF_LABEL: app},
            },
            "data": {"app": app, "since": now()},
        }
        try:
            create_once(self.cluster, obj, self.retry)
        except AlreadyExists:
            return False
        return True

    def resume(self, app: str) -> bool:
        """Resume ``app``; False when it was not suspended here."""
        try:
            delete_once(
                self.cluster, "v1", "ConfigMap", suspension_name(app), self.namespace, policy=self.retry
            )
        except NotFound:
            return False
        return True


__all__ = ["SUSPEND_OF_LABEL", "Suspension", "Suspensions", "suspension_name", "suspensions_of"]
