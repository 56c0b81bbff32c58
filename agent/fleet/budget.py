"""The deletion budget of an AppSet: how many of its apps one pass may remove.

ApplicationSet removes every generated application when its generator
fails or returns nothing (argo-cd#9227, #18212); here a pass removes
nothing when

* a generator failed (its repository is gone, a file does not parse, a
  template is wrong): the apps it made last time stay, as they were;
* the generators returned no app at all, unless ``allowEmpty``;
* it would remove more than ``maxPercent`` of the apps it had.

The reason goes to the fleet's problems (``gitops-agent apps``, the status
page, the daemon's log).  What "last time" was is kept in the cluster, so a
restarted agent and every replica judge alike: a ConfigMap per AppSet in
the state namespace (:mod:`agent.fleet.stored`), holding the last
definition of each app (a kept app is kept as it was defined).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agent.cluster.base import ClusterClient
from agent.config import Application
from agent.config.fleet import DeletionBudget
from agent.fleet.stored import StoredApps

APPSET_LABEL = "gitops-agent.io/appset"
SHOWN = 5  # app names listed in a message


def state_name(app_set: str) -> str:
    return f"gitops-agent.appset.{app_set}"


@dataclass(frozen=True)
class Verdict:
    """What one pass of an AppSet leaves in the fleet."""

    apps: tuple[Application, ...]  # generated, and the ones kept
    removed: tuple[str, ...] = ()  # left the fleet in this pass
    problem: str = ""  # why nothing was removed (or the generator's error)
    remember: bool = True  # the apps are the AppSet's new "last time"


def names_of(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def judge(
    name: str,
    budget: DeletionBudget,
    previous: Mapping[str, Application],
    generated: Sequence[Application] | None,
    failure: str = "",
) -> Verdict:
    """The apps an AppSet has after a pass: ``generated`` (None when a
    generator failed: ``failure`` says why, naming the AppSet) against its
    ``previous`` apps."""
    kept = tuple(previous.values())
    if generated is None:
        problem = f"{failure}; nothing removed, its {len(kept)} apps are kept"
        return Verdict(kept, problem=problem, remember=False)
    if not generated and not budget.allow_empty:
        if not previous:
            return Verdict((), problem=f"appset {name}: the generators returned no apps", remember=False)
        return Verdict(
            kept,
            problem=(
                f"appset {name}: the generators returned no apps; nothing removed, its {len(kept)} "
                "apps are kept (deletionBudget.allowEmpty: true allows it)"
            ),
            remember=False,
        )
    now = {a.name for a in generated}
    removed = [n for n in previous if n not in now]
    if removed and generated and len(removed) * 100 > budget.max_percent * len(previous):
        share = len(removed) * 100 // len(previous)
        problem = (
            f"appset {name}: would remove {len(removed)} of its {len(previous)} apps ({share}%, more than "
            f"deletionBudget.maxPercent {budget.max_percent}%); nothing removed: {names_of(removed)}"
        )
        return Verdict((*generated, *(previous[n] for n in removed)), problem=problem)
    return Verdict(tuple(generated), tuple(removed))


class AppSetState:
    """The apps each AppSet made last time, kept in the cluster."""

    def __init__(self, cluster: ClusterClient, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def _stored(self, app_set: str) -> StoredApps:
        what = f"appset {app_set}: the apps it made last time"
        return StoredApps(self.cluster, self.namespace, state_name(app_set), {APPSET_LABEL: app_set}, what)

    def load(self, app_set: str) -> dict[str, Application]:
        """The AppSet's last apps by name ({} the first time)."""
        return {a.name: a for a in self._stored(app_set).load()}

    def save(self, app_set: str, apps: Sequence[Application]) -> None:
        """Remember ``apps`` as the AppSet's last (unchanged: no write)."""
        self._stored(app_set).save(apps)


__all__ = ["APPSET_LABEL", "AppSetState", "Verdict", "judge", "state_name"]
