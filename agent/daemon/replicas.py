"""Replicas of ``gitops-agent run`` sharing the apps (``daemon.ha``).

Each daemon runs one :class:`~agent.ha.Replica`.  Its Leases live in the
state namespace of the ``default`` cluster (``cluster.stateNamespace``),
whatever clusters the apps go to: every replica can reach that one, and one
place holds the whole group's membership.  Every ``renewSeconds`` the
replica renews its member Lease and settles the app set as the scheduler
has it now: it claims the apps rendezvous hashing gives it and gives up the
others, except those whose run is in flight (they finish first and go at
the next round).

The claim decides, never timing: :meth:`Sharing.begin` checks ``owns(app)``
right before a run, under the same lock as the settling, and marks the app
busy until :meth:`Sharing.end`; a run of an app owned elsewhere is skipped.
Apps gained in a round (a member left, a claim came free) run at once
instead of waiting for their timer.  On SIGTERM the daemon drains first and
then :meth:`Sharing.stop` releases the claims and Leases, so the others
take over at their next round instead of after the lease duration.

The leader also deletes the claim Lease of an app that left the fleet,
once its owner has released it.  A single replica needs no setting: it
elects itself and owns every app.
Each member Lease carries the replica's address (``advertiseAddress``), so
a request for an app owned elsewhere can be forwarded to its owner
(:mod:`agent.daemon.forward`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from agent.config import AgentConfig, Application
from agent.daemon.protocol import Draining, QueueFull
from agent.daemon.scheduler import Scheduler
from agent.errors import AgentError
from agent.ha import LeaseStore, Replica, Settings, SystemClock, claim_lease, shard
from agent.ha.lease import clock_skew
from agent.kube.errors import ClusterError
from agent.models import HealthStatus, SyncStatus
from agent.report.metrics import Metrics
from agent.results import Trigger
from agent.sync.contexts import Contexts

log = logging.getLogger("gitops_agent.ha")
_HA = {"stage": "ha"}
FAILOVER_BUCKETS = (0.5, 1, 2, 3, 5, 8, 10, 12, 15, 20, 30, 60, 120)


def advertised(config: AgentConfig) -> str:
    """``daemon.ha.advertiseAddress``, else ``http://<POD_IP or daemon.address>:<daemon.port>``."""
    d = config.daemon
    if d.ha.advertise_address:
        return d.ha.advertise_address.rstrip("/")
    host = os.environ.get("POD_IP") or d.address
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (a listening address, not a bind)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{d.port}"


class _Gauges:
    """The replica's series, in the daemon's registry."""

    def __init__(self, metrics: Metrics, identity: str) -> None:
        r = metrics.registry
        self.leader = Gauge("gitops_agent_leader", "1 while this replica holds the leader Lease.", registry=r)
        apps = Gauge(
            "gitops_agent_shard_apps", "Apps this replica owns (holds the claim of).", ["replica"], registry=r
        )
        self.apps = apps.labels(identity)
        self.members = Gauge("gitops_agent_replicas", "Live replicas, as this one reads them.", registry=r)
        self.rebalances = Counter(
            "gitops_agent_rebalances",
            "Times the live replicas changed (one joined or left) and the apps were spread anew.",
            registry=r,
        )
        self.failover = Histogram(
            "gitops_agent_failover_seconds",
            "From a replica's member Lease seen expired or released to its apps claimed here.",
            buckets=FAILOVER_BUCKETS,
            registry=r,
        )


