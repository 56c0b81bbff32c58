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

from agent.kinds import ResourceType

JSON = dict[str, Any]
FIELD_MANAGER = "gitops-agent"


class ClusterError(Exception):
    """An API error: ``code`` and ``reason`` as in a ``kind: Status``."""

    code = 500
    reason = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        reason: str | None = None,
        details: JSON | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason
        self.details = details or {}
        self.retry_after = retry_after

    def status(self) -> JSON:
        out: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": str(self),
            "reason": self.reason,
            "code": self.code,
        }
        details = dict(self.details)
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        if details:
            out["details"] = details
        return out

    @property
    def causes(self) -> list[JSON]:
        """Field-level causes (``details.causes``): which field, and why."""
        return list(self.details.get("causes") or ())


class NotFound(ClusterError):
    code, reason = 404, "NotFound"


class AlreadyExists(ClusterError):
    code, reason = 409, "AlreadyExists"


class Conflict(ClusterError):
    code, reason = 409, "Conflict"


class Invalid(ClusterError):
    code, reason = 422, "Invalid"


class BadRequest(ClusterError):
    code, reason = 400, "BadRequest"


class Unavailable(ClusterError):
    """The cluster cannot be reached or answered 5xx/429."""

    code, reason = 503, "ServiceUnavailable"


class Unauthorized(ClusterError):
    code, reason = 401, "Unauthorized"


class Forbidden(ClusterError):
    code, reason = 403, "Forbidden"


class MethodNotAllowed(ClusterError):
    code, reason = 405, "MethodNotAllowed"


class Expired(ClusterError):
    """410: a watch or list from a resourceVersion the server no longer keeps."""

    code, reason = 410, "Expired"


class UnsupportedMediaType(ClusterError):
    code, reason = 415, "UnsupportedMediaType"


class TooManyRequests(ClusterError):
    code, reason = 429, "TooManyRequests"


class InternalError(ClusterError):
    code, reason = 500, "InternalError"


class Timeout(ClusterError):
    code, reason = 504, "Timeout"


ERRORS_BY_REASON: dict[str, type[ClusterError]] = {
    c.reason: c
    for c in (
        NotFound,
        AlreadyExists,
        Conflict,
        Invalid,
        BadRequest,
        Unavailable,
        Unauthorized,
        Forbidden,
        MethodNotAllowed,
        Expired,
        UnsupportedMediaType,
        TooManyRequests,
        InternalError,
        Timeout,
    )
}


def error_from_status(status: JSON, code: int) -> ClusterError:
    """The ClusterError a ``kind: Status`` answer stands for."""
    reason = str(status.get("reason") or "")
    cls = ERRORS_BY_REASON.get(reason)
    if cls is None:
        cls = next((c for c in ERRORS_BY_REASON.values() if c.code == code), ClusterError)
    details = status.get("details") if isinstance(status.get("details"), dict) else None
    retry = (details or {}).get("retryAfterSeconds")
    return cls(
        str(status.get("message") or reason or f"HTTP {code}"),
        code=code,
        reason=reason or None,
        details=details,
        retry_after=int(retry) if isinstance(retry, int) else None,
    )


@runtime_checkable
class ClusterClient(Protocol):
    """One implementation per kind of backend; a shared contract test suite
    (``tests/integration/test_cluster_contract.py``) runs against each."""

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

    def patch(
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
    ) -> JSON | None:
        """Delete (``propagation_policy``: Background, Foreground or Orphan); the object
        is returned while finalizers keep it."""
        ...

    def close(self) -> None: ...
