"""Hooks' lifecycle around their run: what happens to a hook object left
by an earlier sync, and to a finished hook (its delete policies).

Hooks are objects a sync creates in a phase (PreSync, Sync, PostSync,
SyncFail; :mod:`agent.sync.waves` reads the annotations).  Argo CD's delete
policies are followed: ``BeforeHookCreation`` deletes the last run's object
before a new run, ``HookSucceeded`` / ``HookFailed`` delete it once its batch
settled that way.  The deletes are plain cluster calls; this module only
decides which.

A hook with ``metadata.generateName`` and no name is created with a POST
each time its phase runs and the API server names it, as ``kubectl create``
does and as Argo CD's resource hooks documentation shows (Argo CD composes
the name itself, from the revision, phase and time: argo-cd#9184).  Its
earlier runs are the objects of its kind in its namespace carrying the app's
marks and its identity (:func:`agent.sync.ownership.hook_identity`);
``BeforeHookCreation`` deletes them all before the new run, so one run is
left.  Without it runs pile up, as they do in Argo CD.  Hooks are never
diffed and never pruned (:mod:`agent.sync.plan`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable
from typing import Any

from agent.cluster.base import ClusterClient
from agent.config import RetryPolicy
from agent.kube.errors import AlreadyExists, ClusterError, NotFound
from agent.models import ObjectKey
from agent.sync.ownership import APP_LABEL, generated, hook_identity, owner_of, runs_of
from agent.sync.plan import Step
from agent.sync.retry import with_retries
from agent.sync.waves import DeletePolicy


def is_generated(step: Step) -> bool:
    """A hook the API server names at each run."""
    return step.hook is not None and step.desired is not None and generated(step.desired)


def clear_earlier_runs(cluster: ClusterClient, step: Step, retry: RetryPolicy, app: str) -> int:
    """Before a generated hook runs again under BeforeHookCreation, delete
    its earlier runs (one list by the app's label); how many there were.
    Deleted in the background: the new run has a name of its own, so
    nothing waits for the old runs' dependents (a Job's pods) to go."""
    if step.hook is None or step.desired is None:
        return 0
    if DeletePolicy.BEFORE_HOOK_CREATION not in step.hook.delete_policies:
        return 0
    owner = owner_of(step.desired) or ""
    found = with_retries(
        retry, lambda: cluster.list(step.api_version, step.key.kind, step.key.namespace, {APP_LABEL: app})
    )
    earlier = runs_of(hook_identity(step.desired), owner, found)
    for obj in earlier:
        with contextlib.suppress(NotFound):  # gone already: the goal is reached
            _delete(cluster, step, str(obj["metadata"]["name"]), retry)
    return len(earlier)


def _delete(cluster: ClusterClient, step: Step, name: str, retry: RetryPolicy) -> None:
    api_version, kind, namespace = step.api_version, step.key.kind, step.key.namespace
    with_retries(
        retry,
        lambda: cluster.delete(api_version, kind, name, namespace, propagation_policy="Background"),
    )


def as_run(step: Step, created: dict[str, Any]) -> Step:
    """The step of a generated hook, keyed by the name the server gave it."""
    return dataclasses.replace(step, key=ObjectKey.of(created), live=None)


def may_run_again(step: Step) -> None:
    """A hook whose object from an earlier sync still exists runs again only
    when its policies include BeforeHookCreation (raises AlreadyExists)."""
    if step.hook is not None and DeletePolicy.BEFORE_HOOK_CREATION not in step.hook.delete_policies:
        raise AlreadyExists(
            f"hook {step.key} from an earlier sync still exists and its delete policy does not "
            "include BeforeHookCreation"
        )


def delete_finished(cluster: ClusterClient, steps: Iterable[Step], healthy: bool) -> None:
    """Delete the settled hooks whose policy asks for it (HookSucceeded on
    a healthy batch, HookFailed otherwise); a delete that fails is left."""
    wanted = DeletePolicy.HOOK_SUCCEEDED if healthy else DeletePolicy.HOOK_FAILED
    for step in steps:
        if step.hook is None or wanted not in step.hook.delete_policies:
            continue
        with contextlib.suppress(ClusterError):
            cluster.delete(
                step.api_version,
                step.key.kind,
                step.key.name,
                step.key.namespace,
                propagation_policy="Background",
            )
