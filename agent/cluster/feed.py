"""What :class:`~agent.cluster.view.ClusterView` keeps of one kind: the
objects carrying one label key, the resourceVersion its watch resumes from,
and the watches of callers served from it.

Each object is held as its compact JSON (with its resourceVersion and
labels beside it, to select without decoding) and decoded when read: a
Deployment with its managedFields is a few kilobytes as text and ten times
that as Python dicts, and every reader gets a copy of its own to change.

Events are applied in order; an answer to our own write is applied at once
and is never undone by an older event that arrives after it (versions are
compared as numbers where the server gives numbers, as etcd's are).  Only
the kind's watch moves the version a resumed watch starts from: a write's
answer may be ahead of events of other objects still on their way.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
KindKey = tuple[str, str, str]  # apiVersion, kind, the label key
Event = tuple[str, JSON]


def resource_version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _older(new: str, old: str) -> bool:
    return new.isdigit() and old.isdigit() and int(new) < int(old)


def _where(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _interned(labels: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``labels`` with its strings interned: the same few keys and
    values (the app label's key, "gitops-agent", the app's name) recur on
    every object, and each decoded object spells them anew."""
    return {sys.intern(k): sys.intern(v) if isinstance(v, str) else v for k, v in labels.items()}


@dataclass(frozen=True, slots=True)
class Held:
    """One object as the view keeps it: its JSON, compressed in the daemon
    (zlib's fastest level: an object of the fleet benchmark, 1.2 kB with its
    managedFields, keeps 0.5 kB, for 30 us when it is put and 4 us when it
    is read); a one-shot command, which reads a kind once, keeps the text."""

    rv: str
    labels: Mapping[str, Any]
    packed: bytes  # zlib's stream (its first byte is never "{"), or the JSON text

    @classmethod
    def of(cls, obj: Mapping[str, Any], compress: bool = True) -> Held:
        text = json.dumps(obj, separators=(",", ":")).encode()
        packed = zlib.compress(text, 1) if compress else text
        return cls(resource_version(obj), _interned(_labels(obj)), packed)

    def obj(self) -> JSON:
        packed = self.packed
        found: JSON = json.loads(packed if packed[:1] == b"{" else zlib.decompress(packed))
        return found

    def has(self, selector: Mapping[str, str]) -> bool:
        return all(self.labels.get(k) == v for k, v in selector.items())


@dataclass(eq=False)
class Subscriber:
    """One caller's watch: its namespace (empty: all) and label selector."""

    namespace: str
    selector: dict[str, str]
    events: queue.SimpleQueue[Event] = field(default_factory=queue.SimpleQueue)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if self.namespace and _where(obj)[0] != self.namespace:
            return False
        labels = _labels(obj)
        return all(labels.get(k) == v for k, v in self.selector.items())

    def holds(self, where: tuple[str, str], held: Held) -> bool:
        return (not self.namespace or where[0] == self.namespace) and held.has(self.selector)

    def next(self, wait: float) -> Event | None:
        try:
            return self.events.get(timeout=wait)
        except queue.Empty:
            return None


