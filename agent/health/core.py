"""Shared helpers of the health rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.models import HealthStatus

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    message: str = ""

    def __str__(self) -> str:
        return f"{self.status}: {self.message}" if self.message else str(self.status)


def healthy(message: str = "") -> Health:
    return Health(HealthStatus.HEALTHY, message)


def progressing(message: str) -> Health:
    return Health(HealthStatus.PROGRESSING, message)


def degraded(message: str) -> Health:
    return Health(HealthStatus.DEGRADED, message)


def suspended(message: str) -> Health:
    return Health(HealthStatus.SUSPENDED, message)


def spec(obj: Obj) -> Mapping[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, Mapping) else {}


def status(obj: Obj) -> Mapping[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, Mapping) else {}


def number(mapping: Mapping[str, Any], field: str, default: int = 0) -> int:
    value = mapping.get(field)
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def conditions(obj: Obj) -> dict[str, Mapping[str, Any]]:
    found = status(obj).get("conditions") or ()
    return {str(c.get("type")): c for c in found if isinstance(c, Mapping)}


def condition_true(obj: Obj, kind: str) -> bool:
    return str((conditions(obj).get(kind) or {}).get("status")) == "True"


def generation_observed(obj: Obj) -> bool:
    """The controller has seen the latest spec (observedGeneration caught up)."""
    meta = obj.get("metadata") or {}
    observed = status(obj).get("observedGeneration")
    if observed is None:
        return False
    return number(status(obj), "observedGeneration") >= number(meta, "generation")
