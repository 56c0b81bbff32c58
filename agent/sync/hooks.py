"""Hooks' lifecycle around their run: what happens to a hook object left
by an earlier sync, and to a finished hook (its delete policies).

Hooks are objects a sync creates in a phase (PreSync, Sync, PostSync,
SyncFail; :mod:`agent.sync.waves` reads the annotations).  Argo CD's delete
policies are followed: ``BeforeHookCreation`` deletes the last run's object
before a new run, ``HookSucceeded`` / ``HookFailed`` delete it once its batch
settled that way.  The deletes are plain cluster calls; this module only
decides which.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from agent.cluster.base import ClusterClient
from agent.kube.errors import AlreadyExists, ClusterError
from agent.sync.plan import Step
from agent.sync.waves import DeletePolicy


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
