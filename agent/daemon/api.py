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

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from agent import __version__
from agent.daemon.limits import BodyLimits
from agent.daemon.protocol import DaemonView
from agent.daemon.routers.apps import apps
from agent.daemon.routers.common import LoginRequired, Redacted, readable
from agent.daemon.routers.drift import drift
from agent.daemon.routers.history import history
from agent.daemon.routers.probes import probes
from agent.daemon.routers.triggers import triggers
from agent.daemon.routers.ui import ui
from agent.daemon.routers.webhooks import provider_label, webhooks
from agent.daemon.session import Sessions

_OPEN = (probes, triggers, webhooks, ui)  # each checks its own token (probes need none)
_READ = (apps, drift, history)  # behind daemon.readToken when it is set


def create_app(d: DaemonView, inner: Callable[[Any], Any] | None = None) -> BodyLimits:
    """The ASGI app serving ``d``: FastAPI with its routers, request counting,
    and the body limits of ``daemon.webhook`` in front.  ``inner`` wraps the
    counted app behind the limits (forwarding to other replicas)."""
    settings = d.config.daemon
    api: FastAPI = FastAPIOffline(  # Swagger UI served from the package, no CDN
        title="gitops-agent",
        version=__version__,
        description="Status of the apps the agent keeps equal to Git, drift reports, history, and triggers.",
        default_response_class=Redacted,
        docs_url="/docs",
        redoc_url=None,
    )
    api.state.daemon = d
    api.state.sessions = Sessions()
    for router in _OPEN:
        api.include_router(router)
    for router in _READ:
        api.include_router(router, dependencies=[Depends(readable)])

    @api.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return Redacted({"detail": exc.detail}, status_code=401, headers=exc.headers)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    counted = _Counted(api, d)
    return BodyLimits(
        counted if inner is None else inner(counted),
        max_body=settings.webhook.max_body_bytes,
        read_timeout=settings.read_timeout_seconds,
        on_refused=lambda scope, status: _refused(d, scope, status),
    )


class _Counted:
    """Counts every answer in ``gitops_agent_api_requests_total`` (a plain ASGI
    middleware: Starlette's ``BaseHTTPMiddleware`` cuts file answers short)."""

    def __init__(self, app: Any, d: DaemonView) -> None:
        self.app = app
        self.d = d

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def counting(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            self.d.metrics.api_requests.labels(scope["method"], str(status)).inc()


def _refused(d: DaemonView, scope: dict[str, Any], status: int) -> None:
    """Count a request the body limits answered before the app saw it."""
    d.metrics.api_requests.labels(scope.get("method", ""), str(status)).inc()
    path = str(scope.get("path", ""))
    if path.startswith("/webhooks/"):
        label = provider_label(path.removeprefix("/webhooks/"))
        d.metrics.webhooks.labels(label, "too-large" if status == 413 else "timeout").inc()
