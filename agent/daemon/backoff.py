"""Exponential back-off of an app whose reconciles keep failing.

A failing app is retried sooner than its interval at first (a transient
error heals quickly) and then less and less often, up to a cap, so a broken
repository or cluster is not hammered.  One success resets it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    initial: float = 5.0
    maximum: float = 300.0
    factor: float = 2.0
    jitter: float = 0.1  # +- this fraction, so apps failing together spread out

    def delay(self, failures: int, rand: random.Random | None = None) -> float:
        """Seconds to wait after ``failures`` failures in a row (0: none)."""
        if failures <= 0:
            return 0.0
        base = min(self.maximum, self.initial * self.factor ** min(failures - 1, 64))
        spread = (rand or random).uniform(-self.jitter, self.jitter)
        return max(0.0, min(self.maximum, base * (1 + spread)))
