"""Retrying API requests that failed for a passing reason (tenacity): every
call a sync makes (the apply's writes, the live reads, the records' reads
and writes) goes through :func:`with_retries` under the app's policy.

Retried: 429 Too Many Requests, 5xx, timeouts, and 409 optimistic-lock
conflicts (an object changed between read and write).  Not retried: a
server-side apply conflict with another field manager (it would fail the
same way again), validation errors, NotFound, Forbidden.  The wait is the
server's ``Retry-After`` when it sent one, else exponential with jitter,
capped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from agent.config import RetryPolicy
from agent.kube.errors import AlreadyExists, ClusterError, Conflict, NotFound

if TYPE_CHECKING:
    from agent.cluster.base import JSON, ClusterClient

T = TypeVar("T")
_PASSING_CODES = {429, 500, 502, 503, 504}


def retryable(error: BaseException) -> bool:
    if not isinstance(error, ClusterError):
        return False
    if isinstance(error, Conflict):
        return not any(c.get("reason") == "FieldManagerConflict" for c in error.causes)
    return error.code in _PASSING_CODES or error.reason in ("Timeout", "ServerTimeout")


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    jittered = wait_random_exponential(multiplier=policy.backoff_seconds, max=policy.max_backoff_seconds)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, ClusterError) and error.retry_after is not None:
            return float(min(error.retry_after, policy.max_backoff_seconds * 6))
        return float(jittered(state))

    return wait


def with_retries(policy: RetryPolicy, call: Callable[[], T]) -> T:
    """``call()``, retried under ``policy``; the last error is raised as is.

    The first attempt is a plain call: tenacity's machinery is set up only
    once it failed for a passing reason (it then counts as attempt 1, so the
    policy's waits and attempts are unchanged).  A large sync makes a
    thousand calls that nearly all succeed at once."""
    try:
        return call()
    except ClusterError as e:
        if policy.attempts <= 1 or not retryable(e):
            raise
        first: ClusterError | None = e

    def again() -> T:
        nonlocal first
        if first is not None:
            failed, first = first, None
            raise failed
        return call()

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=_wait(policy),
        retry=retry_if_exception(retryable),
        reraise=True,
    )
    return retrying(again)


def create_once(cluster: ClusterClient, obj: JSON, policy: RetryPolicy) -> JSON:
    """Create ``obj``, retried; when an attempt whose answer was lost (a
    timeout, a 503 from a proxy) had in fact written it, the retry finds it
    there: that is the object created, not an AlreadyExists."""
    tried = False

    def once() -> JSON:
        nonlocal tried
        try:
            return cluster.create(obj)
        except AlreadyExists:
            meta = obj["metadata"]
            found = cluster.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace", ""))
            if not tried or found is None:
                raise
            return found
        finally:
            tried = True

    return with_retries(policy, once)


def delete_once(
    cluster: ClusterClient, api_version: str, kind: str, name: str, namespace: str, *, policy: RetryPolicy
) -> None:
    """Delete, retried; NotFound on a retry is the earlier attempt's work."""
    tried = False

    def once() -> None:
        nonlocal tried
        try:
            cluster.delete(api_version, kind, name, namespace)
        except NotFound:
            if not tried:
                raise
        finally:
            tried = True

    with_retries(policy, once)
