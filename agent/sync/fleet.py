"""Commands over many apps: each app's work on a bounded pool of threads.

A sync is mostly waiting (for git, for the API server's answers, for
rollouts), so apps synced side by side finish in about the time of the
slowest few, not of all of them in a row; the pool is bounded so a fleet of
thousands does not open thousands of connections at once.  The results come
back in the apps' order.  With a shared view of the cluster
(:func:`agent.sync.context.shared_view`) the apps' reads cost one list per
kind for all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from agent.config import Application
from agent.source import GitSource

T = TypeVar("T")
APP_WORKERS = 8  # apps at a time (measured on 2 cores: bench/fleet.py)


def each_app(
    apps: Sequence[Application],
    work: Callable[[Application], T],
    source: GitSource | None = None,
    workers: int = APP_WORKERS,
) -> list[T]:
    """``work`` for every app, ``workers`` at a time; results in the apps'
    order.  With ``source``, the apps are one round of it: one ``ls-remote``
    per repository for all of them (:meth:`GitSource.round`)."""
    since = time.monotonic()

    def one(app: Application) -> T:
        if source is None:
            return work(app)
        with source.round(since):
            return work(app)

    if len(apps) <= 1 or workers <= 1:
        return [one(a) for a in apps]
    with ThreadPoolExecutor(max_workers=min(workers, len(apps)), thread_name_prefix="app") as pool:
        return list(pool.map(one, apps))