class Sharing:
    """This daemon's part in the group of replicas; see the module's docstring."""

    def __init__(
        self, config: AgentConfig, contexts: Contexts, scheduler: Scheduler, metrics: Metrics
    ) -> None:
        self.cluster = config.cluster.name
        self.settings = Settings.of(config.daemon.ha, config.cluster.state_namespace, advertised(config))
        self.identity = self.settings.identity
        self.address = self.settings.address
        self._contexts = contexts
        self._scheduler = scheduler
        self._gauges = _Gauges(metrics, self.identity)
        self._metrics = metrics
        self._shown: set[str] = set(scheduler.names())  # apps whose state this replica exports
        self._known: set[str] = set(self._shown)
        self._groups: dict[str, str] = {}
        self._failing = ""  # the last reason a round failed, logged once
        self._lock = threading.Lock()  # settling and the check before a run are one step
        self._busy: set[str] = set()
        self._owned: set[str] = set()
        self._live: frozenset[str] | None = None
        self._lost: dict[str, float] = {}  # member -> when its Lease was seen expired (monotonic)
        self.replica: Replica | None = None
        self._clock = SystemClock(clock_skew())
        self._gone: set[str] = set()  # apps that left the fleet: the leader deletes their claims
        self._unrun: set[str] = set()  # apps gained that the queue could not take yet
        self._unrun_said = ""
        self._active: bool | None = None  # the last round could renew (None: no round yet)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def leads(self) -> bool:
        """This replica is the leader now (the one writer of what all share)."""
        replica = self.replica
        return replica is not None and replica.is_leader()

    # -- running -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="ha", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.round()
                self._failing = ""
            except AgentError as e:  # the default cluster could not be reached: try again
                if str(e) != self._failing:  # once per new reason, not every round
                    log.warning("replica %s: %s", self.identity, e, extra={"stage": "ha"})
                self._failing = str(e)
            except Exception:  # a bug must not end the renewals silently
                log.exception("replica %s: round failed", self.identity, extra={"stage": "ha"})
            self._stop.wait(self.settings.renew_seconds)

    def stop(self) -> None:
        """After the drain: stop renewing and release the claims and Leases."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.lease_seconds * 3)
        with self._lock:
            replica, self._owned = self.replica, set()
        if replica is not None:
            replica.stop(release=True)
            log.info("released its apps and Leases", extra={"stage": "ha"})

    def _replica(self) -> Replica:
        if self.replica is None:
            client = self._contexts.get(self.cluster).cluster
            store = LeaseStore(client, self.settings.namespace)
            self.replica = Replica(store, self.settings, self._clock)
            log.info(
                "replica %s (%s): Leases in %s of cluster %s",
                self.identity,
                self.address,
                self.settings.namespace,
                self.cluster,
                extra={"stage": "ha"},
            )
        return self.replica

    def round(self) -> None:
        """Renew, read the members, settle the apps; run the apps gained."""
        r = self._replica()
        active = r.tick()
        self._say(active)
        self._watch(r)
        names = self._scheduler.names()
        self._gone = (self._gone | (self._known - set(names))) - set(names)
        self._groups = groups(self._scheduler.apps.values())
        with self._lock:
            before = self._owned
            self._owned = r.settle(names, set(self._busy), self._key) if active else set()
            owned, busy = self._owned, set(self._busy)
        self._export(set(names), owned | busy)
        self._gauges.leader.set(1 if r.is_leader() else 0)
        self._gauges.apps.set(len(owned))
        gained, lost = owned - before, before - owned
        if gained or lost:
            log.info(
                "owns %d app(s): %d gained, %d given up",
                len(owned),
                len(gained),
                len(lost),
                extra={"stage": "ha"},
            )
        if gained:
            self._failed_over()
        self._run_now(gained, owned)
        if self._gone and r.is_leader():
            self._collect_claims(r)

    def _collect_claims(self, r: Replica) -> None:
        """The leader deletes the claim Lease of each app that left the fleet
        once no live replica holds it (its owner finishes and releases it
        first), only if unchanged since read: an app back in the fleet and
        claimed meanwhile keeps its claim."""
        for app in sorted(self._gone):
            try:
                lease = r.claims.store.get(claim_lease(app))
                if lease is not None and lease.record.holder and r.roster.is_live(lease.record.holder):
                    continue
                if lease is None or r.claims.store.delete(lease):
                    self._gone.discard(app)
            except ClusterError as e:
                log.debug("claim of %s not deleted: %s", app, e)
                return

    def _say(self, active: bool) -> None:
        """Log when this replica stops acting (its Lease cannot be renewed) and resumes."""
        if active == self._active:
            return
        if active:
            log.info("renewed its Lease again: it acts on its apps once it has read the claims", extra=_HA)
        else:
            log.warning(
                "cannot renew its Lease in %s of cluster %s: it stops acting on %d app(s), on every "
                "cluster, until it can (no deletes, no prunes; another replica may take them)",
                self.settings.namespace,
                self.cluster,
                len(self._owned),
                extra=_HA,
            )
        self._active = active

    def _export(self, names: set[str], mine: set[str]) -> None:
        """Only the owner exports an app's state series (sync status, health,
        drift, ``app_info``): an alert or a join on ``app`` sees one series per
        app, not one per replica.  The counters stay (per process, as ever)."""
        self._shown |= names - self._known  # an app added to the fleet shows Unknown everywhere at first
        self._known = names
        apps = self._scheduler.apps
        for app in sorted(self._shown - mine):
            found = apps.get(app)
            _hide(self._metrics, app, None if found is None else found.cluster)
        for app in sorted(mine - self._shown):
            found = apps.get(app)
            if found is not None:
                self._metrics.app_info.labels(app, found.cluster).set(1)
        self._shown = set(mine)

    def _watch(self, r: Replica) -> None:
        """Members joining and leaving: rebalances, and when each loss was seen."""
        live = frozenset(r.members())
        if not live:
            return
        if self._live is not None and live != self._live:
            self._gauges.rebalances.inc()
            log.info("replicas now: %s", ", ".join(sorted(live)), extra={"stage": "ha"})
            for gone in self._live - live:
                self._lost.setdefault(gone, time.monotonic())
        self._live = live
        self._gauges.members.set(len(live))
        stale = time.monotonic() - 3 * self.settings.lease_seconds
        self._lost = {m: t for m, t in self._lost.items() if t > stale and m not in live}

    def _failed_over(self) -> None:
        now = time.monotonic()
        for seen in self._lost.values():
            self._gauges.failover.observe(now - seen)
        self._lost.clear()

    def _run_now(self, gained: set[str], owned: set[str]) -> None:
        """Apps just claimed run now rather than at their next timer.  When the
        queue is full they are asked for again each round until it takes them
        (all at once, or none: a takeover of many apps waits for room)."""
        self._unrun = (self._unrun | gained) & owned
        if not self._unrun:
            return
        try:
            self._scheduler.request(sorted(self._unrun), Trigger.SCHEDULE)
        except (QueueFull, Draining) as e:
            if self._unrun_said != str(e):
                log.info("apps gained wait for room in the queue: %s", e, extra=_HA)
            self._unrun_said = str(e)
            return
        self._unrun, self._unrun_said = set(), ""

    # -- the check before a run ----------------------------------------------------------
    def begin(self, app: str) -> bool:
        """True (and ``app`` busy until :meth:`end`) when this replica owns it now."""
        with self._lock:
            if self.replica is None or not self.replica.owns(app):
                return False
            self._busy.add(app)
            return True

    def end(self, app: str) -> None:
        with self._lock:
            self._busy.discard(app)

    # -- who owns what -------------------------------------------------------------------
    def _key(self, app: str) -> str:
        """What ``app`` is hashed by: its dependsOn group (see :func:`groups`)."""
        return self._groups.get(app, app)

    def owns(self, app: str) -> bool:
        r = self.replica
        return r is not None and r.owns(app)

    def owner(self, app: str) -> tuple[str | None, str]:
        """The replica that owns ``app`` (or should, by hashing) and its address."""
        r = self.replica
        if r is None:
            return None, ""
        if r.owns(app):
            return self.identity, self.address
        found = shard.owner(self._key(app), r.members())
        if found is None or found == self.identity:
            return found, self.address if found else ""
        member = r.roster.live.get(found)
        return found, member.address if member is not None else ""

    def status(self, apps: Iterable[str]) -> dict[str, Any]:
        """``replicas`` of ``GET /api/v1/apps``: this one, the leader, the members, each app's owner."""
        r = self.replica
        names = list(apps)
        members = r.members() if r is not None else {}
        share: dict[str, list[str]] = {}
        for a in names:
            found = shard.owner(self._key(a), members)
            if found is not None:
                share.setdefault(found, []).append(a)
        owners = {a: self.owner(a)[0] for a in names}
        return {
            "self": self.identity,
            "leader": self.identity if r is not None and r.is_leader() else _leader(r),
            "members": [
                {
                    "identity": m,
                    "address": self.address if m == self.identity else _address(r, m),
                    "capacity": members[m],
                    "apps": len(share.get(m, [])),
                }
                for m in sorted(members)
            ],
            "owners": owners,
        }


