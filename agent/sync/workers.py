"""The process's worker pools, one per kind of work, made on first use.

Each stage that works side by side still owns its work (DESIGN.md), but
not a pool per call: an agent reconciling a thousand apps would otherwise
start and stop thousands of threads per round.  A pool here is shared by
every app reconciled at the same time; its size bounds that work for the
whole process (eight reads at once, not eight per app).  Work sent to a
pool never waits on work of the same pool, so a bounded pool cannot
deadlock.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

_pools: dict[str, ThreadPoolExecutor] = {}
_guard = threading.Lock()


def pool(name: str, size: int) -> ThreadPoolExecutor:
    """The process's pool for ``name`` (``size`` threads, given the first time)."""
    with _guard:
        found = _pools.get(name)
        if found is None:
            found = _pools[name] = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
        return found
