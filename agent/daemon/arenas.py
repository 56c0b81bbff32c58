"""At most two glibc malloc arenas for the daemon's process.

glibc gives a thread that allocates while another holds an arena one of
its own, up to eight per core, and memory freed in an arena serves that
arena only: the daemon's threads (the reconcile pool, a watch per kind,
the apply and health-wait pools, the web server) each keep free space
the others cannot use.  Two arenas (the setting container platforms
recommend for Python services, ``MALLOC_ARENA_MAX=2``) hold the same
objects in less memory; the reconciles hold the interpreter's lock for
their allocations anyway, so little contention is added.

glibc reads ``MALLOC_ARENA_MAX`` only at start, so the daemon sets the
same limit with ``mallopt(M_ARENA_MAX)`` before its first thread starts
(an arena made later obeys it).  A limit given in the environment wins;
on another C library (musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import os

M_ARENA_MAX = -8  # glibc's <malloc.h>
ARENAS = 2
log = logging.getLogger("gitops_agent.daemon")


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Whether the limit was set (False: not glibc, or the environment sets one)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):
            return False
        done = bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
    log.debug("malloc arenas limited to %d: %s", arenas, done)
    return done
