from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.config import RetryPolicy
from agent.kube.errors import ClusterError, Invalid
from agent.sync.retry import with_retries


def _flaky(failures: list[ClusterError]) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "ok"

    return calls, call


def test_passing_errors_are_retried_up_to_the_policy_attempts() -> None:
    policy = RetryPolicy(attempts=3, backoffSeconds=0.001, maxBackoffSeconds=0.001)
    calls, call = _flaky([ClusterError("busy", code=503), ClusterError("slow down", code=429)])
    assert with_retries(policy, call) == "ok"
    assert len(calls) == 3

    calls, call = _flaky([ClusterError("busy", code=503)] * 3)
    with pytest.raises(ClusterError, match="busy"):
        with_retries(policy, call)
    assert len(calls) == 3  # the first plain call counts as attempt 1


def test_errors_that_would_fail_again_are_not_retried() -> None:
    policy = RetryPolicy(attempts=5, backoffSeconds=0.001)
    calls, call = _flaky([Invalid("spec.replicas: Invalid value", code=422)])
    with pytest.raises(Invalid):
        with_retries(policy, call)
    assert len(calls) == 1


def test_retry_after_is_honoured_before_the_second_attempt() -> None:
    policy = RetryPolicy(attempts=2, backoffSeconds=5, maxBackoffSeconds=5)
    calls, call = _flaky([ClusterError("slow down", code=429, retry_after=0)])
    assert with_retries(policy, call) == "ok"
    assert len(calls) == 2
