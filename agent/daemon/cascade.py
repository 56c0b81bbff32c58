"""Cascade deletion: what an app that left the fleet owned, deleted.

Only for an app whose last definition says ``cascadeDelete: true``; any
other app that leaves is orphaned (its objects stay, marks and all).  Argo
CD deletes an Application's resources only when the Application carries the
``resources-finalizer.argocd.argoproj.io`` finalizer (its "cascade" delete,
argo-cd.readthedocs.io user-guide/app_deletion), and Flux a deleted
Kustomization's objects only when its ``prune`` is on (``flux delete
kustomization``); here the default is the safe one, and cascading is asked
for by name.

What is deleted is what the app's last revision record lists in its
inventory, planned as a sync of an empty render would prune it (the
planner's guards hold: an object whose owner marks name someone else is not
touched, hooks are not pruned, ``gitops-agent.io/prune: disabled`` keeps an
object) and deleted by the sync's own delete stage under the app's retry
policy.  Its revision records go last, and only when every delete worked:
a failed cascade leaves the records that say what is still owned.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agent.config import Application, RetryPolicy
from agent.errors import AgentError
from agent.kube.errors import NotFound
from agent.models import Action, ObjectKey
from agent.sync.context import Context
from agent.sync.delete import prune
from agent.sync.plan import Step, plan
from agent.sync.record import InventoryItem, record_name
from agent.sync.retry import delete_once, with_retries


@dataclass(frozen=True)
class Cascade:
    """What a cascade deletion did: the objects deleted, those kept (with
    why), the revision records removed, and the error that stopped it."""

    app: str
    deleted: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    records: int = 0
    error: str = ""

    def summary(self) -> str:
        if self.error:
            done = f" after deleting {len(self.deleted)} object(s)" if self.deleted else ""
            return f"cascade deletion stopped{done}: {self.error}"
        kept = f"; kept {len(self.kept)}: {', '.join(self.kept)}" if self.kept else ""
        return f"deleted {len(self.deleted)} object(s) and {self.records} revision record(s){kept}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "deleted": list(self.deleted),
            "kept": list(self.kept),
            "records": self.records,
            "error": self.error,
        }


def _live(ctx: Context, item: InventoryItem, retry: RetryPolicy) -> Mapping[str, Any] | None:
    def get() -> Mapping[str, Any] | None:
        return ctx.cluster.get(item.api_version, item.kind, item.name, item.namespace)

    return with_retries(retry, get)


def _guarded(steps: Sequence[Step]) -> list[Step]:
    """The planner's steps, but a Namespace holding an object that is kept
    is kept too (deleting it would delete what is kept)."""
    holding = {s.key.namespace for s in steps if s.action is not Action.PRUNED}

    def kept(s: Step) -> bool:
        return s.action is Action.PRUNED and s.key.kind == "Namespace" and s.key.name in holding

    why = "holds objects that are kept"
    return [replace(s, action=Action.SKIPPED, reason=why) if kept(s) else s for s in steps]


def cascade_delete(ctx: Context, app: Application) -> Cascade:
    """Delete what ``app`` owns by its last revision record, then its
    records.  Never raises for the cluster's answers: the result says."""
    retry = app.sync_policy.retry
    deleted: list[str] = []
    try:
        store = ctx.records(app)
        history = store.history(app.name)
        if not history:
            return Cascade(app.name)
        live: dict[ObjectKey, Any] = {}
        owned: dict[ObjectKey, str] = {}
        for item in history[-1].inventory:
            owned[item.key] = item.api_version
            found = _live(ctx, item, retry)
            if found is not None:
                live[item.key] = found
        steps = _guarded(plan((), live, owned, owner=ctx.owner(app), prune=True, allow_empty=True).steps)
        kept = tuple(f"{s.key} ({s.reason})" for s in steps if s.action is not Action.PRUNED)
        for step in steps:  # in the planner's order: the reverse of applying
            if step.action is Action.PRUNED:
                prune(ctx.cluster, step, retry, dry_run=False)
                deleted.append(str(step.key))
        for record in history:
            name = record_name(record.app, record.number)
            with contextlib.suppress(NotFound):  # gone already (another replica's cascade)
                delete_once(ctx.cluster, "v1", "Secret", name, store.namespace, policy=retry)
    except AgentError as e:  # the cluster's errors too: one tree
        return Cascade(app.name, tuple(deleted), error=e.message)
    return Cascade(app.name, tuple(deleted), kept, len(history))


__all__ = ["Cascade", "cascade_delete"]
