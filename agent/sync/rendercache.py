"""Renders kept by what they were made from: a poll that finds the same
commit renders and schema-checks nothing again.

Argo CD's repo-server keeps generated manifests by revision and app source
the same way.  An app's render is kept (one per app, the latest) under its
commit, its whole configuration (path, values, every source field), its
owner id and whether it is a first install; it is used again for at most
RENDER_TTL seconds, so what a commit alone does not pin (the cluster's
version and APIs a chart asks about, a chart fetched from a repository by a
version range) is asked again at that pace.  The same tuple of manifests
comes back each time, so its digest is remembered too
(:func:`agent.sync.encoding.digest`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.config import Application
from agent.render import RenderResult

RENDER_TTL = 300.0
Key = tuple[str, str, str, bool]


@dataclass
class RenderCache:
    ttl: float = RENDER_TTL
    _kept: dict[str, tuple[Key, float, RenderResult]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rendered(
        self,
        app: Application,
        commit: str,
        owner: str,
        is_install: bool,
        render: Callable[[], RenderResult],
    ) -> RenderResult:
        key = (commit, app.model_dump_json(), owner, is_install)
        with self._lock:
            kept = self._kept.get(app.name)
        if kept is not None and kept[0] == key and time.monotonic() - kept[1] < self.ttl:
            return kept[2]
        result = render()  # a failed render raises: nothing is kept
        with self._lock:
            self._kept[app.name] = (key, time.monotonic(), result)
        return result
