"""``POST /webhooks/{provider}``: a verified push asks for a reconcile of
the apps that follow its repository and ref.  Every answer is counted in
``gitops_agent_webhook_requests_total`` by provider and result."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from agent.daemon.protocol import DaemonView, Draining, QueueFull
from agent.daemon.routers.common import Daemon, Redacted, router
from agent.daemon.webhooks import PROVIDERS, WebhookError, authenticate, parse
from agent.results import Trigger

webhooks = router("webhooks")
_REFUSED = {400: "malformed", 401: "unauthorized", 404: "unknown-provider"}
_SHUTTING_DOWN = {"detail": "the agent is shutting down"}


def provider_label(provider: str) -> str:
    """The metric label: a known provider's name, else ``unknown``."""
    return provider if provider in PROVIDERS else "unknown"


def _answer(
    d: DaemonView, label: str, result: str, body: dict[str, Any], status: int, *, retry: str | None = None
) -> Response:
    d.metrics.webhooks.labels(label, result).inc()
    headers = {"Retry-After": retry} if retry else None
    return Redacted(body, status_code=status, headers=headers)


def _queue(d: DaemonView, label: str, names: list[str]) -> Response:
    if not names:
        return _answer(
            d, label, "no-match", {"status": "no app follows this repository and ref", "apps": 0}, 202
        )
    try:
        d.request(names, Trigger.WEBHOOK)
    except QueueFull:
        return _answer(d, label, "queue-full", {"detail": "too many reconciles waiting"}, 503, retry="5")
    except Draining:
        return _answer(d, label, "unavailable", _SHUTTING_DOWN, 503)
    return _answer(d, label, "accepted", {"status": "queued", "apps": len(names)}, 202)


@webhooks.post(
    "/webhooks/{provider}",
    summary="A push from GitHub, GitLab, Gitea/Forgejo, Bitbucket Server/Cloud, or any CI (generic)",
    status_code=202,
    responses={200: {}, 400: {}, 401: {}, 413: {}, 503: {}},
)
async def webhook(provider: str, request: Request, d: Daemon) -> Response:
    label = provider_label(provider)
    if d.draining:
        return _answer(d, label, "unavailable", _SHUTTING_DOWN, 503)
    body = await request.body()
    headers = dict(request.headers)
    try:
        authenticate(provider, headers, body, d.config.daemon.webhook.secrets)
        event = parse(provider, headers, body)
    except WebhookError as e:
        return _answer(d, label, _REFUSED.get(e.status, "refused"), {"detail": str(e)}, e.status)
    if event.kind != "push":
        return _answer(d, label, event.kind, {"status": event.kind}, 200 if event.kind == "ping" else 202)
    return _queue(d, label, d.targets(event.pushes))
