"""The checks of the custom kinds that need more than a table row (see :mod:`.custom`).

Each returns a verdict, or None to let the table's condition semantics decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agent.health.core import (
    Health,
    Obj,
    condition,
    conditions,
    degraded,
    describe,
    field,
    generation_observed,
    healthy,
    number,
    progressing,
    spec,
    status,
    suspended,
)
from agent.health.generic import conditions_verdict


def certificate(obj: Obj) -> Health | None:
    """cert-manager: ``Issuing=False`` with reason ``Failed`` is a failed issuance (retried hours later)."""
    state, reason, message = condition(obj, "Issuing")
    if state == "False" and reason == "Failed":
        return degraded(describe("Issuing", state, reason, message))
    return None


_ROLLOUT_PHASES = {"Healthy": healthy, "Degraded": degraded, "Paused": suspended, "Progressing": progressing}


def rollout(obj: Obj) -> Health | None:
    """Argo Rollouts: aborted or past its deadline is Degraded; paused is Suspended."""
    st = status(obj)
    if st.get("abort"):
        return degraded(str(st.get("message") or "the rollout was aborted"))
    state, reason, message = condition(obj, "Progressing")
    if reason in ("RolloutAborted", "ProgressDeadlineExceeded"):
        return degraded(describe("Progressing", state, reason, message))
    if spec(obj).get("paused") or st.get("pauseConditions") or st.get("controllerPause"):
        return suspended("the rollout is paused")
    if not generation_observed(obj, required=False):
        return progressing("waiting for the rollout to be observed")
    phase = st.get("phase")
    if isinstance(phase, str) and phase in _ROLLOUT_PHASES:
        return _ROLLOUT_PHASES[phase](str(st.get("message") or f"phase {phase}"))
    return None


def keda(obj: Obj) -> Health | None:
    state, reason, _ = condition(obj, "Paused")
    if state == "True":
        return suspended(f"scaling is paused ({reason or 'paused'})")
    return None


_STRIMZI_WORKING = frozenset({"Creating", "Pending", "Reconciling", "Updating"})


def strimzi(obj: Obj) -> Health | None:
    """Strimzi: ``NotReady=True`` while it creates, and with the error's name as reason on failure."""
    if condition(obj, "ReconciliationPaused")[0] == "True":
        return suspended("reconciliation is paused")
    state, reason, message = condition(obj, "NotReady")
    if state == "True":
        if reason in _STRIMZI_WORKING or not reason:
            return progressing(describe("NotReady", state, reason, message))
        return degraded(describe("NotReady", state, reason, message))
    return None


def _bad(conds: Iterable[Any], kinds: Iterable[str], working: frozenset[str]) -> Health | None:
    """The first listed condition that is False for a reason other than a working one."""
    by_type = {str(c.get("type")): c for c in conds if isinstance(c, Mapping)}
    for kind in kinds:
        cond = by_type.get(kind) or {}
        state, reason = str(cond.get("status", "")), str(cond.get("reason") or "")
        if state == "False" and reason not in working:
            return degraded(describe(kind, state, reason, str(cond.get("message") or "")))
    return None


def monitor_bindings(obj: Obj) -> Health | None:
    """Prometheus Operator: a ServiceMonitor (and kin) is Healthy once every
    workload that selects it accepts it (``status.bindings``)."""
    for binding in status(obj).get("bindings") or ():
        bad = _bad(binding.get("conditions") or (), ("Accepted",), frozenset())
        if bad is not None:
            return bad
    return healthy()


def istio_validation(obj: Obj) -> Health | None:
    """Istio: an ERROR among the analyzer's ``status.validationMessages`` is Degraded."""
    for msg in status(obj).get("validationMessages") or ():
        if isinstance(msg, Mapping) and str(msg.get("level", "")).upper() in ("ERROR", "3"):
            code = (msg.get("type") or {}).get("code") or ""
            name = (msg.get("type") or {}).get("name") or "validation error"
            return degraded(f"{code} {name}".strip())
    return healthy()


