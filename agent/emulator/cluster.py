"""The in-process cluster: the agent's ``ClusterClient`` verbs over the registry.

A thin adapter, as a client library is over the REST API: the object or the
apiVersion and kind resolve to a resource type, and the call goes to the
registry's verb (:class:`agent.emulator.registry.Registry`), which the REST
server uses too.  So the two front doors the cluster has share every
semantic and differ only in how a type is named.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agent.emulator.controllers import Controllers
from agent.emulator.faults import Faults
from agent.emulator.objects import IN_PROCESS_MANAGER, JSON
from agent.emulator.options import Options
from agent.emulator.registry import Registry
from agent.emulator.storage.store import Store
from agent.kube import kinds
from agent.kube.kinds import ResourceType


class EmulatedCluster:
    """The embedded emulated cluster (a ClusterClient)."""

    def __init__(self, path: str | Path = ":memory:", options: Options | None = None) -> None:
        self.registry = Registry(path, options)

    # what tests, benchmarks and the server look at
    @property
    def options(self) -> Options:
        return self.registry.options

    @property
    def store(self) -> Store:
        return self.registry.store

    @property
    def faults(self) -> Faults:
        return self.registry.faults

    @property
    def controllers(self) -> Controllers:
        return self.registry.controllers

    @property
    def requests(self) -> Counter[str]:
        """Verb -> count of client requests (both front doors)."""
        return self.registry.requests

    @property
    def writes(self) -> int:
        return self.registry.writes

    def close(self) -> None:
        self.registry.close()

    # -- discovery -------------------------------------------------------------------------------
    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        return self.registry.resource_type(api_version, kind)

    def server_version(self) -> str:
        return kinds.KUBERNETES_VERSION

    def server_info(self) -> tuple[str, list[str]]:
        return self.registry.catalog.server_info()

    # -- reads -----------------------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> JSON | None:
        return self.registry.get(self.resource_type(api_version, kind), name, namespace)

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
    ) -> list[JSON]:
        return self.registry.list(self.resource_type(api_version, kind), namespace, label_selector).items

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
        """``(event type, object)``: ADDED for each current object, then changes."""
        rt = self.resource_type(api_version, kind)
        return self.registry.watch(rt, namespace, label_selector, timeout=timeout, stop=stop)

    # -- writes ----------------------------------------------------------------------------------
    def create(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = IN_PROCESS_MANAGER,
        dry_run: bool = False,
        namespace: str | None = None,
    ) -> JSON:
        rt, body, ns = self.registry.resolve(obj, namespace)
        return self.registry.create(rt, body, ns, manager=field_manager, dry_run=dry_run)

    def replace(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = IN_PROCESS_MANAGER,
        dry_run: bool = False,
        subresource: str = "",
        namespace: str | None = None,
        name: str | None = None,
    ) -> JSON:
        """PUT: ``metadata.resourceVersion``, when set, is a precondition (409 on mismatch)."""
        rt, body, ns = self.registry.resolve(obj, namespace)
        return self.registry.update(
            rt, body, ns, name=name, manager=field_manager, dry_run=dry_run, subresource=subresource
        )

    def patch(  # noqa: PLR0913 - the ClusterClient protocol's patch, keyword-only past the patch
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        field_manager: str = IN_PROCESS_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> JSON:
        """PATCH: ``merge`` (RFC 7386), ``json`` (RFC 6902), ``strategic`` or ``apply``."""
        return self.registry.patch(
            self.resource_type(api_version, kind),
            name,
            namespace,
            patch,
            patch_type=patch_type,
            manager=field_manager,
            force=force,
            dry_run=dry_run,
            subresource=subresource,
        )

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = IN_PROCESS_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> JSON:
        """Server-side apply of a whole object (creates it when missing)."""
        rt, body, ns = self.registry.resolve(obj, None)
        name = str(body["metadata"].get("name", ""))
        return self.registry.apply(
            rt,
            name,
            ns,
            body,
            manager=field_manager,
            force=force,
            dry_run=dry_run,
            subresource=subresource,
            owned=True,
        )[0]

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        patch: Mapping[str, Any],
        *,
        field_manager: str = IN_PROCESS_MANAGER,
        dry_run: bool = False,
    ) -> JSON:
        """JSON merge patch (RFC 7386), as ``kubectl patch --type merge``."""
        return self.patch(
            api_version,
            kind,
            name,
            namespace,
            patch,
            patch_type="merge",
            field_manager=field_manager,
            dry_run=dry_run,
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
        """Delete now, or mark for deletion while finalizers remain (the object is returned then)."""
        return self.registry.delete(
            self.resource_type(api_version, kind),
            name,
            namespace,
            dry_run=dry_run,
            policy=propagation_policy,
            preconditions=preconditions,
        )
