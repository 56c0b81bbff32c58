"""The API server's errors, as the ``kind: Status`` it answers with.

Every cluster backend (the emulated cluster, a real API server through the
official client) raises these, so callers handle one set of errors: the HTTP
``code``, the Status ``reason`` and its ``details`` (field causes, retry
hints).  They belong to the agent's one error tree (:mod:`agent.errors`):
:class:`ClusterError` is an :class:`~agent.errors.AgentError` of the Cluster
stage, and :class:`ClusterUnavailable` (no answer, 5xx, 429) carries the
``ClusterUnavailable`` reason.
"""

from __future__ import annotations

from typing import Any

from agent.errors import AgentError
from agent.results import Reason, Stage

JSON = dict[str, Any]


class ClusterError(AgentError):
    """An API error: ``code`` and ``reason`` as in a ``kind: Status``."""

    stage = Stage.CLUSTER
    failure_reason = Reason.CLUSTER_REFUSED
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
        if not self.reason:  # a Status without a reason (an internal error the server does not classify)
            del out["reason"]
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


class ClusterUnavailable(ClusterError):
    """The cluster cannot be reached or answered 5xx/429."""

    failure_reason = Reason.CLUSTER_UNAVAILABLE
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
        ClusterUnavailable,
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
