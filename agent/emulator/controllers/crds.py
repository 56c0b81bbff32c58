"""The CustomResourceDefinition controller: names accepted, the definition Established."""

from __future__ import annotations

from agent.emulator.controllers.status import Context, Desired, condition, stamp
from agent.emulator.objects import JSON


def crd(_: Context, obj: JSON, now: float) -> Desired:
    spec = obj.get("spec") or {}
    old = obj.get("status") or {}
    t = stamp(now)
    conditions = list(old.get("conditions") or ())
    stored = list(old.get("storedVersions") or ()) or [
        v.get("name") for v in spec.get("versions") or () if v.get("storage")
    ]
    for v in spec.get("versions") or ():
        if v.get("storage") and v.get("name") not in stored:
            stored.append(v.get("name"))
    for c in (
        condition(conditions, "NamesAccepted", "True", "NoConflicts", "no conflicts found", t),
        condition(
            conditions,
            "Established",
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
            t,
        ),
    ):
        c.pop("lastUpdateTime", None)
        conditions = [x for x in conditions if x.get("type") != c["type"]] + [c]
    return {
        "acceptedNames": dict(spec.get("names") or {}),
        "conditions": conditions,
        "storedVersions": stored,
    }, None
