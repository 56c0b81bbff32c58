"""The drift report the last reconcile of an app saw, as JSON, Markdown or HTML."""

from __future__ import annotations

from typing import Literal

from fastapi import Response

from agent.daemon.routers.common import Daemon, Redacted, router, snapshot_of
from agent.report import drift_document

drift = router("apps")
_MEDIA = {"json": "application/json", "markdown": "text/markdown; charset=utf-8", "html": "text/html"}


@drift.get("/api/v1/apps/{name}/drift", summary="The drift report the last reconcile saw")
def get_drift(name: str, d: Daemon, format: Literal["json", "markdown", "html"] = "json") -> Response:
    obs = snapshot_of(d, name).observation
    if obs is None or obs.drift is None:
        return Redacted(
            {"detail": f"{name} has not been reconciled yet"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return Response(drift_document([obs.drift], format), media_type=_MEDIA[format])
