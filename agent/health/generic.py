"""Custom resources: judged by the conventions most controllers follow.

A ``Ready`` (or ``Available``) condition decides; a ``status.observedGeneration``
behind ``metadata.generation`` means the controller has not seen the latest
spec yet.  A custom resource that publishes neither is Healthy once it
exists, as in Argo CD.
"""

from __future__ import annotations

from agent.health.core import Health, Obj, conditions, degraded, healthy, number, progressing, status


def custom_resource(obj: Obj) -> Health:
    st = status(obj)
    meta = obj.get("metadata") or {}
    if "observedGeneration" in st and number(st, "observedGeneration") < number(meta, "generation"):
        return progressing("waiting for the controller to observe the latest generation")
    conds = conditions(obj)
    for kind in ("Ready", "Available"):
        cond = conds.get(kind)
        if cond is None:
            continue
        state = str(cond.get("status"))
        if state == "True":
            return healthy()
        message = str(cond.get("message") or cond.get("reason") or f"{kind} is {state}")
        if state == "False" and cond.get("reason") not in ("Progressing", "Reconciling"):
            return degraded(message)
        return progressing(message)
    return healthy()
