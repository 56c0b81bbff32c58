"""A list's later pages as the objects were when its first page was read.

The API server reads every page of a paged list at the first page's
resourceVersion (etcd keeps the old revisions), so a client paging through a
kind sees each object once, as it was then, whatever is written meanwhile.
The emulated cluster keeps its objects' current state and a log of every
write (:mod:`.store`): an object written since the first page is taken from
that log as it last was at or before the page's resourceVersion (not at all,
if it did not exist then), and objects not written since are read as they
are.  When the log no longer reaches back that far, the page is refused with
410 Expired, as the API server refuses a continue token older than its
compaction.  A list with ``resourceVersionMatch=Exact`` is read the same way
at the version it names.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Any

from agent.emulator.storage.index import Query
from agent.emulator.storage.store import Store
from agent.kube.errors import Expired

JSON = dict[str, Any]
Key = tuple[str, str]  # namespace, name
Labels = Callable[[JSON], bool]

EXACT_TOO_OLD = "The resourceVersion for the provided list is too old."
TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can start "
    "a new list without the continue parameter."
)


def _key(obj: JSON) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def changed_since(store: Store, query: Query, rv: int, too_old: str = TOO_OLD) -> dict[Key, JSON | None]:
    """The objects of the query's kind (and namespace) written after ``rv`` and after its
    start key: each as it was at ``rv`` (None: it did not exist then)."""
    if store.oldest_event_rv() > rv + 1:
        raise Expired(too_old)
    out: dict[Key, JSON | None] = {}
    for ns, name in store.written_since(rv, query.grp, query.resource, query.namespace):
        if query.after is not None and (ns, name) <= query.after:
            continue
        if query.namespace is not None and ns != query.namespace:
            continue
        found, body = store.state_at(rv, query.grp, query.resource, ns, name)
        if not found:
            raise Expired(too_old)  # its history before rv was compacted away
        out[(ns, name)] = body
    return out


def select_at(store: Store, query: Query, rv: int, labels: Labels, too_old: str = TOO_OLD) -> Iterator[JSON]:
    """The query's objects in key order as they were at ``rv``: the current ones not written
    since, merged with the earlier state of those that were (``labels`` tests an earlier
    state against every label requirement, since the index holds the current labels)."""
    changed = changed_since(store, query, rv, too_old)
    if not changed:
        yield from store.select(query)
        return
    current = (o for o in store.select(query) if _key(o) not in changed)
    earlier = sorted((k, o) for k, o in changed.items() if o is not None and labels(o))
    merged = heapq.merge(((_key(o), o) for o in current), earlier, key=lambda pair: pair[0])
    for _, obj in merged:
        yield obj
