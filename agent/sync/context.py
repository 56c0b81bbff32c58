"""What every stage of a sync needs: the configuration, a cluster, a git
cache, and the cluster's capabilities (asked once, kept a while).

A small value passed to each stage, as gitops-engine passes its sync
context; it holds no state of a sync, so one Context serves every app on
its cluster and every reconcile of a running agent.  With several clusters
there is one Context for each (:class:`agent.sync.contexts.Contexts`),
sharing the git cache and the render cache.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.cluster.base import ClusterClient
from agent.cluster.view import ClusterView, Followable
from agent.config import AgentConfig, Application, ClusterConfig
from agent.config.health import app_rules, user_rules
from agent.errors import AgentError
from agent.health import UserRules
from agent.render import Capabilities
from agent.render.context import APIVersions, KubeVersion
from agent.render.openapi import served_api_versions
from agent.source import GitSource
from agent.source.charts import ChartPuller
from agent.sync.ownership import APP_LABEL, owner_id
from agent.sync.record import RECORD_OF_LABEL, RecordStore
from agent.sync.render import chart_puller
from agent.sync.rendercache import RenderCache

CAPABILITIES_TTL = 300.0
RULES_KEPT = 64  # the apps' rules kept, by app and commit
Sharing = Literal["once", "follow"] | None


def shared_view(cluster: ClusterClient, *, follow: bool, state_namespace: str) -> ClusterClient:
    """``cluster`` behind a :class:`~agent.cluster.view.ClusterView` keyed
    by the labels only the agent sets (its app label; its records' label,
    in ``state_namespace`` only), when the client can list at a version and
    watch from one (a real API server, or the emulated one over HTTP);
    otherwise ``cluster`` itself."""
    if isinstance(cluster, ClusterView) or not isinstance(cluster, Followable):
        return cluster
    return ClusterView(cluster, {APP_LABEL: "", RECORD_OF_LABEL: state_namespace}, follow=follow)


@dataclass
class Context:
    """What every reconcile needs: the config, a cluster and a git cache.
    ``on``: which of the configuration's clusters ``cluster`` is (default:
    ``cluster:``, the one named ``default``); its records are kept in its
    own state namespace."""

    config: AgentConfig
    cluster: ClusterClient
    source: GitSource
    renders: RenderCache = field(default_factory=RenderCache, repr=False)
    on: ClusterConfig | None = field(default=None, repr=False)
    puller: Callable[[], ChartPuller] | None = field(default=None, repr=False)  # shared with other clusters
    _namespaces: set[str] = field(
        default_factory=set, init=False, repr=False
    )  # the records' namespace, once seen
    _capabilities: tuple[float, Capabilities] | None = field(default=None, init=False, repr=False)
    _rules: UserRules | None = field(default=None, init=False, repr=False)
    _app_rules: OrderedDict[tuple[str, str, str], UserRules] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _rules_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _asking: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _charts: ChartPuller | None = field(default=None, init=False, repr=False)

    @classmethod
    def create(
        cls,
        config: AgentConfig,
        cluster: ClusterClient,
        *,
        shared: Sharing = None,
        on: ClusterConfig | None = None,
        source: GitSource | None = None,
        renders: RenderCache | None = None,
        puller: Callable[[], ChartPuller] | None = None,
    ) -> Context:
        """``shared``: read the apps' objects and records through one shared
        view of the cluster (:func:`shared_view`): ``"once"`` lists each kind
        once for every app (a command over many apps), ``"follow"`` keeps
        it current with one watch per kind (the daemon).  ``source`` and
        ``renders`` and ``puller`` (charts from chart repositories): the
        caches of other clusters' Contexts, shared (a checkout, a render and
        a pulled chart do not depend on the cluster)."""
        if shared is not None:
            settings = on if on is not None else config.cluster
            cluster = shared_view(
                cluster, follow=shared == "follow", state_namespace=settings.state_namespace
            )
        source = source if source is not None else GitSource.from_config(config)
        return cls(config, cluster, source, renders if renders is not None else RenderCache(), on, puller)

    @property
    def settings(self) -> ClusterConfig:
        """The configuration's entry for this Context's cluster."""
        return self.on if self.on is not None else self.config.cluster

    @property
    def cluster_name(self) -> str:
        return self.settings.name

    def charts(self) -> ChartPuller:
        """Charts from chart repositories, cached under the state folder."""
        if self._charts is None:
            self._charts = self.puller() if self.puller is not None else chart_puller(self.config)
        return self._charts

    def health_rules(
        self, app: Application | None = None, root: Path | None = None, commit: str = ""
    ) -> UserRules:
        """The user's health rules: ``app``'s own (``apps[].health``, with the
        scripts of its repository's ``luaDir`` in the checkout at ``root``, at
        ``commit``) over the config's ``health:``.  Each is read once: the
        config's for the agent's life, an app's per commit (a commit's files
        never change), the last :data:`RULES_KEPT` kept."""
        if self._rules is None:
            self._rules = user_rules(self.config.health, self.config.base_dir)
        if app is None or not (app.health.checks or app.health.lua_dir):
            return self._rules
        key = (app.name, commit if root is not None else "", app.health.model_dump_json())
        with self._rules_lock:
            found = self._app_rules.get(key)
            if found is not None:
                self._app_rules.move_to_end(key)
                return found
        found = app_rules(app, root, commit).over(self._rules)  # raises on a bad folder: nothing is kept
        with self._rules_lock:
            self._app_rules[key] = found
            while len(self._app_rules) > RULES_KEPT:
                self._app_rules.popitem(last=False)
        return found

    def capabilities(self) -> Capabilities:
        """What templates see as ``capabilities``: the cluster's version and
        served APIs, asked at most every CAPABILITIES_TTL seconds (CRDs come
        and go), or the documented default when the cluster cannot say.  The
        served APIs (discovery of every group) are asked for only when a
        template looks at them.  Apps reconciled side by side ask once."""
        with self._asking:
            return self._ask_capabilities()

    def _ask_capabilities(self) -> Capabilities:
        cached = self._capabilities
        if cached is None or time.monotonic() - cached[0] > CAPABILITIES_TTL:
            try:
                version = KubeVersion.parse(self.cluster.server_version())
                found = Capabilities(version, APIVersions(lambda: self._served(version)))
            except (AgentError, ValueError):
                found = Capabilities.default()
            cached = self._capabilities = (time.monotonic(), found)
        return cached[1]

    def _served(self, version: KubeVersion) -> list[str]:
        try:
            return self.cluster.server_info()[1]
        except AgentError:
            return served_api_versions(f"{version.major}.{version.minor}")

    def scope(self, api_version: str, kind: str) -> bool | None:
        """Whether the cluster serves ``kind`` namespaced (its discovery), or
        None when it does not serve it (yet: its CRD may come with the sync)."""
        try:
            return self.cluster.resource_type(api_version, kind).namespaced
        except AgentError:
            return None

    def owner(self, app: Application) -> str:
        return owner_id(self.settings.state_namespace, app.name)

    def records(self, app: Application | None = None) -> RecordStore:
        """The revision records, read and written under ``app``'s retry
        policy (the default policy without an app)."""
        retry = app.sync_policy.retry if app is not None else None
        return RecordStore(self.cluster, self.settings.state_namespace, retry, self._namespaces)
