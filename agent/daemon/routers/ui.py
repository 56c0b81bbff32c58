"""The pages a person uses: login, an app's page, a revision's page, and
the Sync and Rollback buttons (form POSTs with the session and its CSRF
token, never the bearer token in the page)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from agent import __version__
from agent.daemon.pages import app_page, revision_page
from agent.daemon.protocol import AppRemoved, DaemonView, Draining, QueueFull
from agent.daemon.routers.common import Daemon, readable, router, session_role, sessions, snapshot_of
from agent.daemon.session import ADMIN, COOKIE, role_of, safe_next, same_origin
from agent.daemon.state import Manual
from agent.errors import AgentError
from agent.redact import redact
from agent.report.templates import render
from agent.results import Operation, Trigger

ui = router("pages")
Readable = Annotated[None, Depends(readable)]
_NOTICES = {
    "sync": "Sync queued: this page shows its result once it has run.",
    "rollback": "Rollback queued: this page shows its result once it has run.",
    "busy": "Not queued: too many runs are waiting, or the agent is shutting down. Try again shortly.",
}


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _login_page(d: DaemonView, target: str, error: str = "", status: int = 200) -> HTMLResponse:
    html = render(
        "login.html.j2",
        next=target,
        error=error,
        actions=bool(d.config.daemon.api_token),
        version=__version__,
    )
    return HTMLResponse(redact(html), status_code=status)


@ui.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(d: Daemon, next: str = "/") -> HTMLResponse:
    return _login_page(d, safe_next(next))


@ui.post("/login", include_in_schema=False)
async def login(request: Request, d: Daemon) -> Response:
    if not same_origin(request.headers.get("origin"), request.headers.get("host")):
        raise HTTPException(403, "cross-site form refused")
    form = await _form(request)
    target = safe_next(form.get("next"))
    role = role_of(d.config.daemon, form.get("token", ""))
    if role is None:
        return _login_page(d, target, "That token is not accepted.", 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        sessions(request).issue(role),
        httponly=True,
        samesite="strict",
        secure=_over_https(request),
        path="/",
    )
    return response


def _over_https(request: Request) -> bool:
    """HTTPS here, or at the proxy in front (``X-Forwarded-Proto``: trusting it
    can only make the cookie stricter)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _checked(request: Request, form: dict[str, str], *, admin: bool) -> None:
    """A form POST from this site, with the session's CSRF token (and, for
    actions, a session the API token opened)."""
    if not same_origin(request.headers.get("origin"), request.headers.get("host")):
        raise HTTPException(403, "cross-site form refused")
    value = request.cookies.get(COOKIE)
    if not sessions(request).csrf_ok(value, form.get("csrf", "")):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    if admin and session_role(request) != ADMIN:
        raise HTTPException(403, "Sync and Rollback need a login with daemon.apiToken")


@ui.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    _checked(request, await _form(request), admin=False)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def session_context(request: Request, d: DaemonView, notice: str = "") -> dict[str, Any]:
    value = request.cookies.get(COOKIE)
    role = sessions(request).role(value)
    return {
        "role": role,
        "csrf": sessions(request).csrf(value) if role and value else "",
        "notice": _NOTICES.get(notice, ""),
        "actions": bool(d.config.daemon.api_token),
        "guarded": bool(d.config.daemon.read_tokens()),
    }


@ui.get("/apps/{name}", response_class=HTMLResponse, include_in_schema=False)
def app(name: str, request: Request, d: Daemon, _: Readable, notice: str = "") -> HTMLResponse:
    snap = snapshot_of(d, name)
    return HTMLResponse(app_page(d, name, snap, session_context(request, d, notice)))


@ui.get("/apps/{name}/revisions/{number}", response_class=HTMLResponse, include_in_schema=False)
def revision(name: str, number: int, d: Daemon, _: Readable) -> HTMLResponse:
    snapshot_of(d, name)
    try:
        html = revision_page(d, name, number)
    except AgentError as e:
        raise HTTPException(503, e.message) from e
    if html is None:
        raise HTTPException(404, f"{name} has no revision {number}")
    return HTMLResponse(html)


async def _act(request: Request, d: DaemonView, name: str, manual: Manual | None) -> Response:
    snapshot_of(d, name)
    form = await _form(request)
    _checked(request, form, admin=True)
    if manual is None:
        to = form.get("to", "")
        manual = Manual(Operation.ROLLBACK, to=int(to) if to.isdigit() else None)
    try:
        d.request([name], Trigger.MANUAL, manual)
        notice = str(manual.action)
    except (QueueFull, Draining):
        notice = "busy"
    except AppRemoved as e:
        raise HTTPException(404, str(e)) from None
    return RedirectResponse(f"/apps/{quote(name)}?notice={notice}", status_code=303)


@ui.post("/apps/{name}/sync", include_in_schema=False)
async def sync_button(name: str, request: Request, d: Daemon) -> Response:
    return await _act(request, d, name, Manual(Operation.SYNC))


@ui.post("/apps/{name}/rollback", include_in_schema=False)
async def rollback_button(name: str, request: Request, d: Daemon) -> Response:
    return await _act(request, d, name, None)
