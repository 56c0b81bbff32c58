"""The ClusterClient protocol: everything the agent asks of a cluster.

Objects cross this boundary as plain JSON-like dicts, exactly as the
Kubernetes API serializes them.  Errors are the API's own reasons, as
exceptions carrying the HTTP code, so every backend (the embedded emulated
cluster, a real API server through the official client) fails the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from agent.kube.kinds import ResourceType

JSON = dict[str, Any]
FIELD_MANAGER = "gitops-agent"


@runtime_checkable
class ClusterClient(Protocol):
    """One implementation per kind of backend; a shared contract test suite
    (``tests/contract/test_cluster_contract.py``) runs against each."""

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        """Scope and plural of a kind; raises NotFound for unknown kinds."""
        ...

    def server_version(self) -> str:
        """The server's version (``v1.33.0``): one cheap question."""
        ...

    def server_info(self) -> tuple[str, list[str]]:
        """The server's version (``v1.33.0``) and the API versions it serves,
        as ``group/version`` and ``group/version/Kind`` (Helm's capabilities)."""
        ...

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> JSON | None:
        """The live object, or None."""
        ...

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | None = None,
    ) -> list[JSON]:
        """Objects of a kind (all namespaces when ``namespace`` is empty)
        whose labels include ``label_selector``."""
        ...

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
        """``(type, object)`` events: ADDED for every current object that
        matches, then ADDED / MODIFIED / DELETED as they happen, until
        ``timeout`` seconds have passed or ``stop`` is set (then the
        iterator ends)."""
        ...

    def create(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON: ...

    def replace(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON:
        """PUT: ``obj['metadata']['resourceVersion']``, when set, is a
        precondition (Conflict when the live object moved on)."""
        ...

    def patch(  # noqa: PLR0913 - the PATCH verb's parameters, as the API server takes them
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
        """PATCH with ``patch_type`` merge (RFC 7386), json (RFC 6902), strategic, or apply
        (server-side apply: ``force`` takes over fields other managers own)."""
        ...

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> JSON:
        """Server-side apply of a whole object; creates it when missing; Conflict (409)
        naming the fields when another manager owns them, unless ``force``."""
        ...

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
        """Delete (``propagation_policy``: Background, Foreground or Orphan); the object
        is returned while finalizers keep it.  ``preconditions`` (DeleteOptions'
        ``uid``, ``resourceVersion``): Conflict (409) when the object no longer matches."""
        ...

    def close(self) -> None: ...
