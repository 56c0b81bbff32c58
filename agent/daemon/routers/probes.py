"""Liveness, readiness and the Prometheus metrics.

``/healthz`` answers as soon as the HTTP server does (the startup probe);
``/livez`` fails when the scheduler's heartbeat job has not run for
``daemon.livenessSeconds`` (its thread died or hangs), so Kubernetes restarts
a process that would otherwise sit alive and do nothing; ``/readyz`` follows
the first contact with the cluster and the drain."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import PlainTextResponse

from agent.daemon.routers.common import Daemon, Redacted, router
from agent.report.metrics import CONTENT_TYPE

probes = router("probes")


@probes.get("/healthz", summary="The process answers HTTP (the startup probe)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@probes.get(
    "/livez",
    summary="Alive: the scheduler ticked within daemon.livenessSeconds (the liveness probe)",
    responses={503: {"description": "the scheduler is stuck: restart the process"}},
)
def livez(d: Daemon) -> Response:
    stalled = d.stalled_for()
    limit = d.config.daemon.liveness_seconds
    if stalled > limit and not d.draining:
        detail = f"the scheduler has not ticked for {stalled:.0f}s (daemon.livenessSeconds: {limit:g})"
        return Redacted({"status": "stalled", "detail": detail}, status_code=503)
    return Redacted({"status": "ok", "sinceTickSeconds": round(stalled, 1)})


@probes.get("/readyz", summary="Ready after the first successful contact with the cluster")
def readyz(d: Daemon) -> Response:
    if d.draining:
        return Redacted({"status": "shutting down"}, status_code=503)
    if not d.is_ready():
        return Redacted({"status": "waiting for the cluster"}, status_code=503)
    return Redacted({"status": "ready"})


@probes.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def metrics(d: Daemon) -> Response:
    return Response(d.metrics.render(), media_type=CONTENT_TYPE)
