"""The Deployment controller: a rollout reported ``rollout_seconds`` after a spec change.

A new pod template is a new ReplicaSet (named by the template's hash, as the
controller names it); its replicas become ready after the rollout time unless
fault injection makes the image unpullable or crash-looping.  Then the old
replicas carry the availability and, ``progressDeadlineSeconds`` (times the
time factor) after the rollout began, ``Progressing`` turns False with
``ProgressDeadlineExceeded``: what kubectl rollout status and health checks read.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.emulator.controllers.status import (
    Context,
    Desired,
    condition,
    counts,
    parse,
    resolve,
    stamp,
    template_hash,
)
from agent.emulator.objects import JSON

_AVAILABLE = "Deployment has minimum availability."
_UNAVAILABLE = "Deployment does not have minimum availability."


@dataclass
class _Rollout:
    spec: JSON
    old: JSON
    conditions: list[JSON]
    desired: int
    rs_name: str
    fault: str
    new_rollout: bool
    began: float
    t: str

    def available(self, ok: bool) -> JSON:
        return condition(
            self.conditions,
            "Available",
            "True" if ok else "False",
            "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
            _AVAILABLE if ok else _UNAVAILABLE,
            self.t,
        )


def deployment(ctx: Context, obj: JSON, now: float) -> Desired:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    old = obj.get("status") or {}
    gen = meta.get("generation", 1)
    rs_name = f"{meta['name']}-{template_hash(spec.get('template'))}"
    new_rollout = old.get("observedGeneration") != gen or _rs_of(old) != rs_name
    rollout = _Rollout(
        spec=spec,
        old=old,
        conditions=list(old.get("conditions") or ()),
        desired=int(spec.get("replicas", 1)),
        rs_name=rs_name,
        fault=ctx.fault(spec.get("template")),
        new_rollout=new_rollout,
        began=now if new_rollout else _progress_began(old, now),
        t=stamp(now),
    )
    status: JSON = {"observedGeneration": gen}
    recheck: float | None = None
    if spec.get("paused"):
        conds = _paused(rollout, status)
    elif not rollout.fault and now - rollout.began >= ctx.rollout_seconds:
        conds = _complete(rollout, status)
    else:
        conds, recheck = _progressing(ctx, rollout, status, now)
    status["conditions"] = conds
    return status, recheck


def _paused(r: _Rollout, status: JSON) -> list[JSON]:
    avail = int(r.old.get("availableReplicas", 0))
    status.update(counts(r.desired, r.desired, avail, avail))
    return [
        r.available(avail >= r.desired),
        condition(r.conditions, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", r.t),
    ]


def _complete(r: _Rollout, status: JSON) -> list[JSON]:
    status.update(counts(r.desired, r.desired, r.desired, r.desired))
    return [
        r.available(True),
        condition(
            r.conditions,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{r.rs_name}" has successfully progressed.',
            r.t,
        ),
    ]


def _progressing(ctx: Context, r: _Rollout, status: JSON, now: float) -> tuple[list[JSON], float | None]:
    """A rollout under way (or stuck on a faulty image): the old replicas carry the availability."""
    desired, old = r.desired, r.old
    carried = (
        0 if r.new_rollout and old.get("observedGeneration") is None else int(old.get("availableReplicas", 0))
    )
    avail = min(carried, desired)
    rolling = (r.spec.get("strategy") or {}).get("rollingUpdate") or {}
    max_unavailable = resolve(rolling.get("maxUnavailable", "25%"), desired, up=False)
    ok = avail >= desired - max_unavailable and (desired == 0 or avail > 0)
    # A rolling update surges new pods next to the old ones; until they are
    # ready (never, with a faulty image) the old pods carry the availability.
    surge = resolve(rolling.get("maxSurge", "25%"), desired, up=True)
    updated = desired if avail == 0 else min(desired, max(surge, 1))
    status.update(counts(avail + updated if avail else desired, updated, avail, avail))
    deadline = float(r.spec.get("progressDeadlineSeconds", 600)) * ctx.time_factor
    recheck: float | None = None
    if r.fault and now - r.began >= deadline:
        progressing = condition(
            r.conditions,
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            f'ReplicaSet "{r.rs_name}" has timed out progressing.',
            r.t,
        )
    else:
        reason = "NewReplicaSetCreated" if r.new_rollout else "ReplicaSetUpdated"
        message = (
            f'Created new replica set "{r.rs_name}"'
            if r.new_rollout
            else f'ReplicaSet "{r.rs_name}" is progressing.'
        )
        progressing = condition(r.conditions, "Progressing", "True", reason, message, stamp(r.began))
        recheck = r.began + (deadline if r.fault else ctx.rollout_seconds)
    return [r.available(ok), progressing], recheck


def _progress_began(old: JSON, now: float) -> float:
    for c in old.get("conditions") or ():
        if c.get("type") == "Progressing":
            if c.get("reason") in ("NewReplicaSetCreated", "ReplicaSetUpdated"):
                return parse(c.get("lastUpdateTime")) or now
            return parse(c.get("lastTransitionTime")) or now
    return now


def _rs_of(status: JSON) -> str:
    for c in status.get("conditions") or ():
        message = str(c.get("message", ""))
        if c.get("type") == "Progressing" and '"' in message:
            return message.split('"')[1]
    return ""
