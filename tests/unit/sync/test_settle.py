"""Settling a batch: one verdict from the waits over its parts, and the
Health stage's typed reason (Degraded at once, or late at the deadline)."""

from __future__ import annotations

from agent.models import HealthStatus, ObjectKey
from agent.results import Reason, Stage
from agent.sync.plan import Batch
from agent.sync.settle import health_failure, worst
from agent.sync.waiting import Outcome
from agent.sync.waves import Phase

WEB = ObjectKey("apps", "Deployment", "web", "web")
DB = ObjectKey("apps", "StatefulSet", "web", "db")


def test_a_degraded_object_decides_before_anything_still_pending() -> None:
    late = Outcome(HealthStatus.PROGRESSING, DB, "1 of 2 ready", timed_out=True)
    degraded = Outcome(HealthStatus.DEGRADED, WEB, "progress deadline exceeded")
    assert worst([Outcome(HealthStatus.HEALTHY), late, degraded]) is degraded
    assert worst([Outcome(HealthStatus.HEALTHY), late]) is late
    assert worst([Outcome(HealthStatus.HEALTHY)]).healthy
    assert worst([]).healthy


def test_health_failures_carry_their_reason() -> None:
    batch = Batch(Phase.SYNC, 2, ())
    degraded = health_failure(Outcome(HealthStatus.DEGRADED, WEB, "progress deadline exceeded"), batch, 30)
    assert (degraded.stage, degraded.reason) == (Stage.HEALTH, Reason.HEALTH_DEGRADED)
    assert degraded.message == "Deployment/web/web is Degraded: progress deadline exceeded"

    late = health_failure(Outcome(HealthStatus.PROGRESSING, None, "waiting", timed_out=True), batch, 2.5)
    assert (late.stage, late.reason) == (Stage.HEALTH, Reason.HEALTH_TIMEOUT)
    assert late.message == "wave 2 is still Progressing after 2.5s (waiting)"
