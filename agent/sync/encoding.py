"""The revision record's bytes: the digest of the rendered manifests and
their gzipped JSON (base64 in a Secret, as Helm stores a release), made
while the sync writes.

A sync that writes starts :func:`encode_ahead` beside its writes: the bulk
of a record's encoding is then off the path between the last write and the
record (:mod:`agent.sync.record` finishes it with the rest of the record).
Its thread, and the pause that hands the writing threads the interpreter
between manifests, belong here, beside the encoding they serve, and not in
the pipeline script.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from agent.models import Manifest

MEMO_SIZE = 4096  # digests remembered (one per app's current render is enough)
# by the tuple's id, with a weak reference to each manifest: a render no one
# keeps any longer is not kept for its digest (whose id a new tuple may reuse)
_memo: OrderedDict[int, tuple[tuple[weakref.ref[Any], ...], str]] = OrderedDict()
_memo_lock = threading.Lock()


class Encodable(Protocol):
    """A revision record, as its encoding sees it."""

    @property
    def manifests(self) -> tuple[dict[str, Any], ...]: ...
    def to_json(self) -> dict[str, Any]: ...


def _text(obj: Mapping[str, Any]) -> bytes:
    """One manifest as the digest and the record encode it: sorted, compact JSON."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def digest(manifests: tuple[Manifest, ...], pause: Callable[[], None] | None = None) -> str:
    """sha256 of the manifests as one sorted, compact JSON list; encoded one
    manifest at a time (the same bytes), with ``pause`` called between them
    (see :class:`EncodedManifests`).  The digest of the tuple last asked for
    is remembered (a render the sync reuses is the same tuple: a poll that
    finds nothing new does not encode it again)."""
    with _memo_lock:
        known = _memo.get(id(manifests))
        if known is not None and _same(known[0], manifests):
            _memo.move_to_end(id(manifests))
            return known[1]
    h = hashlib.sha256(b"[")
    for i, m in enumerate(manifests):
        if pause is not None:
            pause()
        h.update((b"," if i else b"") + _text(m.obj))
    h.update(b"]")
    return _remember(manifests, h.hexdigest())


def remember(manifests: tuple[Manifest, ...], found: str) -> None:
    """Remember ``found`` as the digest of ``manifests``: one known from the
    bytes it was made of (a render kept in a file holds its digest)."""
    _remember(manifests, found)


def _same(refs: tuple[weakref.ref[Any], ...], manifests: tuple[Any, ...]) -> bool:
    return len(refs) == len(manifests) and all(r() is m for r, m in zip(refs, manifests, strict=True))


def _remember(manifests: tuple[Any, ...], found: str) -> str:
    refs = tuple(weakref.ref(m) for m in manifests)
    with _memo_lock:
        _memo[id(manifests)] = (refs, found)
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return found


class EncodedManifests:
    """A record's manifests, serialized and compressed before the rest of
    the record is known: a sync makes one while it writes (the bulk of a
    record's encoding, off the path between the last write and the record)
    and :meth:`~agent.sync.record.RecordStore.write` finishes the record from it.

    The record is one gzip stream of its JSON with ``manifests`` first; the
    compressor's state after them is kept and copied for the rest.  Each
    manifest is encoded on its own, and ``pause`` is called between them: a
    thread encoding beside the writes passes ``os.sched_yield``, giving the
    interpreter back to the writing threads at once, not every few
    milliseconds."""

    def __init__(
        self, manifests: tuple[dict[str, Any], ...], pause: Callable[[], None] | None = None
    ) -> None:
        self.manifests = manifests
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: the gzip format
        parts = [self._compressor.compress(b'{"manifests":[')]
        h = hashlib.sha256(b"[")
        for i, m in enumerate(manifests):
            if pause is not None:
                pause()
            text = (b"," if i else b"") + _text(m)
            h.update(text)  # the digest, from the bytes the record holds
            parts.append(self._compressor.compress(text))
        parts.append(self._compressor.compress(b"]"))
        h.update(b"]")
        self.digest = h.hexdigest()
        self._head = b"".join(parts)

    def finish(self, record: Encodable) -> str:
        """The record's encoding (base64 of gzipped JSON), for ``record``
        with these manifests."""
        if record.manifests is not self.manifests and record.manifests != self.manifests:
            raise ValueError("the record's manifests are not the ones encoded")
        rest = record.to_json()
        del rest["manifests"]
        compressor = self._compressor.copy()
        tail = compressor.compress(("," + json.dumps(rest, separators=(",", ":"))[1:]).encode())
        return base64.b64encode(self._head + tail + compressor.flush()).decode()


def encode_ahead(manifests: tuple[Manifest, ...]) -> Future[tuple[str, EncodedManifests]]:
    """The digest of the rendered manifests and their encoding for the
    record, made on a thread of its own beside the writes; the writing
    threads go first between manifests (``os.sched_yield`` hands them the
    interpreter at once, where ``sleep(0)`` would wait out the timer slack)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record")
    try:
        return pool.submit(_encode_manifests, manifests)
    finally:
        pool.shutdown(wait=False)  # the one task runs on; its thread ends with it


def _encode_manifests(manifests: tuple[Manifest, ...]) -> tuple[str, EncodedManifests]:
    def pause() -> None:
        os.sched_yield()  # lets a waiting thread take the interpreter (no timer, unlike sleep(0))

    encoded = EncodedManifests(tuple(m.obj for m in manifests), pause)
    return _remember(manifests, encoded.digest), encoded
