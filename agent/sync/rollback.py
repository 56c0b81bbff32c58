"""Rollback: return an app to an earlier, healthy revision.

After a sync whose apply failed (or, once health is awaited, whose health
did not reach Healthy in time), the last healthy revision's manifests are
applied again and whatever the failed revision added is pruned.  The record
of the rollback *holds* the failed commit: it is not applied again until the
source moves to another commit, or someone forces a sync.  A rollback by
hand holds the commit the source pointed at when it was asked for.

Rollbacks restore objects only; they run no hooks.  They read, plan, apply
and record with the sync's own stages; the record is built by
:func:`~agent.sync.record.new_record`, as a sync's is.
"""

from __future__ import annotations

from dataclasses import replace

from agent.config import Application
from agent.errors import AgentError, SourceFailed
from agent.health import UserRules
from agent.kube.errors import ClusterError
from agent.models import ChangeSet, Manifest, Revision
from agent.results import Failure, Operation, RollbackResult, Stage, Trigger
from agent.sync.apply import ApplyOptions, Progress, apply
from agent.sync.context import Context
from agent.sync.encoding import digest
from agent.sync.fetch import checkout
from agent.sync.live import read_live
from agent.sync.plan import plan
from agent.sync.record import Change, RevisionRecord, new_record, now


def holding(history: list[RevisionRecord], commit: str) -> str | None:
    """Why ``commit`` must not be applied, or None: the last record is a
    rollback that holds exactly this commit."""
    if not history or not history[-1].hold or history[-1].hold != commit:
        return None
    last = history[-1]
    why = f"revision {last.rollback_of} failed" if last.rollback_of else "rolled back by hand"
    return (
        f"held at revision {last.number} (commit {last.commit[:7]}): commit {commit[:7]} is not applied "
        f"again after a rollback ({why}); push a new commit or sync with --force"
    )


def last_healthy(history: list[RevisionRecord], before: int | None = None) -> RevisionRecord | None:
    for record in reversed(history):
        if before is not None and record.number >= before:
            continue
        if record.healthy:
            return record
    return None


def roll_back(
    ctx: Context,
    app: Application,
    target: RevisionRecord,
    *,
    hold: str,
    reason: str,
    failed: int | None,
    trigger: Trigger,
    progress: Progress | None = None,
) -> RollbackResult:
    """Apply ``target``'s manifests again, prune what later revisions added,
    and record the rollback."""
    started = now()
    records = ctx.records(app)
    history = records.history(app.name)
    last = history[-1] if history else None
    manifests = tuple(Manifest(obj, f"revision {target.number}") for obj in target.manifests)
    try:
        live, owned = read_live(ctx.cluster, app.name, manifests, last, app.sync_policy.retry)
    except ClusterError as e:
        return RollbackResult(target.number, target.commit, reason, failure=e.failure())
    the_plan = plan(
        manifests, live, owned, owner=ctx.owner(app), prune=True, allow_empty=True, run_hooks=False
    )
    if the_plan.conflicts:
        message = "; ".join(s.reason for s in the_plan.conflicts)
        return RollbackResult(target.number, target.commit, reason, failure=Failure(Stage.PLAN, message))
    options = replace(ApplyOptions.of(app.name, app.sync_policy), rules=_rules_at(ctx, app, target.commit))
    applied = apply(ctx.cluster, the_plan, options, progress)
    failure = applied.failure
    source = Revision(target.repo, target.ref, target.commit)
    change = Change(source, target.manifests, digest(manifests), the_plan, applied, started, target.render)
    record = new_record(
        app.name,
        last,
        change,
        operation=Operation.ROLLBACK,
        trigger=trigger,
        message=f"rollback to revision {target.number}: {reason}" + (f"; {failure}" if failure else ""),
        rollback_of=failed,
        hold=hold,
    )
    number: int | None = record.number
    try:
        records.write(record, history, app.history_limit)
    except AgentError as e:
        failure = failure or e.failure()
        number = None
    changeset = ChangeSet(tuple(applied.entries))
    return RollbackResult(target.number, target.commit, reason, changeset, failure, number)


def _rules_at(ctx: Context, app: Application, commit: str) -> UserRules:
    """The health rules a rollback waits with: those of the commit it returns
    to; the config's alone when that commit's folder cannot be read."""
    if not app.health.lua_dir:
        return ctx.health_rules(app)
    try:
        root, _ = checkout(ctx, app, commit)
        return ctx.health_rules(app, root, commit)
    except AgentError:
        return ctx.health_rules(app)


def rollback_after_failure(
    ctx: Context,
    app: Application,
    *,
    failed: int | None,
    commit: str,
    reason: str,
    progress: Progress | None = None,
) -> RollbackResult | None:
    """The automatic rollback after a failed sync (None: nothing to go back to)."""
    history = ctx.records(app).history(app.name)
    target = last_healthy(history, before=failed)
    if target is None:
        return None
    return roll_back(
        ctx,
        app,
        target,
        hold=commit,
        reason=reason,
        failed=failed,
        trigger=Trigger.AUTOMATIC,
        progress=progress,
    )


def rollback_by_hand(ctx: Context, app: Application, to: int | None = None) -> RollbackResult:
    """``gitops-agent rollback APP [--to N]``: the app stays at that revision
    until its source moves to a new commit."""
    history = ctx.records(app).history(app.name)
    if not history:
        raise AgentError(f"{app.name}: no revisions recorded yet; nothing to roll back to")
    if to is None:
        target = last_healthy(history, before=history[-1].number)
        if target is None:
            raise AgentError(f"{app.name}: no earlier healthy revision to roll back to (see history)")
    else:
        target = next((r for r in history if r.number == to), None)
        if target is None:
            known = ", ".join(str(r.number) for r in history)
            raise AgentError(f"{app.name}: no revision {to} in the history (kept: {known})")
    try:
        _, current = checkout(ctx, app)
        hold = current.commit
    except SourceFailed:
        hold = history[-1].commit  # the source is unreachable: hold what was applied last
    reason = f"rolled back by hand to revision {target.number}"
    return roll_back(ctx, app, target, hold=hold, reason=reason, failed=None, trigger=Trigger.MANUAL)
