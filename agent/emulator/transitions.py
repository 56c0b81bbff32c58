"""What a watch with a selector sends as objects enter and leave it.

The API server's watch cache compares each change's object before and after
(``cache_watcher.go``, ``convertToWatchEvent``): a change to an object that
did not match and now does is sent as ``ADDED``; one that matched and no
longer does as ``DELETED``, carrying the object as it last matched with the
change's resourceVersion; one that matched before and after as ``MODIFIED``;
the rest not at all.  So an informer's cache learns an object left its
selection.  The object before a change is the one this watch saw last, or, for
one it has not seen, the event log's previous entry for it.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.emulator.objects import JSON

Key = tuple[str, str]
Keep = Callable[[JSON], bool]
Before = Callable[[int, str, str], "JSON | None"]  # (rv, namespace, name) -> the object before rv


def _key(obj: JSON) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Transitions:
    """One selector watch's view: which objects match it now."""

    def __init__(self, keep: Keep, before: Before) -> None:
        self._keep = keep
        self._before = before
        self._matched: dict[Key, JSON] = {}
        self._known: set[Key] = set()

    def seen(self, obj: JSON) -> None:
        """An object the watch's initial list sent (it matches)."""
        key = _key(obj)
        self._known.add(key)
        self._matched[key] = obj

    def event(self, rv: int, kind: str, obj: JSON) -> tuple[str, JSON] | None:
        """The event to send for one change of the log, if any."""
        key = _key(obj)
        if key in self._known:
            old = self._matched.get(key)
        else:
            self._known.add(key)
            prior = self._before(rv, *key) if kind != "ADDED" else None
            old = prior if prior is not None and self._keep(prior) else None
        now = kind != "DELETED" and self._keep(obj)
        if now:
            self._matched[key] = obj
            return ("MODIFIED" if old is not None else "ADDED"), obj
        self._matched.pop(key, None)
        if old is None:
            return None
        if kind == "DELETED" and self._keep(obj):
            return "DELETED", obj
        gone = {**old, "metadata": {**(old.get("metadata") or {}), "resourceVersion": str(rv)}}
        return "DELETED", gone
