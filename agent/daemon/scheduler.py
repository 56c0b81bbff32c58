"""When each app is reconciled: one APScheduler job per app.

The timer (an interval with jitter), webhooks and the API all feed the same
per-app job; runs of one app never overlap (a run takes the app's
``running`` flag; a job finding it taken returns).  ``max_instances=2``: with
one, a request that came as a run ended, before its job returned, was
dropped by APScheduler and waited for the app's next timer.  A request during
a run runs once right after it.  Apps run on ``concurrency`` threads.

Webhook requests wait a debounce window (a burst costs one reconcile).
Apps waiting form a bounded queue: a request growing it past ``queueSize``
is refused (HTTP 503); one for an app already waiting joins it.  A failed
run backs off exponentially; one bad app never stops the others.  ``drain``
stops taking work and waits for running reconciles; one cut off by the grace
period is safe to run again (the engine records only at the end).

The app set changes while the scheduler runs (:meth:`Scheduler.add`,
:meth:`~Scheduler.update`, :meth:`~Scheduler.remove`): a new app gets its
job and first run at once; a changed definition is read at the app's next
run (a new interval reschedules its timer); a removed app's job goes, its
waiting manual requests fail with :class:`AppRemoved`, and a run already
going finishes (an app re-added meanwhile takes that run over, so one app's
runs still never overlap).  As Argo CD's ApplicationSet controller and
Flux's kustomize-controller do when an object appears or goes: no restart.
``generation`` counts the app set's changes (for indexes built over it).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from agent.backoff import Backoff
from agent.config import AgentConfig, Application
from agent.daemon.logs import app_log
from agent.daemon.protocol import AppRemoved, Draining, QueueFull
from agent.daemon.state import AppState, Manual, Outcome, RunResult
from agent.results import Trigger

log = logging.getLogger("gitops_agent.scheduler")
REUSE_SECONDS = 10.0

Runner = Callable[[Application, AppState, Trigger, Manual | None], RunResult]
Then = Callable[[], None]
__all__ = ["AppRemoved", "Draining", "QueueFull", "Runner", "Scheduler"]


def _round_since(app: Application, requested_at: float | None) -> float:
    """Since when the remote's answers are fresh enough for this run: a
    requested run (webhook, API) wants answers from after the request, so
    the apps one push asks for share one ``ls-remote``; a timer's poll takes
    an answer up to REUSE_SECONDS old (at most a tenth of its interval),
    so apps polled about together share it too."""
    if requested_at is not None:
        return requested_at
    return time.monotonic() - min(REUSE_SECONDS, app.interval_seconds / 10)


def _utc(seconds: float = 0.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


class Scheduler:
    def __init__(self, config: AgentConfig, runner: Runner, *, on_queue: Callable[[int], None] | None = None):
        daemon = config.daemon
        self.config = config
        self.runner = runner
        self.apps = {a.name: a for a in config.apps}
        self.states = {a.name: AppState(a.name) for a in config.apps}
        self.generation = 0  # one more at each change of the app set
        self.debounce = daemon.webhook.debounce_seconds
        self.queue_size = daemon.webhook.queue_size
        self.backoff = Backoff(initial=daemon.backoff.initial_seconds, maximum=daemon.backoff.max_seconds)
        self.jitter = daemon.jitter_percent / 100
        self.on_queue = on_queue or (lambda _n: None)
        self.after_run: Callable[[str, RunResult], None] | None = None  # each run's end (dependsOn)
        self._guard = threading.Lock()  # the queue: which apps wait (their state.pending)
        self._waiting: set[str] = set()  # whose state.pending is set (kept, not summed per run)
        self._idle = threading.Condition()
        self._draining = False
        self._started = False
        self._retired: dict[str, tuple[AppState, Then | None]] = {}  # removed while their run goes on
        self.last_tick = time.monotonic()  # the heartbeat: the scheduler's own loop still runs jobs
        self.heartbeat = min(5.0, daemon.liveness_seconds / 4)
        self._scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(max_workers=daemon.concurrency),
                "heartbeat": ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={"max_instances": 2, "coalesce": True, "misfire_grace_time": None},
            timezone=UTC,
        )

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """One job per app; first runs spread over a few seconds."""
        with self._guard:  # an app added meanwhile gets its job here or in add()
            spread = min(5.0, 0.05 * len(self.apps))
            for app in self.apps.values():
                self._add_job(app, random.uniform(0, spread))  # noqa: S311 (spreading load, not security)
            self._started = True
        self._scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.heartbeat, timezone=UTC),
            id=":heartbeat",
            executor="heartbeat",
        )
        self._scheduler.start()
        self._tick()

    def _trigger(self, app: Application) -> IntervalTrigger:
        seconds = app.interval_seconds
        return IntervalTrigger(seconds=seconds, jitter=seconds * self.jitter or None, timezone=UTC)

    def _add_job(self, app: Application, delay: float) -> None:
        self._scheduler.add_job(
            self._job,
            self._trigger(app),
            args=[app.name],
            id=app.name,
            name=app.name,
            next_run_time=_utc(delay),
            replace_existing=True,
        )

    # -- the app set ------------------------------------------------------------------
    def names(self) -> list[str]:
        with self._guard:
            return list(self.apps)

    def add(self, app: Application) -> None:
        """Serve a new app: its job, and a first run now.  An app of that
        name whose removal still waits for its run is taken back, run and
        state included (the two runs must not overlap)."""
        with self._guard:
            if app.name in self.apps:
                self._update(app)
                return
            retired = self._retired.pop(app.name, None)
            self.apps[app.name], self.generation = app, self.generation + 1
            state = self.states[app.name] = retired[0] if retired is not None else AppState(app.name)
            with state.lock:
                if state.running and state.pending is None:  # one more run, right after, with this definition
                    state.pending = Trigger.SCHEDULE
                self._queue(state)
            if self._started and not self._draining:
                self._add_job(app, 0.0)
        if retired is not None:
            log.info("back in the fleet before its removal finished", **app_log(app.name, stage="fleet"))

    def update(self, app: Application) -> None:
        """A changed definition: the next run reads it; a new interval
        reschedules the app's timer from now."""
        with self._guard:
            if app.name not in self.apps:
                raise KeyError(app.name)
            self._update(app)

    def _update(self, app: Application) -> None:
        old = self.apps[app.name]
        self.apps[app.name], self.generation = app, self.generation + 1
        if old.interval_seconds == app.interval_seconds or not self._started or self._draining:
            return
        with contextlib.suppress(LookupError):
            self._scheduler.reschedule_job(app.name, trigger=self._trigger(app))

    def remove(self, name: str, then: Then | None = None) -> bool:
        """Stop serving ``name``: no more runs; its waiting manual requests
        fail with :class:`AppRemoved`.  ``then`` is called once its running
        reconcile, if any, has finished (at once when none runs; from the
        job's thread otherwise).  False when no such app was served."""
        with self._guard:
            state = self.states.pop(name, None)
            self.apps.pop(name, None)
            self.generation += 1
            if state is None:
                return False
            if self._started:
                with contextlib.suppress(LookupError):
                    self._scheduler.remove_job(name)
            with state.lock:
                waiters, state.manual = state.manual, []
                state.pending, state.requested_at = None, None
                running = state.running
                self._waiting.discard(name)
                if running:
                    self._retired[name] = (state, then)
            self.on_queue(self.queued())
        for _, future in waiters:
            if not future.done():
                future.set_exception(AppRemoved(f"{name} was removed from the fleet before its run"))
        if not running and then is not None:
            then()
        return True

    def _retire(self, state: AppState) -> None:
        """A run ended: when its app was removed meanwhile, the removal's
        ``then`` goes now."""
        with self._guard:
            retired = self._retired.get(state.name)
            if retired is None or retired[0] is not state:
                return
            del self._retired[state.name]
        if retired[1] is not None:
            retired[1]()

    def _tick(self) -> None:
        self.last_tick = time.monotonic()

    def stalled_for(self) -> float:
        """Seconds since the scheduler last ran its heartbeat job."""
        return time.monotonic() - self.last_tick

    @property
    def draining(self) -> bool:
        return self._draining

    def drain(self, grace: float) -> bool:
        """Stop taking work; wait up to ``grace`` seconds for running
        reconciles.  True when none was cut off."""
        self._draining = True
        self._scheduler.pause()
        deadline = time.monotonic() + grace
        with self._idle:
            while self.running():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._idle.wait(min(left, 0.5))
        busy = self.running()
        self._scheduler.shutdown(wait=False)
        with self._guard:
            states = list(self.states.values())
        for state in states:
            with state.lock:
                waiters, state.manual = state.manual, []
            for _, future in waiters:
                if not future.done():
                    future.set_exception(Draining("the agent is shutting down"))
        return not busy

    def running(self) -> list[str]:
        """The apps whose reconcile runs now (a removed app's last run too)."""
        with self._guard:
            states = [*self.states.values(), *(r[0] for r in self._retired.values())]
        return [s.name for s in states if s.running]

    def queued(self) -> int:
        return len(self._waiting)

    def _queue(self, state: AppState) -> None:
        """Count ``state`` as waiting or not, as its ``pending`` says (under the guard)."""
        if state.pending is None:
            self._waiting.discard(state.name)
        else:
            self._waiting.add(state.name)

    def next_run(self, name: str) -> str:
        job = self._scheduler.get_job(name)
        when = getattr(job, "next_run_time", None) if job is not None else None
        return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""

    # -- requests ---------------------------------------------------------------------
    def request(
        self, names: Iterable[str], trigger: Trigger, manual: Manual | None = None
    ) -> list[Future[Any]]:
        """Ask for a run of each app.  All or nothing: QueueFull when the
        apps not yet waiting do not fit in the queue beside those waiting;
        an empty queue takes any one request (a push that selects more apps
        than the queue holds must not be refused with nothing waiting).
        An app no longer served: a manual request raises
        :class:`AppRemoved`, any other request skips it."""
        if self._draining:
            raise Draining("the agent is shutting down")
        futures: list[Future[Any]] = []
        with self._guard:
            names = list(dict.fromkeys(names))
            gone = [n for n in names if n not in self.states]
            if gone and manual is not None:
                raise AppRemoved(f"no app named {gone[0]!r} in the fleet")
            names = [n for n in names if n in self.states]
            new = [n for n in names if self.states[n].pending is None]
            waiting = self.queued()
            if new and waiting and waiting + len(new) > self.queue_size:
                raise QueueFull(
                    f"{self.queued()} apps are waiting for a reconcile (queue size {self.queue_size})"
                )
            delay = self.debounce if trigger == Trigger.WEBHOOK else 0.0
            for name in names:
                state = self.states[name]
                with state.lock:
                    if manual is not None:
                        future: Future[Any] = Future()
                        state.manual.append((manual, future))
                        futures.append(future)
                    if state.pending is not None:
                        if manual is not None and not state.running:
                            self._wake(name, 0.0)  # a manual request does not wait for the debounce
                        continue  # joins the run already asked for
                    state.pending = trigger
                    state.requested_at = time.monotonic()
                    self._waiting.add(name)
                    if not state.running:
                        self._wake(name, delay)
            self.on_queue(self.queued())
        return futures

    def _wake(self, name: str, delay: float) -> None:
        self._scheduler.modify_job(name, next_run_time=_utc(delay))

    # -- the job ------------------------------------------------------------------------
    def _job(self, name: str) -> None:
        with self._guard:
            state = self.states.get(name)
        if state is None:  # removed just now
            return
        with state.lock:
            if self._draining or state.running:
                return
            state.running = True
        try:
            self._runs(name, state)
        finally:
            with state.lock:
                state.running = False
            self._retire(state)
            with self._idle:
                self._idle.notify_all()
        self._reschedule(state)

    def _runs(self, name: str, state: AppState) -> None:
        """Run until nothing more is asked of the app; each run reads the
        app's definition as it is then."""
        while True:
            with self._guard, state.lock:
                app = self.apps.get(name) if self.states.get(name) is state else None
                if app is None:  # removed: its requests were answered
                    return
                trigger = state.pending or Trigger.SCHEDULE
                state.round_since = _round_since(app, state.requested_at if state.pending else None)
                state.pending, state.requested_at = None, None
                self._waiting.discard(name)
                manual, future = state.manual.pop(0) if state.manual else (None, None)
                self.on_queue(self.queued())
            result = self._run_once(app, state, trigger, manual)
            if future is not None:
                future.set_result(result)
            if self.after_run is not None:
                self.after_run(name, result)
            with state.lock:  # deciding to stop and stopping are one step: no request is lost
                if self._draining or (state.pending is None and not state.manual):
                    state.running = False
                    return

    def _run_once(
        self, app: Application, state: AppState, trigger: Trigger, manual: Manual | None
    ) -> RunResult:
        try:
            return self.runner(app, state, trigger, manual)
        except Exception as e:  # a bug in one app's run must not stop the others
            log.exception("reconcile crashed", **app_log(app.name, stage="reconcile"))
            with state.lock:
                state.failures += 1
            now = _utc().strftime("%Y-%m-%dT%H:%M:%SZ")
            message = f"internal error: {type(e).__name__}"
            return RunResult(trigger, now, now, 0.0, Outcome.FAILED, message=message)

    def _reschedule(self, state: AppState) -> None:
        """After a failure: back off (sooner than the interval at first,
        capped); a request that came meanwhile still runs at once."""
        if self._draining or state.failures == 0:
            return
        with self._guard:
            if self.states.get(state.name) is not state:  # removed meanwhile
                return
        with state.lock:
            if state.pending is not None or state.manual:
                return
            delay = self.backoff.delay(state.failures)
        try:
            self._scheduler.modify_job(state.name, next_run_time=_utc(delay))
        except LookupError:  # shut down meanwhile
            return
        log.info(
            "retrying in %.1fs (failure %d in a row)",
            delay,
            state.failures,
            **app_log(state.name, stage="backoff"),
        )
