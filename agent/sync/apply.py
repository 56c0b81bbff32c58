"""The apply stage: run a plan's batches against the cluster.

Batches run in order (PreSync hooks; each wave of the app's objects with its
Sync hooks; PostSync hooks; prunes).  Within a batch, objects of the same
kind rank are written in parallel (bounded by ``parallelism``); the ranks
themselves keep their order (a Namespace before what lives in it).  After a
batch that changed something, the agent waits until the batch is healthy
(hooks: complete) before starting the next; the first failure stops the run
and the SyncFail hooks then run.

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
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, TypeVar

from agent.cluster.base import FIELD_MANAGER, ClusterClient
from agent.config import RetryPolicy, SyncPolicy
from agent.health import assess
from agent.kube.errors import AlreadyExists, ClusterError, Invalid, NotFound
from agent.models import Action, ChangeSetEntry, HealthStatus, ObjectKey
from agent.results import Failure, Stage
from agent.sync.ownership import APP_LABEL, MANAGED_BY, MANAGED_BY_LABEL
from agent.sync.plan import Batch, Plan, Step, rank
from agent.sync.retry import with_retries
from agent.sync.waiting import Outcome, Target, wait_for_health
from agent.sync.waves import DeletePolicy, Phase

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


def apply(
    cluster: ClusterClient,
    the_plan: Plan,
    options: ApplyOptions | None = None,
    progress: Progress | None = None,
) -> ApplyResult:
    opts = options or ApplyOptions()
    run = _Run(cluster, opts, progress or Progress(), time.monotonic() + opts.health_timeout)
    run.settling = opts.wait and not opts.dry_run and bool(the_plan.writes)
    if opts.create_namespace and not opts.dry_run and any(s.action is Action.CREATED for s in the_plan.steps):
        planned = any(
            s.key.kind == "Namespace" and s.key.name == opts.create_namespace for s in the_plan.steps
        )
        if not planned:  # a Namespace the app itself declares is applied (and owned) as any object
            _ensure_namespace(cluster, opts.create_namespace)
    waited = False
    try:
        for batch in the_plan.batches():
            if run.failure is not None:
                run.skip(batch.steps)
                continue
            run.batch(batch)
            if run.failure is None and opts.wait and not opts.dry_run and the_plan.writes:
                waited = True
                run.settle(batch)
        if run.failure is not None:
            for step in the_plan.on_failure():
                run.one(step)
    finally:
        run.close()
    health = None
    if waited:
        health = HealthStatus.HEALTHY if run.failure is None else run.health
    return ApplyResult(run.entries, run.failure, health)


class _Run:
    def __init__(
        self, cluster: ClusterClient, opts: ApplyOptions, progress: Progress, deadline: float
    ) -> None:
        self.cluster = cluster
        self.opts = opts
        self.progress = progress
        self.deadline = deadline
        self.entries: list[ChangeSetEntry] = []
        self.failure: Failure | None = None
        self.health: HealthStatus | None = None
        self.written: dict[ObjectKey, Mapping[str, Any]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self.settling = False  # batches are waited for after they are written
        # health waits started as soon as a rank was written, while the next ranks are written
        self._early: list[tuple[set[ObjectKey], Future[Outcome]]] = []
        self._waiters: ThreadPoolExecutor | None = None
        self._cancel = threading.Event()

    def close(self) -> None:
        self._cancel.set()  # early waits nobody will read (the run failed): let them go
        for pool in (self._pool, self._waiters):
            if pool is not None:
                pool.shutdown()
        self._pool = self._waiters = None

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
            if len(group) == 1 or self.opts.parallelism == 1:
                for step in group:
                    self.one(step)
                continue
            if self._pool is None:  # one pool for the whole run: its threads serve every rank
                self._pool = ThreadPoolExecutor(max_workers=self.opts.parallelism, thread_name_prefix="apply")
            outcomes = list(self._pool.map(self._attempt, group))
            for step, outcome in zip(group, outcomes, strict=True):
                self._record(step, outcome)
            if group is not groups[-1]:
                self._wait_early(group)

    def _start_wait(
        self,
        steps: list[Step],
        known: Mapping[ObjectKey, Mapping[str, Any] | None],
        on_wait: Callable[[str], None] | None = None,
    ) -> Future[Outcome]:
        """A health wait for ``steps`` on its own thread (one per rank at most;
        each watches its kinds), ended early by :meth:`close`."""
        if self._waiters is None:
            self._waiters = ThreadPoolExecutor(max_workers=16, thread_name_prefix="health")
        return self._waiters.submit(
            wait_for_health,
            self.cluster,
            [Target(s.api_version, s.key) for s in steps],
            selector={APP_LABEL: self.opts.app} if self.opts.app else {},
            deadline=self.deadline,
            known={s.key: obj for s in steps if (obj := known.get(s.key)) is not None},
            on_wait=on_wait,
            cancel=self._cancel,
        )

    def _wait_early(self, group: list[Step]) -> None:
        """Start waiting for a written rank's health while the next ranks are
        written (a Deployment's rollout starts while its Service is created);
        :meth:`settle` then mostly finds the answer ready."""
        if not self.settling or self.failure is not None:
            return
        steps = [s for s in group if s.action in (Action.CREATED, Action.CONFIGURED, Action.UNCHANGED)]
        known = {s.key: self.written.get(s.key, s.live) for s in steps}
        if all(assess(known[s.key]).status is HealthStatus.HEALTHY for s in steps):
            return  # settled by what the writes returned
        self._early.append(({s.key for s in steps}, self._start_wait(steps, known)))

    def one(self, step: Step) -> None:
        self._record(step, self._attempt(step))

    def _attempt(self, step: Step) -> Mapping[str, Any] | ClusterError | None:
        try:
            return self._write(step)
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
        if outcome is not None:
            self.written[step.key] = outcome
        self.entries.append(ChangeSetEntry(step.key, step.action, step.diff, step.reason or None))
        self.progress.step(step)

    def _write(self, step: Step) -> Mapping[str, Any] | None:
        call = self._call
        if step.hook is not None and step.live is not None:
            if DeletePolicy.BEFORE_HOOK_CREATION not in step.hook.delete_policies:
                raise AlreadyExists(
                    f"hook {step.key} from an earlier sync still exists and its delete policy does not "
                    "include BeforeHookCreation"
                )
            self._delete_and_wait(step)
        if step.action is Action.PRUNED:
            with contextlib.suppress(NotFound):  # already gone: the goal is reached
                call(
                    lambda: self.cluster.delete(
                        step.api_version,
                        step.key.kind,
                        step.key.name,
                        step.key.namespace,
                        dry_run=self.opts.dry_run,
                    )
                )
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
            if not _immutable(e):
                if self.opts.strategy != "server-side":
                    raise
                # Merged with what others changed by hand (an item of a list Git
                # declares, under another key), the object would be invalid (two
                # ports named http, say): write Git's object whole instead.
                return self._replace(step)
            if not self._may_replace(step):
                raise
            self._delete_and_wait(step)
            return self._put(step, fresh=True)
        except NotFound as e:
            if self.opts.dry_run and "namespaces" in str(e):
                return None  # its namespace is created in this same sync: nothing to check it against
            raise

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
        """Delete an object and wait (by watch) until it is gone."""
        if self.opts.dry_run:
            return
        try:
            self._call(
                lambda: self.cluster.delete(
                    step.api_version,
                    step.key.kind,
                    step.key.name,
                    step.key.namespace,
                    propagation_policy="Foreground",
                )
            )
        except NotFound:
            return
        deadline = min(self.deadline, time.monotonic() + 60)
        selector = {APP_LABEL: self.opts.app} if self.opts.app else None
        while time.monotonic() < deadline:
            if self.cluster.get(step.api_version, step.key.kind, step.key.name, step.key.namespace) is None:
                return
            for event, obj in self.cluster.watch(
                step.api_version,
                step.key.kind,
                step.key.namespace,
                selector,
                timeout=min(5.0, deadline - time.monotonic()),
            ):
                if event == "DELETED" and ObjectKey.of(obj) == step.key:
                    return
        raise ClusterError(
            f"{step.key} was deleted to be created again but is still there", code=504, reason="Timeout"
        )

    # -- health ----------------------------------------------------------------------------------
    def settle(self, batch: Batch) -> None:
        """Wait until the batch is healthy; hooks then follow their delete policies."""
        early, self._early = self._early, []  # started while this batch was written
        steps = [s for s in batch.steps if s.action in (Action.CREATED, Action.CONFIGURED, Action.UNCHANGED)]
        if not steps:
            return
        known = {s.key: self.written.get(s.key, s.live) for s in steps}
        if not any(s.action is not Action.UNCHANGED for s in steps) and all(
            assess(known[s.key]).status is HealthStatus.HEALTHY for s in steps
        ):
            return  # nothing written and all healthy: no watch needed
        what = "hooks" if batch.phase is not Phase.SYNC else f"wave {batch.wave}"
        covered = {k for keys, _ in early for k in keys}
        waits = [f for _, f in early]
        if any(not f.done() for f in waits):
            self.progress.wait(f"{what}: waiting for {len(covered)} object(s) to become healthy")
        rest = [s for s in steps if s.key not in covered]
        if rest:
            waits.append(self._start_wait(rest, known, lambda m: self.progress.wait(f"{what}: {m}")))
        outcomes: list[Outcome] = []
        pending = set(waits)
        while pending:  # the first Degraded object decides, as one wait over the batch would
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            outcomes += [f.result() for f in done]
            if any(o.status is HealthStatus.DEGRADED for o in outcomes):
                self._cancel.set()
                break
        outcome = _worst(outcomes)
        hooks = [s for s in steps if s.hook is not None]
        for step in hooks:
            policies = step.hook.delete_policies if step.hook is not None else frozenset()
            if (outcome.healthy and DeletePolicy.HOOK_SUCCEEDED in policies) or (
                not outcome.healthy and DeletePolicy.HOOK_FAILED in policies
            ):
                with contextlib.suppress(ClusterError):
                    self.cluster.delete(
                        step.api_version,
                        step.key.kind,
                        step.key.name,
                        step.key.namespace,
                        propagation_policy="Background",
                    )
        if not outcome.healthy:
            self.health = outcome.status
            self.failure = Failure(Stage.HEALTH, _health_message(outcome, what, self.opts.health_timeout))


def _worst(outcomes: list[Outcome]) -> Outcome:
    """One outcome for waits over parts of a batch: a Degraded object first,
    then the worst state still pending at the deadline; Healthy when all are."""
    for outcome in outcomes:
        if outcome.status is HealthStatus.DEGRADED:
            return outcome
    pending = [o for o in outcomes if not o.healthy]
    return max(pending, key=lambda o: o.status.rank) if pending else Outcome(HealthStatus.HEALTHY)


def _health_message(outcome: Outcome, what: str, timeout: float) -> str:
    subject = str(outcome.key) if outcome.key else what
    if outcome.timed_out:
        return f"{subject} is still {outcome.status} after {timeout:g}s ({outcome.message})"
    return f"{subject} is {outcome.status}: {outcome.message}"


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


def _ensure_namespace(cluster: ClusterClient, namespace: str) -> None:
    if cluster.get("v1", "Namespace", namespace) is None:
        with contextlib.suppress(AlreadyExists):
            cluster.create(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
                }
            )