@dataclass(eq=False)
class Entry:
    kind: KindKey
    compress: bool = True  # objects kept compressed (the daemon), or as text
    objects: dict[tuple[str, str], Held] = field(default_factory=dict)
    by_value: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # the key's value -> objects
    rv: str = ""
    listed: bool = False
    following: bool = False
    filling: threading.Lock = field(default_factory=threading.Lock)  # one first list at a time
    lock: threading.Lock = field(default_factory=threading.Lock)
    subscribers: set[Subscriber] = field(default_factory=set)

    def _put(self, where: tuple[str, str], held: Held) -> None:
        self._drop(where)
        self.objects[where] = held
        self.by_value.setdefault(str(held.labels.get(self.kind[2], "")), set()).add(where)

    def _drop(self, where: tuple[str, str]) -> Held | None:
        held = self.objects.pop(where, None)
        if held is not None:
            value = str(held.labels.get(self.kind[2], ""))
            same = self.by_value.get(value)
            if same is not None:
                same.discard(where)
                if not same:
                    del self.by_value[value]
        return held

    def _tell(self, event: str, obj: JSON, before: Held | None = None) -> None:
        """Tell each watcher what it sees: an object that comes into its
        selection is ADDED, one that leaves it DELETED (as the API server's
        watches with a selector say)."""
        where = _where(obj)
        for sub in self.subscribers:
            was = before is not None and sub.holds(where, before)
            now = event != "DELETED" and sub.matches(obj)
            if now:
                sub.events.put(("MODIFIED" if was else "ADDED", obj))
            elif was or (event == "DELETED" and before is None and sub.matches(obj)):
                sub.events.put(("DELETED", obj))

    def apply(self, event: str, obj: JSON, *, watched: bool = True) -> None:
        """One event (of the kind's watch, or a write's answer with ``watched=False``)."""
        with self.lock:
            version = resource_version(obj)
            if event == "BOOKMARK":
                self.rv = version or self.rv
                return
            where = _where(obj)
            held = self.objects.get(where)
            if watched:
                self.rv = version or self.rv
            if held is not None and _older(version, held.rv):
                return  # our own write's answer is newer than this event
            if event == "DELETED" or self.kind[2] not in _labels(obj):
                if self._drop(where) is not None:
                    self._tell("DELETED", obj, held)
                return
            self._put(where, Held.of(obj, self.compress))
            self._tell("MODIFIED", obj, held)

    def forget(self, namespace: str, name: str) -> None:
        with self.lock:
            gone = self._drop((namespace, name))
            if gone is not None:
                self._tell("DELETED", gone.obj())

    def select(self, namespace: str, selector: Mapping[str, str]) -> list[JSON]:
        with self.lock:
            value = selector.get(self.kind[2])
            places = self.by_value.get(value, ()) if value is not None else self.objects
            found = [
                held
                for where in sorted(places)
                if (not namespace or where[0] == namespace) and (held := self.objects[where]).has(selector)
            ]
        return [held.obj() for held in found]

    def subscribe(self, sub: Subscriber) -> list[JSON]:
        """Add a watcher; the objects it starts with (its ADDED events)."""
        with self.lock:
            self.subscribers.add(sub)
            found = [held for where, held in self.objects.items() if sub.holds(where, held)]
        return [held.obj() for held in found]

    def unsubscribe(self, sub: Subscriber) -> None:
        with self.lock:
            self.subscribers.discard(sub)

    def replace_with(self, items: Iterable[JSON], within: Subscriber | None = None) -> bool:
        """Take ``items`` as the truth (of the objects ``within`` selects, or of
        all); True when nothing differed."""
        fresh = {_where(o): o for o in items}
        same = True
        with self.lock:
            for where, held in list(self.objects.items()):
                if (within is None or within.holds(where, held)) and where not in fresh:
                    self._drop(where)
                    if self.subscribers:
                        self._tell("DELETED", held.obj())
                    same = False
            for where, obj in fresh.items():
                before = self.objects.get(where)
                if before is None or before.rv != resource_version(obj):
                    same = False
                    self._put(where, Held.of(obj, self.compress))
                    self._tell("MODIFIED", obj, before)
        return same

    def reconcile(self, fresh: list[JSON], selector: Mapping[str, str]) -> bool:
        return self.replace_with(fresh, Subscriber("", dict(selector)))


def selected(items: Iterable[JSON], namespace: str, selector: Mapping[str, str]) -> list[JSON]:
    """The objects of ``items`` that :meth:`Entry.select` would give, in its order."""
    found = [
        o
        for o in items
        if (not namespace or _where(o)[0] == namespace)
        and all(_labels(o).get(k) == v for k, v in selector.items())
    ]
    return sorted(found, key=_where)


def sync_entry(entry: Entry, items: list[JSON], rv: str) -> None:
    """A fresh list of the whole entry: the objects, and the version to watch from."""
    entry.replace_with(items)
    with entry.lock:
        entry.rv = rv
        entry.listed = True
