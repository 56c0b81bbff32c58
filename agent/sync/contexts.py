"""One reconcile Context per cluster, made when an app on it first needs it.

Each cluster has its own connection, capabilities, shared view of its
objects and its revision records (in its own state namespace); a checkout,
a render and a pulled chart do not depend on the cluster, so the git cache,
the render cache and the chart puller are one for all of them.  As Argo CD
keeps a cluster cache per destination cluster beside one repo-server, the
agent keeps a :class:`~agent.sync.context.Context` per cluster beside one
:class:`~agent.source.GitSource`.

A command connects only to the clusters its apps use; the daemon to each
cluster as its first app runs.  Contexts are made on first use and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from agent.cluster import reach
from agent.cluster.base import ClusterClient
from agent.cluster.view import ClusterView
from agent.config import AgentConfig, Application, ClusterConfig
from agent.source import GitSource
from agent.source.charts import ChartPuller
from agent.sync.context import Context, Sharing
from agent.sync.render import chart_puller
from agent.sync.rendercache import RenderCache

Connector = Callable[[ClusterConfig], ClusterClient]


class Contexts:
    """The Contexts of a configuration's clusters, by name.

    ``connector`` makes a cluster's client from its configuration (default:
    :func:`agent.cluster.reach`: a cluster that cannot be connected to fails
    only the apps on it); ``given`` are clients already made
    (their caller closes them: :meth:`close` closes only what was connected
    here); ``shared`` is each Context's view of its cluster
    (:meth:`Context.create`)."""

    def __init__(
        self,
        config: AgentConfig,
        connector: Connector | None = None,
        *,
        shared: Sharing = None,
        given: Mapping[str, ClusterClient] | None = None,
    ) -> None:
        self.config = config
        self.source = GitSource.from_config(config)
        # renders are kept between processes, under the state folder
        self.renders = RenderCache(folder=config.resolve(config.state_dir) / "renders")
        self.shared: Sharing = shared
        self._connect: Connector = connector or (lambda c: reach(config, c))
        self._given = dict(given or {})
        self._made: dict[str, Context] = {}
        self._lock = threading.Lock()
        self._charts: ChartPuller | None = None
        self._charts_lock = threading.Lock()

    def get(self, name: str | None = None) -> Context:
        """The Context of the cluster ``name`` (default: ``cluster:``),
        connected on first use (a ConfigError naming the known clusters when
        there is none so named)."""
        name = name if name is not None else self.config.cluster.name
        with self._lock:
            found = self._made.get(name)
            if found is not None:
                return found
            settings = self.config.cluster_named(name)
            client = self._given.get(name) or self._connect(settings)
            found = Context.create(
                self.config,
                client,
                shared=self.shared,
                on=settings,
                source=self.source,
                renders=self.renders,
                puller=self.charts,
            )
            self._made[name] = found
            return found

    def charts(self) -> ChartPuller:
        """One chart puller for every cluster (its cache of resolved versions,
        its lock on the charts folder), made when a chart is first pulled."""
        with self._charts_lock:
            if self._charts is None:
                self._charts = chart_puller(self.config)
            return self._charts

    def of(self, app: Application) -> Context:
        """The Context of the cluster ``app`` goes to (``destination.cluster``)."""
        return self.get(app.cluster)

    def made(self) -> dict[str, Context]:
        """The Contexts made so far, by cluster name."""
        with self._lock:
            return dict(self._made)

    def stop(self) -> None:
        """End every shared view's watches (the clients stay open)."""
        for ctx in self.made().values():
            if isinstance(ctx.cluster, ClusterView):
                ctx.cluster.stop()

    def close(self) -> None:
        """Close what was connected here (a given client's views stop only)."""
        for name, ctx in self.made().items():
            if name not in self._given:
                ctx.cluster.close()
            elif isinstance(ctx.cluster, ClusterView):
                ctx.cluster.stop()


__all__ = ["Connector", "Contexts"]
