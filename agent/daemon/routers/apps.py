"""The apps: the status page, the list, and one app in detail."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from agent.daemon.routers.common import Daemon, router, snapshot_of
from agent.daemon.views import all_apps, app_summary, page
from agent.redact import redact

apps = router("apps")


@apps.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(d: Daemon) -> HTMLResponse:
    return HTMLResponse(redact(page(d)))


@apps.get(
    "/api/v1/apps",
    summary="All apps: sync status, health, revision, last result; the fleet's problems and removals",
)
def list_apps(d: Daemon) -> dict[str, Any]:
    return {"apps": all_apps(d), **d.fleet_status()}


@apps.get("/api/v1/apps/{name}", summary="One app, with its last result and drift summary")
def get_app(name: str, d: Daemon) -> dict[str, Any]:
    return app_summary(d, name, snapshot_of(d, name), detail=True)
