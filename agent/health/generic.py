"""Custom resources: the condition conventions of kstatus, checked in order.

Modelled on kstatus (``sigs.k8s.io/cli-utils/pkg/kstatus``), which Flux and
Kubernetes' own tooling follow:

1. ``Stalled=True``, or a ``Ready``/``Available`` condition that is ``False``
   with a terminal reason (:data:`TERMINAL_REASONS`, plus the kind's own) →
   Degraded: the controller says it has given up.
2. ``status.observedGeneration`` behind ``metadata.generation`` → Progressing:
   the conditions describe an older spec.  One that is not an integer is
   compared as "present".
3. ``Reconciling=True`` → Progressing.
4. ``Ready`` (else ``Available``) ``True`` → Healthy; ``False`` without a
   terminal reason or ``Unknown`` → Progressing (the health timeout, which
   fails the sync, turns a progress that never ends into a failure).
5. No such condition → Healthy once it exists, as in Argo CD.

An object with ``metadata.deletionTimestamp`` is Progressing before any of
this (see :func:`agent.health.assess`).
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.health.core import (
    Health,
    Obj,
    condition,
    degraded,
    describe,
    generation_observed,
    healthy,
    progressing,
)

# Reasons that controllers document as final: the object will not become ready
# without a change to it.  Kept short on purpose: a transient reason read as
# final rolls a sync back.
TERMINAL_REASONS = frozenset({"Failed", "InvalidSpec", "ValidationFailed", "ProgressDeadlineExceeded"})


def conditions_verdict(
    obj: Obj,
    ready: Iterable[str] = ("Ready", "Available"),
    terminal: frozenset[str] = TERMINAL_REASONS,
    *,
    false_is_failure: bool = False,
) -> Health | None:
    """The kstatus verdict, or None when the object publishes no readiness condition."""
    unsettled = _unsettled(obj)
    if unsettled is not None:
        return unsettled
    for kind in ready:
        state, reason, message = condition(obj, kind)
        if not state:
            continue
        if state == "True":
            return healthy()
        if state == "False" and (false_is_failure or reason in terminal):
            return degraded(describe(kind, state, reason, message))
        return progressing(describe(kind, state, reason, message))
    return None


def _unsettled(obj: Obj) -> Health | None:
    """Stalled, an unobserved generation, or Reconciling: decided before readiness."""
    state, reason, message = condition(obj, "Stalled")
    if state == "True":
        return degraded(describe("Stalled", state, reason, message))
    if not generation_observed(obj, required=False):
        return progressing("waiting for the controller to observe the latest generation")
    state, reason, message = condition(obj, "Reconciling")
    if state == "True":
        return progressing(describe("Reconciling", state, reason, message))
    return None


def custom_resource(obj: Obj) -> Health:
    return conditions_verdict(obj) or healthy()
