r"""One reconcile of one app, as the script of its stages (DESIGN.md):

    fetch -> render -> read live -> plan -> apply -> settle (health) -> record
                                                  \-> (failure) rollback -> record

Each stage is a function of its own module: :func:`~agent.sync.fetch.fetch`,
:func:`~agent.sync.render.render_app`, :func:`~agent.sync.live.read_live`,
:func:`~agent.sync.plan.plan`, :func:`~agent.sync.apply.apply` (which settles
each batch by :mod:`agent.sync.settle` before the next: sync waves wait for
the wave before them, as in Argo CD, so settling is per batch, not one step
after all writes), :func:`~agent.sync.record.record_sync` and
:func:`~agent.sync.rollback.rollback_after_failure`.  Each stage raises its
typed error (SourceFailed, RenderFailed, RecordFailed, a ClusterError ...) or
returns a typed :class:`~agent.results.Failure` (a refused plan, a failed
write or prune, a Degraded or late rollout); :func:`reconcile` turns either
into a :class:`SyncResult` whose failure names the stage and its reason.
Nothing is written before the plan is complete and free of conflicts, so a
bad input never half-changes the cluster.  No threads here: the stages that
work side by side own their pools.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict, Unpack

from agent.config import Application
from agent.errors import AgentError
from agent.health import UserRules
from agent.models import ChangeSet, Manifest, Revision
from agent.render import RenderResult
from agent.results import SyncResult, Trigger
from agent.sync.apply import ApplyOptions, Progress, apply
from agent.sync.context import Context
from agent.sync.encoding import encode_ahead
from agent.sync.fetch import Fetched, fetch
from agent.sync.live import Live, Owned, confirm_prunes, read_live
from agent.sync.plan import Plan, plan, refused
from agent.sync.record import RevisionRecord, now, record_sync
from agent.sync.render import render_app
from agent.sync.retry import budgeted
from agent.sync.rollback import holding, rollback_after_failure


@dataclass(frozen=True)
class Prepared:
    """Everything known before the first write."""

    revision: Revision
    manifests: tuple[Manifest, ...]
    plan: Plan
    last: RevisionRecord | None
    history: list[RevisionRecord]
    notes: str = ""  # the chart's rendered NOTES.txt
    rules: UserRules = field(default_factory=UserRules)  # the health rules at this revision (the app's first)
    render: Mapping[str, Any] = field(default_factory=dict)  # what decided the render (its inputs)


def prepare(ctx: Context, app: Application, ref: str | None = None, prune: bool | None = None) -> Prepared:
    """Fetch, render, read live and plan: everything before the first write."""
    app = budgeted(app)
    fetched = fetch(ctx, app, ref)  # the history and the capabilities are asked meanwhile
    last = fetched.last
    rules = ctx.health_rules(app, fetched.root, fetched.revision.commit)  # the app's own, read from Git
    rendered = render_fetched(ctx, app, fetched)
    live = read_live(ctx.cluster, app.name, rendered.manifests, last, app.sync_policy.retry)
    the_plan = _plan(ctx, app, rendered.manifests, live, last=last, prune=prune)
    if not confirm_prunes(ctx.cluster, app.name, the_plan.steps):  # the shared view was behind
        live = read_live(ctx.cluster, app.name, rendered.manifests, last, app.sync_policy.retry)
        the_plan = _plan(ctx, app, rendered.manifests, live, last=last, prune=prune)
    return Prepared(
        fetched.revision,
        rendered.manifests,
        the_plan,
        last,
        fetched.history,
        rendered.notes,
        rules=rules,
        render=rendered.inputs,
    )


def render_fetched(ctx: Context, app: Application, fetched: Fetched) -> RenderResult:
    """The app's render at the fetched commit, kept by the context's render
    cache (what the fleet reads an app's child definitions from, too: the
    reconcile that follows renders nothing again)."""
    owner, install = ctx.owner(app), fetched.last is None
    return ctx.renders.rendered(
        app,
        fetched.revision.commit,
        owner,
        install,
        lambda: render_app(
            app,
            fetched.root,
            owner,
            fetched.capabilities,
            is_install=install,
            scope=ctx.scope,
            charts=ctx.charts,
        ),
    )


def replan(ctx: Context, app: Application, prepared: Prepared) -> Prepared:
    """The cluster against the same commit and manifests after a sync: the
    records and live objects read again (from the shared view of the
    cluster, when there is one: no request), no fetch and no render."""
    history = ctx.records(app).history(app.name)
    last = history[-1] if history else None
    live = read_live(ctx.cluster, app.name, prepared.manifests, last, app.sync_policy.retry)
    the_plan = _plan(ctx, app, prepared.manifests, live, last=last, prune=None)
    return replace(prepared, plan=the_plan, last=last, history=history)


def _plan(
    ctx: Context,
    app: Application,
    manifests: tuple[Manifest, ...],
    live: tuple[Live, Owned],
    *,
    last: RevisionRecord | None,
    prune: bool | None,
) -> Plan:
    """The plan under the app's sync policy (``prune``: None keeps the app's own)."""
    policy = app.sync_policy
    return plan(
        manifests,
        *live,
        owner=ctx.owner(app),
        prune=policy.prune if prune is None else prune,
        is_install=last is None,
        adopt=policy.adopt,
        allow_empty=policy.allow_empty,
        max_prune_percent=policy.max_prune_percent,
        last_applied={Manifest(o).key: o for o in last.manifests} if last is not None else None,
        ignore=[d.rule() for d in app.ignore_differences],
        strict=app.strict_drift,
    )


class SyncOptions(TypedDict, total=False):
    """How to sync (all optional): the CLI's and the daemon's options."""

    ref: str | None  # a branch, tag or commit instead of the app's revision
    prune: bool | None  # None: the app's own policy
    force: bool  # apply a commit held after a rollback
    trigger: Trigger | str  # what started the sync (kept in the record); default manual
    dry_run: bool
    progress: Progress | None
    prepared: Prepared | None  # a prepare() just made with the app's own revision and prune policy


def reconcile(ctx: Context, app: Application, **options: Unpack[SyncOptions]) -> SyncResult:
    """One sync: the stages, then, when a change failed (or did not become
    healthy in time) and the app allows it, a rollback to the last healthy
    revision.  ``dry_run`` sends every write with ``dryRun=All``: the server
    checks it, nothing changes, nothing is recorded.  ``prepared`` is the
    result of a :func:`prepare` the caller just made (with the app's own
    revision and prune policy), so the daemon does not fetch, render and read
    the cluster twice."""
    began, started = time.monotonic(), now()
    app = budgeted(app)  # one retry budget for the whole sync, its rollback too
    ref, prune, prepared = options.get("ref"), options.get("prune"), options.get("prepared")
    try:
        if prepared is None or ref is not None or prune is not None:
            prepared = prepare(ctx, app, ref, prune)  # fetch -> render -> read live -> plan
    except AgentError as e:  # a stage's typed error, or the cluster's
        result = SyncResult(app.name, None, failure=e.failure())
    else:
        result = _apply_and_record(ctx, app, prepared, started, options)
    return replace(result, started=started, finished=now(), seconds=time.monotonic() - began)


def _apply_and_record(
    ctx: Context, app: Application, prepared: Prepared, started: str, options: SyncOptions
) -> SyncResult:
    """From the plan on: apply (each batch settled), record, roll back."""
    hold = holding(prepared.history, prepared.revision.commit)
    if hold is not None and not options.get("force", False):
        return SyncResult(app.name, prepared.revision, held=hold)
    refusal = refused(prepared.plan)
    if refusal is not None:
        return SyncResult(app.name, prepared.revision, refusal[0], refusal[1])
    dry_run, progress = options.get("dry_run", False), options.get("progress")
    apply_options = ApplyOptions.of(app.name, app.sync_policy, dry_run=dry_run, namespace=app.namespace)
    apply_options = replace(apply_options, rules=prepared.rules)
    writes = not dry_run and bool(prepared.plan.writes)
    ahead = encode_ahead(prepared.manifests) if writes else None  # the record's bulk, made meanwhile
    applied = apply(ctx.cluster, prepared.plan, apply_options, progress)  # apply -> settle, batch by batch
    changeset, failure = ChangeSet(tuple(applied.entries)), applied.failure
    if dry_run:
        return SyncResult(app.name, prepared.revision, changeset, failure, dry_run=True)
    trigger = Trigger(options.get("trigger", Trigger.MANUAL))
    try:
        number = record_sync(
            ctx.records(app), app, prepared, applied, started=started, trigger=trigger, ahead=ahead
        )
    except AgentError as e:  # the cluster kept refusing the record, after the apply's retries
        if failure is None:  # the objects converged: say so; the next sync writes the record
            return SyncResult(app.name, prepared.revision, changeset, unrecorded=e.message)
        return SyncResult(app.name, prepared.revision, changeset, failure)
    rolled_back = None
    if failure is not None and app.sync_policy.rollback_on_failure:
        rolled_back = rollback_after_failure(
            ctx, app, failed=number, commit=prepared.revision.commit, reason=str(failure), progress=progress
        )
    notes = (prepared.notes,) if prepared.notes.strip() and changeset.changed and failure is None else ()
    return SyncResult(
        app.name,
        prepared.revision,
        changeset,
        failure,
        record=number,
        rollback=rolled_back,
        notes=notes,
        health=applied.verdicts,
    )
