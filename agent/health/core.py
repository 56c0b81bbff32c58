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
    rule: str = ""  # the rule that decided, when known (see ``agent.health.assess``)

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


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def generation_observed(obj: Obj, *, required: bool = True) -> bool:
    """The controller has seen the latest spec (observedGeneration caught up).

    An ``observedGeneration`` that is not an integer (older Argo Rollouts
    publish a hash) is compared as "present": it counts as caught up.  Without
    one, ``required`` decides (built-in controllers always publish it; many
    custom controllers never do).
    """
    observed = status(obj).get("observedGeneration")
    if observed is None:
        return not required
    seen = _integer(observed)
    want = _integer((obj.get("metadata") or {}).get("generation"))
    return seen is None or want is None or seen >= want


def terminating(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def condition(obj: Obj, kind: str) -> tuple[str, str, str]:
    """``(status, reason, message)`` of one condition; ``("", "", "")`` when absent."""
    cond = conditions(obj).get(kind)
    if cond is None:
        return "", "", ""
    return str(cond.get("status") or "Unknown"), str(cond.get("reason") or ""), str(cond.get("message") or "")


def describe(kind: str, state: str, reason: str, message: str) -> str:
    head = f"{kind}={state}" + (f" ({reason})" if reason else "")
    return f"{head}: {message}" if message else head


def field(obj: Obj, path: str) -> Any:
    """The value at a dotted path (``status.phase``), or None."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
