r"""One reconcile of one app, as a script of named stages.

    fetch -> render -> read live -> plan -> apply -> prune -> record
                                              \-> (failure) rollback -> record

Each stage raises a typed error (SourceFailed, RenderFailed, ...) or a
ClusterError; :func:`reconcile` turns it into a :class:`SyncResult` whose
failure names the stage.  Nothing is written before the plan is complete
and free of conflicts, so a bad input never half-changes the cluster.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from agent.config import Application
from agent.errors import AgentError
from agent.health import aggregate, assess
from agent.kube.errors import ClusterError
from agent.models import Action, ChangeSet, ChangeSetEntry, HealthStatus, Revision, SyncStatus
from agent.results import AppStatus, DriftReport, Failure, Stage, SyncResult
from agent.sync.apply import ApplyOptions, Progress, apply
from agent.sync.plan import Plan
from agent.sync.record import FAILED, SUCCEEDED, EncodedManifests, RevisionRecord
from agent.sync.rollback import holding, rollback_after_failure
from agent.sync.stages import Context, Prepared, digest, fetch, inventory, now, prepare, render_app

__all__ = ["Context", "drift", "fetch", "reconcile", "render_app", "status"]


def refused(the_plan: Plan) -> tuple[ChangeSet, Failure] | None:
    """A plan that must not run at all: conflicts, or an empty render that
    would prune everything.  Nothing has been written at that point."""
    if not the_plan.refusal and not the_plan.conflicts:
        return None
    reasons = [the_plan.refusal] if the_plan.refusal else [s.reason for s in the_plan.conflicts]
    entries = tuple(
        ChangeSetEntry(
            s.key, s.action if s.action is Action.FAILED else Action.SKIPPED, s.diff, s.reason or None
        )
        for s in the_plan.steps
    )
    return ChangeSet(entries), Failure(Stage.PLAN, "; ".join(r for r in reasons if r))


# -- entry points ------------------------------------------------------------------
def reconcile(
    ctx: Context,
    app: Application,
    *,
    ref: str | None = None,
    prune: bool | None = None,
    force: bool = False,
    trigger: str = "manual",
    dry_run: bool = False,
    progress: Progress | None = None,
    prepared: Prepared | None = None,
) -> SyncResult:
    """One sync: the pipeline, then, when a change failed (or did not become
    healthy in time) and the app allows it, a rollback to the last healthy
    revision.  ``dry_run`` sends every write with ``dryRun=All``: the server
    checks it, nothing changes, nothing is recorded.  ``prepared`` is the
    result of a :func:`prepare` the caller just made (with the app's own
    revision and prune policy), so the daemon does not fetch, render and read
    the cluster twice."""
    began, started = time.monotonic(), now()
    result = _reconcile(ctx, app, ref, prune, force, trigger, dry_run, progress, prepared, started)
    return replace(result, started=started, finished=now(), seconds=time.monotonic() - began)


def _reconcile(
    ctx: Context,
    app: Application,
    ref: str | None,
    prune: bool | None,
    force: bool,
    trigger: str,
    dry_run: bool,
    progress: Progress | None,
    prepared: Prepared | None,
    started: str,
) -> SyncResult:
    try:
        if prepared is None or ref is not None or prune is not None:
            prepared = prepare(ctx, app, ref, prune)
    except AgentError as e:
        return SyncResult(app.name, None, failure=e.failure())
    except ClusterError as e:
        return SyncResult(app.name, None, failure=Failure(Stage.CLUSTER, str(e)))
    hold = holding(prepared.history, prepared.revision.commit)
    if hold is not None and not force:
        return SyncResult(app.name, prepared.revision, held=hold)
    refusal = refused(prepared.plan)
    if refusal is not None:
        return SyncResult(app.name, prepared.revision, refusal[0], refusal[1])
    options = ApplyOptions.of(app.name, app.sync_policy, dry_run=dry_run, namespace=app.namespace)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="record") as early:
        # a sync that writes: the record's manifests are digested and encoded meanwhile
        writes = not dry_run and bool(prepared.plan.writes)
        encoding = early.submit(_encode_manifests, prepared) if writes else None
        applied = apply(ctx.cluster, prepared.plan, options, progress)
        encoded = encoding.result() if encoding is not None else None
    entries, failure = applied.entries, applied.failure
    changeset = ChangeSet(tuple(entries))
    if dry_run:
        return SyncResult(app.name, prepared.revision, changeset, failure, dry_run=True)
    try:
        number = _record(ctx, app, prepared, entries, failure, started, trigger, applied.health, encoded)
    except AgentError as e:
        return SyncResult(app.name, prepared.revision, changeset, failure or e.failure())
    rolled_back = None
    if failure is not None and app.sync_policy.rollback_on_failure:
        rolled_back = rollback_after_failure(
            ctx, app, failed=number, commit=prepared.revision.commit, reason=str(failure), progress=progress
        )
    notes = (prepared.notes,) if prepared.notes.strip() and changeset.changed and failure is None else ()
    return SyncResult(
        app.name, prepared.revision, changeset, failure, record=number, rollback=rolled_back, notes=notes
    )


def _record(
    ctx: Context,
    app: Application,
    prepared: Prepared,
    entries: list[ChangeSetEntry],
    failure: Failure | None,
    started: str,
    trigger: str,
    health: HealthStatus | None,
    encoded: tuple[str, EncodedManifests] | None,
) -> int | None:
    """``encoded``: the digest and encoding made during the writes (None: made
    here, the encoding only when a record is written)."""
    last = prepared.last
    the_digest = encoded[0] if encoded is not None else digest(prepared.manifests)
    changed = ChangeSet(tuple(entries)).changed
    if (
        not changed
        and failure is None
        and last is not None
        and last.commit == prepared.revision.commit
        and last.digest == the_digest
        and last.succeeded
        and last.operation == "sync"
    ):
        return None  # nothing new to remember: a no-change reconcile writes nothing
    number = (last.number if last else 0) + 1
    encoding = (
        encoded[1] if encoded is not None else EncodedManifests(tuple(m.obj for m in prepared.manifests))
    )
    record = RevisionRecord(
        app=app.name,
        number=number,
        commit=prepared.revision.commit,
        ref=prepared.revision.ref,
        repo=prepared.revision.repo,
        digest=the_digest,
        result=FAILED if failure else SUCCEEDED,
        started=started,
        finished=now(),
        inventory=inventory(last, prepared.plan, entries),
        manifests=encoding.manifests,
        message=str(failure) if failure else "",
        trigger=trigger,
        health=health.label if health is not None else "",
    )
    ctx.records().write(record, prepared.history, app.history_limit, encoding)
    return number


def _encode_manifests(prepared: Prepared) -> tuple[str, EncodedManifests]:
    """The digest of the rendered manifests and their encoding for the record,
    made beside the writes: the writing threads go first between manifests."""

    def pause() -> None:
        os.sched_yield()  # lets a waiting thread take the interpreter (no timer, unlike sleep(0))

    manifests = tuple(m.obj for m in prepared.manifests)
    return digest(prepared.manifests, pause), EncodedManifests(manifests, pause)


def drift(ctx: Context, app: Application, *, ref: str | None = None) -> DriftReport:
    try:
        prepared = prepare(ctx, app, ref, prune=True)
    except AgentError as e:
        return DriftReport(app.name, None, failure=e.failure())
    except ClusterError as e:
        return DriftReport(app.name, None, failure=Failure(Stage.CLUSTER, str(e)))
    resources = prepared.plan.resources
    health = aggregate(assess(s.live).status for s in resources if s.desired is not None)
    return DriftReport(app.name, prepared.revision, tuple(s.diff for s in resources), health=health)


def status(ctx: Context, app: Application) -> AppStatus:
    """Sync status (a diff against Git), health of the live objects, and
    the last revision record."""
    try:
        prepared = prepare(ctx, app, None, prune=True)
    except (AgentError, ClusterError) as e:
        message = e.failure().message if isinstance(e, AgentError) else str(e)
        try:
            last = ctx.records().last(app.name)
        except AgentError:
            last = None
        return _status(app, SyncStatus.UNKNOWN, HealthStatus.UNKNOWN, None, last, message, 0)
    resources = prepared.plan.resources
    drifted = sum(1 for s in resources if s.diff.drifted)
    health = aggregate(assess(s.live).status for s in resources if s.desired is not None)
    sync = SyncStatus.OUT_OF_SYNC if drifted else SyncStatus.SYNCED
    hold = holding(prepared.history, prepared.revision.commit)
    return _status(app, sync, health, prepared.revision, prepared.last, hold or "", drifted)


def _status(
    app: Application,
    sync: SyncStatus,
    health: HealthStatus,
    revision: Revision | None,
    last: RevisionRecord | None,
    message: str,
    drifted: int,
) -> AppStatus:
    return AppStatus(
        app.name,
        sync,
        health,
        revision,
        last.number if last else None,
        last.result if last else "",
        last.operation if last else "",
        last.finished if last else "",
        message or (last.message if last else ""),
        drifted,
    )
