"""The read-live stage: the cluster's objects a plan compares Git with.

One list per kind by the app's label (what the app owns, wherever it is),
then a look-up of each desired object the lists did not find (it may exist
without the app's marks: another owner's, or nobody's).  Argo CD's
gitops-engine keeps a watch-fed cache of the cluster instead; an agent that
keeps no state between syncs reads per sync, so the lists, independent of
each other, are asked side by side on a small pool of this module's (one
for the process, shared by the apps reconciled side by side): the read
costs about one round trip, not one per kind.  Behind a shared view of
the cluster (:class:`~agent.cluster.view.ClusterView`: the daemon's, or a
command's over many apps) the label lists are answered from memory: one
list (and watch) per kind for every app; :func:`confirm_prunes` checks the
view against the server before a prune.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.cluster.base import ClusterClient
from agent.cluster.view import ClusterView
from agent.config import RetryPolicy
from agent.kube.errors import NotFound
from agent.models import Action, Manifest, ObjectKey
from agent.sync import workers
from agent.sync.ownership import APP_LABEL, generated
from agent.sync.plan import Step
from agent.sync.record import RevisionRecord
from agent.sync.retry import with_retries

READ_PARALLELISM = 8
GET_EACH_UP_TO = 3  # more missing objects of one kind and namespace: one list instead of a get each

Live = dict[ObjectKey, dict[str, Any]]
Owned = dict[ObjectKey, str]  # key -> apiVersion of every object the app owns
_Group = tuple[str, str, str, list[Manifest]]  # apiVersion, kind, namespace, the manifests


def read_live(
    cluster: ClusterClient,
    app: str,
    manifests: tuple[Manifest, ...],
    last: RevisionRecord | None,
    retry: RetryPolicy | None = None,
) -> tuple[Live, Owned]:
    """Live objects of every kind the app has or had, and what it owns.

    The objects the label lists do not find are then looked up; on a first
    sync (no record: most objects are new) both are asked at once, one
    round trip instead of two.  Each read is retried under ``retry`` (the
    apply's policy) when it fails for a passing reason."""
    policy = retry or RetryPolicy()
    kinds = {(m.api_version, m.key.kind) for m in manifests}
    if last is not None:
        kinds |= {(i.api_version, i.kind) for i in last.inventory}
    ordered = sorted(kinds)
    live: Live = {}
    owned: Owned = {}

    def labelled(kind: tuple[str, str]) -> list[dict[str, Any]]:
        try:
            return with_retries(policy, lambda: cluster.list(kind[0], kind[1], "", {APP_LABEL: app}))
        except NotFound:  # a kind the cluster does not serve yet (CRD in this same sync)
            return []

    def lookup(group: _Group) -> Live:
        return _lookup(cluster, *group, policy=policy)

    pool = workers.pool("read", READ_PARALLELISM)
    early = [pool.submit(lookup, g) for g in _unlabelled(manifests, set())] if last is None else []
    lists = map(labelled, ordered) if isinstance(cluster, ClusterView) else pool.map(labelled, ordered)
    for (api_version, _), items in zip(ordered, lists, strict=True):  # a view answers from memory
        for obj in items:
            key = ObjectKey.of(obj)
            live[key] = obj
            owned[key] = api_version
    if last is not None:
        for item in last.inventory:
            owned.setdefault(item.key, item.api_version)
        for found in pool.map(lookup, _unlabelled(manifests, set(live))):
            live.update(found)
    for future in early:
        for key, obj in future.result().items():
            live.setdefault(key, obj)  # what the label list found is as good
    return live, owned


def confirm_prunes(cluster: ClusterClient, app: str, steps: Sequence[Step]) -> bool:
    """Before a prune deletes what a shared view of the cluster says the app
    owns, check the view against the server: one list per kind pruned.
    False when the view was behind (it now holds the server's answer, and
    the caller reads and plans again); True at once without a view."""
    if not isinstance(cluster, ClusterView):
        return True
    kinds = sorted({(s.api_version, s.key.kind) for s in steps if s.action is Action.PRUNED})
    return all([cluster.verify(api_version, kind, {APP_LABEL: app}) for api_version, kind in kinds])


def _unlabelled(manifests: tuple[Manifest, ...], keys: set[ObjectKey]) -> list[_Group]:
    """Desired objects not among ``keys``, by kind and namespace."""
    missing: dict[tuple[str, str, str], list[Manifest]] = {}
    for m in manifests:
        if m.key not in keys and not generated(m.obj):  # a generated hook is a new object each run
            missing.setdefault((m.api_version, m.key.kind, m.key.namespace), []).append(m)
    return [(api, kind, ns, group) for (api, kind, ns), group in missing.items()]


def _lookup(
    cluster: ClusterClient,
    api_version: str,
    kind: str,
    namespace: str,
    group: list[Manifest],
    *,
    policy: RetryPolicy,
) -> Live:
    """Desired objects the label list did not find: they may exist without
    the app's marks (another owner, or nobody)."""
    found: Live = {}
    try:
        if len(group) > GET_EACH_UP_TO:
            wanted = {m.key for m in group}
            for obj in with_retries(policy, lambda: cluster.list(api_version, kind, namespace)):
                key = ObjectKey.of(obj)
                if key in wanted:
                    found[key] = obj
            return found
        for m in group:
            one = with_retries(policy, lambda: cluster.get(api_version, kind, m.key.name, namespace))  # noqa: B023 - called at once
            if one is not None:
                found[m.key] = one
    except NotFound:  # a kind the cluster does not serve yet (its CRD comes in this sync)
        pass
    return found
