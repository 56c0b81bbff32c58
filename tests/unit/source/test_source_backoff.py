"""The retry policy for failing sources: exponential, capped, jittered."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.source import Backoff


def test_ceilings_double_up_to_the_cap() -> None:
    b = Backoff(initial=10, factor=2, maximum=600)
    assert [b.ceiling(n) for n in range(9)] == [0, 10, 20, 40, 80, 160, 320, 600, 600]
    assert b.ceiling(10_000) == 600  # a long outage neither overflows nor exceeds the cap


@given(failures=st.integers(min_value=1, max_value=200), seed=st.integers())
def test_delay_is_within_the_upper_half_of_its_ceiling(failures: int, seed: int) -> None:
    b = Backoff()
    delay = b.delay(failures, random.Random(seed))  # noqa: S311 (a seeded draw, not a secret)
    assert b.ceiling(failures) / 2 <= delay <= b.ceiling(failures) <= b.maximum


def test_jitter_spreads_apps_that_failed_together() -> None:
    b = Backoff()
    rng = random.Random(7)  # noqa: S311 (a seeded draw, not a secret)
    delays = {round(b.delay(3, rng), 3) for _ in range(50)}
    assert len(delays) > 40
    assert Backoff(jitter=0).delay(3, rng) == 40


def test_healthy_apps_keep_their_interval_and_failing_ones_back_off() -> None:
    b = Backoff(initial=5, maximum=300, jitter=0)
    assert b.next_interval(0, 60) == 60
    assert b.delay(0) == 0
    assert [b.next_interval(n, 60) for n in (1, 2, 3, 8)] == [5, 10, 20, 300]


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0}, {"initial": 10, "maximum": 5}, {"factor": 0.5}, {"jitter": 1.5}]
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)
