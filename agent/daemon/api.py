"""The HTTP app: webhooks, the status API (with OpenAPI), the page, probes, metrics.

Reads come from what the last reconcile of each app saw (no Git or cluster
work per request), except ``history``, which reads the revision records in
the cluster.  ``POST …/sync`` and ``…/rollback`` go through the app's job
like every other run, so they never overlap a reconcile; they need the
bearer token, and are disabled when none is configured.  Every JSON answer
passes through :func:`agent.redact.redact`.

This module only assembles: the routes live in :mod:`agent.daemon.routers`,
the daemon is reached through :class:`~agent.daemon.protocol.DaemonView`
(kept in ``app.state``), and the whole app sits behind :class:`BodyLimits`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response

from agent import __version__
from agent.daemon.limits import BodyLimits
from agent.daemon.protocol import DaemonView
from agent.daemon.routers.apps import apps
from agent.daemon.routers.common import Redacted
from agent.daemon.routers.drift import drift
from agent.daemon.routers.history import history
from agent.daemon.routers.probes import probes
from agent.daemon.routers.triggers import triggers
from agent.daemon.routers.webhooks import provider_label, webhooks

_ROUTERS = (probes, apps, drift, history, triggers, webhooks)


def create_app(d: DaemonView) -> BodyLimits:
    """The ASGI app serving ``d``: FastAPI with its routers, request counting,
    and the body limits of ``daemon.webhook`` in front."""
    settings = d.config.daemon
    api = FastAPI(
        title="gitops-agent",
        version=__version__,
        description="Status of the apps the agent keeps equal to Git, drift reports, history, and triggers.",
        default_response_class=Redacted,
        docs_url="/docs",
        redoc_url=None,
    )
    api.state.daemon = d
    for router in _ROUTERS:
        api.include_router(router)

    @api.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        d.metrics.api_requests.labels(request.method, str(response.status_code)).inc()
        return response

    return BodyLimits(
        api,
        max_body=settings.webhook.max_body_bytes,
        read_timeout=settings.read_timeout_seconds,
        on_refused=lambda scope, status: _refused(d, scope, status),
    )


def _refused(d: DaemonView, scope: dict[str, Any], status: int) -> None:
    """Count a request the body limits answered before the app saw it."""
    d.metrics.api_requests.labels(scope.get("method", ""), str(status)).inc()
    path = str(scope.get("path", ""))
    if path.startswith("/webhooks/"):
        label = provider_label(path.removeprefix("/webhooks/"))
        d.metrics.webhooks.labels(label, "too-large" if status == 413 else "timeout").inc()
