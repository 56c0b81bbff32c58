"""What every router shares: the redacting JSON answer, the daemon as a
dependency, the app lookup (404), the bearer-token check for actions and
the read check (a bearer token or a login session, when reading is guarded)."""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent.daemon.protocol import DaemonView
from agent.daemon.session import COOKIE, Sessions, role_of
from agent.daemon.state import AppSnapshot
from agent.redact import redact


class Redacted(JSONResponse):
    """JSON with every secret value masked (the last point before the wire)."""

    def render(self, content: Any) -> bytes:
        return redact(json.dumps(content, default=str, separators=(",", ":"))).encode()


def router(tag: str) -> APIRouter:
    return APIRouter(tags=[tag], default_response_class=Redacted)


def _daemon(request: Request) -> DaemonView:
    return cast(DaemonView, request.app.state.daemon)


Daemon = Annotated[DaemonView, Depends(_daemon)]


def snapshot_of(d: DaemonView, name: str) -> AppSnapshot:
    """The app's state now; 404 for an app the configuration lacks."""
    snap = d.snapshot(name)
    if snap is None:
        raise HTTPException(404, f"no app named {name!r}")
    return snap


_bearer = HTTPBearer(auto_error=False, description="daemon.apiToken from the configuration")


def authorized(d: Daemon, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """403 when no token is configured (the actions are off), 401 for a
    missing or wrong one (compared in constant time)."""
    token = d.config.daemon.api_token
    if not token:
        raise HTTPException(403, "disabled: no daemon.apiToken is configured")
    given = creds.credentials if creds is not None and creds.scheme.lower() == "bearer" else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


class LoginRequired(HTTPException):
    """Reading is guarded and the request carries no valid token or session:
    the API answers 401, a page sends the browser to the login form."""

    def __init__(self) -> None:
        super().__init__(401, "a token is needed to read", headers={"WWW-Authenticate": "Bearer"})


def sessions(request: Request) -> Sessions:
    return cast(Sessions, request.app.state.sessions)


def session_role(request: Request) -> str | None:
    """The role of the request's login session, if it has one."""
    return sessions(request).role(request.cookies.get(COOKIE))


def readable(
    request: Request, d: Daemon, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Open unless ``daemon.readToken`` is set; then a bearer token (the read
    or the API token) or a login session is needed."""
    settings = d.config.daemon
    if not settings.read_tokens():
        return
    if creds is not None and creds.scheme.lower() == "bearer" and role_of(settings, creds.credentials):
        return
    if session_role(request) is not None:
        return
    raise LoginRequired()