def cluster_api(obj: Obj) -> Health | None:
    """Cluster API: ``failureReason``/``failureMessage`` and a condition of severity Error are final."""
    st = status(obj)
    failure = st.get("failureMessage") or st.get("failureReason")
    if failure:
        return degraded(str(failure))
    cond = conditions(obj).get("Ready") or {}
    if cond.get("status") == "False" and cond.get("severity") == "Error":
        return degraded(
            describe("Ready", "False", str(cond.get("reason") or ""), str(cond.get("message") or ""))
        )
    return None


_PENDING = frozenset({"Pending"})


def gateway(obj: Obj) -> Health | None:
    """Gateway API: Accepted and Programmed; ``Pending`` (no controller yet) is progress."""
    conds = status(obj).get("conditions") or ()
    bad = _bad(conds, ("Accepted", "Programmed"), _PENDING)
    if bad is not None:
        return bad
    if condition(obj, "Accepted")[0] == "True" and condition(obj, "Programmed")[0] == "True":
        return healthy()
    return progressing("waiting for the gateway to be accepted and programmed")


def route(obj: Obj) -> Health | None:
    """Gateway API routes: every parent must accept the route and resolve its references."""
    parents = status(obj).get("parents") or ()
    if not parents:
        return progressing("no gateway has accepted the route yet")
    for parent in parents:
        conds = parent.get("conditions") or ()
        bad = _bad(conds, ("Accepted", "ResolvedRefs"), _PENDING)
        if bad is not None:
            return bad
        accepted = any(c.get("type") == "Accepted" and c.get("status") == "True" for c in conds)
        if not accepted:
            return progressing(
                f"waiting for {(parent.get('parentRef') or {}).get('name', 'a gateway')} to accept"
            )
    return healthy()


def crossplane_package(obj: Obj) -> Health | None:
    """Crossplane packages: Installed first, then Healthy (False is a failed revision)."""
    state, reason, message = condition(obj, "Installed")
    if state != "True":
        return progressing(describe("Installed", state or "Unknown", reason, message))
    return None


def crossplane_resource(obj: Obj) -> Health:
    """Crossplane managed and composite resources and claims: ``Synced`` and ``Ready``.

    ``Synced=False`` is the provider failing to apply: while the resource is
    not yet ready it is retried (references often resolve later), so it is
    Progressing with the error named; once ready, a change it cannot apply
    is Degraded.  ``ReconcilePaused`` is Suspended.
    """
    state, reason, message = condition(obj, "Synced")
    ready = condition(obj, "Ready")[0]
    if state == "False" and reason == "ReconcilePaused":
        return suspended("reconciliation is paused")
    if state == "False":
        text = describe("Synced", state, reason, message)
        return degraded(text) if ready == "True" else progressing(text)
    verdict = conditions_verdict(obj, ("Ready",))
    if verdict is None:
        return progressing("waiting for the provider to report Ready") if state != "True" else healthy()
    return verdict


def tekton_pending(obj: Obj) -> Health | None:
    if str(spec(obj).get("status", "")).endswith("Pending"):
        return suspended("the run is pending (spec.status)")
    return None


def kruise_replicas(obj: Obj) -> Health | None:
    """OpenKruise CloneSet and Advanced StatefulSet: every replica updated and ready, past the partition."""
    if not generation_observed(obj):
        return progressing("waiting for the rollout to be observed")
    want = number(spec(obj), "replicas", 1)
    st = status(obj)
    partition = field(obj, "spec.updateStrategy.partition")
    if partition is None:
        partition = field(obj, "spec.updateStrategy.rollingUpdate.partition")
    kept = partition if isinstance(partition, int) else 0
    ready = number(st, "readyReplicas")
    if ready < want:
        return progressing(f"{ready} of {want} replicas ready")
    updated = number(st, "updatedReadyReplicas")
    if updated < want - kept:
        return progressing(f"{updated} of {want - kept} replicas updated and ready")
    return healthy()
