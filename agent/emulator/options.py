"""How the emulated cluster behaves beyond the API: timing, faults, addresses.

Its own module so the registry, the controllers and the allocator read the
same settings without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.emulator.faults import FaultConfig


@dataclass
class Options:
    """How the emulated cluster behaves beyond the API: timing and faults."""

    rollout_seconds: float = 0.0  # until simulated controllers report a rollout (0: at once)
    time_factor: float = 1.0  # scales deadlines such as progressDeadlineSeconds
    faults: FaultConfig | None = None
    seed: int | None = None
    service_cidr: str = "10.96.0.0/12"
    extra: dict[str, Any] = field(default_factory=dict)
