"""Limits that keep the HTTP server hard to abuse.

- :class:`BodyLimits` (ASGI middleware): a request body larger than the cap
  is refused with 413 (never kept in memory: one a few times the cap is read
  and dropped, so the client sees the answer; a larger one is refused by its
  Content-Length at once), and a body that does not arrive within the read
  timeout gets 408.  The body is read here once and handed
  on, so the application never sees more than the cap.
- :func:`protocol_with_header_timeout`: uvicorn closes idle keep-alive
  connections but waits forever for the headers of a request (slowloris);
  this protocol closes a connection whose request headers are not complete
  in time, and one whose request line and headers pass MAX_HEADER_BYTES
  (16 KiB) with 431 (h11's own cap only applies to a head that arrives
  incomplete: one sent in a single packet passed at up to 64 KiB).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

Scope = dict[str, Any]
MAX_HEADER_BYTES = 16 * 1024  # the request line and headers
DRAIN_FACTOR = 4  # bodies up to this many times the cap are read and dropped before the 413
Message = dict[str, Any]


async def _answer(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    def __init__(
        self,
        app: Any,
        *,
        max_body: int,
        read_timeout: float,
        on_refused: Callable[[Scope, int], None] | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.on_refused = on_refused or (lambda _scope, _status: None)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def _refuse(send: Any, status: int, message: str) -> None:
            self.on_refused(scope, status)
            await _answer(send, status, message)

        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        declared = 0
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _refuse(send, 400, "invalid Content-Length")
                return
            if declared > self.max_body * DRAIN_FACTOR:  # not worth reading: answer and close
                await _refuse(send, 413, f"request body larger than {self.max_body} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_timeout
        more = scope["method"] not in ("GET", "HEAD", "OPTIONS") or length is not None
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                await _refuse(send, 408, "request body not received in time")
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > self.max_body * DRAIN_FACTOR:
                break
            if size <= self.max_body:
                chunks.append(chunk)
        if size > self.max_body:
            # A moderately oversized body was read to its end and dropped, so the
            # client, still sending, gets the answer instead of a reset connection.
            await _refuse(send, 413, f"request body larger than {self.max_body} bytes")
            return
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return dict(await receive())

        await self.app(scope, replay, send)


_TOO_LARGE_HEAD = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: 62\r\n\r\n"
    b'{"detail": "request headers are larger than 16384 bytes"}     '
)


def protocol_with_header_timeout(seconds: float) -> type[H11Protocol]:
    class HeaderTimeoutProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _head = b""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is not None:  # the head of a request is arriving
                self._head = (self._head + data)[: MAX_HEADER_BYTES + 4]
                end = self._head.find(b"\r\n\r\n")
                if (end < 0 and len(self._head) > MAX_HEADER_BYTES) or end > MAX_HEADER_BYTES:
                    self._disarm()
                    self.transport.write(_TOO_LARGE_HEAD)
                    self.transport.close()
                    return
            super().data_received(data)

        def _arm(self) -> None:
            self._disarm()
            self._head = b""
            self._awaiting = self.cycle
            self._header_timer = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not self._awaiting:  # a request's headers are complete
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _expired(self) -> None:
            self._header_timer = None
            if self.cycle is self._awaiting and not self.transport.is_closing():
                self.transport.close()  # as servers do for a slow client: no answer, the connection goes

    return HeaderTimeoutProtocol
