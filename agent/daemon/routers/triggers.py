"""Sync and rollback by hand (bearer token): through the app's job, like
every other run, so they never overlap a reconcile."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Query, Response
from pydantic import BaseModel, Field

from agent.daemon.protocol import AppRemoved, DaemonView, Draining, QueueFull
from agent.daemon.routers.common import Daemon, Redacted, authorized, router, snapshot_of
from agent.daemon.state import Manual, Outcome, RunResult
from agent.results import Operation, Trigger

triggers = router("actions")


class SyncRequest(BaseModel):
    revision: str | None = Field(default=None, description="branch, tag or commit (default: the app's)")
    prune: bool | None = Field(default=None, description="override the app's prune policy")
    force: bool = Field(
        default=False,
        description="apply a commit held after a rollback (dependsOn still holds the sync until ready)",
    )


class RollbackRequest(BaseModel):
    to: int | None = Field(default=None, description="revision number (default: the last healthy one)")


async def _enqueue(d: DaemonView, name: str, manual: Manual, wait: bool, timeout: float) -> Response:
    """Queue the run; with ``wait``, answer with its result (202 when it is
    not done within ``timeout``)."""
    snapshot_of(d, name)
    try:
        (future,) = d.request([name], Trigger.MANUAL, manual)
    except QueueFull as e:
        return Redacted({"detail": str(e)}, status_code=503, headers={"Retry-After": "10"})
    except (Draining, AppRemoved) as e:  # AppRemoved: left the fleet since the lookup above
        return Redacted({"detail": str(e)}, status_code=404 if isinstance(e, AppRemoved) else 503)
    if not wait:
        return Redacted({"app": name, "status": "queued"}, status_code=202)
    try:
        result: RunResult = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
    except TimeoutError:
        return Redacted({"app": name, "status": "running"}, status_code=202)
    except (Draining, AppRemoved) as e:  # AppRemoved: left the fleet while its run waited
        return Redacted({"detail": str(e)}, status_code=404 if isinstance(e, AppRemoved) else 503)
    return _answer(name, result)


def _answer(name: str, result: RunResult) -> Response:
    """A run's result: 200, 409 when refused (suspended, outside its
    windows) or failed, 202 when held until its dependencies are ready."""
    if result.outcome == Outcome.WAITING:  # it runs, as asked, once they are
        return Redacted({"app": name, "status": "waiting", **result.to_dict()}, status_code=202)
    refused = (Outcome.FAILED, Outcome.SUSPENDED, Outcome.DEFERRED)
    status = 409 if result.outcome in refused else 200
    return Redacted({"app": name, **result.to_dict()}, status_code=status)


@triggers.post(
    "/api/v1/apps/{name}/sync",
    summary="Sync now (bearer token)",
    dependencies=[Depends(authorized)],
    responses={
        401: {},
        403: {},
        202: {"description": "queued, still running, or held until the app's dependsOn are ready"},
        409: {"description": "the sync failed or the commit is held; the app is suspended or closed"},
        503: {},
    },
)
async def post_sync(
    name: str,
    d: Daemon,
    body: SyncRequest | None = None,
    wait: Annotated[bool, Query(description="answer with the result (202 if not done in time)")] = True,
    timeout: Annotated[float, Query(gt=0, le=3600)] = 300,
) -> Response:
    body = body or SyncRequest()
    manual = Manual(Operation.SYNC, revision=body.revision, prune=body.prune, force=body.force)
    return await _enqueue(d, name, manual, wait, timeout)


@triggers.post(
    "/api/v1/apps/{name}/rollback",
    summary="Roll back to an earlier revision (bearer token)",
    dependencies=[Depends(authorized)],
    responses={401: {}, 403: {}, 409: {"description": "the rollback failed"}, 503: {}},
)
async def post_rollback(
    name: str,
    d: Daemon,
    body: RollbackRequest | None = None,
    wait: Annotated[bool, Query()] = True,
    timeout: Annotated[float, Query(gt=0, le=3600)] = 300,
) -> Response:
    body = body or RollbackRequest()
    return await _enqueue(d, name, Manual(Operation.ROLLBACK, to=body.to), wait, timeout)
