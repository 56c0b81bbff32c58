"""The daemon's side of :mod:`agent.fleet.memory`: the last definitions of
each cluster's apps, read once, compared with the fleet, written back.

Only the replica that writes the fleet's shared state (the leader with
high availability on, else the only one) reads and writes them, and a
replica that starts leading reads them afresh.  A cluster that cannot be
read is tried again at the next pass; what it stored stays untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping

from agent.config import Application
from agent.errors import AgentError
from agent.fleet.memory import LastDefinitions
from agent.sync.contexts import Contexts

log = logging.getLogger("gitops_agent.fleet")
AGAIN_SECONDS = 60.0  # a cluster that could not be read is tried again after this long


class Remembered:
    """What each cluster's ConfigMap holds, as last read or written here."""

    def __init__(self, store: Callable[[str], LastDefinitions], writes: Callable[[], bool]) -> None:
        self.store = store  # the ConfigMap of a cluster, by its name
        self.writes = writes
        self.held: dict[str, dict[str, Application]] = {}  # cluster -> app name -> definition
        self.problems: dict[str, str] = {}  # cluster -> why it could not be read or written
        self._failed: dict[str, float] = {}  # cluster -> when its read failed (monotonic)
        self._led = False

    @classmethod
    def over(cls, contexts: Contexts, writes: Callable[[], bool]) -> Remembered:
        """Kept in the state namespace of each cluster of ``contexts``."""

        def store(cluster: str) -> LastDefinitions:
            ctx = contexts.get(cluster)
            return LastDefinitions(ctx.cluster, ctx.settings.state_namespace, cluster)

        return cls(store, writes)

    def read(self, clusters: Collection[str]) -> bool:
        """Read the clusters not read yet; False when this replica does not
        write (then nothing is read, compared or written)."""
        leads = self.writes()
        if leads and not self._led:
            self.held.clear()  # another replica may have written meanwhile
        self._led = leads
        if not leads:
            return False
        for cluster in clusters:
            failed = self._failed.get(cluster)
            if cluster in self.held or (failed is not None and time.monotonic() - failed < AGAIN_SECONDS):
                continue  # read; or it failed lately (each read may wait for its retries)
            try:
                self.held[cluster] = self.store(cluster).load()
            except AgentError as e:  # not connected, not answering, unreadable: a later pass
                self.problems[cluster] = str(e)
                self._failed[cluster] = time.monotonic()
                continue
            self.problems.pop(cluster, None)
            self._failed.pop(cluster, None)
        return True

    def gone(self, wanted: Mapping[str, Application]) -> list[Application]:
        """The apps a cluster kept that the fleet no longer sends there
        (removed, or bound for another cluster), as they were defined."""
        return [
            app
            for cluster, apps in self.held.items()
            for name, app in apps.items()
            if name not in wanted or wanted[name].cluster != cluster
        ]

    def write(self, wanted: Iterable[Application], kept: Iterable[Application]) -> None:
        """Each cluster read keeps ``wanted``'s apps that go to it and the
        ``kept`` ones (not decided on yet, or their cascade not done)."""
        every = [*kept, *wanted]  # an app both kept and wanted there: as now defined
        for cluster, before in self.held.items():
            now = {a.name: a for a in every if a.cluster == cluster}
            if now == before:
                continue
            try:
                self.store(cluster).save(now.values())
            except AgentError as e:
                self.problems[cluster] = str(e)
                log.warning("cannot keep the apps' last definitions: %s", e, extra={"stage": "fleet"})
                continue
            self.held[cluster] = now

    def forget(self, app: Application) -> None:
        """``app``'s cascade deletion is done: its cluster keeps it no more."""
        before = self.held.get(app.cluster)
        if before is None or app.name not in before or not self.writes():
            return
        now = {n: a for n, a in before.items() if n != app.name}
        try:
            self.store(app.cluster).save(now.values())
        except AgentError as e:
            self.problems[app.cluster] = str(e)
            return
        self.held[app.cluster] = now


__all__ = ["Remembered"]
