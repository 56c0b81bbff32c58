"""What every stage of a sync needs: the configuration, a cluster, a git
cache, and the cluster's capabilities (asked once, kept a while).

A small value passed to each stage, as gitops-engine passes its sync
context; it holds no state of a sync, so one Context serves every app and
every reconcile of a running agent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from agent.cluster.base import ClusterClient
from agent.config import AgentConfig, Application
from agent.config.health import user_rules
from agent.errors import AgentError
from agent.health import UserRules
from agent.render import Capabilities
from agent.render.context import APIVersions, KubeVersion
from agent.render.openapi import served_api_versions
from agent.source import GitSource
from agent.source.charts import ChartPuller
from agent.sync.ownership import owner_id
from agent.sync.record import RecordStore
from agent.sync.render import chart_puller

CAPABILITIES_TTL = 300.0


@dataclass
class Context:
    """What every reconcile needs: the config, a cluster and a git cache."""

    config: AgentConfig
    cluster: ClusterClient
    source: GitSource
    _capabilities: tuple[float, Capabilities] | None = field(default=None, init=False, repr=False)
    _rules: UserRules | None = field(default=None, init=False, repr=False)
    _charts: ChartPuller | None = field(default=None, init=False, repr=False)

    @classmethod
    def create(cls, config: AgentConfig, cluster: ClusterClient) -> Context:
        return cls(config, cluster, GitSource.from_config(config))

    def charts(self) -> ChartPuller:
        """Charts from chart repositories, cached under the state folder."""
        if self._charts is None:
            self._charts = chart_puller(self.config)
        return self._charts

    def health_rules(self) -> UserRules:
        """The user's health rules (``health:`` in the config), read once."""
        if self._rules is None:
            self._rules = user_rules(self.config.health, self.config.base_dir)
        return self._rules

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
        return owner_id(self.config.cluster.state_namespace, app.name)

    def records(self, app: Application | None = None) -> RecordStore:
        """The revision records, read and written under ``app``'s retry
        policy (the default policy without an app)."""
        retry = app.sync_policy.retry if app is not None else None
        return RecordStore(self.cluster, self.config.cluster.state_namespace, retry)
