"""Watch in process: the current objects, then every change, until a timeout.

Like a watch on a real API server without a resourceVersion: first an
``ADDED`` event for each object that matches, then the changes after that
list, read from the cluster's event log.  The simulated controllers only
move when something calls the registry, so while waiting the watch runs them
when their next work falls due, and otherwise sleeps until a write wakes it:
no busy polling.  It sees the cluster through :class:`agent.emulator.ports.Cluster`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping

from agent.emulator.objects import JSON, as_version
from agent.emulator.ports import Cluster
from agent.emulator.storage.selectors import label_matcher
from agent.emulator.transitions import Transitions
from agent.kube.kinds import ResourceType

STOP_CHECK_SECONDS = 0.05  # how soon a set ``stop`` ends a quiet watch


def watch(
    cluster: Cluster,
    rt: ResourceType,
    namespace: str,
    label_selector: Mapping[str, str] | str | None,
    *,
    timeout: float,
    stop: threading.Event | None = None,
) -> Iterator[tuple[str, JSON]]:
    wake = threading.Condition()
    writes = [0]

    def on_write(_rv: int, group: str, plural: str) -> None:
        if (group, plural) != (rt.group, rt.plural):
            return  # another kind's write: no event for this watch
        with wake:
            writes[0] += 1
            wake.notify_all()

    matches = label_matcher(label_selector)
    ns = namespace if (rt.namespaced and namespace) else None
    store = cluster.store
    view = None
    if matches is not None:
        view = Transitions(matches, lambda rv, n, name: store.body_before(rv, rt.group, rt.plural, n, name))
    cluster.add_listener(on_write)
    try:
        page = cluster.list_page(rt, namespace, label_selector)
        rv = int(page.resource_version)
        for obj in page.items:
            if view is not None:
                view.seen(obj)
            yield "ADDED", obj
        deadline = time.monotonic() + timeout
        while stop is None or not stop.is_set():
            with wake:
                seen = writes[0]
            cluster.run_due()
            events = cluster.store.events_since(rv, rt.group, rt.plural, ns)
            for event_rv, kind, body in events:
                rv = event_rv
                sent = (kind, body) if view is None else view.event(event_rv, kind, body)
                if sent is not None:
                    yield sent[0], as_version(sent[1], rt)
            if events:
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            due = cluster.next_due()
            pause = remaining if due is None else min(remaining, max(due - time.time(), 0.001))
            with wake:
                if writes[0] == seen:
                    wake.wait(pause if stop is None else min(pause, STOP_CHECK_SECONDS))
    finally:
        cluster.remove_listener(on_write)
