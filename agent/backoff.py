"""How long to wait before retrying an app whose reconcile keeps failing
(its source unreachable, its cluster refusing): the daemon's policy.

Exponential, capped, with jitter: after ``n`` consecutive failures the
ceiling is ``initial * factor**(n-1)``, never above ``maximum``, and the
delay is drawn uniformly from its upper half ("equal jitter"), so many apps
on one unreachable server spread their retries instead of arriving together,
yet none retries much sooner than its schedule says.  One success resets
the count.

A pure policy: the caller owns the failure count and the clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    initial: float = 10.0  # seconds, after the first failure
    factor: float = 2.0
    maximum: float = 600.0  # the cap: ten minutes
    jitter: float = 0.5  # the share of the ceiling that is random

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        if self.factor < 1:
            raise ValueError("backoff factor must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter must be within [0, 1]")

    def ceiling(self, failures: int) -> float:
        """The longest wait after ``failures`` consecutive failures."""
        if failures <= 0:
            return 0.0
        # compare exponents, not powers: a long outage must not overflow
        ceiling = self.initial
        for _ in range(failures - 1):
            ceiling *= self.factor
            if ceiling >= self.maximum:
                return self.maximum
        return min(ceiling, self.maximum)

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before the next attempt (0 when nothing failed)."""
        ceiling = self.ceiling(failures)
        if ceiling == 0:
            return 0.0
        draw = (rng or _rng).random()
        return ceiling * (1 - self.jitter) + ceiling * self.jitter * draw

    def next_interval(self, failures: int, interval: float, rng: random.Random | None = None) -> float:
        """Seconds until an app is polled next: its own interval while its
        source works; after failures, the backoff delay instead (shorter
        than a long interval at first, as Flux retries a failed source
        early, and never more often than the backoff allows)."""
        if failures <= 0:
            return interval
        return self.delay(failures, rng)


_rng = random.SystemRandom()
