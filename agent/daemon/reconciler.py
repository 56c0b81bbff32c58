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
"""

from __future__ import annotations

import logging
import time

from agent.config import Application
from agent.daemon.logs import app_log
from agent.daemon.metrics import Metrics
from agent.daemon.notify import Notifier
from agent.daemon.state import AppState, Manual, Observation, RunResult
from agent.errors import AgentError
from agent.health import aggregate, assess
from agent.kube.errors import ClusterError
from agent.models import DiffStatus, HealthStatus, SyncStatus
from agent.redact import redact
from agent.results import DriftReport, Failure, RollbackResult, Stage, SyncResult
from agent.sync.context import Context
from agent.sync.encoding import digest
from agent.sync.pipeline import Prepared, prepare, reconcile
from agent.sync.record import now
from agent.sync.rollback import holding, rollback_by_hand

log = logging.getLogger("gitops_agent.reconcile")


def observe(ctx: Context, app: Application) -> tuple[Observation, Prepared | None]:
    """Git against the cluster, writing nothing."""
    try:
        prepared = prepare(ctx, app)  # the app's own prune policy: the same plan a sync would make
    except (AgentError, ClusterError) as e:
        failure = e.failure() if isinstance(e, AgentError) else Failure(Stage.CLUSTER, str(e))
        report = DriftReport(app.name, None, failure=failure)
        message = redact(str(failure))
        return Observation(
            now(), None, SyncStatus.UNKNOWN, HealthStatus.UNKNOWN, report, message=message
        ), None
    resources = prepared.plan.resources
    report = DriftReport(app.name, prepared.revision, tuple(s.diff for s in resources))
    health = aggregate(assess(s.live).status for s in resources if s.desired is not None)
    held = holding(prepared.history, prepared.revision.commit)
    obs = Observation(now(), prepared.revision, report.sync_status, health, report, held, held or "")
    return obs, prepared


def _desired_moved(prepared: Prepared) -> bool:
    """Git has something the last sync did not apply: a new commit, new
    rendered manifests (values changed), or the last sync failed."""
    last = prepared.last
    if last is None:
        return True
    if last.operation == "sync" and not last.succeeded:
        return True
    return last.commit != prepared.revision.commit or last.digest != digest(prepared.manifests)


def _healable(app: Application, obs: Observation) -> bool:
    """Drift a sync would correct: extraneous objects count only when the
    app prunes."""
    if obs.drift is None:
        return False
    return any(d.status is not DiffStatus.EXTRANEOUS or app.sync_policy.prune for d in obs.drift.drifted)


class Reconciler:
    def __init__(self, ctx: Context, metrics: Metrics, notifier: Notifier) -> None:
        self.ctx = ctx
        self.metrics = metrics
        self.notifier = notifier

    def run(self, app: Application, state: AppState, trigger: str, manual: Manual | None = None) -> RunResult:
        started, t0 = now(), time.monotonic()
        if manual is not None:
            outcome, sync, rollback, message, obs = self._manual(app, manual)
        else:
            outcome, sync, rollback, message, obs = self._automatic(app, state, trigger)
        if sync is not None and sync.changeset.changed:
            state.last_sync = now()
        result = RunResult(
            trigger,
            started,
            now(),
            time.monotonic() - t0,
            outcome,
            sync,
            rollback or (sync.rollback if sync else None),
            message,
        )
        self._account(app, state, obs, result)
        return result

    # -- the two kinds of runs --------------------------------------------------------
    def _automatic(
        self, app: Application, state: AppState, trigger: str
    ) -> tuple[str, SyncResult | None, None, str, Observation]:
        obs, prepared = observe(self.ctx, app)
        if prepared is None:
            return "failed", None, None, obs.message, obs
        moved = _desired_moved(prepared)
        if not moved:
            self._drift_news(app, state, obs)
        if obs.held is not None:
            return "held", None, None, obs.held, obs
        policy = app.sync_policy
        if not policy.automated:
            return ("drift" if obs.drifted else "unchanged"), None, None, "", obs
        if not moved and not (policy.self_heal and _healable(app, obs)):
            return ("drift" if obs.drifted else "unchanged"), None, None, "", obs
        result = reconcile(self.ctx, app, trigger=trigger, prepared=prepared)
        after, _ = observe(self.ctx, app)
        return _outcome(result), result, None, _message(result), after

    def _manual(
        self, app: Application, manual: Manual
    ) -> tuple[str, SyncResult | None, RollbackResult | None, str, Observation]:
        if manual.action == "rollback":
            try:
                rb = rollback_by_hand(self.ctx, app, manual.to)
            except AgentError as e:
                obs, _ = observe(self.ctx, app)
                return "failed", None, None, e.message, obs
            self.metrics.rollbacks.labels(app.name, "manual").inc()
            obs, _ = observe(self.ctx, app)
            text = f"rolled back by hand to revision {rb.to_revision} (commit {rb.commit[:7]})"
            self.notifier.send("rollback", app.name, obs.revision, text)
            outcome = "rolled-back" if rb.ok else "failed"
            return outcome, None, rb, text if rb.ok else redact(str(rb.failure)), obs
        result = reconcile(
            self.ctx, app, ref=manual.revision, prune=manual.prune, force=manual.force, trigger="manual"
        )
        obs, _ = observe(self.ctx, app)
        return _outcome(result), result, None, _message(result), obs

    # -- bookkeeping ----------------------------------------------------------------------
    def _drift_news(self, app: Application, state: AppState, obs: Observation) -> None:
        """Notify drift the cluster took on by itself (not a new commit), once."""
        keys = frozenset(str(d.key) for d in obs.drift.drifted) if obs.drift else frozenset()
        new = keys - state.drifted_keys
        state.drifted_keys = keys
        if not new:
            return
        policy = app.sync_policy
        action = (
            "correcting it (selfHeal)"
            if policy.automated and policy.self_heal
            else "reported only (selfHeal is off)"
            if policy.automated
            else "reported only (automated sync is off)"
        )
        text = f"{len(keys)} object(s) differ from Git; {action}"
        rev = obs.revision.commit if obs.revision else None
        log.warning(
            "drift detected: %s: %s", ", ".join(sorted(new)), action, **app_log(app.name, rev, "diff")
        )
        self.notifier.send("drift", app.name, obs.revision, text, sorted(keys))

    def _account(self, app: Application, state: AppState, obs: Observation, result: RunResult) -> None:
        rev = obs.revision.commit if obs.revision else None
        first_failure = not result.ok and state.failures == 0
        with state.lock:
            state.observation = obs
            state.last_run = result
            state.failures = 0 if result.ok else state.failures + 1
            if result.sync is not None and result.sync.ok:
                state.drifted_keys = (
                    frozenset(str(d.key) for d in obs.drift.drifted) if obs.drift else frozenset()
                )
        m = self.metrics
        m.reconciles.labels(app.name, result.trigger, result.outcome).inc()
        m.reconcile_seconds.labels(app.name).observe(result.duration)
        m.app_status(app.name, obs.sync_status, obs.health, obs.drifted)
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
        if result.outcome == "failed":
            log.error("reconcile failed: %s", result.message, **extra)
            if first_failure:
                self.notifier.send("sync-failed", app.name, obs.revision, result.message)
        elif result.outcome in ("synced", "rolled-back"):
            log.info("%s: %s", result.outcome, result.message, **extra)
        else:
            log.debug("%s", result.outcome, **extra)
        if sync is not None and sync.rollback is not None:
            m.rollbacks.labels(app.name, "automatic").inc()
            rb = sync.rollback
            text = f"{sync.failure}; rolled back to revision {rb.to_revision} (commit {rb.commit[:7]})"
            if not rb.ok:
                text += f"; the rollback failed: {rb.failure}"
            self.notifier.send("rollback", app.name, obs.revision, redact(text))


def _failed_stage(obs: Observation) -> str | None:
    if obs.drift is not None and obs.drift.failure is not None:
        return str(obs.drift.failure.stage)
    return None


def _outcome(result: SyncResult) -> str:
    if result.held is not None:
        return "held"
    if result.failure is not None:
        return "failed"
    return "synced" if result.changeset.changed or result.record else "unchanged"


def _message(result: SyncResult) -> str:
    if result.held is not None:
        return redact(result.held)
    if result.failure is not None:
        return redact(str(result.failure))
    summary = ", ".join(f"{n} {a}" for a, n in result.changeset.summary().items()) or "no objects"
    recorded = f"; revision {result.record} recorded" if result.record else ""
    return f"{summary}{recorded}"
