"""The apply stage: run a plan's batches against the cluster.

Batches run in order (PreSync hooks; each wave of the app's objects with its
Sync hooks; PostSync hooks; prunes).  Within a batch, objects of the same
kind rank are written in parallel (bounded by ``parallelism``, on one pool
of this module's for the whole run); the ranks themselves keep their order
(a Namespace before what lives in it).  After a batch that changed
something, the run waits until the batch is healthy (hooks: complete;
:mod:`agent.sync.settle`) before starting the next, so the settle stage runs
per batch inside this one; the first failure stops the run and the SyncFail
hooks then run.  Hook delete policies are :mod:`agent.sync.hooks`', prunes
and deletes :mod:`agent.sync.delete`'s.

Writes are server-side apply with the field manager ``gitops-agent`` (force
on by default: Git wins), or create / replace with a resourceVersion
precondition for the client-side strategy.  Passing API errors are retried
(:mod:`agent.sync.retry`).  An object whose immutable fields changed is
refused with the field named, or deleted and created again where the app
(``replaceOnImmutable``) or the object (``gitops-agent.io/sync-options:
Replace=true``, or Argo CD's ``Force=true,Replace=true``) allows it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, TypeVar

from agent.cluster.base import FIELD_MANAGER, ClusterClient
from agent.config import RetryPolicy, SyncPolicy
from agent.health import UserRules
from agent.kube.errors import AlreadyExists, ClusterError, Invalid, NotFound
from agent.models import Action, ChangeSetEntry, HealthStatus, ObjectKey
from agent.results import Failure, ObjectHealth, Stage
from agent.sync import hooks
from agent.sync.delete import delete_and_wait, prune
from agent.sync.ownership import MANAGED_BY, MANAGED_BY_LABEL
from agent.sync.plan import Batch, Plan, Step, rank
from agent.sync.retry import create_once, with_retries
from agent.sync.settle import SETTLED_BY, Settle, health_failure

T = TypeVar("T")
SYNC_OPTIONS = ("gitops-agent.io/sync-options", "argocd.argoproj.io/sync-options")


@dataclass(frozen=True)
class Progress:
    """Callbacks for people watching a sync (a progress bar, logs)."""

    on_step: Callable[[Step], None] | None = None
    on_wait: Callable[[str], None] | None = None

    def step(self, step: Step) -> None:
        if self.on_step is not None:
            self.on_step(step)

    def wait(self, message: str) -> None:
        if self.on_wait is not None:
            self.on_wait(message)


@dataclass(frozen=True)
class ApplyOptions:
    app: str = ""
    strategy: str = "server-side"
    force: bool = True
    dry_run: bool = False
    parallelism: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    replace_on_immutable: bool = False
    wait: bool = True
    health_timeout: float = 300.0
    create_namespace: str = ""
    field_manager: str = FIELD_MANAGER
    rules: UserRules | None = None  # the user's health rules, before the built-in ones

    @classmethod
    def of(cls, app: str, policy: SyncPolicy, *, dry_run: bool = False, namespace: str = "") -> ApplyOptions:
        return cls(
            app=app,
            strategy=policy.apply_strategy,
            force=policy.force,
            dry_run=dry_run,
            parallelism=policy.parallelism,
            retry=policy.retry,
            replace_on_immutable=policy.replace_on_immutable,
            wait=policy.wait_for_health,
            health_timeout=policy.health_timeout_seconds,
            create_namespace=namespace if policy.create_namespace else "",
        )


@dataclass
class ApplyResult:
    entries: list[ChangeSetEntry]
    failure: Failure | None = None
    health: HealthStatus | None = None  # measured when the sync waited for health
    verdicts: tuple[ObjectHealth, ...] = ()  # each settled object's health and deciding rule


def apply(
    cluster: ClusterClient,
    the_plan: Plan,
    options: ApplyOptions | None = None,
    progress: Progress | None = None,
) -> ApplyResult:
    """Write the plan batch by batch, each settled (healthy) before the next
    when the app waits for health; what happened to each object, the first
    failure, and the health measured."""
    opts = options or ApplyOptions()
    shown = progress or Progress()
    deadline = time.monotonic() + opts.health_timeout
    settling = opts.wait and not opts.dry_run and bool(the_plan.writes)
    settle = Settle(cluster, opts.app, deadline, shown.wait, opts.rules) if settling else None
    run = _Run(cluster, opts, shown, deadline, settle)
    try:
        _create_namespace(cluster, the_plan, opts)
    except ClusterError as e:  # still failing after the retries: nothing was written
        return ApplyResult([], Failure(Stage.APPLY, f"Namespace/{opts.create_namespace}: {e}"))
    try:
        for batch in the_plan.batches():
            if run.failure is not None:
                run.skip(batch.steps)
                continue
            run.batch(batch)
            if run.failure is None:
                run.settle(batch)
        if run.failure is not None:
            for step in the_plan.on_failure():
                run.one(step)
    finally:
        run.close()
    health = None
    if run.settled:
        health = HealthStatus.HEALTHY if run.failure is None else run.health
    verdicts = settle.verdicts.items() if settle is not None else ()
    each = tuple(ObjectHealth(str(k), h.status.label, h.rule, h.message) for k, h in sorted(verdicts))
    return ApplyResult(run.entries, run.failure, health, each)


def _create_namespace(cluster: ClusterClient, the_plan: Plan, opts: ApplyOptions) -> None:
    """The app's namespace, when the app asks for it and the plan creates
    something; a Namespace the app itself declares is applied (and owned)
    as any object."""
    if not opts.create_namespace or opts.dry_run:
        return
    if not any(s.action is Action.CREATED for s in the_plan.steps):
        return
    if any(s.key.kind == "Namespace" and s.key.name == opts.create_namespace for s in the_plan.steps):
        return
    name = opts.create_namespace
    if with_retries(opts.retry, lambda: cluster.get("v1", "Namespace", name)) is None:
        with contextlib.suppress(AlreadyExists):
            meta = {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY}}
            create_once(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}, opts.retry)


def _sends(step: Step) -> bool:
    """Whether writing ``step`` asks the server anything (an unchanged
    object does not: thousands of them need no pool)."""
    return step.hook is not None or step.action is not Action.UNCHANGED


class _Run:
    def __init__(
        self,
        cluster: ClusterClient,
        opts: ApplyOptions,
        progress: Progress,
        deadline: float,
        settle: Settle | None,
    ) -> None:
        self.cluster = cluster
        self.opts = opts
        self.progress = progress
        self.deadline = deadline
        self.entries: list[ChangeSetEntry] = []
        self.failure: Failure | None = None
        self.health: HealthStatus | None = None
        self.written: dict[ObjectKey, Mapping[str, Any]] = {}
        self.runs: dict[ObjectKey, Step] = {}  # generated hooks, by their key as declared: as created
        self._pool: ThreadPoolExecutor | None = None
        self._settle = settle  # None: batches are not waited for
        self.settled = False  # a batch was waited for

    def close(self) -> None:
        if self._settle is not None:
            self._settle.close()
        if self._pool is not None:
            self._pool.shutdown()
        self._pool = None

    # -- writing ---------------------------------------------------------------------------------
    def skip(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            self.entries.append(ChangeSetEntry(step.key, Action.SKIPPED, step.diff, "not attempted"))

    def batch(self, batch: Batch) -> None:
        """Write a batch, rank by rank; objects of one rank in parallel."""
        groups = [list(g) for _, g in groupby(batch.steps, key=lambda s: rank(s.key)[0])]
        if batch.steps and batch.steps[0].action is Action.PRUNED:
            groups = [list(g) for _, g in groupby(batch.steps, key=lambda s: (s.wave, rank(s.key)[0]))]
        for group in groups:
            if self.failure is not None:
                self.skip(tuple(group))
                continue
            if len(group) == 1 or self.opts.parallelism == 1 or not any(map(_sends, group)):
                for step in group:
                    self.one(step)
                continue
            if self._pool is None:  # one pool for the whole run: its threads serve every rank
                self._pool = ThreadPoolExecutor(max_workers=self.opts.parallelism, thread_name_prefix="apply")
            outcomes = list(self._pool.map(self._attempt, group))
            for step, outcome in zip(group, outcomes, strict=True):
                self._record(step, outcome)
            if group is not groups[-1] and self._settle is not None and self.failure is None:
                self._settle.early([self.runs.get(s.key, s) for s in group], self.written)

    def settle(self, batch: Batch) -> None:
        """Wait until the batch is healthy; hooks then follow their delete policies."""
        if self._settle is None:
            return
        self.settled = True
        batch = Batch(batch.phase, batch.wave, tuple(self.runs.get(s.key, s) for s in batch.steps))
        outcome = self._settle.batch(batch, self.written)
        if outcome is None:
            return
        finished = (s for s in batch.steps if s.hook is not None and s.action in SETTLED_BY)
        hooks.delete_finished(self.cluster, finished, outcome.healthy)
        if not outcome.healthy:
            self.health = outcome.status
            self.failure = health_failure(outcome, batch, self.opts.health_timeout)

    def one(self, step: Step) -> None:
        self._record(step, self._attempt(step))

    def _attempt(self, step: Step) -> Mapping[str, Any] | ClusterError | None:
        try:
            return self._run_generated(step) if hooks.is_generated(step) else self._write(step)
        except ClusterError as e:
            return e

    def _record(self, step: Step, outcome: Mapping[str, Any] | ClusterError | None) -> None:
        if isinstance(outcome, ClusterError):
            stage = Stage.PRUNE if step.action is Action.PRUNED else Stage.APPLY
            message = _explain(step, outcome)
            self.entries.append(ChangeSetEntry(step.key, Action.FAILED, step.diff, message))
            if self.failure is None:
                self.failure = Failure(stage, f"{step.key}: {message}")
            return
        if outcome is not None and hooks.is_generated(step):
            declared, step = step.key, hooks.as_run(step, dict(outcome))
            self.runs[declared] = step
        if outcome is not None:
            self.written[step.key] = outcome
        self.entries.append(ChangeSetEntry(step.key, step.action, step.diff, step.reason or None))
        self.progress.step(step)

    def _write(self, step: Step) -> Mapping[str, Any] | None:
        if step.hook is not None and step.live is not None:
            hooks.may_run_again(step)
            self._delete_and_wait(step)
        if step.action is Action.PRUNED:
            prune(self.cluster, step, self.opts.retry, dry_run=self.opts.dry_run)
            return None
        if step.action not in (Action.CREATED, Action.CONFIGURED) or step.desired is None:
            return step.live
        try:
            if step.overwrite and step.live is not None:
                return self._replace(step)
            return self._put(step)
        except Invalid as e:
            if step.live is None:
                raise
            return self._after_invalid(step, e)
        except NotFound as e:
            if self.opts.dry_run and "namespaces" in str(e):
                return None  # its namespace is created in this same sync: nothing to check it against
            raise

    def _run_generated(self, step: Step) -> Mapping[str, Any]:
        """POST a generated hook (the server names it) after deleting its
        earlier runs if its policy says so.  Not retried: a POST whose answer
        was lost may have created a run, and a second would run it twice."""
        obj = step.desired
        assert obj is not None  # noqa: S101 - is_generated checked it
        if not self.opts.dry_run:
            hooks.clear_earlier_runs(self.cluster, step, self.opts.retry, self.opts.app)
        return self.cluster.create(obj, field_manager=self.opts.field_manager, dry_run=self.opts.dry_run)

    def _after_invalid(self, step: Step, error: Invalid) -> Mapping[str, Any]:
        """A change of a live object the server found invalid: written whole,
        or deleted and created again, where that may help and is allowed."""
        if not _immutable(error):
            if self.opts.strategy != "server-side":
                raise error
            # Merged with what others changed by hand (an item of a list Git
            # declares, under another key), the object would be invalid (two
            # ports named http, say): write Git's object whole instead.
            return self._replace(step)
        if not self._may_replace(step):
            raise error
        self._delete_and_wait(step)
        return self._put(step, fresh=True)

    def _put(self, step: Step, fresh: bool = False) -> Mapping[str, Any]:
        obj = step.desired
        assert obj is not None  # noqa: S101 - _write checked it
        if self.opts.strategy == "server-side":
            return self._call(
                lambda: self.cluster.apply(
                    obj,
                    field_manager=self.opts.field_manager,
                    force=self.opts.force,
                    dry_run=self.opts.dry_run,
                )
            )
        if step.live is None or fresh or step.action is Action.CREATED:
            return self._call(
                lambda: self.cluster.create(
                    obj, field_manager=self.opts.field_manager, dry_run=self.opts.dry_run
                )
            )
        return self._replace(step)

    def _replace(self, step: Step) -> Mapping[str, Any]:
        """PUT Git's object over the live one (resourceVersion precondition)."""
        if step.desired is None or step.live is None:
            raise ClusterError(f"{step.key}: nothing to replace", code=500)
        body = json.loads(json.dumps(step.desired))
        body["metadata"]["resourceVersion"] = step.live["metadata"]["resourceVersion"]
        return self._call(
            lambda: self.cluster.replace(
                body, field_manager=self.opts.field_manager, dry_run=self.opts.dry_run
            )
        )

    def _call(self, fn: Callable[[], T]) -> T:
        return with_retries(self.opts.retry, fn)

    def _may_replace(self, step: Step) -> bool:
        if self.opts.replace_on_immutable:
            return True
        notes = ((step.desired or {}).get("metadata") or {}).get("annotations") or {}
        for name in SYNC_OPTIONS:
            options = {o.strip() for o in str(notes.get(name, "")).split(",")}
            if "Replace=true" in options:
                return True
        return False

    def _delete_and_wait(self, step: Step) -> None:
        if not self.opts.dry_run:
            delete_and_wait(self.cluster, step, self.opts.retry, self.opts.app, self.deadline)


def _immutable(error: Invalid) -> bool:
    text = str(error).lower()
    return "immutable" in text or any("immutable" in str(c.get("message", "")).lower() for c in error.causes)


def _explain(step: Step, error: ClusterError) -> str:
    message = str(error)
    if isinstance(error, Invalid) and _immutable(error) and step.live is not None:
        fields = ", ".join(str(c.get("field")) for c in error.causes if c.get("field")) or "a field"
        return (
            f"{message} ({fields} cannot change in place; set syncPolicy.replaceOnImmutable, or annotate the "
            "object gitops-agent.io/sync-options: Replace=true, to delete and recreate it)"
        )
    return message
