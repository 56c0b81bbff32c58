"""PersistentVolumeClaims, CustomResourceDefinitions and Namespaces."""

from __future__ import annotations

from agent.health.core import Health, Obj, condition_true, conditions, degraded, healthy, progressing, status


def pvc(obj: Obj) -> Health:
    phase = status(obj).get("phase")
    if phase == "Bound":
        return healthy()
    if phase == "Lost":
        return degraded("the claim lost its volume")
    return progressing(f"phase {phase or 'Pending'}")


def crd(obj: Obj) -> Health:
    conflict = conditions(obj).get("NamesAccepted") or {}
    if conflict.get("status") == "False":
        return degraded(str(conflict.get("message") or "names not accepted"))
    if condition_true(obj, "Established"):
        return healthy()
    return progressing("waiting to be established")


def namespace(obj: Obj) -> Health:
    phase = status(obj).get("phase")
    if phase == "Terminating":
        return progressing("terminating")
    return healthy()
