"""What every simulated controller shares: timestamps, conditions, image faults.

A reconciler is a function ``(context, object, now) -> (status or None, recheck
time or None)``: the status the object should report now, and when to look
again (a rollout still under way).  Keeping reconcilers pure over a
:class:`Context` lets one loop (:mod:`agent.emulator.controllers.loop`) run all
of them, like controller-runtime's reconcilers behind one work queue.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.emulator.objects import JSON
from agent.emulator.ports import Cluster

Desired = tuple[JSON | None, float | None]


@dataclass
class Context:
    """The cluster a reconciler reads, and what it remembers between runs."""

    cluster: Cluster
    began: dict[tuple[str, int], float] = field(default_factory=dict)  # (uid, generation) -> first seen

    @property
    def rollout_seconds(self) -> float:
        return self.cluster.options.rollout_seconds

    @property
    def time_factor(self) -> float:
        return self.cluster.options.time_factor

    def fault(self, template: Any) -> str:
        """``ImagePullBackOff``, ``CrashLoopBackOff`` or "" for a pod template's images."""
        spec = (template or {}).get("spec") or {}
        faults = [
            self.cluster.faults.image_fault(str(c.get("image", "")))
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
        ]
        return (
            "ImagePullBackOff"
            if "ImagePullBackOff" in faults
            else ("CrashLoopBackOff" if "CrashLoopBackOff" in faults else "")
        )


Reconciler = Callable[[Context, JSON, float], Desired]


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def template_hash(template: Any) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return "".join(c for c in digest if c in "bcdfghjklmnpqrstvwxz2456789")[:10]


def condition(  # noqa: PLR0917 - a condition's fields in the API's order
    conditions: list[JSON], type_: str, status: str, reason: str, message: str, t: str
) -> JSON:
    old = next((c for c in conditions if c.get("type") == type_), None)
    transition = old.get("lastTransitionTime", t) if old and old.get("status") == status else t
    update = (
        old.get("lastUpdateTime", t)
        if old and old.get("reason") == reason and old.get("status") == status
        else t
    )
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": update,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    }


def counts(replicas: int, updated: int, ready: int, available: int) -> JSON:
    out: JSON = {}
    if replicas:
        out["replicas"] = replicas
    if updated:
        out["updatedReplicas"] = updated
    if ready:
        out["readyReplicas"] = ready
    if available:
        out["availableReplicas"] = available
    if replicas - available > 0:
        out["unavailableReplicas"] = replicas - available
    return out


def resolve(value: Any, total: int, *, up: bool) -> int:
    """An int-or-percent (``maxSurge``, ``maxUnavailable``) of ``total``."""
    if isinstance(value, str) and value.endswith("%"):
        fraction = total * int(value[:-1]) / 100
        return math.ceil(fraction) if up else math.floor(fraction)
    return int(value or 0)
