"""The HTTP app: webhooks, the status API (with OpenAPI), the page, probes, metrics.

Reads come from what the last reconcile of each app saw (no Git or cluster
work per request), except ``history``, which reads the revision records in
the cluster.  ``POST …/sync`` and ``…/rollback`` go through the app's job
like every other run, so they never overlap a reconcile; they need the
bearer token, and are disabled when none is configured.  Every JSON answer
passes through :func:`agent.redact.redact`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import TYPE_CHECKING, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from agent import __version__
from agent.daemon.limits import BodyLimits
from agent.daemon.metrics import CONTENT_TYPE
from agent.daemon.scheduler import Draining, QueueFull
from agent.daemon.state import Manual, RunResult
from agent.daemon.views import app_summary, history_rows, page
from agent.daemon.webhooks import PROVIDERS, WebhookError, authenticate, parse
from agent.errors import AgentError
from agent.redact import redact
from agent.report import drift_document
from agent.report.templates import render

if TYPE_CHECKING:
    from agent.daemon.service import Daemon


class Redacted(JSONResponse):
    def render(self, content: Any) -> bytes:
        return redact(json.dumps(content, default=str, separators=(",", ":"))).encode()


class SyncRequest(BaseModel):
    revision: str | None = Field(default=None, description="branch, tag or commit (default: the app's)")
    prune: bool | None = Field(default=None, description="override the app's prune policy")
    force: bool = Field(default=False, description="apply a commit held after a rollback")


class RollbackRequest(BaseModel):
    to: int | None = Field(default=None, description="revision number (default: the last healthy one)")


_bearer = HTTPBearer(auto_error=False, description="daemon.apiToken from the configuration")


def create_app(d: Daemon) -> Any:
    settings = d.config.daemon
    api = FastAPI(
        title="gitops-agent",
        version=__version__,
        description="Status of the apps the agent keeps equal to Git, drift reports, history, and triggers.",
        default_response_class=Redacted,
        docs_url="/docs",
        redoc_url=None,
    )

    def state_of(name: str) -> Any:
        if name not in d.scheduler.states:
            raise HTTPException(404, f"no app named {name!r}")
        return d.scheduler.states[name]

    def authorized(creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:  # noqa: B008
        token = settings.api_token
        if not token:
            raise HTTPException(403, "disabled: no daemon.apiToken is configured")
        given = creds.credentials if creds is not None and creds.scheme.lower() == "bearer" else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    # -- probes and metrics ---------------------------------------------------------------
    @api.get("/healthz", tags=["probes"], summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", tags=["probes"], summary="Ready after the first successful contact with the cluster")
    def readyz() -> Response:
        if d.scheduler.draining:
            return Redacted({"status": "shutting down"}, status_code=503)
        if not d.ready.is_set():
            return Redacted({"status": "waiting for the cluster"}, status_code=503)
        return Redacted({"status": "ready"})

    @api.get("/metrics", tags=["probes"], response_class=PlainTextResponse, summary="Prometheus metrics")
    def metrics() -> Response:
        return Response(d.metrics.render(), media_type=CONTENT_TYPE)

    # -- status ---------------------------------------------------------------------------
    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(redact(page(d)))

    @api.get("/api/v1/apps", tags=["apps"], summary="All apps: sync status, health, revision, last result")
    def list_apps() -> dict[str, Any]:
        return {"apps": [app_summary(d, a.name, detail=False) for a in d.config.apps]}

    @api.get("/api/v1/apps/{name}", tags=["apps"], summary="One app, with its last result and drift summary")
    def get_app(name: str) -> dict[str, Any]:
        state_of(name)
        return app_summary(d, name, detail=True)

    @api.get("/api/v1/apps/{name}/drift", tags=["apps"], summary="The drift report the last reconcile saw")
    def get_drift(name: str, format: Literal["json", "markdown", "html"] = "json") -> Response:
        state = state_of(name)
        obs = state.observation
        if obs is None or obs.drift is None:
            return Redacted(
                {"detail": f"{name} has not been reconciled yet"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        text = drift_document([obs.drift], format)
        media = {"json": "application/json", "markdown": "text/markdown; charset=utf-8", "html": "text/html"}
        return Response(text, media_type=media[format])

    @api.get("/api/v1/apps/{name}/history", tags=["apps"], summary="Revision records kept in the cluster")
    def get_history(name: str, format: Literal["json", "html"] = "json") -> Response:
        state_of(name)
        try:
            records = d.ctx.records().history(name)
        except AgentError as e:
            return Redacted({"detail": e.message}, status_code=503)
        rows = history_rows(records)
        if format == "html":
            return HTMLResponse(redact(render("history.html.j2", app=name, rows=rows)))
        return Redacted({"app": name, "revisions": rows})

    # -- actions --------------------------------------------------------------------------
    async def enqueue(name: str, manual: Manual, wait: bool, timeout: float) -> Response:
        state_of(name)
        try:
            (future,) = d.scheduler.request([name], "manual", manual)
        except QueueFull as e:
            return Redacted({"detail": str(e)}, status_code=503, headers={"Retry-After": "10"})
        except Draining as e:
            return Redacted({"detail": str(e)}, status_code=503)
        if not wait:
            return Redacted({"app": name, "status": "queued"}, status_code=202)
        try:
            result: RunResult = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            return Redacted({"app": name, "status": "running"}, status_code=202)
        except Draining as e:
            return Redacted({"detail": str(e)}, status_code=503)
        return Redacted(
            {"app": name, **result.to_dict()}, status_code=200 if result.outcome != "failed" else 409
        )

    @api.post(
        "/api/v1/apps/{name}/sync",
        tags=["actions"],
        summary="Sync now (bearer token)",
        dependencies=[Depends(authorized)],
        responses={401: {}, 403: {}, 409: {"description": "the sync failed or the commit is held"}, 503: {}},
    )
    async def post_sync(
        name: str,
        body: SyncRequest | None = None,
        wait: bool = Query(True, description="answer with the result (202 if not done in time)"),
        timeout: float = Query(300, gt=0, le=3600),
    ) -> Response:
        body = body or SyncRequest()
        manual = Manual("sync", revision=body.revision, prune=body.prune, force=body.force)
        return await enqueue(name, manual, wait, timeout)

    @api.post(
        "/api/v1/apps/{name}/rollback",
        tags=["actions"],
        summary="Roll back to an earlier revision (bearer token)",
        dependencies=[Depends(authorized)],
        responses={401: {}, 403: {}, 409: {"description": "the rollback failed"}, 503: {}},
    )
    async def post_rollback(
        name: str,
        body: RollbackRequest | None = None,
        wait: bool = Query(True),
        timeout: float = Query(300, gt=0, le=3600),
    ) -> Response:
        body = body or RollbackRequest()
        return await enqueue(name, Manual("rollback", to=body.to), wait, timeout)

    # -- webhooks -------------------------------------------------------------------------
    @api.post(
        "/webhooks/{provider}",
        tags=["webhooks"],
        summary="A push from GitHub, GitLab, Gitea/Forgejo, Bitbucket Server/Cloud, or any CI (generic)",
        status_code=202,
        responses={200: {}, 400: {}, 401: {}, 413: {}, 503: {}},
    )
    async def webhook(provider: str, request: Request) -> Response:
        label = provider if provider in PROVIDERS else "unknown"
        count = d.metrics.webhooks
        if d.scheduler.draining:
            count.labels(label, "unavailable").inc()
            return Redacted({"detail": "the agent is shutting down"}, status_code=503)
        body = await request.body()
        headers = dict(request.headers)
        try:
            authenticate(provider, headers, body, settings.webhook.secrets)
            event = parse(provider, headers, body)
        except WebhookError as e:
            result = {400: "malformed", 401: "unauthorized", 404: "unknown-provider"}.get(e.status, "refused")
            count.labels(label, result).inc()
            return Redacted({"detail": str(e)}, status_code=e.status)
        if event.kind != "push":
            count.labels(label, event.kind).inc()
            return Redacted({"status": event.kind}, status_code=200 if event.kind == "ping" else 202)
        names = d.targets(event.pushes)
        if not names:
            count.labels(label, "no-match").inc()
            return Redacted({"status": "no app follows this repository and ref", "apps": 0}, status_code=202)
        try:
            d.scheduler.request(names, "webhook")
        except QueueFull:
            count.labels(label, "queue-full").inc()
            return Redacted(
                {"detail": "too many reconciles waiting"}, status_code=503, headers={"Retry-After": "5"}
            )
        except Draining:
            count.labels(label, "unavailable").inc()
            return Redacted({"detail": "the agent is shutting down"}, status_code=503)
        count.labels(label, "accepted").inc()
        return Redacted({"status": "queued", "apps": len(names)}, status_code=202)

    @api.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        d.metrics.api_requests.labels(request.method, str(response.status_code)).inc()
        return response

    def refused(scope: dict[str, Any], status: int) -> None:
        d.metrics.api_requests.labels(scope.get("method", ""), str(status)).inc()
        path = str(scope.get("path", ""))
        if path.startswith("/webhooks/"):
            provider = path.removeprefix("/webhooks/")
            label = provider if provider in PROVIDERS else "unknown"
            d.metrics.webhooks.labels(label, "too-large" if status == 413 else "timeout").inc()

    return BodyLimits(
        api,
        max_body=settings.webhook.max_body_bytes,
        read_timeout=settings.read_timeout_seconds,
        on_refused=refused,
    )
