"""Watch over HTTP: a stream of events from a resourceVersion, woken by every write.

``?watch=true`` answers with one JSON event per line: the current objects as
ADDED (without a resourceVersion, or with ``0``), then each change read from
the store's event log; BOOKMARK events when asked (and the
``k8s.io/initial-events-end`` one for ``sendInitialEvents``); an ERROR with
410 Expired when the version was compacted away.  Watches wait on an asyncio
event per watch, set by :class:`Wakers` from the registry's write listener:
at once for a write made on the server's loop, through the loop for a
controller's write on its thread.  Event lines are sent in chunks of about
64 KiB, so a watch that starts on two hundred objects sends a few writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from agent.emulator.objects import JSON, as_version
from agent.emulator.registry import Registry
from agent.emulator.rest import listoptions
from agent.emulator.storage.selectors import Matcher, field_matcher, label_matcher
from agent.emulator.storage.store import Events
from agent.emulator.transitions import Transitions
from agent.kube.errors import BadRequest, Expired
from agent.kube.kinds import ResourceType

WATCH_TIMEOUT = 1800.0
CHUNK_BYTES = 64 * 1024
Kind = tuple[str, str]  # group, plural
AsTable = Callable[[JSON], JSON]


class Wakers:
    """The watches waiting for writes, by the (group, plural) they watch."""

    def __init__(self) -> None:
        self._events: dict[asyncio.Event, Kind] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def bind(self) -> None:
        """Remember the server's loop (on its first request)."""
        if self._loop is None:
            self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()

    def on_write(self, _rv: int, group: str, plural: str) -> None:
        """Wake the watches of the written kind: at once when the write was
        made on the server's own loop (a request), else through the loop (a
        controller's write on its thread)."""
        loop, kind = self._loop, (group, plural)
        if loop is None or loop.is_closed() or kind not in list(self._events.values()):
            return
        if threading.get_ident() == self._loop_thread:
            self._wake(kind)
        else:
            loop.call_soon_threadsafe(self._wake, kind)

    def _wake(self, kind: Kind) -> None:
        for event, watched in list(self._events.items()):
            if watched == kind:
                event.set()

    def add(self, kind: Kind) -> asyncio.Event:
        event = asyncio.Event()
        self._events[event] = kind
        return event

    def remove(self, event: asyncio.Event) -> None:
        self._events.pop(event, None)


@dataclass
class WatchRequest:
    """What one watch asks for, from its query."""

    rt: ResourceType
    namespace: str
    since: int  # -1: list first
    labels: Matcher | None
    fields: Matcher | None
    timeout: float
    bookmarks: bool
    initial_end: bool
    as_table: AsTable | None = None

    def keep(self, obj: JSON) -> bool:
        return (self.labels is None or self.labels(obj)) and (self.fields is None or self.fields(obj))

    @property
    def selective(self) -> bool:
        return self.labels is not None or self.fields is not None

    def line(self, kind: str, obj: JSON) -> bytes:
        if kind == "BOOKMARK":
            obj["apiVersion"], obj["kind"] = self.rt.api_version, self.rt.kind
        else:  # in the version watched (an autoscaling/v1 watch of a stored v2 object)
            obj = as_version(obj, self.rt)
        if self.as_table is not None and kind != "BOOKMARK":
            obj = self.as_table(obj)
        return (json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n").encode()

    def bookmark(self, rv: int, *, end: bool = False) -> bytes:
        meta: JSON = {"resourceVersion": str(rv)}
        if end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return self.line("BOOKMARK", {"metadata": meta})


def parse(request: Request, rt: ResourceType, ns: str, name: str, as_table: AsTable | None) -> WatchRequest:
    q = request.query_params
    listoptions.check(q, watch=True)
    labels = label_matcher(q.get("labelSelector"))
    field_selector = q.get("fieldSelector")
    if name:
        field_selector = f"metadata.name={name}" + (f",{field_selector}" if field_selector else "")
    since_text = q.get("resourceVersion") or ""
    since = -1
    if since_text not in ("", "0"):
        try:
            since = int(since_text)
        except ValueError:
            raise BadRequest(f'invalid resource version "{since_text}"') from None
    return WatchRequest(
        rt=rt,
        namespace=ns,
        since=since,
        labels=labels,
        fields=field_matcher(field_selector, rt.kind),
        timeout=float(q.get("timeoutSeconds") or WATCH_TIMEOUT),
        bookmarks=q.get("allowWatchBookmarks") in ("true", "1"),
        initial_end=q.get("sendInitialEvents") in ("true", "1"),
        as_table=as_table,
    )


def respond(registry: Registry, wakers: Wakers, watch: WatchRequest, bookmark_seconds: float) -> Response:
    oldest = registry.oldest_rv()
    if 0 <= watch.since < oldest - 1:
        error = Expired(f"too old resource version: {watch.since} ({oldest - 1})")
        line = json.dumps({"type": "ERROR", "object": error.status()}) + "\n"
        return Response(line, media_type="application/json")
    return StreamingResponse(stream(registry, wakers, watch, bookmark_seconds), media_type="application/json")


async def stream(
    registry: Registry, wakers: Wakers, watch: WatchRequest, bookmark_seconds: float
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + watch.timeout
    rt, ns, since = watch.rt, watch.namespace, watch.since
    wake = wakers.add((rt.group, rt.plural))
    store = registry.store
    view = Transitions(watch.keep, lambda rv, n, name: store.body_before(rv, rt.group, rt.plural, n, name))
    try:
        if since < 0:
            page = registry.list_page(rt, ns)
            since = int(page.resource_version)
            initial = [obj for obj in page.items if watch.keep(obj)]
            for obj in initial if watch.selective else ():
                view.seen(obj)
            for chunk in chunks(watch.line("ADDED", obj) for obj in initial):
                yield chunk
            if watch.initial_end:
                yield watch.bookmark(since, end=True)
        last_bookmark = loop.time()
        while loop.time() < deadline:
            wake.clear()
            registry.run_due()
            events = registry.events_since(since, rt, ns)
            if events:
                since = events[-1][0]
                for chunk in chunks(watch.line(*sent) for sent in _sent(watch, view, events)):
                    yield chunk
                continue
            if watch.bookmarks and loop.time() - last_bookmark >= bookmark_seconds:
                last_bookmark = loop.time()
                yield watch.bookmark(max(since, registry.current_rv()))
            wait = min(1.0, max(0.0, deadline - loop.time()))
            if watch.bookmarks:
                wait = min(wait, bookmark_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=wait)
    finally:
        wakers.remove(wake)


def _sent(watch: WatchRequest, view: Transitions, events: Events) -> Iterator[tuple[str, JSON]]:
    if not watch.selective:
        for _, kind, obj in events:
            yield kind, obj
        return
    for rv, kind, obj in events:
        sent = view.event(rv, kind, obj)
        if sent is not None:
            yield sent


def chunks(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Event lines joined into chunks of about CHUNK_BYTES: a watch that
    starts on two hundred objects sends a few writes, not two hundred (each
    costs a TLS record and a trip through the ASGI stack); clients read
    lines, whatever the chunks."""
    part: list[bytes] = []
    size = 0
    for one in lines:
        part.append(one)
        size += len(one)
        if size >= CHUNK_BYTES:
            yield b"".join(part)
            part, size = [], 0
    if part:
        yield b"".join(part)
