"""The only package that talks to a cluster.

A configuration names one cluster or several: ``cluster:`` is the one
named ``default``, ``clusters:`` adds named ones (each an emulated database,
a kubeconfig context, or in-cluster).  :func:`connect` and :func:`describe`
take a cluster's name (or its :class:`~agent.config.ClusterConfig`); without
one they mean ``default``, as before there were several.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.cluster.base import ClusterClient
from agent.cluster.lightly import load_lightly
from agent.kube.errors import ClusterError

load_lightly()  # before any module of this package imports the official client

if TYPE_CHECKING:  # the configuration's models (pydantic) load with the configuration itself
    from agent.config import AgentConfig, ClusterConfig


def settings(config: AgentConfig, name: str | ClusterConfig | None = None) -> ClusterConfig:
    """The cluster ``name`` (``default``: the file's ``cluster:``); a
    ConfigError naming the known clusters when there is none by that name."""
    if name is None:
        return config.cluster
    if isinstance(name, str):
        return config.cluster_named(name)
    return name


def connect(
    config: AgentConfig, context: str | None = None, *, name: str | ClusterConfig | None = None
) -> ClusterClient:
    """The ClusterClient for the cluster ``name`` (default: ``default``);
    ``context`` overrides its kubeconfig's context.  Credentials are read
    where the configuration points (a kubeconfig, the pod's service
    account) when the client is made, and never printed."""
    cluster = settings(config, name)
    if cluster.kind == "emulated":
        from agent.config import EmulatedClusterSettings
        from agent.emulator import EmulatedCluster, Options

        emulated = cluster.emulated or EmulatedClusterSettings()
        options = Options(time_factor=emulated.time_factor, rollout_seconds=emulated.rollout_seconds)
        return EmulatedCluster(config.resolve(emulated.path), options)
    from agent.cluster.kube import KubeCluster

    if cluster.kind == "inCluster":
        return KubeCluster.in_cluster()
    kubeconfig = cluster.kubeconfig
    path = config.resolve(kubeconfig.path) if kubeconfig and kubeconfig.path else None
    context = context or (kubeconfig.context if kubeconfig else None)
    return KubeCluster.from_kubeconfig(path, context, kubeconfig.cluster if kubeconfig else None)


def reach(config: AgentConfig, name: str | ClusterConfig | None = None) -> ClusterClient:
    """:func:`connect`, or, when the cluster cannot be connected to (its
    kubeconfig is missing, its context unknown), a client whose every call
    raises why: the apps on that cluster fail with it, the others go on."""
    from agent.cluster.unreachable import unreachable
    from agent.errors import AgentError

    try:
        return connect(config, name=name)
    except AgentError as e:
        return unreachable(e)


def describe(config: AgentConfig, name: str | ClusterConfig | None = None) -> str:
    """Which cluster ``name`` (default: ``default``) is, for a command's
    header: the emulated cluster's database, or the kubeconfig's context and
    server (never a credential)."""
    cluster = settings(config, name)
    if cluster.kind == "emulated":
        from agent.config import EmulatedClusterSettings

        return f"emulated cluster at {config.resolve((cluster.emulated or EmulatedClusterSettings()).path)}"
    if cluster.kind == "inCluster":
        return "the cluster the agent runs in (its service account)"
    from agent.cluster.connection import kubeconfig_target

    kubeconfig = cluster.kubeconfig
    path = config.resolve(kubeconfig.path) if kubeconfig and kubeconfig.path else None
    name_, server = kubeconfig_target(
        path, kubeconfig.context if kubeconfig else None, kubeconfig.cluster if kubeconfig else None
    )
    return f"context {name_}, server {server}"


__all__ = ["ClusterClient", "ClusterError", "connect", "describe", "reach", "settings"]
