"""The apply stage: run a plan's batches against the cluster.

Batches run in order (PreSync hooks, each wave of the app's objects with its
Sync hooks, PostSync hooks, prunes); the first failure stops the run, and the
SyncFail hooks then run.  A hook left by an earlier sync is deleted first
when its delete policy says BeforeHookCreation (the default).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

from agent.cluster.base import AlreadyExists, ClusterClient, ClusterError, NotFound
from agent.models import Action, ChangeSetEntry, Failure, Stage
from agent.sync.ownership import MANAGED_BY, MANAGED_BY_LABEL
from agent.sync.plan import Plan, Step
from agent.sync.waves import DeletePolicy

Progress = Callable[[Step], None]


def apply(
    cluster: ClusterClient, the_plan: Plan, *, create_namespace: str = "", progress: Progress | None = None
) -> tuple[list[ChangeSetEntry], Failure | None]:
    """Run the plan batch by batch (hooks and waves in order, prunes last);
    stop at the first failure, then run the SyncFail hooks."""
    entries: list[ChangeSetEntry] = []
    failure: Failure | None = None
    if create_namespace and any(s.action is Action.CREATED for s in the_plan.steps):
        _ensure_namespace(cluster, create_namespace)
    for batch in the_plan.batches():
        for step in batch.steps:
            if failure is not None:
                entries.append(ChangeSetEntry(step.key, Action.SKIPPED, step.diff, "not attempted"))
                continue
            failure = _run_step(cluster, step, entries, progress)
    if failure is not None:
        for step in the_plan.on_failure():
            _run_step(cluster, step, entries, progress)
    return entries, failure


def _run_step(
    cluster: ClusterClient, step: Step, entries: list[ChangeSetEntry], progress: Progress | None
) -> Failure | None:
    try:
        _write(cluster, step)
    except ClusterError as e:
        stage = Stage.PRUNE if step.action is Action.PRUNED else Stage.APPLY
        entries.append(ChangeSetEntry(step.key, Action.FAILED, step.diff, str(e)))
        return Failure(stage, f"{step.key}: {e}")
    entries.append(ChangeSetEntry(step.key, step.action, step.diff, step.reason or None))
    if progress is not None:
        progress(step)
    return None


def _write(cluster: ClusterClient, step: Step) -> None:
    if step.hook is not None and step.live is not None:
        if DeletePolicy.BEFORE_HOOK_CREATION not in step.hook.delete_policies:
            raise AlreadyExists(
                f"hook {step.key} from an earlier sync still exists and its delete policy does not "
                "include BeforeHookCreation"
            )
        with contextlib.suppress(NotFound):
            cluster.delete(step.api_version, step.key.kind, step.key.name, step.key.namespace)
    if step.action is Action.CREATED and step.desired is not None:
        cluster.create(step.desired)
    elif step.action is Action.CONFIGURED and step.desired is not None and step.live is not None:
        body = json.loads(json.dumps(step.desired))
        body["metadata"]["resourceVersion"] = step.live["metadata"]["resourceVersion"]
        cluster.replace(body)
    elif step.action is Action.PRUNED:
        with contextlib.suppress(NotFound):  # already gone: the goal is reached
            cluster.delete(step.api_version, step.key.kind, step.key.name, step.key.namespace)


def _ensure_namespace(cluster: ClusterClient, namespace: str) -> None:
    if cluster.get("v1", "Namespace", namespace) is None:
        cluster.create(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
            }
        )
