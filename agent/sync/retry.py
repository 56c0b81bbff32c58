"""Retrying API requests that failed for a passing reason (tenacity): every
call a sync makes (the apply's writes, the live reads, the records' reads
and writes) goes through :func:`with_retries` under the app's policy.

Retried: 429 Too Many Requests, 5xx, timeouts, and 409 optimistic-lock
conflicts (an object changed between read and write).  Not retried: a
server-side apply conflict with another field manager (it would fail the
same way again), validation errors, NotFound, Forbidden.  The wait is the
server's ``Retry-After`` when it sent one, else exponential with jitter,
capped.

All the retries of one sync share one budget of waiting,
``retry.maxTotalBackoffSeconds`` (:func:`budgeted`): the waits of every
call, parallel ones too, add up, and a retry whose wait would take the sum
over the budget is not made.  The call's last error is then raised, saying
so; the stage that made the call names the failure (Apply, Prune, Record,
or Cluster for the reads).  A cluster that keeps refusing cannot stretch a
sync without end, as Argo CD bounds a sync's retries by ``maxDuration``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from agent.config import Application, RetryPolicy
from agent.kube.errors import AlreadyExists, ClusterError, Conflict, NotFound
from agent.sync.ownership import MANAGED_BY, MANAGED_BY_LABEL

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


class RetryBudget:
    """What one sync's retries have waited, all calls together."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.waited = 0.0
        self._lock = threading.Lock()

    def take(self, wait: float) -> bool:
        """Spend ``wait`` seconds of the budget, if that many are left."""
        with self._lock:
            if self.waited + wait > self.seconds:
                return False
            self.waited += wait
            return True


class _OutOfBudget(stop_base):
    """Stop when the next wait would take the sync over its retry budget
    (tenacity computes the wait before it asks whether to stop)."""

    def __init__(self, budget: RetryBudget | None) -> None:
        self.budget = budget
        self.spent = False

    def __call__(self, retry_state: RetryCallState) -> bool:
        self.spent = self.budget is not None and not self.budget.take(retry_state.upcoming_sleep)
        return self.spent


def budgeted(app: Application) -> Application:
    """``app`` with a fresh retry budget for one sync (the same app when it
    has one already: a sync's stages, its rollback too, share it)."""
    policy = app.sync_policy.retry
    if policy._budget is not None:  # the sync's own account, kept beside its policy
        return app
    retry = policy.model_copy()
    retry._budget = RetryBudget(policy.max_total_backoff_seconds)
    return app.model_copy(update={"sync_policy": app.sync_policy.model_copy(update={"retry": retry})})


def with_retries(policy: RetryPolicy, call: Callable[[], T]) -> T:
    """``call()``, retried under ``policy``; the last error is raised as is
    (its message saying so when the sync's retry budget ran out).

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

    budget: RetryBudget | None = policy._budget
    guard = _OutOfBudget(budget)
    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts) | guard,
        wait=_wait(policy),
        retry=retry_if_exception(retryable),
        reraise=True,
    )
    try:
        return retrying(again)
    except ClusterError as e:
        if guard.spent and budget is not None:
            attempts = retrying.statistics.get("attempt_number", 0)
            e.args = (
                f"{e} (gave up after {attempts} attempts: this sync's retries have waited "
                f"{budget.waited:.1f} s, and retry.maxTotalBackoffSeconds is {budget.seconds:g} s)",
            )
        raise


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


def ensure_namespace(cluster: ClusterClient, name: str, policy: RetryPolicy) -> None:
    """The agent's state namespace ``name``, made (labelled as the agent's)
    when missing; another writer making it first is as good."""
    if with_retries(policy, lambda: cluster.get("v1", "Namespace", name)) is not None:
        return
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
    }
    with contextlib.suppress(AlreadyExists):
        create_once(cluster, ns, policy)
