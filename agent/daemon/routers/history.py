"""An app's revision records: the one read that goes to the cluster."""

from __future__ import annotations

from typing import Literal

from fastapi import Response
from fastapi.responses import HTMLResponse

from agent.daemon.routers.common import Daemon, Redacted, router, snapshot_of
from agent.errors import AgentError
from agent.redact import redact
from agent.report.documents import history_rows
from agent.report.templates import render

history = router("apps")


@history.get("/api/v1/apps/{name}/history", summary="Revision records kept in the cluster")
def get_history(name: str, d: Daemon, format: Literal["json", "html"] = "json") -> Response:
    snapshot_of(d, name)
    try:
        records = d.history(name)
    except AgentError as e:
        return Redacted({"detail": e.message}, status_code=503)
    rows = history_rows(records)
    if format == "html":
        return HTMLResponse(redact(render("history.html.j2", app=name, rows=rows)))
    return Redacted({"app": name, "revisions": rows})
