"""The stages of a reconcile before anything is written, and shared helpers.

``prepare`` runs fetch -> render -> read live -> plan and returns everything
known before the first write; :mod:`agent.sync.engine` and
:mod:`agent.sync.rollback` build on it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.cluster.base import ClusterClient
from agent.config import AgentConfig, Application
from agent.errors import AgentError
from agent.kube.errors import ClusterError, NotFound
from agent.models import Action, ChangeSetEntry, Manifest, ObjectKey, Revision
from agent.render import Capabilities, Release, RenderRequest, RenderResult, render
from agent.render.context import APIVersions, KubeVersion
from agent.render.openapi import served_api_versions
from agent.source import GitSource, signature_policy
from agent.sync.ownership import APP_LABEL, owner_id, stamp
from agent.sync.plan import Plan, plan
from agent.sync.record import InventoryItem, RecordStore, RevisionRecord

CAPABILITIES_TTL = 300.0


@dataclass
class Context:
    """What every reconcile needs: the config, a cluster and a git cache."""

    config: AgentConfig
    cluster: ClusterClient
    source: GitSource
    _capabilities: tuple[float, Capabilities] | None = field(default=None, init=False, repr=False)

    @classmethod
    def create(cls, config: AgentConfig, cluster: ClusterClient) -> Context:
        return cls(config, cluster, GitSource.from_config(config))

    def capabilities(self) -> Capabilities:
        """What templates see as ``capabilities``: the cluster's version and
        served APIs, asked at most every CAPABILITIES_TTL seconds (CRDs come
        and go), or the documented default when the cluster cannot say.  The
        served APIs (discovery of every group) are asked for only when a
        template looks at them."""
        cached = self._capabilities
        if cached is None or time.monotonic() - cached[0] > CAPABILITIES_TTL:
            try:
                version = KubeVersion.parse(self.cluster.server_version())
                found = Capabilities(version, APIVersions(lambda: self._served(version)))
            except (ClusterError, AgentError, ValueError):
                found = Capabilities.default()
            cached = self._capabilities = (time.monotonic(), found)
        return cached[1]

    def _served(self, version: KubeVersion) -> list[str]:
        try:
            return self.cluster.server_info()[1]
        except (ClusterError, AgentError):
            return served_api_versions(f"{version.major}.{version.minor}")

    def owner(self, app: Application) -> str:
        return owner_id(self.config.cluster.state_namespace, app.name)

    def records(self) -> RecordStore:
        return RecordStore(self.cluster, self.config.cluster.state_namespace)


@dataclass(frozen=True)
class Prepared:
    """Everything known before the first write."""

    revision: Revision
    manifests: tuple[Manifest, ...]
    plan: Plan
    last: RevisionRecord | None
    history: list[RevisionRecord]
    notes: str = ""  # the chart's rendered NOTES.txt


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(manifests: tuple[Manifest, ...], pause: Callable[[], None] | None = None) -> str:
    """sha256 of the manifests as one sorted, compact JSON list; encoded one
    manifest at a time (the same bytes), with ``pause`` called between them
    (see :class:`~agent.sync.record.EncodedManifests`)."""
    h = hashlib.sha256(b"[")
    for i, m in enumerate(manifests):
        if pause is not None:
            pause()
        h.update((("," if i else "") + json.dumps(m.obj, sort_keys=True, separators=(",", ":"))).encode())
    h.update(b"]")
    return h.hexdigest()


# -- stages ----------------------------------------------------------------------
def fetch(ctx: Context, app: Application, ref: str | None = None) -> tuple[Path, Revision]:
    checkout = ctx.source.checkout(
        ctx.config.repo_location(app), ref or app.revision, verify=signature_policy(ctx.config, app)
    )
    return checkout.root, checkout.revision


def render_app(
    ctx: Context,
    app: Application,
    root: Path,
    is_install: bool = True,
    capabilities: Callable[[], Capabilities] | None = None,
) -> RenderResult:
    """Render the app and stamp every object with the app's ownership marks
    (``capabilities``: how to get the cluster's, when asked already)."""
    result = render(
        RenderRequest(
            root=root,
            path=app.path,
            release=Release(name=app.name, namespace=app.namespace, is_install=is_install),
            values_files=tuple(app.values_files),
            values=app.values,
            label=f"{app.name}: {app.path}",
            validate=app.openapi_validation,
            capabilities=capabilities or ctx.capabilities,
        )
    )
    owner = ctx.owner(app)
    stamped = tuple(Manifest(stamp(m.obj, app.name, owner), m.source, m.index) for m in result.manifests)
    return replace(result, manifests=stamped)


def read_live(
    ctx: Context, app: Application, manifests: tuple[Manifest, ...], last: RevisionRecord | None
) -> tuple[dict[ObjectKey, dict[str, Any]], dict[ObjectKey, str]]:
    """Live objects of every kind the app has or had: one list per kind by
    the app label, then a get for each desired object not found that way
    (it may exist without the app's marks)."""
    kinds = {(m.api_version, m.key.kind) for m in manifests}
    if last is not None:
        kinds |= {(i.api_version, i.kind) for i in last.inventory}
    live: dict[ObjectKey, dict[str, Any]] = {}
    owned: dict[ObjectKey, str] = {}

    def labelled(kind: tuple[str, str]) -> list[dict[str, Any]]:
        try:
            return ctx.cluster.list(kind[0], kind[1], "", {APP_LABEL: app.name})
        except NotFound:  # a kind the cluster does not serve yet (CRD in this same sync)
            return []

    ordered = sorted(kinds)

    def unlabelled(keys: set[ObjectKey]) -> list[tuple[str, str, str, list[Manifest]]]:
        missing: dict[tuple[str, str, str], list[Manifest]] = {}
        for m in manifests:
            if m.key not in keys:
                missing.setdefault((m.api_version, m.key.kind, m.key.namespace), []).append(m)
        return [(api, kind, ns, group) for (api, kind, ns), group in missing.items()]

    # The lists are independent: asked side by side, the read costs one round trip, not one
    # per kind.  The objects the label lists do not find are then looked up; on a first sync
    # (no record: most objects are new) both are asked at once, one round trip instead of two.
    with ThreadPoolExecutor(max_workers=READ_PARALLELISM, thread_name_prefix="read") as pool:
        early = [pool.submit(_lookup, ctx, *g) for g in unlabelled(set())] if last is None else []
        for (api_version, _), items in zip(ordered, pool.map(labelled, ordered), strict=True):
            for obj in items:
                key = ObjectKey.of(obj)
                live[key] = obj
                owned[key] = api_version
        if last is not None:
            for item in last.inventory:
                owned.setdefault(item.key, item.api_version)
            for found in pool.map(lambda g: _lookup(ctx, *g), unlabelled(set(live))):
                live.update(found)
        for future in early:
            for key, obj in future.result().items():
                live.setdefault(key, obj)  # what the label list found is as good
    return live, owned


READ_PARALLELISM = 8


GET_EACH_UP_TO = 3  # more missing objects of one kind and namespace: one list instead of a get each


def _lookup(
    ctx: Context, api_version: str, kind: str, namespace: str, group: list[Manifest]
) -> dict[ObjectKey, dict[str, Any]]:
    """Desired objects the label list did not find: they may exist without
    the app's marks (another owner, or nobody)."""
    found: dict[ObjectKey, dict[str, Any]] = {}
    try:
        if len(group) > GET_EACH_UP_TO:
            wanted = {m.key for m in group}
            for obj in ctx.cluster.list(api_version, kind, namespace):
                key = ObjectKey.of(obj)
                if key in wanted:
                    found[key] = obj
            return found
        for m in group:
            one = ctx.cluster.get(api_version, kind, m.key.name, namespace)
            if one is not None:
                found[m.key] = one
    except NotFound:  # a kind the cluster does not serve yet (its CRD comes in this sync)
        pass
    return found


def prepare(ctx: Context, app: Application, ref: str | None = None, prune: bool | None = None) -> Prepared:
    """Fetch, render, read live and plan: everything before the first write.

    The fetch (git, in a subprocess) runs beside the first questions to the
    cluster, the app's history and the cluster's capabilities; the render
    waits for the capabilities only when it needs them (a chart's templates,
    the schema check at its end), so plain YAML is parsed meanwhile.  A
    failed fetch is reported before anything the cluster said."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ask") as pool:
        asked = pool.submit(ctx.records().history, app.name)
        capabilities = pool.submit(ctx.capabilities)  # never fails: the default when unknown
        try:
            root, revision = fetch(ctx, app, ref)
        except BaseException:
            asked.cancel()
            raise
        history = asked.result()
        last = history[-1] if history else None
        rendered = render_app(ctx, app, root, is_install=last is None, capabilities=capabilities.result)
    manifests = rendered.manifests
    live, owned = read_live(ctx, app, manifests, last)
    the_plan = plan(
        manifests,
        live,
        owned,
        owner=ctx.owner(app),
        prune=app.sync_policy.prune if prune is None else prune,
        is_install=last is None,
        adopt=app.sync_policy.adopt,
        allow_empty=app.sync_policy.allow_empty,
        max_prune_percent=app.sync_policy.max_prune_percent,
        last_applied={Manifest(o).key: o for o in last.manifests} if last is not None else None,
        ignore=[d.rule() for d in app.ignore_differences],
        strict=app.strict_drift,
    )
    return Prepared(revision, manifests, the_plan, last, history, rendered.notes)


def inventory(
    last: RevisionRecord | None, the_plan: Plan, entries: list[ChangeSetEntry]
) -> tuple[InventoryItem, ...]:
    """What the app owns after a sync: every desired object that exists,
    every owned object that was not pruned (nothing is ever orphaned)."""
    done = {e.key: e.action for e in entries}
    items: dict[ObjectKey, InventoryItem] = {}
    if last is not None:
        for item in last.inventory:
            items[item.key] = item
    for step in the_plan.resources:
        item = InventoryItem(step.api_version, step.key.kind, step.key.namespace, step.key.name)
        action = done.get(step.key)
        if action is Action.PRUNED:
            items.pop(step.key, None)
        elif action in (Action.CREATED, Action.CONFIGURED, Action.UNCHANGED) or step.live is not None:
            items[step.key] = item
    return tuple(sorted(items.values(), key=lambda i: (i.kind, i.namespace, i.name)))
