"""Reading an app without writing: its drift (``gitops-agent diff``, the
daemon's drift reports) and its status (``gitops-agent status``).

Both run the stages up to the plan (:func:`~agent.sync.pipeline.prepare`)
and read the plan: the drift is its diffs, the status their count, the live
objects' health and the last revision record.
"""

from __future__ import annotations

from dataclasses import replace

from agent.config import Application
from agent.errors import AgentError
from agent.health import aggregate, assess
from agent.models import HealthStatus, Revision, SyncStatus
from agent.results import AppStatus, DriftReport, ObjectHealth
from agent.sync.context import Context
from agent.sync.pipeline import prepare
from agent.sync.record import RevisionRecord
from agent.sync.rollback import holding


def drift(ctx: Context, app: Application, *, ref: str | None = None) -> DriftReport:
    try:
        prepared = prepare(ctx, app, ref, prune=True)
    except AgentError as e:
        return DriftReport(app.name, None, failure=e.failure())
    resources = prepared.plan.resources
    health = aggregate(assess(s.live, prepared.rules).status for s in resources if s.desired is not None)
    return DriftReport(app.name, prepared.revision, tuple(s.diff for s in resources), health=health)


def status(ctx: Context, app: Application) -> AppStatus:
    """Sync status (a diff against Git), health of the live objects, and
    the last revision record."""
    try:
        prepared = prepare(ctx, app, None, prune=True)
    except AgentError as e:
        try:
            last = ctx.records().last(app.name)
        except AgentError:
            last = None
        unknown = SyncStatus.UNKNOWN, HealthStatus.UNKNOWN
        found = _status(app, *unknown, None, last, message=e.failure().message, drifted=0)
        return replace(found, failure=e.failure())
    resources = prepared.plan.resources
    drifted = sum(1 for s in resources if s.diff.drifted)
    judged = [(str(s.key), assess(s.live, prepared.rules)) for s in resources if s.desired is not None]
    health = aggregate(h.status for _, h in judged)
    sync = SyncStatus.OUT_OF_SYNC if drifted else SyncStatus.SYNCED
    hold = holding(prepared.history, prepared.revision.commit)
    found = _status(app, sync, health, prepared.revision, prepared.last, message=hold or "", drifted=drifted)
    judged.sort(key=lambda kh: (-kh[1].status.rank, kh[0]))
    each = tuple(ObjectHealth(key, h.status.label, h.rule, h.message) for key, h in judged)
    return replace(found, resources=each)


def _status(
    app: Application,
    sync: SyncStatus,
    health: HealthStatus,
    revision: Revision | None,
    last: RevisionRecord | None,
    *,
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
        cluster=app.cluster,
    )
