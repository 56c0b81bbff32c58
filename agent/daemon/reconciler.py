"""One run of one app in the daemon: observe, decide, then sync or report.

Observing is the engine's read-only half (fetch -> render -> read live ->
plan): it writes nothing, and when the remote ref has not moved it costs an
``ls-remote`` and a list per kind, so a poll of an app that is in sync stays
cheap.  Then, as Argo CD's automated sync policy does:

- ``automated: false``: report only (status, metrics, a drift notification);
- a new commit or new rendered manifests (compared with the last revision
  record), or a last sync that failed: sync;
- the same commit, but the cluster drifted: sync only with ``selfHeal``,
  otherwise report the drift;
- a commit held after a rollback: report the hold, never retry it.

Before a sync, the gates of :mod:`agent.daemon.gates`: a suspended app is
not even observed; an app whose dependencies are not ready, or that is
outside its sync windows, is observed (drift is reported) but not synced.
A sync asked for by hand passes the same gates (a window's ``manualSync``
lets it through one); one waiting for its dependencies is held and runs
when they are ready.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from agent.config import Application
from agent.daemon.gates import Gates
from agent.daemon.logs import app_log
from agent.daemon.state import AppState, Manual, Observation, Outcome, RunResult
from agent.daemon.tree import live_object
from agent.errors import AgentError
from agent.health import aggregate, assess
from agent.kube.errors import ClusterError
from agent.models import DiffStatus, HealthStatus, SyncStatus
from agent.redact import redact
from agent.report.messages import (
    automatic_rollback_message,
    drift_action,
    drift_message,
    manual_rollback_message,
    sync_message,
)
from agent.report.metrics import Metrics
from agent.report.notifications import Notifier
from agent.results import DriftReport, ObjectHealth, Operation, RollbackResult, SyncResult, Trigger
from agent.sync.context import Context
from agent.sync.encoding import digest
from agent.sync.pipeline import Prepared, prepare, reconcile, replan
from agent.sync.record import now
from agent.sync.rollback import holding, rollback_by_hand

log = logging.getLogger("gitops_agent.reconcile")


def observe(
    ctx: Context, app: Application, synced: Prepared | None = None
) -> tuple[Observation, Prepared | None]:
    """Git against the cluster, writing nothing.  ``synced``: what a sync
    just applied; the cluster is compared with its manifests again, without
    a second fetch and render (:func:`~agent.sync.pipeline.replan`)."""
    try:
        # the app's own prune policy: the same plan a sync would make
        prepared = prepare(ctx, app) if synced is None else replan(ctx, app, synced)
    except AgentError as e:  # the cluster's errors too: one tree
        failure = e.failure()
        report = DriftReport(app.name, None, failure=failure)
        message = redact(str(failure))
        return Observation(
            now(), None, SyncStatus.UNKNOWN, HealthStatus.UNKNOWN, report, message=message
        ), None
    resources = prepared.plan.resources
    report = DriftReport(app.name, prepared.revision, tuple(s.diff for s in resources))
    judged = [(str(s.key), assess(s.live, prepared.rules)) for s in resources if s.desired is not None]
    health = aggregate(h.status for _, h in judged)
    judged.sort(key=lambda kh: (-kh[1].status.rank, kh[0]))
    each = tuple(ObjectHealth(key, h.status.label, h.rule, h.message) for key, h in judged)
    held = holding(prepared.history, prepared.revision.commit)
    objects = tuple(live_object(s) for s in resources)  # what the app's page draws
    last_synced = next((r.finished for r in reversed(prepared.history) if r.operation == Operation.SYNC), "")
    obs = Observation(
        now(), prepared.revision, report.sync_status, health, report, held, held or "", each, objects
    )
    obs = replace(obs, last_synced=last_synced)
    return obs, prepared


def _desired_moved(prepared: Prepared) -> bool:
    """Git has something the last sync did not apply: a new commit, new
    rendered manifests (values changed), or the last sync failed."""
    last = prepared.last
    if last is None:
        return True
    if last.operation == Operation.SYNC and not last.succeeded:
        return True
    return last.commit != prepared.revision.commit or last.digest != digest(prepared.manifests)


def _healable(app: Application, obs: Observation) -> bool:
    """Drift a sync would correct: extraneous objects count only when the
    app prunes."""
    if obs.drift is None:
        return False
    return any(d.status is not DiffStatus.EXTRANEOUS or app.sync_policy.prune for d in obs.drift.drifted)


def _drifted_keys(obs: Observation) -> frozenset[str]:
    return frozenset(str(d.key) for d in obs.drift.drifted) if obs.drift else frozenset()


@dataclass(frozen=True)
class _Done:
    """What a run decided and did, before the bookkeeping."""

    outcome: Outcome
    observation: Observation
    message: str = ""
    sync: SyncResult | None = None
    rollback: RollbackResult | None = None


class Reconciler:
    def __init__(
        self, ctx: Context, metrics: Metrics, notifier: Notifier, gates: Gates | None = None
    ) -> None:
        self.ctx = ctx
        self.metrics = metrics
        self.notifier = notifier
        self.gates = gates

    def run(
        self, app: Application, state: AppState, trigger: Trigger, manual: Manual | None = None
    ) -> RunResult:
        started, t0 = now(), time.monotonic()
        held = None if manual is not None or self.gates is None else self.gates.ready_held(app)
        if held is not None:  # asked for by hand while its dependencies were not ready: now they are
            manual, trigger = held, Trigger.MANUAL
        done = self._automatic(app, state, trigger) if manual is None else self._manual(app, state, manual)
        sync = done.sync
        if sync is not None and sync.changeset.changed:
            state.last_sync = now()
        result = RunResult(
            trigger,
            started,
            now(),
            time.monotonic() - t0,
            done.outcome,
            sync,
            done.rollback or (sync.rollback if sync else None),
            done.message,
        )
        self._account(app, state, done.observation, result)
        return result

    # -- the two kinds of runs --------------------------------------------------------
    def _automatic(self, app: Application, state: AppState, trigger: Trigger) -> _Done:
        stopped = self._suspended(app, state)
        if stopped is not None:
            return stopped
        obs, prepared = observe(self.ctx, app)
        if prepared is None:
            return _Done(Outcome.FAILED, obs, obs.message)
        moved = _desired_moved(prepared)
        policy = app.sync_policy
        if not moved or not policy.automated:  # a report-only app never syncs: its last record stays old
            self._drift_news(app, state, obs)
        if obs.held is not None:
            return _Done(Outcome.HELD, obs, obs.held)
        if not policy.automated or not (moved or (policy.self_heal and _healable(app, obs))):
            return _Done(Outcome.DRIFT if obs.drifted else Outcome.UNCHANGED, obs)
        gated = self._gated(app, obs)
        if gated is not None:
            if moved and gated.outcome == Outcome.DEFERRED:  # reported as a report-only app's would be;
                self._drift_news(app, state, obs)  # an app waiting for others stays quiet until it syncs
            return gated
        result = reconcile(self.ctx, app, trigger=trigger, prepared=prepared)
        after, _ = observe(self.ctx, app, prepared if result.rollback is None else None)
        return _Done(_outcome(result), after, sync_message(result), sync=result)

    def _manual(self, app: Application, state: AppState, manual: Manual) -> _Done:
        if manual.action == Operation.ROLLBACK:
            return self._rollback(app, manual.to)
        stopped = self._suspended(app, state, manual=True)
        if stopped is not None:
            return stopped
        waiting = None if self.gates is None else self.gates.waiting(app)
        if waiting is not None and self.gates is not None:  # held, like a scheduled sync; runs when ready
            self.gates.hold(app.name, manual)
            obs, _ = observe(self.ctx, app)
            return _Done(Outcome.WAITING, replace(obs, message=waiting), waiting)
        result = reconcile(
            self.ctx,
            app,
            ref=manual.revision,
            prune=manual.prune,
            force=manual.force,
            trigger=Trigger.MANUAL,
        )
        obs, _ = observe(self.ctx, app)
        return _Done(_outcome(result), obs, sync_message(result), sync=result)

    def _rollback(self, app: Application, to: int | None) -> _Done:
        try:
            rb = rollback_by_hand(self.ctx, app, to)
        except AgentError as e:
            obs, _ = observe(self.ctx, app)
            return _Done(Outcome.FAILED, obs, e.message)
        self.metrics.rollbacks.labels(app.name, Trigger.MANUAL).inc()
        obs, _ = observe(self.ctx, app)
        text = manual_rollback_message(rb)
        self.notifier.send("rollback", app.name, obs.revision, text)
        if rb.ok:
            return _Done(Outcome.ROLLED_BACK, obs, text, rollback=rb)
        return _Done(Outcome.FAILED, obs, redact(str(rb.failure)), rollback=rb)

    # -- the gates ----------------------------------------------------------------------
    def _suspended(self, app: Application, state: AppState, *, manual: bool = False) -> _Done | None:
        """A suspended app (or, by hand, one outside its windows) is not
        even observed: its last observation stays, the message says why.
        A suspension the cluster could not tell is a failure, never a sync."""
        if self.gates is None:
            return None
        try:
            why = self.gates.suspended(app)
            closed = self.gates.window(app, manual=True) if manual and why is None else None
        except (ClusterError, AgentError) as e:
            message = redact(f"cannot read whether {app.name} is suspended: {e}")
            return _Done(Outcome.FAILED, _unobserved(state, message), message)
        if why is None and closed is None:
            return None
        outcome, message = (
            (Outcome.SUSPENDED, why) if why else (Outcome.DEFERRED, closed.message if closed else "")
        )
        return _Done(outcome, _unobserved(state, message), message)

    def _gated(self, app: Application, obs: Observation) -> _Done | None:
        """A sync that must wait: for a dependency, or for a window."""
        if self.gates is None:
            return None
        waiting = self.gates.waiting(app)
        if waiting is not None:
            return _Done(Outcome.WAITING, replace(obs, message=waiting), waiting)
        closed = self.gates.window(app)
        if closed is not None:
            return _Done(Outcome.DEFERRED, replace(obs, message=closed.message), closed.message)
        return None

    # -- bookkeeping ----------------------------------------------------------------------
    def _drift_news(self, app: Application, state: AppState, obs: Observation) -> None:
        """Notify each drifted object once: for an automated app, drift the
        cluster took on by itself (a new commit is synced instead); for a
        report-only app, any difference from Git, a new commit's included."""
        keys = _drifted_keys(obs)
        new = keys - state.drifted_keys
        state.drifted_keys = keys
        if not new:
            return
        policy = app.sync_policy
        action = drift_action(automated=policy.automated, self_heal=policy.self_heal)
        rev = obs.revision.commit if obs.revision else None
        log.warning(
            "drift detected: %s: %s", ", ".join(sorted(new)), action, **app_log(app.name, rev, "diff")
        )
        self.notifier.send("drift", app.name, obs.revision, drift_message(len(keys), action), sorted(keys))

    def _account(self, app: Application, state: AppState, obs: Observation, result: RunResult) -> None:
        first_failure = not result.ok and state.failures == 0
        with state.lock:
            state.observation = obs
            state.last_run = result
            state.failures = 0 if result.ok else state.failures + 1
            if result.sync is not None and result.sync.ok:
                state.drifted_keys = _drifted_keys(obs)
        m = self.metrics
        m.reconciles.labels(app.name, result.trigger, result.outcome).inc()
        m.reconcile_seconds.labels(app.name).observe(result.duration)
        m.app_status(app.name, obs.sync_status, obs.health, obs.drifted)
        self._log(app, obs, result)
        if result.outcome == Outcome.FAILED and first_failure:
            self.notifier.send("sync-failed", app.name, obs.revision, result.message)
        sync = result.sync
        if sync is not None and sync.rollback is not None:
            m.rollbacks.labels(app.name, Trigger.AUTOMATIC).inc()
            text = automatic_rollback_message(sync, sync.rollback)
            self.notifier.send("rollback", app.name, obs.revision, text)

    @staticmethod
    def _log(app: Application, obs: Observation, result: RunResult) -> None:
        rev = obs.revision.commit if obs.revision else None
        sync = result.sync
        stage = str(sync.failure.stage) if sync and sync.failure else _failed_stage(obs) or "reconcile"
        extra = app_log(
            app.name,
            rev,
            stage,
            trigger=result.trigger,
            outcome=result.outcome,
            duration=round(result.duration, 3),
        )
        if result.outcome == Outcome.FAILED:
            log.error("reconcile failed: %s", result.message, **extra)
        elif result.outcome in (Outcome.SYNCED, Outcome.ROLLED_BACK):
            log.info("%s: %s", result.outcome, result.message, **extra)
        else:
            log.debug("%s", result.outcome, **extra)


def _unobserved(state: AppState, message: str) -> Observation:
    """The last observation (or an unknown one), with a new message."""
    with state.lock:
        last = state.observation
    if last is None:
        return Observation(now(), None, SyncStatus.UNKNOWN, HealthStatus.UNKNOWN, None, message=message)
    return replace(last, message=message)


def _failed_stage(obs: Observation) -> str | None:
    if obs.drift is not None and obs.drift.failure is not None:
        return str(obs.drift.failure.stage)
    return None


def _outcome(result: SyncResult) -> Outcome:
    if result.held is not None:
        return Outcome.HELD
    if result.failure is not None:
        return Outcome.FAILED
    return Outcome.SYNCED if result.changeset.changed or result.record else Outcome.UNCHANGED
