"""One reconcile of one app, as a script of named stages.

    fetch -> render -> read live -> plan -> apply -> prune -> record

Each stage raises a typed error (SourceError, RenderError, ...) or a
ClusterError; :func:`reconcile` turns it into a :class:`SyncResult` whose
failure names the stage.  Nothing is written before the plan is complete
and free of conflicts, so a bad input never half-changes the cluster.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.cluster.base import ClusterClient, ClusterError, NotFound
from agent.config import AgentConfig, Application
from agent.errors import AgentError
from agent.models import (
    Action,
    ChangeSet,
    ChangeSetEntry,
    DriftReport,
    Failure,
    Manifest,
    ObjectKey,
    Revision,
    Stage,
    SyncResult,
)
from agent.render import Release, RenderRequest, render
from agent.source import GitSource
from agent.sync.ownership import APP_LABEL, MANAGED_BY, MANAGED_BY_LABEL, owner_id, stamp
from agent.sync.plan import Plan, Step, plan
from agent.sync.record import InventoryItem, RecordStore, RevisionRecord


@dataclass
class Context:
    """What every reconcile needs: the config, a cluster and a git cache."""

    config: AgentConfig
    cluster: ClusterClient
    source: GitSource

    @classmethod
    def create(cls, config: AgentConfig, cluster: ClusterClient) -> Context:
        return cls(config, cluster, GitSource(config.resolve(config.state_dir)))

    def owner(self, app: Application) -> str:
        return owner_id(self.config.cluster.state_namespace, app.name)

    def records(self) -> RecordStore:
        return RecordStore(self.cluster, self.config.cluster.state_namespace)


@dataclass(frozen=True)
class Prepared:
    """Everything known before the first write."""

    revision: Revision
    manifests: tuple[Manifest, ...]
    plan: Plan
    last: RevisionRecord | None
    history: list[RevisionRecord]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(manifests: tuple[Manifest, ...]) -> str:
    blob = json.dumps([m.obj for m in manifests], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


# -- stages ----------------------------------------------------------------------
def fetch(ctx: Context, app: Application, ref: str | None = None) -> tuple[Path, Revision]:
    checkout = ctx.source.checkout(ctx.config.repo_location(app), ref or app.revision)
    return checkout.root, checkout.revision


def render_app(ctx: Context, app: Application, root: Path, is_install: bool = True) -> tuple[Manifest, ...]:
    result = render(
        RenderRequest(
            root=root,
            path=app.path,
            release=Release(name=app.name, namespace=app.namespace, is_install=is_install),
            values_files=tuple(app.values_files),
            values=app.values,
            label=f"{app.name}: {app.path}",
            validate=app.openapi_validation,
        )
    )
    owner = ctx.owner(app)
    return tuple(Manifest(stamp(m.obj, app.name, owner), m.source, m.index) for m in result.manifests)


def read_live(
    ctx: Context, app: Application, manifests: tuple[Manifest, ...], last: RevisionRecord | None
) -> tuple[dict[ObjectKey, dict[str, Any]], dict[ObjectKey, str]]:
    """Live objects of every kind the app has or had: one list per kind by
    the app label, then a get for each desired object not found that way
    (it may exist without the app's marks)."""
    kinds = {(m.api_version, m.key.kind) for m in manifests}
    if last is not None:
        kinds |= {(i.api_version, i.kind) for i in last.inventory}
    live: dict[ObjectKey, dict[str, Any]] = {}
    owned: dict[ObjectKey, str] = {}
    for api_version, kind in sorted(kinds):
        try:
            items = ctx.cluster.list(api_version, kind, "", {APP_LABEL: app.name})
        except NotFound:  # a kind the cluster does not serve yet (CRD in this same sync)
            continue
        for obj in items:
            key = ObjectKey.of(obj)
            live[key] = obj
            owned[key] = api_version
    if last is not None:
        for item in last.inventory:
            owned.setdefault(item.key, item.api_version)
    for m in manifests:
        if m.key not in live:
            try:
                found = ctx.cluster.get(m.api_version, m.key.kind, m.key.name, m.key.namespace)
            except NotFound:
                found = None
            if found is not None:
                live[m.key] = found
    return live, owned


def prepare(ctx: Context, app: Application, ref: str | None = None, prune: bool | None = None) -> Prepared:
    root, revision = fetch(ctx, app, ref)
    history = ctx.records().history(app.name)
    last = history[-1] if history else None
    manifests = render_app(ctx, app, root, is_install=last is None)
    live, owned = read_live(ctx, app, manifests, last)
    the_plan = plan(
        manifests, live, owned, owner=ctx.owner(app), prune=app.sync_policy.prune if prune is None else prune
    )
    return Prepared(revision, manifests, the_plan, last, history)


def apply(
    ctx: Context, app: Application, the_plan: Plan, progress: Callable[[Step], None] | None = None
) -> tuple[list[ChangeSetEntry], Failure | None]:
    """Run the plan's steps in order; stop at the first failure."""
    entries: list[ChangeSetEntry] = []
    failure: Failure | None = None
    if app.sync_policy.create_namespace and any(s.action is Action.CREATED for s in the_plan.steps):
        _ensure_namespace(ctx, app.namespace)
    for step in the_plan.steps:
        if failure is not None:
            entries.append(ChangeSetEntry(step.key, Action.SKIPPED, step.diff, "not attempted"))
            continue
        try:
            _write(ctx, step)
        except ClusterError as e:
            stage = Stage.PRUNE if step.action is Action.PRUNED else Stage.APPLY
            failure = Failure(stage, f"{step.key}: {e}")
            entries.append(ChangeSetEntry(step.key, Action.FAILED, step.diff, str(e)))
            continue
        entries.append(ChangeSetEntry(step.key, step.action, step.diff, step.reason or None))
        if progress is not None:
            progress(step)
    return entries, failure


def _write(ctx: Context, step: Step) -> None:
    if step.action is Action.CREATED and step.desired is not None:
        ctx.cluster.create(step.desired)
    elif step.action is Action.CONFIGURED and step.desired is not None and step.live is not None:
        body = json.loads(json.dumps(step.desired))
        body["metadata"]["resourceVersion"] = step.live["metadata"]["resourceVersion"]
        ctx.cluster.replace(body)
    elif step.action is Action.PRUNED:
        with contextlib.suppress(NotFound):  # already gone: the goal is reached
            ctx.cluster.delete(step.api_version, step.key.kind, step.key.name, step.key.namespace)


def _ensure_namespace(ctx: Context, namespace: str) -> None:
    if ctx.cluster.get("v1", "Namespace", namespace) is None:
        ctx.cluster.create(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
            }
        )


