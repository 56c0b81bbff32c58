"""Prometheus metrics of the daemon (one registry, served at ``/metrics``).

Names follow Prometheus conventions (``_total`` counters, ``_seconds``
histograms).  Labels are bounded: app names come from the configuration,
results and triggers from fixed vocabularies, never from a request.

Kept with the reports: metrics are one more view of results (as the
terminal and the status API are); the daemon only feeds them.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from agent.models import HealthStatus, SyncStatus
from agent.report.series import LabeledCounter, LabeledGauge, LabeledHistogram

disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created samples only double the series count
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_DURATIONS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    # long: one declaration per series, read together as the list of what /metrics serves
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reconciles = LabeledCounter(
            "gitops_agent_reconcile",
            "Reconciles by app, trigger and result.",
            ["app", "trigger", "result"],
            registry=r,
        )
        self.reconcile_seconds = LabeledHistogram(
            "gitops_agent_reconcile_duration_seconds",
            "Duration of reconciles.",
            ["app"],
            buckets=_DURATIONS,
            registry=r,
        )
        # the per-app gauges: 12 series an app, each a dict entry (agent.report.series)
        self.sync_status = LabeledGauge(
            "gitops_agent_app_sync_status",
            "1 for the app's current sync status.",
            ["app", "status"],
            registry=r,
        )
        self.health = LabeledGauge(
            "gitops_agent_app_health_status", "1 for the app's current health.", ["app", "status"], registry=r
        )
        self.drifted = LabeledGauge(
            "gitops_agent_app_drifted_objects", "Objects differing from Git.", ["app"], registry=r
        )
        self.git_fetch_seconds = Histogram(
            "gitops_agent_git_fetch_duration_seconds",
            "Resolving and fetching a revision from Git.",
            buckets=_DURATIONS,
            registry=r,
        )
        self.webhooks = Counter(
            "gitops_agent_webhook_requests",
            "Webhook requests by provider and result.",
            ["provider", "result"],
            registry=r,
        )
        self.rollbacks = Counter(
            "gitops_agent_rollbacks",
            "Rollbacks by app and kind (automatic, manual).",
            ["app", "kind"],
            registry=r,
        )
        self.api_requests = Counter(
            "gitops_agent_api_requests",
            "HTTP requests by method and status code.",
            ["method", "code"],
            registry=r,
        )
        self.queue = Gauge("gitops_agent_queue_length", "Apps waiting for a reconcile.", registry=r)
        # the cluster of each app as a series of its own (Argo CD's argocd_app_info, kube-state-metrics'
        # *_info): the other series keep their labels, and a query joins on app to group by cluster
        self.app_info = LabeledGauge(
            "gitops_agent_app_info", "1 for each app, with its cluster.", ["app", "cluster"], registry=r
        )
        self.cluster_reachable = Gauge(
            "gitops_agent_cluster_reachable", "1 once the cluster has answered.", ["cluster"], registry=r
        )

    def app_status(self, app: str, sync: SyncStatus, health: HealthStatus, drifted: int) -> None:
        for s in SyncStatus:
            self.sync_status.labels(app, s.value).set(1 if s is sync else 0)
        for h in HealthStatus:
            self.health.labels(app, h.label).set(1 if h is health else 0)
        self.drifted.labels(app).set(drifted)

    def render(self) -> bytes:
        return generate_latest(self.registry)
