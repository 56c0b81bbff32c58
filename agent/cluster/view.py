"""A shared view of the cluster: one list (and, in the daemon, one watch) per
kind for every app, instead of lists per app.

Argo CD's gitops-engine keeps one watch-fed cache of the cluster for all
apps; Flux reads each app's inventory.  :class:`ClusterView` is the first:
a :class:`~agent.cluster.base.ClusterClient` in front of another that
answers a list by one of its *keys* (label keys only the agent sets: the
app label, the revision record's label) from memory.  The first such list
of a kind asks the server once, cluster-wide, for every object carrying the
key; every app's list of that kind is then a filter of it.  Everything else
(gets, lists by other labels, writes) goes to the server.

- A write's answer updates the view at once, so a read after our own write
  is never stale; a dry run changes nothing.
- ``follow=True`` (the daemon): each kind, once listed, is followed by a
  watch from the list's resourceVersion with bookmarks, resumed from the
  last version seen; 410 Expired lists afresh (objects gone meanwhile are
  dropped); any other failure waits with back-off and resumes.  Without it
  (one-shot commands) a kind is watched only when someone watches it (a
  health wait): one watch per kind, shared by every app's wait.
- :meth:`verify` checks what the view holds of one kind against the
  server in one list (before a prune deletes what the view says is there).

Objects are kept whole: the diff reads ``managedFields`` (who last wrote a
changed field; ``managedFieldsManagers`` in ignore rules).
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from agent.backoff import Backoff
from agent.cluster.base import FIELD_MANAGER, JSON, ClusterClient
from agent.cluster.feed import Entry, KindKey, Subscriber, selected, sync_entry
from agent.kube.errors import ClusterError, Expired, NotFound
from agent.kube.kinds import ResourceType

log = logging.getLogger("gitops_agent.view")
Objects = list[JSON]
WATCH_SECONDS = 300  # each watch request's timeout; the watch resumes from its last version
BACKOFF = Backoff(initial=0.5, maximum=30.0)
STOP_CHECK_SECONDS = 0.05  # a caller's watch sees its stop this soon (a health wait ends at once)


@runtime_checkable
class Followable(Protocol):
    """A client that can list with the list's version and watch from a version."""

    def list_at(
        self, api_version: str, kind: str, namespace: str = "", label_selector: Any = None
    ) -> tuple[Objects, str]: ...

    def watch_from(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Any = None,
        *,
        resource_version: str = "",
        bookmarks: bool = False,
        timeout: float = 60,
        stop: threading.Event | None = None,
    ) -> Iterator[tuple[str, JSON]]: ...