def _inventory(prepared: Prepared, entries: list[ChangeSetEntry]) -> tuple[InventoryItem, ...]:
    """What the app owns after the sync: every desired object that exists,
    every owned object that was not pruned (nothing is ever orphaned)."""
    done = {e.key: e.action for e in entries}
    items: dict[ObjectKey, InventoryItem] = {}
    if prepared.last is not None:
        for item in prepared.last.inventory:
            items[item.key] = item
    for step in prepared.plan.steps:
        item = InventoryItem(step.api_version, step.key.kind, step.key.namespace, step.key.name)
        action = done.get(step.key)
        if action is Action.PRUNED:
            items.pop(step.key, None)
        elif action in (Action.CREATED, Action.CONFIGURED, Action.UNCHANGED) or step.live is not None:
            items[step.key] = item
    return tuple(sorted(items.values(), key=lambda i: (i.kind, i.namespace, i.name)))


# -- entry points ------------------------------------------------------------------
def reconcile(
    ctx: Context,
    app: Application,
    *,
    ref: str | None = None,
    prune: bool | None = None,
    progress: Callable[[Step], None] | None = None,
) -> SyncResult:
    started = _now()
    try:
        prepared = prepare(ctx, app, ref, prune)
    except AgentError as e:
        return SyncResult(app.name, None, failure=e.failure())
    except ClusterError as e:
        return SyncResult(app.name, None, failure=Failure(Stage.CLUSTER, str(e)))
    the_plan = prepared.plan
    if the_plan.refusal or the_plan.conflicts:
        reasons = [the_plan.refusal] if the_plan.refusal else [s.reason for s in the_plan.conflicts]
        refused = tuple(
            ChangeSetEntry(
                s.key, s.action if s.action is Action.FAILED else Action.SKIPPED, s.diff, s.reason or None
            )
            for s in the_plan.steps
        )
        return SyncResult(
            app.name, prepared.revision, ChangeSet(refused), Failure(Stage.APPLY, "; ".join(reasons))
        )
    entries, failure = apply(ctx, app, the_plan, progress)
    changeset = ChangeSet(tuple(entries))
    try:
        number = _record(ctx, app, prepared, entries, failure, started)
    except AgentError as e:
        number, failure = None, failure or e.failure()
    return SyncResult(app.name, prepared.revision, changeset, failure, record=number)


def _record(
    ctx: Context,
    app: Application,
    prepared: Prepared,
    entries: list[ChangeSetEntry],
    failure: Failure | None,
    started: str,
) -> int | None:
    last = prepared.last
    the_digest = digest(prepared.manifests)
    changed = ChangeSet(tuple(entries)).changed
    if (
        not changed
        and failure is None
        and last is not None
        and last.commit == prepared.revision.commit
        and last.digest == the_digest
        and last.result == "Succeeded"
    ):
        return None  # nothing new to remember: a no-change reconcile writes nothing
    number = (last.number if last else 0) + 1
    record = RevisionRecord(
        app=app.name,
        number=number,
        commit=prepared.revision.commit,
        ref=prepared.revision.ref,
        repo=prepared.revision.repo,
        digest=the_digest,
        result="Failed" if failure else "Succeeded",
        started=started,
        finished=_now(),
        inventory=_inventory(prepared, entries),
        manifests=tuple(m.obj for m in prepared.manifests),
        message=failure.message if failure else "",
    )
    ctx.records().write(record, prepared.history)
    return number


def drift(ctx: Context, app: Application, *, ref: str | None = None) -> DriftReport:
    try:
        prepared = prepare(ctx, app, ref, prune=True)
    except AgentError as e:
        return DriftReport(app.name, None, failure=e.failure())
    except ClusterError as e:
        return DriftReport(app.name, None, failure=Failure(Stage.CLUSTER, str(e)))
    return DriftReport(app.name, prepared.revision, tuple(s.diff for s in prepared.plan.steps))
