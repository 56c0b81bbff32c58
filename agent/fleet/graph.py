"""The ``dependsOn`` graph of a fleet: checked, and put in order.

An app names the apps it waits for (Flux's ``dependsOn``, across kinds and
clusters here, which Flux's cannot: flux2#3364); a name that is not in the
fleet, or a cycle, is refused with the names involved (``a -> b -> a``).
The order is in waves: every app of a wave depends only on apps of earlier
waves, so the apps of one wave run side by side (the first sync of a fleet,
the one-shot ``sync`` of several apps).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agent.config import Application
from agent.config.fleet import cycle_text, find_cycle
from agent.errors import ConfigError


def check(apps: Sequence[Application]) -> None:
    """ConfigError naming an unknown dependency or a cycle; None when the
    graph is sound."""
    names = {a.name for a in apps}
    for app in apps:
        missing = [d for d in app.depends_on if d not in names]
        if missing:
            raise ConfigError(
                f"app {app.name!r}: dependsOn names {', '.join(map(repr, missing))}, not an app of the fleet"
            )
    if cycle := find_cycle({a.name: list(a.depends_on) for a in apps}):
        raise ConfigError(f"dependsOn forms a cycle: {cycle_text(cycle)}")


def problems(apps: Sequence[Application]) -> list[str]:
    """What :func:`check` would refuse, every one of it, as the fleet's
    problems (an unknown name per app, a cycle): the resolved fleet reports
    them (its apps in a cycle wait for each other, named, never sync)."""
    names = {a.name for a in apps}
    found = [
        f"app {a.name!r}: dependsOn names {', '.join(map(repr, missing))}, not an app of the fleet"
        for a in apps
        if (missing := [d for d in a.depends_on if d not in names])
    ]
    if cycle := find_cycle({a.name: list(a.depends_on) for a in apps}):
        found.append(f"dependsOn forms a cycle: {cycle_text(cycle)}")
    return found


def waves(apps: Sequence[Application]) -> list[list[Application]]:
    """``apps`` in dependency order, in waves (each app after the apps it
    depends on, the apps' own order within a wave).  Dependencies outside
    ``apps`` are taken as met (a sync of some apps of a fleet).  A cycle
    among them is a ConfigError naming it."""
    chosen = {a.name for a in apps}
    if cycle := find_cycle({a.name: [d for d in a.depends_on if d in chosen] for a in apps}):
        raise ConfigError(f"dependsOn forms a cycle: {cycle_text(cycle)}")
    placed: set[str] = set()
    left = list(apps)
    out: list[list[Application]] = []
    while left:
        wave = [a for a in left if all(d in placed or d not in chosen for d in a.depends_on)]
        out.append(wave)
        placed.update(a.name for a in wave)
        left = [a for a in left if a.name not in placed]
    return out


def dependents(apps: Iterable[Application]) -> dict[str, list[str]]:
    """For each app, the apps that name it in their ``dependsOn``."""
    found: dict[str, list[str]] = {}
    for app in apps:
        for dep in app.depends_on:
            found.setdefault(dep, []).append(app.name)
    return found


def closure(apps: Sequence[Application], name: str) -> list[str]:
    """Every app that waits for ``name``, directly or through others."""
    direct = dependents(apps)
    seen: list[str] = []
    todo = list(direct.get(name, []))
    while todo:
        n = todo.pop(0)
        if n not in seen:
            seen.append(n)
            todo.extend(direct.get(n, []))
    return seen


__all__ = ["check", "closure", "dependents", "problems", "waves"]
