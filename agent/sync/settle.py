"""The settle stage: wait until what a batch wrote is healthy.

A sync waits for each batch (a wave, or a phase's hooks) before it starts
the next, as Argo CD's sync waves do; so settling runs per batch, inside the
apply run, which hands each written batch to a :class:`Settle`.  Waits for
a rank start as soon as it is written, while the next ranks are written (a
Deployment's rollout starts while its Service is created); the batch's wait
then mostly finds them decided.  The first Degraded object decides a batch;
otherwise the worst state still pending at the deadline.  The waiting
threads belong to this module (:mod:`agent.sync.waiting` watches).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from agent.cluster.base import ClusterClient
from agent.health import Health, UserRules, assess
from agent.models import Action, HealthStatus, ObjectKey
from agent.results import Failure, Reason, Stage
from agent.sync.ownership import APP_LABEL
from agent.sync.plan import Batch, Step
from agent.sync.waiting import Outcome, Target, wait_for_health
from agent.sync.waves import Phase

WAITERS = 16  # health waits at once (one per written rank at most)
SETTLED_BY = (Action.CREATED, Action.CONFIGURED, Action.UNCHANGED)  # steps whose health counts

Written = Mapping[ObjectKey, Mapping[str, Any]]  # objects as their writes returned them


class Settle:
    """The health waits of one apply run."""

    def __init__(
        self,
        cluster: ClusterClient,
        app: str,
        deadline: float,
        on_wait: Callable[[str], None],
        rules: UserRules | None = None,
    ) -> None:
        self.cluster = cluster
        self.rules = rules
        self.verdicts: dict[ObjectKey, Health] = {}  # each settled object's last verdict, for the report
        self.selector = {APP_LABEL: app} if app else {}
        self.deadline = deadline
        self.on_wait = on_wait
        self._early: list[tuple[set[ObjectKey], Future[Outcome]]] = []
        self._waiters: ThreadPoolExecutor | None = None
        self._cancel = threading.Event()

    def close(self) -> None:
        self._cancel.set()  # early waits nobody will read (the run failed): let them go
        if self._waiters is not None:
            self._waiters.shutdown()
        self._waiters = None

    def early(self, group: list[Step], written: Written) -> None:
        """Start waiting for a written rank's health while the next ranks
        are written; :meth:`batch` then mostly finds the answer ready."""
        steps = [s for s in group if s.action in SETTLED_BY]
        known = {s.key: written.get(s.key, s.live) for s in steps}
        if self._all_healthy(steps, known):
            return  # settled by what the writes returned
        self._early.append(({s.key for s in steps}, self._start(steps, known)))

    def batch(self, batch: Batch, written: Written) -> Outcome | None:
        """Wait until the batch is healthy, one object is Degraded, or the
        deadline passes (None: there was nothing to wait for)."""
        early, self._early = self._early, []  # started while this batch was written
        steps = [s for s in batch.steps if s.action in SETTLED_BY]
        if not steps:
            return None
        known = {s.key: written.get(s.key, s.live) for s in steps}
        if not any(s.action is not Action.UNCHANGED for s in steps) and self._all_healthy(steps, known):
            return None  # nothing written and all healthy: no watch needed
        what = batch_name(batch)
        covered = {k for keys, _ in early for k in keys}
        waits = [f for _, f in early]
        if any(not f.done() for f in waits):
            self.on_wait(f"{what}: waiting for {len(covered)} object(s) to become healthy")
        rest = [s for s in steps if s.key not in covered]
        if rest:
            waits.append(self._start(rest, known, lambda m: self.on_wait(f"{what}: {m}")))
        return self._first_verdict(waits)

    def _all_healthy(self, steps: list[Step], known: Mapping[ObjectKey, Mapping[str, Any] | None]) -> bool:
        verdicts = {s.key: assess(known[s.key], self.rules) for s in steps}
        self.verdicts.update(verdicts)
        return all(h.status is HealthStatus.HEALTHY for h in verdicts.values())

    def _first_verdict(self, waits: list[Future[Outcome]]) -> Outcome:
        outcomes: list[Outcome] = []
        pending = set(waits)
        while pending:  # the first Degraded object decides, as one wait over the batch would
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            outcomes += [f.result() for f in done]
            for outcome in outcomes[-len(done) :]:
                self.verdicts.update(outcome.verdicts)
            if any(o.status is HealthStatus.DEGRADED for o in outcomes):
                self._cancel.set()
                break
        return worst(outcomes)

    def _start(
        self,
        steps: list[Step],
        known: Mapping[ObjectKey, Mapping[str, Any] | None],
        on_wait: Callable[[str], None] | None = None,
    ) -> Future[Outcome]:
        """A health wait for ``steps`` on its own thread (one per rank at
        most; each watches its kinds), ended early by :meth:`close`."""
        if self._waiters is None:
            self._waiters = ThreadPoolExecutor(max_workers=WAITERS, thread_name_prefix="health")
        return self._waiters.submit(
            wait_for_health,
            self.cluster,
            [Target(s.api_version, s.key) for s in steps],
            selector=self.selector,
            deadline=self.deadline,
            known={s.key: obj for s in steps if (obj := known.get(s.key)) is not None},
            on_wait=on_wait,
            cancel=self._cancel,
            rules=self.rules,
        )


def batch_name(batch: Batch) -> str:
    return "hooks" if batch.phase is not Phase.SYNC else f"wave {batch.wave}"


def worst(outcomes: list[Outcome]) -> Outcome:
    """One outcome for waits over parts of a batch: a Degraded object first,
    then the worst state still pending at the deadline; Healthy when all are."""
    for outcome in outcomes:
        if outcome.status is HealthStatus.DEGRADED:
            return outcome
    pending = [o for o in outcomes if not o.healthy]
    return max(pending, key=lambda o: o.status.rank) if pending else Outcome(HealthStatus.HEALTHY)


def health_failure(outcome: Outcome, batch: Batch, timeout: float) -> Failure:
    """The Health stage's failure: HealthTimeout when the deadline passed,
    HealthDegraded when an object went Degraded."""
    subject = str(outcome.key) if outcome.key else batch_name(batch)
    if outcome.timed_out:
        message = f"{subject} is still {outcome.status} after {timeout:g}s ({outcome.message})"
        return Failure(Stage.HEALTH, message, Reason.HEALTH_TIMEOUT)
    return Failure(Stage.HEALTH, f"{subject} is {outcome.status}: {outcome.message}", Reason.HEALTH_DEGRADED)