class ClusterView:
    """A ClusterClient whose lists by ``keys`` come from one shared list (and watch) per kind."""

    def __init__(
        self, inner: Followable, keys: tuple[str, ...] | Mapping[str, str], *, follow: bool = False
    ) -> None:
        """``keys``: the label keys lists are answered by; a mapping gives
        each key's namespace (``""``: cluster-wide)."""
        self.inner = inner
        self.scopes: dict[str, str] = dict(keys) if isinstance(keys, Mapping) else dict.fromkeys(keys, "")
        self.keys = tuple(self.scopes)
        self.follow = follow
        self._entries: dict[KindKey, Entry] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self.lists = 0  # lists sent to fill or refresh the view (for tests and metrics)

    @property
    def client(self) -> ClusterClient:
        inner: Any = self.inner
        return inner  # type: ignore[no-any-return]

    # -- the shared entries -----------------------------------------------------------------
    def _key_of(self, label_selector: Mapping[str, str] | str | None, namespace: str = "") -> str | None:
        """The key a list of ``namespace`` by ``label_selector`` is answered
        by: None when no key is in the selector, or the key's scope is one
        namespace and another (or all) is asked for."""
        if isinstance(label_selector, Mapping):
            key = next((k for k in self.keys if k in label_selector), None)
            if key is not None and self.scopes[key] in ("", namespace):
                return key
        return None

    def _entry(self, api_version: str, kind: str, key: str, listed: Objects | None = None) -> Entry:
        """The kind's entry, listed once: concurrent first readers wait for
        one list.  ``listed`` receives that list's objects when this call sent
        it (the entry keeps their text: they are the caller's own)."""
        kk = (api_version, kind, key)
        with self._guard:
            entry = self._entries.get(kk)
            if entry is None:
                entry = self._entries[kk] = Entry(kk, compress=self.follow)
        with entry.filling:
            if not entry.listed:
                items = self._relist(entry)  # NotFound (a kind not served yet) leaves it unlisted
                if listed is not None:
                    listed.extend(items)
                if self.follow:
                    self._start(entry)
        return entry

    def _relist(self, entry: Entry) -> Objects:
        api_version, kind, key = entry.kind
        items, rv = self.inner.list_at(api_version, kind, self.scopes[key], key)
        self.lists += 1
        sync_entry(entry, items, rv)
        return items

    def _start(self, entry: Entry) -> None:
        with entry.lock:
            if entry.following or self._stop.is_set():
                return
            entry.following = True
        name = f"view-{entry.kind[1]}"
        threading.Thread(target=self._follow, args=(entry,), daemon=True, name=name).start()

    def _follow(self, entry: Entry) -> None:
        """Watch the kind from the version reached, for as long as the view lives."""
        api_version, kind, key = entry.kind
        failures = 0
        while not self._stop.is_set():
            try:
                events = self.inner.watch_from(
                    api_version,
                    kind,
                    self.scopes[key],
                    key,
                    resource_version=entry.rv,
                    bookmarks=True,
                    timeout=WATCH_SECONDS,
                    stop=self._stop,
                )
                for event, obj in events:
                    entry.apply(event, obj)
                failures = 0
            except Expired:
                try:
                    self._relist(entry)  # the version is gone: list afresh, resume from there
                except ClusterError as e:
                    failures += 1
                    log.warning("cannot list %s again: %s", kind, e, extra={"stage": "cluster"})
                    self._stop.wait(BACKOFF.delay(failures))
            except ClusterError as e:
                failures += 1
                log.warning("watch of %s failed: %s", kind, e, extra={"stage": "cluster"})
                self._stop.wait(BACKOFF.delay(failures))

    def verify(self, api_version: str, kind: str, label_selector: Mapping[str, str]) -> bool:
        """Check what the view holds of ``label_selector``'s objects of one
        kind against the server (one list); on a difference the view takes
        the server's answer and False is returned."""
        key = next((k for k in self.keys if k in label_selector), None)
        if key is None:
            return True
        entry = self._entry(api_version, kind, key)
        fresh = self.client.list(api_version, kind, self.scopes[key], dict(label_selector))
        self.lists += 1
        return entry.reconcile(fresh, label_selector)

    # -- reads --------------------------------------------------------------------------------
    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | None = None,
    ) -> Objects:
        key = self._key_of(label_selector, namespace)
        if key is None or label_selector is None:
            return self.client.list(api_version, kind, namespace, label_selector)
        listed: Objects = []
        entry = self._entry(api_version, kind, key, listed)
        if listed:  # this call filled the entry: the list's own objects, not decoded again
            return selected(listed, namespace, label_selector)
        return entry.select(namespace, label_selector)

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
        *,
        timeout: float = 60,
        stop: threading.Event | None = None,
    ) -> Iterator[tuple[str, JSON]]:
        """A watch served from the kind's shared watch (started if it is not yet)."""
        key = self._key_of(label_selector, namespace)
        if key is None or not isinstance(label_selector, Mapping):
            return self.client.watch(api_version, kind, namespace, label_selector, timeout=timeout, stop=stop)
        entry = self._entry(api_version, kind, key)
        self._start(entry)
        return self._serve(entry, Subscriber(namespace, dict(label_selector)), timeout, stop)

    def _serve(
        self, entry: Entry, sub: Subscriber, timeout: float, stop: threading.Event | None
    ) -> Iterator[tuple[str, JSON]]:
        deadline = time.monotonic() + timeout
        for obj in entry.subscribe(sub):
            yield "ADDED", obj
        try:
            while not self._stop.is_set() and not (stop is not None and stop.is_set()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                got = sub.next(min(left, STOP_CHECK_SECONDS))
                if got is not None:
                    yield got
        finally:
            entry.unsubscribe(sub)

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> JSON | None:
        return self.client.get(api_version, kind, name, namespace)

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        return self.client.resource_type(api_version, kind)

    def server_version(self) -> str:
        return self.client.server_version()

    def server_info(self) -> tuple[str, builtins.list[str]]:
        return self.client.server_info()

    # -- writes: the answer updates the view ----------------------------------------------------
    def _seen(self, obj: JSON | None, *, gone: tuple[str, str, str, str] | None = None) -> None:
        with self._guard:
            entries = list(self._entries.values())
        for entry in entries:
            if obj is not None and entry.kind[:2] == (obj.get("apiVersion"), obj.get("kind")):
                scope = self.scopes[entry.kind[2]]
                if not scope or scope == (obj.get("metadata") or {}).get("namespace"):
                    entry.apply("MODIFIED", obj, watched=False)
            elif gone is not None and entry.kind[:2] == gone[:2]:
                entry.forget(gone[2], gone[3])

    def _write(self, dry_run: bool, call: Callable[[], JSON]) -> JSON:
        out = call()
        if not dry_run:
            self._seen(out)
        return out

    def create(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON:
        return self._write(
            dry_run, lambda: self.client.create(obj, field_manager=field_manager, dry_run=dry_run)
        )

    def replace(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON:
        return self._write(
            dry_run, lambda: self.client.replace(obj, field_manager=field_manager, dry_run=dry_run)
        )

    def patch(  # noqa: PLR0913 - the PATCH verb's parameters, as ClusterClient takes them
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> JSON:
        return self._write(
            dry_run,
            lambda: self.client.patch(
                api_version,
                kind,
                name,
                namespace,
                patch,
                patch_type=patch_type,
                field_manager=field_manager,
                force=force,
                dry_run=dry_run,
                subresource=subresource,
            ),
        )

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> JSON:
        return self._write(
            dry_run,
            lambda: self.client.apply(obj, field_manager=field_manager, force=force, dry_run=dry_run),
        )

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        *,
        dry_run: bool = False,
        propagation_policy: str | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> JSON | None:
        try:
            out = self.client.delete(
                api_version,
                kind,
                name,
                namespace,
                dry_run=dry_run,
                propagation_policy=propagation_policy,
                preconditions=preconditions,
            )
        except NotFound:
            if not dry_run:
                self._seen(None, gone=(api_version, kind, namespace, name))
            raise
        if not dry_run:
            if out is not None and (out.get("metadata") or {}).get("deletionTimestamp"):
                self._seen(out)  # finalizers keep it a while
            else:
                self._seen(None, gone=(api_version, kind, namespace, name))
        return out

    def stop(self) -> None:
        """End the watches (the client stays open)."""
        self._stop.set()

    def close(self) -> None:
        self.stop()
        self.client.close()
