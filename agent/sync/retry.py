"""Retrying API requests that failed for a passing reason (tenacity).

Retried: 429 Too Many Requests, 5xx, timeouts, and 409 optimistic-lock
conflicts (an object changed between read and write).  Not retried: a
server-side apply conflict with another field manager (it would fail the
same way again), validation errors, NotFound, Forbidden.  The wait is the
server's ``Retry-After`` when it sent one, else exponential with jitter,
capped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from agent.config import RetryPolicy
from agent.kube.errors import ClusterError, Conflict

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
