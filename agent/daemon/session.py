"""Who may read and act: bearer tokens for the API, a login session for the pages.

The login form takes a token (``daemon.apiToken``, or ``daemon.readToken``
when reading is guarded) and answers with a session cookie that is
``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page
sends it) and ``Secure`` when the request came over HTTPS; it lasts until
the browser closes.  The cookie does not hold the token itself but a value
signed with a key this process drew at start (a restart logs everyone out),
naming the role the token gave: ``admin`` (the apiToken: Sync and Rollback)
or ``reader``.

Every form that changes something carries a CSRF token derived from the
session (the synchronizer-token pattern of the OWASP cheat sheet, without
server state), and a POST whose ``Origin`` names another site is refused
whatever it carries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from agent.config import DaemonConfig

COOKIE = "gitops_agent_session"
ADMIN = "admin"
READER = "reader"


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


def role_of(settings: DaemonConfig, given: str) -> str | None:
    """What a token may do: ``admin``, ``reader`` or nothing (None)."""
    if not given:
        return None
    if settings.api_token and _same(given, settings.api_token):
        return ADMIN
    if any(_same(given, t) for t in settings.read_tokens()):
        return READER
    return None


@dataclass
class Sessions:
    """Signed session values and the CSRF tokens derived from them."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def _mac(self, text: str) -> str:
        digest = hmac.new(self.key, text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, role: str) -> str:
        body = f"{role}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._mac(body)}"

    def role(self, value: str | None) -> str | None:
        """The role a cookie value carries, or None when it is not ours."""
        if not value or value.count(".") != 2:
            return None
        body, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        role = body.split(".", 1)[0]
        return role if role in (ADMIN, READER) else None

    def csrf(self, session: str) -> str:
        return self._mac(f"csrf:{session}")

    def csrf_ok(self, session: str | None, given: str) -> bool:
        return bool(session) and hmac.compare_digest(given.encode(), self.csrf(session or "").encode())


def same_origin(origin: str | None, host: str | None) -> bool:
    """A POST's ``Origin`` (when the browser sent one) names this server."""
    if not origin:
        return True  # older browsers and non-browser clients; SameSite and the CSRF token still hold
    if origin == "null":
        return False
    return urlsplit(origin).netloc == (host or "")


def safe_next(target: str | None) -> str:
    """A redirect target after login: a path on this server, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
