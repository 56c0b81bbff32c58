"""The Job controller: a Job completes after the rollout time.

Or it never starts its pods (an unpullable image) or fails with
BackoffLimitExceeded (a crash-looping one); a suspended Job says so.
"""

from __future__ import annotations

from agent.emulator.controllers.status import Context, Desired, condition, parse, stamp
from agent.emulator.objects import JSON


def job(ctx: Context, obj: JSON, now: float) -> Desired:
    spec = obj.get("spec") or {}
    old = obj.get("status") or {}
    if any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in old.get("conditions") or ()
    ):
        return None, None
    t = stamp(now)
    started = old.get("startTime") or t
    if spec.get("suspend"):
        return {
            **old,
            "conditions": [
                condition(
                    old.get("conditions") or [], "Suspended", "True", "JobSuspended", "Job suspended", t
                )
            ],
        }, None
    fault = ctx.fault(spec.get("template"))
    parallelism = int(spec.get("parallelism", 1))
    began = parse(started) or now
    if fault == "ImagePullBackOff" or now - began < ctx.rollout_seconds:
        status: JSON = {
            "startTime": started,
            "active": parallelism,
            "ready": 0,
            "terminating": 0,
            "uncountedTerminatedPods": {},
        }
        return status, (None if fault else began + ctx.rollout_seconds)
    if fault == "CrashLoopBackOff":
        return _failed(spec, started, t), None
    return _complete(spec, started, parallelism, t), None


def _failed(spec: JSON, started: str, t: str) -> JSON:
    reason, message = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
    return {
        "startTime": started,
        "failed": int(spec.get("backoffLimit", 6)) + 1,
        "ready": 0,
        "terminating": 0,
        "uncountedTerminatedPods": {},
        "conditions": [
            condition([], "FailureTarget", "True", reason, message, t),
            condition([], "Failed", "True", reason, message, t),
        ],
    }


def _complete(spec: JSON, started: str, parallelism: int, t: str) -> JSON:
    reason, message = "CompletionsReached", "Reached expected number of succeeded pods"
    return {
        "startTime": started,
        "completionTime": t,
        "succeeded": int(spec.get("completions") or parallelism),
        "ready": 0,
        "terminating": 0,
        "uncountedTerminatedPods": {},
        "conditions": [
            condition([], "SuccessCriteriaMet", "True", reason, message, t),
            condition([], "Complete", "True", reason, message, t),
        ],
    }
