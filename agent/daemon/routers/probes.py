"""Liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import PlainTextResponse

from agent.daemon.routers.common import Daemon, Redacted, router
from agent.report.metrics import CONTENT_TYPE

probes = router("probes")


@probes.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


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