def groups(apps: Iterable[Application]) -> dict[str, str]:
    """App -> its group: the apps joined by ``dependsOn`` (either way) share one
    key (the first name among them), so one replica owns them all.  The gates
    read a dependency's state from this replica's own view, and a dependency's
    run wakes its dependents here (:mod:`agent.daemon.gates`)."""
    listed = list(apps)
    parent = {a.name: a.name for a in listed}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for a in listed:
        for dep in a.depends_on:
            if dep in parent:
                x, y = sorted((root(a.name), root(dep)))
                parent[y] = x
    return {a.name: root(a.name) for a in listed}


def _hide(metrics: Metrics, app: str, cluster: str | None) -> None:
    series: list[tuple[Any, tuple[str, ...]]] = [
        (metrics.drifted, (app,)),
        *((metrics.sync_status, (app, s.value)) for s in SyncStatus),
        *((metrics.health, (app, h.label)) for h in HealthStatus),
    ]
    if cluster is not None:
        series.append((metrics.app_info, (app, cluster)))
    for metric, labels in series:
        with contextlib.suppress(KeyError):
            metric.remove(*labels)


def _leader(r: Replica | None) -> str | None:
    return (r.leader.observed.holder or None) if r is not None and r.active() else None


def _address(r: Replica | None, identity: str) -> str:
    member = None if r is None else r.roster.live.get(identity)
    return member.address if member is not None else ""


__all__ = ["Sharing", "advertised"]
