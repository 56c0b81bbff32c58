"""The resource types the cluster serves: built-ins and established CRDs.

The API server's discovery and REST mapping in one table: a type by
apiVersion and kind (the in-process client asks that way), by group, version
and plural (the REST paths), the versions each serves, the CRD behind a custom
type and the schema an object is checked against.  Rebuilt from the stored
CRDs after one is written (:meth:`Catalog.invalidate`).
"""

from __future__ import annotations

from dataclasses import replace

from agent.emulator import conversion
from agent.emulator.objects import JSON
from agent.emulator.storage.store import Store
from agent.kube import kinds
from agent.kube import nodes as schema
from agent.kube.errors import NotFound
from agent.kube.kinds import ResourceType, crd_resource_types
from agent.models import split_api_version

TypeKey = tuple[str, str]  # group, plural


class Catalog:
    def __init__(self, store: Store) -> None:
        self._store = store
        # The store's own lock, not one of the catalog's: a write admits its
        # object (asking the catalog) inside the store's transaction, and the
        # catalog reads the stored CRDs; two locks taken in those two orders
        # deadlock as soon as two writers run side by side.
        self._lock = store.lock
        self._types: dict[TypeKey, ResourceType] | None = None
        self._crds: dict[TypeKey, JSON] = {}

    def types(self) -> dict[TypeKey, ResourceType]:
        """Every served resource type by (group, plural): built-ins and CRDs, preferred versions."""
        with self._lock:
            if self._types is None:
                types = {(t.group, t.plural): t for t in kinds.BUILTIN}
                crds: dict[TypeKey, JSON] = {}
                for crd in self._store.list("apiextensions.k8s.io", "customresourcedefinitions"):
                    if (crd.get("metadata") or {}).get("deletionTimestamp"):
                        continue
                    served = crd_resource_types(crd)
                    if served:
                        t = sorted(served, key=lambda t: t.versions.index(t.version))[0]
                        types.setdefault((t.group, t.plural), t)
                        crds[(t.group, t.plural)] = crd
                self._types, self._crds = types, crds
            return self._types

    def invalidate(self) -> None:
        with self._lock:
            self._types = None

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        group, version = split_api_version(api_version)
        for t in self.types().values():
            if t.group == group and t.kind == kind and version in self.served_versions(t):
                return t if t.version == version else replace(t, version=version)
        raise NotFound(f"the server could not find the requested resource ({kind} in {api_version})")

    def by_plural(self, group: str, version: str, plural: str) -> ResourceType:
        t = self.types().get((group, plural))
        if t is None or version not in self.served_versions(t):
            raise NotFound("the server could not find the requested resource")
        return t if t.version == version else replace(t, version=version)

    def served_versions(self, t: ResourceType) -> tuple[str, ...]:
        """Custom resources in every served version (their conversion is the identity); a
        built-in kind in its preferred version, and in those :mod:`agent.emulator.conversion`
        converts it to (autoscaling/v1 for the HorizontalPodAutoscaler)."""
        if self.crd_of(t) is not None:
            return t.versions or (t.version,)
        return conversion.SERVED.get((t.group, t.kind), (t.version,))

    def crd_of(self, rt: ResourceType) -> JSON | None:
        self.types()
        return self._crds.get((rt.group, rt.plural))

    def schema_of(self, rt: ResourceType) -> schema.Node:
        crd = self.crd_of(rt)
        if crd is None:
            return schema.root(rt)
        for v in (crd.get("spec") or {}).get("versions") or ():
            if v.get("name") == rt.version:
                raw = (v.get("schema") or {}).get("openAPIV3Schema") or {
                    "x-kubernetes-preserve-unknown-fields": True
                }
                return schema.root(rt, raw)
        return schema.root(rt, {"x-kubernetes-preserve-unknown-fields": True})

    def server_info(self) -> tuple[str, list[str]]:
        served: set[str] = set()
        for t in self.types().values():
            for version in self.served_versions(t):
                gv = f"{t.group}/{version}" if t.group else version
                served.update((gv, f"{gv}/{t.kind}"))
        return kinds.KUBERNETES_VERSION, sorted(served)
