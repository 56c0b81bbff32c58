"""The fetch stage: the app's source checked out at its revision.

:func:`fetch` also asks the cluster its first questions while git works in
its subprocess (the app's revision history, the cluster's capabilities):
they do not depend on the checkout, and asked side by side the three cost
the time of the slowest.  The threads that ask live here, not in the
pipeline script.  A failed fetch is reported before anything the cluster
said: a source that cannot be read is the first thing to fix.  (Flux cuts
the same line between fetching a source and applying it, in two
controllers; here they are two stages of one script.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.config import Application
from agent.models import Revision
from agent.render import Capabilities
from agent.source import signature_policy
from agent.sync import workers
from agent.sync.context import Context
from agent.sync.record import RevisionRecord

ASK_PARALLELISM = 8  # questions asked beside checkouts, for every app at once (two per app)


@dataclass(frozen=True)
class Fetched:
    """The checkout, and what the cluster said meanwhile."""

    root: Path
    revision: Revision
    history: list[RevisionRecord]  # the app's revision records, oldest first
    capabilities: Callable[[], Capabilities]  # the cluster's; waits for the answer only when called

    @property
    def last(self) -> RevisionRecord | None:
        return self.history[-1] if self.history else None


def checkout(ctx: Context, app: Application, ref: str | None = None) -> tuple[Path, Revision]:
    """The app's repository at ``ref`` (default: the app's revision)."""
    done = ctx.source.checkout(
        ctx.config.repo_location(app), ref or app.revision, verify=signature_policy(ctx.config, app)
    )
    return done.root, done.revision


def fetch(ctx: Context, app: Application, ref: str | None = None) -> Fetched:
    """The checkout, with the history and the capabilities asked beside it.
    The capabilities may still be on their way when this returns: a render
    that never looks at them does not wait (plain YAML is parsed meanwhile)."""
    pool = workers.pool("ask", ASK_PARALLELISM)
    asked = pool.submit(ctx.records(app).history, app.name)
    capabilities = pool.submit(ctx.capabilities)  # never fails: the default when unknown
    try:
        root, revision = checkout(ctx, app, ref)
    except BaseException:
        asked.cancel()
        raise
    history = asked.result()  # the capabilities' question finishes on its own
    return Fetched(root, revision, history, capabilities.result)
