"""Object lifecycle: deletion, finalizers, namespaces, garbage collection.

As on a real cluster, deleting an object that carries finalizers only marks
it (``deletionTimestamp``); it goes away when the last finalizer is removed,
and no finalizer may be added meanwhile.  ``propagationPolicy`` decides what
happens to the objects it owns (``ownerReferences``): ``Background`` (the
default) deletes the owner now and its dependents right after,
``Foreground`` deletes the dependents first (finalizer
``foregroundDeletion``), ``Orphan`` keeps them and removes their reference.
Deleting a Namespace marks it Terminating, deletes everything in it, and
removes it once it is empty; nothing new may be created in it meanwhile, and
while content (held by finalizers) remains its status carries the namespace
controller's conditions (:mod:`agent.emulator.terminating`).
Deleting a CustomResourceDefinition deletes its custom resources.

The follow-up work runs right after the write that caused it, in its own
transactions, as the namespace controller and garbage collector would a
moment later; each step is a separate watch event.  It acts on the cluster
through :class:`agent.emulator.ports.Cluster` (the registry calls it, it calls
the registry back: the protocol keeps that from being an import circle).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Mapping

from agent.emulator.objects import JSON, as_version, clone, not_found, now, qualified
from agent.emulator.ports import Cluster
from agent.emulator.terminating import conditions
from agent.kube.errors import Conflict, Forbidden, NotFound
from agent.kube.kinds import ResourceType

NS_TYPE = ("", "namespaces")
IMMORTAL = frozenset({"default", "kube-system", "kube-public"})


class Lifecycle:
    def __init__(self, cluster: Cluster) -> None:
        self.c = cluster
        self._queue: deque[tuple[str, ResourceType | None, JSON]] = deque()
        self._draining = False

    # -- namespaces ---------------------------------------------------------------------------
    def require_namespace(self, ns: str, rt: ResourceType, name: str) -> None:
        """A create's namespace exists and is not being deleted: the NamespaceLifecycle
        admission plugin's 404 and 403 (plugin/pkg/admission/namespace/lifecycle)."""
        namespace = self.c.store.get("", "namespaces", "", ns)
        if namespace is None:
            raise NotFound(f'namespaces "{ns}" not found', details={"name": ns, "kind": "namespaces"})
        if (namespace.get("metadata") or {}).get("deletionTimestamp"):
            cause = {
                "reason": "NamespaceTerminating",
                "message": f"namespace {ns} is being terminated",
                "field": "metadata.namespace",
            }
            raise Forbidden(
                f'{qualified(rt)} "{name}" is forbidden: unable to create new content in namespace {ns} '
                "because it is being terminated",
                details={"name": name, "group": rt.group, "kind": rt.plural, "causes": [cause]},
            )

    # -- deletion -----------------------------------------------------------------------------
    def delete(
        self,
        rt: ResourceType,
        name: str,
        ns: str,
        *,
        dry_run: bool = False,
        policy: str | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> JSON | None:
        store = self.c.store
        with store.transaction() as tx:
            live = store.get(rt.group, rt.plural, ns, name)
            if live is None:
                raise not_found(rt, name)
            meta = live["metadata"]
            _check_preconditions(rt, name, meta, preconditions or {})
            if dry_run:
                return as_version(live, rt)
            finalizers = list(meta.get("finalizers") or ())
            is_namespace = (rt.group, rt.plural) == NS_TYPE
            if is_namespace and name in IMMORTAL:  # the NamespaceLifecycle admission plugin
                raise Forbidden(
                    f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                    details={"name": name, "kind": "namespaces"},
                )
            if (
                not is_namespace
                and policy in ("Orphan", "Foreground")
                and store.dependents(meta.get("uid", ""))
            ):
                extra = "orphan" if policy == "Orphan" else "foregroundDeletion"
                if extra not in finalizers:
                    finalizers.append(extra)
            if finalizers or is_namespace:
                new = _marked(live, finalizers, is_namespace)
                if new == live:
                    return as_version(live, rt)
                rv = tx.next_rv("MODIFIED", rt.group, rt.plural, ns, name)
                new["metadata"]["resourceVersion"] = str(rv)
                tx.put(rt.group, rt.plural, ns, name, rv, new)
                result, removed = new, False
            else:
                rv = tx.next_rv("DELETED", rt.group, rt.plural, ns, name)
                meta["resourceVersion"] = str(rv)
                tx.remove(rt.group, rt.plural, ns, name, rv, live)
                result, removed = live, True
        self.c.committed(rt, result, rv, removed=removed)
        return as_version(result, rt)

    # -- follow-up work -----------------------------------------------------------------------
    def after_write(self, rt: ResourceType, obj: JSON, removed: bool) -> None:
        meta = obj.get("metadata") or {}
        if removed:
            self._queue.append(("removed", rt, obj))
        elif meta.get("deletionTimestamp"):
            self._queue.append(("finalize", rt, obj))
        else:
            return
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue:
                task, task_rt, task_obj = self._queue.popleft()
                if task == "removed":
                    self._on_removed(task_rt, task_obj)
                else:
                    self._finalize(task_rt, task_obj)
        finally:
            self._draining = False

    def _type_of(self, group: str, resource: str) -> ResourceType | None:
        return self.c.types().get((group, resource))

    def _reread(self, rt: ResourceType, obj: JSON) -> JSON | None:
        meta = obj.get("metadata") or {}
        return self.c.store.get(
            rt.group, rt.plural, meta.get("namespace", "") if rt.namespaced else "", meta["name"]
        )

    def _on_removed(self, rt: ResourceType | None, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        uid = str(meta.get("uid", ""))
        store = self.c.store
        for group, resource, ns, name in store.dependents(uid):
            dep_rt = self._type_of(group, resource)
            dependent = store.get(group, resource, ns, name)
            if dep_rt is None or dependent is None:
                continue
            refs = (dependent.get("metadata") or {}).get("ownerReferences") or []
            others = [r for r in refs if r.get("uid") != uid and store.uid_exists(str(r.get("uid")))]
            if others:
                self._drop_owner(dep_rt, ns, name, uid)
            else:
                self._quiet_delete(dep_rt, name, ns)
        for ref in meta.get("ownerReferences") or ():  # an owner waiting in foreground deletion
            key = store.key_of_uid(str(ref.get("uid", "")))
            owner_rt = self._type_of(key[0], key[1]) if key else None
            if key and owner_rt is not None:
                owner = store.get(*key)
                if owner and (owner["metadata"].get("deletionTimestamp")):
                    self._queue.append(("finalize", owner_rt, owner))
        ns = str(meta.get("namespace") or "")
        if ns:
            namespace = store.get("", "namespaces", "", ns)
            ns_rt = self._type_of(*NS_TYPE)
            if namespace and namespace["metadata"].get("deletionTimestamp") and ns_rt is not None:
                self._queue.append(("finalize", ns_rt, namespace))
        if rt is not None and (rt.group, rt.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            spec = obj.get("spec") or {}
            group, plural = str(spec.get("group", "")), str((spec.get("names") or {}).get("plural", ""))
            for key in store.all_keys(group, plural):
                self._raw_remove(None, key, store.get(*key))

    def _finalize(self, rt: ResourceType | None, obj: JSON) -> None:
        if rt is None:
            return
        live = self._reread(rt, obj)
        if live is None or not live["metadata"].get("deletionTimestamp"):
            return
        meta = live["metadata"]
        ns = meta.get("namespace", "") if rt.namespaced else ""
        if (rt.group, rt.plural) == NS_TYPE:
            self._empty_namespace(rt, live)
            return
        finalizers = list(meta.get("finalizers") or ())
        uid = str(meta.get("uid", ""))
        if "orphan" in finalizers:
            for group, resource, dep_ns, dep_name in self.c.store.dependents(uid):
                dep_rt = self._type_of(group, resource)
                if dep_rt is not None:
                    self._drop_owner(dep_rt, dep_ns, dep_name, uid)
            finalizers.remove("orphan")
        if "foregroundDeletion" in finalizers:
            pending = self.c.store.dependents(uid)
            for group, resource, dep_ns, dep_name in pending:
                dep_rt = self._type_of(group, resource)
                if dep_rt is not None:
                    self._quiet_delete(dep_rt, dep_name, dep_ns)
            if not self.c.store.dependents(uid):
                finalizers.remove("foregroundDeletion")
        if finalizers != list(meta.get("finalizers") or ()):
            if finalizers:
                new = clone(live)
                new["metadata"]["finalizers"] = finalizers
                self._raw_put(rt, ns, meta["name"], new)
            else:
                self._raw_remove(rt, (rt.group, rt.plural, ns, meta["name"]), live)

    def _empty_namespace(self, rt: ResourceType, live: JSON) -> None:
        """Delete everything in a terminating namespace; remove it once it is empty."""
        name = live["metadata"]["name"]
        for group, resource, _, child in self.c.store.keys_in(name):
            child_rt = self._type_of(group, resource)
            if child_rt is None:
                self._raw_remove(
                    None, (group, resource, name, child), self.c.store.get(group, resource, name, child)
                )
            else:
                self._quiet_delete(child_rt, child, name)
        left = self.c.store.keys_in(name)
        if not left:
            self._raw_remove(rt, ("", "namespaces", "", name), live)
            return
        remaining = [(g, r, self.c.store.get(g, r, name, n) or {}) for g, r, _, n in left]
        status = live.get("status") or {}
        new_conditions = conditions(remaining, list(status.get("conditions") or ()), now())
        if new_conditions != status.get("conditions"):
            new = clone(live)
            new["status"] = {**status, "conditions": new_conditions}
            self._raw_put(rt, "", name, new)

    def _quiet_delete(self, rt: ResourceType, name: str, ns: str) -> None:
        with contextlib.suppress(NotFound):
            self.delete(rt, name, ns, policy="Background")

    def _drop_owner(self, rt: ResourceType, ns: str, name: str, uid: str) -> None:
        live = self.c.store.get(rt.group, rt.plural, ns, name)
        if live is None:
            return
        new = clone(live)
        refs = [r for r in new["metadata"].get("ownerReferences") or () if r.get("uid") != uid]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self._raw_put(rt, ns, name, new)

    def _raw_put(self, rt: ResourceType, ns: str, name: str, new: JSON) -> None:
        with self.c.store.transaction() as tx:
            rv = tx.next_rv("MODIFIED", rt.group, rt.plural, ns, name)
            new["metadata"]["resourceVersion"] = str(rv)
            tx.put(rt.group, rt.plural, ns, name, rv, new)
        self.c.committed(rt, new, rv)

    def _raw_remove(self, rt: ResourceType | None, key: tuple[str, str, str, str], live: JSON | None) -> None:
        if live is None:
            return
        group, resource, ns, name = key
        with self.c.store.transaction() as tx:
            if self.c.store.get(group, resource, ns, name) is None:
                return
            rv = tx.next_rv("DELETED", group, resource, ns, name)
            live["metadata"]["resourceVersion"] = str(rv)
            tx.remove(group, resource, ns, name, rv, live)
        if rt is not None:
            self.c.committed(rt, live, rv, removed=True)
        else:
            self._queue.append(("removed", None, live))
            self.c.notify(rv, group, resource)


def finalized(live: JSON, new: JSON) -> bool:
    """An update that removed the last finalizer of an object being deleted removes it."""
    meta = new["metadata"]
    return (
        bool(live["metadata"].get("deletionTimestamp"))
        and not meta.get("finalizers")
        and not ((new.get("spec") or {}).get("finalizers") if new.get("kind") == "Namespace" else None)
    )


def _check_preconditions(rt: ResourceType, name: str, meta: JSON, preconditions: Mapping[str, str]) -> None:
    for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
        want = preconditions.get(field)
        if want and want != meta.get(field):
            raise Conflict(
                f'Operation cannot be fulfilled on {qualified(rt)} "{name}": Precondition failed: '
                f"{label} in precondition: {want}, {label} in object meta: {meta.get(field)}"
            )


def _marked(live: JSON, finalizers: list[str], is_namespace: bool) -> JSON:
    """The object marked for deletion (a copy), waiting for its finalizers."""
    new = clone(live)
    new_meta = new["metadata"]
    if not new_meta.get("deletionTimestamp"):
        new_meta["deletionTimestamp"] = now()
        new_meta["deletionGracePeriodSeconds"] = 0
        if "generation" in new_meta:
            new_meta["generation"] = int(new_meta["generation"]) + 1
    if finalizers:
        new_meta["finalizers"] = finalizers
    if is_namespace:
        new.setdefault("status", {})["phase"] = "Terminating"
    return new
