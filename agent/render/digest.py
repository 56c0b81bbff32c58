"""Digests of the files a render reads, and a small cache of renders by them.

A render through an outside engine (Kustomize, Helm) is a pure function of
the files it reads, the engine's version and the options it was given; the
digest of all of those names it, so a poll that finds nothing changed takes
the manifests from :class:`RenderCache` and starts no process (Argo CD's
repo-server caches manifests by the same kind of key).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from agent.render.paths import walk_files


def tree_digest(
    folders: Iterable[Path], repo: Path, shown: str, extra: Iterable[str] = (), files: Iterable[Path] = ()
) -> str:
    """``sha256:<hex>`` of every file under ``folders`` (and of ``files``),
    by its path in the repository and its bytes, plus the ``extra`` strings
    (engine version, options).  A symlink that leaves the repository is
    refused (:func:`~agent.render.paths.walk_files`)."""
    h = hashlib.sha256()
    seen: set[Path] = set()
    entries: list[tuple[str, Path]] = []
    for folder in sorted({f.resolve() for f in folders}):
        for _, real in walk_files(folder, shown, boundary=repo, scope="repository"):
            if real not in seen:
                seen.add(real)
                entries.append((real.relative_to(repo).as_posix(), real))
    for f in files:
        real = f.resolve()
        if real not in seen and real.is_file():
            seen.add(real)
            entries.append((real.relative_to(repo).as_posix(), real))
    for rel, real in sorted(entries, key=lambda e: e[0].encode()):
        data = real.read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    for item in extra:
        h.update(f"\0{item}".encode())
    return "sha256:" + h.hexdigest()


class RenderCache:
    """The last renders by digest, at most ``entries`` of them and
    ``max_bytes`` of text together (least recently used go first)."""

    def __init__(self, entries: int = 512, max_bytes: int = 256 * 1024 * 1024) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._entries = entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> str | None:
        with self._lock:
            text = self._items.get(key)
            if text is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return text

    def put(self, key: str, text: str) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = text
            self._bytes += len(text)
            while self._items and (len(self._items) > self._entries or self._bytes > self._max_bytes):
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
