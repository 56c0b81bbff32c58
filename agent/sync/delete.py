"""The deletes of a sync: prune an object Git no longer declares, and
delete one to create it again (a hook run again, an object whose immutable
fields changed), waiting by watch until it is gone.

Prunes go last and in reverse order (:mod:`agent.sync.plan`); an object
already gone counts as pruned (the goal is reached).  Cut from the apply
run so the writes read as writes; the hook lifecycle
(:mod:`agent.sync.hooks`) and the replacement of an immutable object both
use :func:`delete_and_wait`.
"""

from __future__ import annotations

import contextlib
import time

from agent.cluster.base import ClusterClient
from agent.config import RetryPolicy
from agent.kube.errors import ClusterError, NotFound
from agent.models import ObjectKey
from agent.sync.ownership import APP_LABEL
from agent.sync.plan import Step
from agent.sync.retry import with_retries

GONE_WITHIN_SECONDS = 60.0  # a deleted object must be gone this soon to be created again
WATCH_WINDOW_SECONDS = 5.0


def prune(cluster: ClusterClient, step: Step, retry: RetryPolicy, *, dry_run: bool) -> None:
    """Delete an object the app owns and Git no longer declares."""
    with contextlib.suppress(NotFound):  # already gone: the goal is reached
        with_retries(
            retry,
            lambda: cluster.delete(
                step.api_version, step.key.kind, step.key.name, step.key.namespace, dry_run=dry_run
            ),
        )


def delete_and_wait(
    cluster: ClusterClient, step: Step, retry: RetryPolicy, app: str, deadline: float
) -> None:
    """Delete an object (foreground: its dependents first) and wait, by
    watch, until it is gone; ``app`` selects the watched objects."""
    try:
        with_retries(
            retry,
            lambda: cluster.delete(
                step.api_version,
                step.key.kind,
                step.key.name,
                step.key.namespace,
                propagation_policy="Foreground",
            ),
        )
    except NotFound:
        return
    deadline = min(deadline, time.monotonic() + GONE_WITHIN_SECONDS)
    selector = {APP_LABEL: app} if app else None
    while time.monotonic() < deadline:
        if cluster.get(step.api_version, step.key.kind, step.key.name, step.key.namespace) is None:
            return
        for event, obj in cluster.watch(
            step.api_version,
            step.key.kind,
            step.key.namespace,
            selector,
            timeout=min(WATCH_WINDOW_SECONDS, deadline - time.monotonic()),
        ):
            if event == "DELETED" and ObjectKey.of(obj) == step.key:
                return
    raise ClusterError(
        f"{step.key} was deleted to be created again but is still there", code=504, reason="Timeout"
    )
