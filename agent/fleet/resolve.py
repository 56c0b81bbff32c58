"""The fleet, resolved: every app of ``agent.yaml``, of its AppSets, and of
the ``Application`` and ``AppSet`` documents in the apps' renders.

:func:`resolve` reads, level by level (the apps of one level side by side):

1. ``apps:`` and the apps ``appSets:`` generate;
2. each app's render at its current commit (fetched and rendered as a sync
   would, kept by the render cache, so the sync that follows renders
   nothing again); the documents in it declare apps (``Origin("app",
   parent)``) and AppSets (their apps: ``Origin("appset", name)``), which
   are read in turn, at most :data:`MAX_DEPTH` levels below ``agent.yaml``.

Nothing that cannot be read removes an app: a parent whose render fails
keeps the apps it declared in ``previous`` (the fleet the caller had), a
generator that fails keeps the apps it made last time
(:mod:`agent.fleet.budget`), and each says why in ``Fleet.problems``.  Two
definitions of one app name are refused, naming both; the first (in the
order above) stays.  The same commits give the same fleet, in the same
order, on every replica.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.config import AgentConfig, Application
from agent.errors import AgentError, ConfigError
from agent.fleet import Fleet, FleetApp, Origin, graph, known
from agent.fleet.budget import AppSetState, judge, names_of
from agent.fleet.documents import DeclaredAppSet, Definitions, inline_app_sets, read_definitions
from agent.fleet.generators import Generating, GeneratorFailed, generate
from agent.sync.context import Context
from agent.sync.contexts import Contexts
from agent.sync.fetch import fetch
from agent.sync.fleet import each_app
from agent.sync.pipeline import render_fetched
from agent.sync.render import definitions_of

MAX_DEPTH = 5  # levels of apps declared by apps below agent.yaml


@dataclass
class _Pass:
    ctx: Contexts | Context
    previous: Fleet | None
    remember: bool
    declared: AgentConfig
    max_depth: int = MAX_DEPTH
    apps: list[FleetApp] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)  # app name -> what defined it
    sets: dict[str, str] = field(default_factory=dict)  # AppSet name -> where it is written
    problems: list[str] = field(default_factory=list)
    failed_parents: bool = False
    unsure: bool = False  # an app may be missing because something could not be read
    unread: list[str] = field(default_factory=list)  # apps that declared nothing before and cannot be read

    @property
    def config(self) -> AgentConfig:
        return self.declared

    def of(self, app: Application) -> Context:
        """The Context of the cluster ``app`` goes to (its records say whether it is installed)."""
        return self.ctx.of(app) if isinstance(self.ctx, Contexts) else self.ctx

    def add(self, app: Application, origin: Origin, where: str) -> FleetApp | None:
        known = {c.name for c in self.config.all_clusters()}
        if app.cluster not in known:
            self.problems.append(
                f"{where}: app {app.name!r}: destination.cluster {app.cluster!r} is not configured; "
                "app refused"
            )
            self.unsure = True  # refused, not removed: its objects must not be deleted for it
            return None
        if app.name in self.where:
            self.problems.append(
                f"app {app.name!r} is defined twice: by {self.where[app.name]} and by {where}; "
                "the second definition is refused"
            )
            return None
        self.where[app.name] = where
        found = FleetApp(app, origin)
        self.apps.append(found)
        return found

    # -- AppSets -------------------------------------------------------------------
    def app_set(self, declared: DeclaredAppSet, state: AppSetState | None) -> list[FleetApp]:
        """The apps of one AppSet, under its deletion budget."""
        name = declared.app_set.name
        if name in self.sets:
            self.problems.append(
                f"appset {name!r} is defined twice: in {self.sets[name]} and in {declared.where}; "
                "the second is refused"
            )
            return []
        self.sets[name] = declared.where
        try:
            # the cluster's memory; else (none written yet: say, no leader so far) the caller's fleet
            previous = (state.load(name) if state is not None else {}) or self._previous_of(name)
        except AgentError as e:
            self.problems.append(str(e))
            previous, state = self._previous_of(name), None
            self.unsure = True
        try:
            generated: list[Application] | None = generate(
                Generating(self._checkout, self.config.all_clusters(), declared)
            )
            failure = ""
        except (GeneratorFailed, AgentError) as e:
            generated, failure = None, str(e)
        verdict = judge(name, declared.app_set.spec.deletion_budget, previous, generated, failure)
        if verdict.problem:
            self.problems.append(verdict.problem)
        if verdict.remember and state is not None and self.remember:
            try:
                state.save(name, verdict.apps)
            except AgentError as e:
                self.problems.append(str(e))
        origin = Origin("appset", name)
        added = [self.add(a, origin, f"appset {name}") for a in verdict.apps]
        return [a for a in added if a is not None]

    def _previous_of(self, app_set: str) -> dict[str, Application]:
        """Without the cluster's memory: the caller's fleet."""
        if self.previous is None:
            return {}
        return {f.app.name: f.app for f in self.previous.apps if f.origin == Origin("appset", app_set)}

    def _checkout(self, repo: str, revision: str) -> Path:
        location = self.config.repo_location(Application.model_construct(repo=repo))
        return self.ctx.source.checkout(location, revision).root

    # -- parents -------------------------------------------------------------------
    def read(self, app: Application) -> Definitions | AgentError:
        """What one app's render declares, or why it cannot be read (apps of a
        level are read side by side: nothing here changes the pass)."""
        try:
            ctx = self.of(app)
            return read_definitions(definitions_of(render_fetched(ctx, app, fetch(ctx, app))), app)
        except AgentError as e:
            return e

    def children(
        self, parent: Application, read: Definitions | AgentError, state: AppSetState | None, deeper: bool
    ) -> list[FleetApp]:
        """The apps ``parent`` declares (when its render cannot be read: what it declared before)."""
        if isinstance(read, AgentError):
            before = self.previous.apps if self.previous else ()
            kept = [f for f in before if f.origin == Origin("app", parent.name)]
            self.failed_parents = True
            if not kept and not isinstance(read, ConfigError):  # its sync says why; one line for all
                self.unread.append(parent.name)
                return []
            self.problems.append(
                f"app {parent.name}: cannot read the apps it declares ({read}); {len(kept)} kept as they were"
            )
            added = [self.add(f.app, f.origin, f"app {parent.name}") for f in kept]
            return [a for a in added if a is not None]
        if deeper and (read.apps or read.app_sets):
            self.problems.append(
                f"app {parent.name}: declares apps more than {self.max_depth} levels below agent.yaml "
                "(an app declaring itself?); they are refused"
            )
            return []
        out = [self.add(a, Origin("app", parent.name), f"app {parent.name}") for a in read.apps]
        found = [a for a in out if a is not None]
        for declared in read.app_sets:
            found.extend(self.app_set(declared, state))
        return found


def resolve(
    ctx: Contexts | Context,
    *,
    previous: Fleet | None = None,
    remember: bool = True,
    max_depth: int = MAX_DEPTH,
    config: AgentConfig | None = None,
    renders: bool = True,
) -> Fleet:
    """The fleet ``ctx.config`` declares, at the current commits of its apps.
    ``ctx``: the Contexts of the configuration's clusters (each app is read
    as its own cluster's sync reads it; the AppSets' memory is kept in the
    ``default`` cluster), or one Context for all.

    ``previous``: the fleet the caller had (the daemon's), whose apps a
    parent that cannot be read keeps.  ``remember``: keep each AppSet's
    apps in the cluster for its deletion budget (off for commands that only
    read).  ``config``: the configuration whose apps and AppSets are read
    (default: ``ctx.config``; the daemon's file, read again, has newer ones).
    ``renders=False``: only ``agent.yaml``'s apps and its AppSets' (no app is
    rendered to look for the apps it declares): the daemon's first fleet,
    served while the whole one is resolved.  ``Fleet.complete`` says whether
    everything was read (only then is an app missing from it removed)."""
    declared = config if config is not None else ctx.config
    run = _Pass(ctx, previous, remember, declared, max_depth)
    home = ctx.get() if isinstance(ctx, Contexts) else ctx
    state = AppSetState(home.cluster, home.settings.state_namespace)
    level = [a for a in (run.add(app, Origin(), "agent.yaml") for app in declared.apps) if a is not None]
    for app_set in inline_app_sets(declared.app_sets):
        level.extend(run.app_set(app_set, state))
    depth = 0
    while level and renders:
        depth += 1
        apps = [f.app for f in level]
        reads = each_app(apps, run.read, ctx.source)
        level = [
            f
            for app, read in zip(apps, reads, strict=True)
            for f in run.children(app, read, state, depth > max_depth)
        ]
    if run.failed_parents and previous is not None:
        for f in previous.apps:
            if f.origin.kind == "appset" and f.origin.parent not in run.sets and f.app.name not in run.where:
                run.add(f.app, f.origin, f"appset {f.origin.parent}")
    if run.unread:
        run.problems.append(
            f"not rendered, so the apps they may declare are unknown (their syncs say why): "
            f"{names_of(run.unread)} ({len(run.unread)} in all)"
        )
    run.problems.extend(graph.problems([f.app for f in run.apps]))  # unknown dependsOn names, cycles
    complete = renders and not (run.failed_parents or run.unread or run.unsure)
    fleet = Fleet(tuple(run.apps), tuple(run.problems), complete)
    if renders:
        known.keep(declared, fleet)  # what shell completion offers
    return fleet


__all__ = ["MAX_DEPTH", "resolve"]
