"""Requests for an app another replica owns go to that replica.

In front of the HTTP app when replicas share the apps (``daemon.ha``):

- ``POST /api/v1/apps/{name}/sync`` and ``…/rollback`` (and the reads
  ``GET /api/v1/apps/{name}``, ``…/drift``, ``…/history``, so they show
  what the owner saw) for an app this replica does not own are sent, unchanged (body, query, token), to the
  owner's address (the ``gitops-agent.io/address`` of its member Lease),
  and the owner's answer is returned.  When the owner cannot be reached, or
  announces no address, the answer is 503 naming the owner.
- ``GET /api/v1/apps``: the list is this replica's, with each row of an
  app another replica owns replaced by that owner's row (each live member is
  asked for its own list, concurrently, with a 10 s bound), so any replica
  shows every app as its owner saw it.  ``replicas.unreached`` names the
  members that did not answer; their apps' rows are what this one saw last.
- ``POST /webhooks/{provider}``: a push is verified and matched here; it is
  sent on, unchanged (so the owner verifies the same signature), to every
  other replica owning one of the apps it selects, and queued here for the
  apps this replica owns.

A forwarded request carries ``X-Gitops-Agent-Forwarded`` (the sender's
identity) and is never forwarded again: two replicas that disagree for a
moment about an owner cannot bounce a request between them.  Kubernetes
Services spread requests over the pods, so this is what makes any replica
a good entry point, as Argo CD's API server hands an app's operation to
the controller shard that owns it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote

from agent.daemon.protocol import DaemonView
from agent.daemon.replicas import Sharing
from agent.daemon.webhooks import WebhookError, authenticate, parse

log = logging.getLogger("gitops_agent.ha")
FORWARDED = "x-gitops-agent-forwarded"
_ACTION = re.compile(r"/api/v1/apps/([^/]+)/(sync|rollback)")
_READ = re.compile(r"/api/v1/apps/([^/]+)(/drift|/history)?")
_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive", "accept-encoding"}
_TIMEOUT = 3600.0  # a manual sync may wait for its result as long as it asks (?timeout=, at most 3600)
_FANOUT_TIMEOUT = 10.0


class Forwarding:
    """ASGI middleware; see the module's docstring."""

    def __init__(self, app: Any, d: DaemonView, sharing: Sharing) -> None:
        self.app = app
        self.d = d
        self.sharing = sharing

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        method = scope.get("method")
        if scope["type"] != "http" or method not in ("GET", "POST") or _header(scope, FORWARDED) is not None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if method == "GET" and path == "/api/v1/apps":
            await self._merged_list(scope, receive, send)
            return
        app = (_ACTION if method == "POST" else _READ).fullmatch(path)
        if app is not None and not self.sharing.owns(unquote(app[1])):
            owner, address = self.sharing.owner(unquote(app[1]))
            if owner is None and method == "POST":  # nobody to run it: say so rather than queue it here
                await _reply(send, *_nobody(unquote(app[1])))
                return
            if owner is not None and owner != self.sharing.identity:
                body = await _body(receive)
                status, headers, answer = await asyncio.to_thread(
                    self._send, address, owner, scope, body, _TIMEOUT if method == "POST" else _FANOUT_TIMEOUT
                )
                await _reply(send, status, headers, answer)
                return
        if method == "POST" and path.startswith("/webhooks/") and not self.d.draining:
            body = await _body(receive)
            await self._fan_out(scope, body)
            receive = _replay(body)
        await self.app(scope, receive, send)

    async def _fan_out(self, scope: dict[str, Any], body: bytes) -> None:
        """Send a verified push on to the other owners of the apps it selects."""
        provider = scope["path"].removeprefix("/webhooks/")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            authenticate(provider, headers, body, self.d.config.daemon.webhook.secrets)
            event = parse(provider, headers, body)
        except WebhookError:
            return  # the app answers why
        if event.kind != "push":
            return
        owners: dict[str, str] = {}
        for app in self.d.targets(event.pushes):
            owner, address = self.sharing.owner(app)
            if owner is not None and owner != self.sharing.identity:
                owners[owner] = address
        sent = [
            asyncio.to_thread(self._send, address, owner, scope, body, _FANOUT_TIMEOUT)
            for owner, address in sorted(owners.items())
        ]
        for owner, (status, _, answer) in zip(sorted(owners), await asyncio.gather(*sent), strict=True):
            level = logging.INFO if status < 300 else logging.WARNING
            log.log(level, "push sent on to %s: %d %s", owner, status, answer[:200].decode(errors="replace"))

    async def _merged_list(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """This replica's list, each row of an app owned elsewhere from its owner."""
        plain = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        status, headers, body = await _collect(self.app, {**scope, "headers": plain}, receive)
        if status != 200:
            await _reply(send, status, headers, body)
            return
        listing = json.loads(body)
        replicas = listing.get("replicas") or {}
        mine = self.sharing.identity
        others = {m["identity"]: m["address"] for m in replicas.get("members", []) if m["identity"] != mine}
        read = {**scope, "method": "GET"}
        answers = await asyncio.gather(
            *(
                asyncio.to_thread(self._send, address, owner, read, b"", _FANOUT_TIMEOUT)
                for owner, address in sorted(others.items())
            )
        )
        theirs: dict[str, dict[str, Any]] = {}
        unreached = []
        for owner, (code, _, answer) in zip(sorted(others), answers, strict=True):
            rows = json.loads(answer).get("apps", []) if code == 200 else None
            if rows is None:
                unreached.append(owner)
                continue
            theirs.update({r["name"]: r for r in rows if r.get("owner") == owner})
        owners = replicas.get("owners", {})
        listing["apps"] = [
            theirs[r["name"]] if r["name"] in theirs and owners.get(r["name"]) != self.sharing.identity else r
            for r in listing["apps"]
        ]
        if replicas:
            replicas["unreached"] = unreached
        out = json.dumps(listing).encode()
        await _reply(send, 200, [("content-type", "application/json")], out)

    def _send(
        self, address: str, owner: str, scope: dict[str, Any], body: bytes, timeout: float
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """POST the request to ``owner``; its answer, or a 503 naming it."""
        if not address:
            return _unavailable(owner, "it announces no address (daemon.ha.advertiseAddress)")
        query = scope.get("query_string", b"").decode("latin-1")
        url = address + scope["path"] + (f"?{query}" if query else "")
        headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in _HOP
        }
        headers[FORWARDED] = self.sharing.identity
        method = scope["method"]
        data = body if method == "POST" else None
        req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (http/https only, by the config's pattern)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:  # noqa: S310
                return answer.status, _kept(answer.headers.items()), answer.read()
        except urllib.error.HTTPError as e:  # the owner's own answer (401, 404, 409, 503, ...)
            return e.code, _kept(e.headers.items()), e.read()
        except (OSError, ValueError) as e:
            return _unavailable(owner, f"it could not be reached at {address}: {e}")


def _kept(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() in ("content-type", "retry-after", "www-authenticate")]


def _unavailable(owner: str, why: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"detail": f"this app is owned by replica {owner}; {why}", "owner": owner}).encode()
    return 503, [("content-type", "application/json"), ("retry-after", "5")], body


def _nobody(app: str) -> tuple[int, list[tuple[str, str]], bytes]:
    why = "the replicas are starting, or cannot reach the cluster that holds their Leases"
    body = json.dumps({"detail": f"no replica owns {app} yet: {why}", "owner": None}).encode()
    return 503, [("content-type", "application/json"), ("retry-after", "5")], body


def _header(scope: dict[str, Any], name: str) -> str | None:
    for k, v in scope["headers"]:
        if k.decode("latin-1").lower() == name:
            return str(v.decode("latin-1"))
    return None


async def _collect(app: Any, scope: dict[str, Any], receive: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run ``app`` on the request and keep its whole answer."""
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def keep(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in started.get("headers", [])
        if k.lower() != b"content-length"
    ]
    return int(started.get("status", 500)), headers, b"".join(chunks)


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _reply(send: Any, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


__all__ = ["FORWARDED", "Forwarding"]
