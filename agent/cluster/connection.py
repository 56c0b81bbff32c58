"""The official client's configuration for one API server: loaded from a
kubeconfig or from the pod's service account, with a pool sized for a sync's
threads and the kubeconfig's token refresh throttled.

Cut from :mod:`agent.cluster.kube` so that the client there starts from a
ready ``ApiClient`` (as lightkube's ``Client`` takes a ``KubeConfig``): how a
connection is configured is separate from what is sent over it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config import kube_config
from kubernetes.config.config_exception import ConfigException

from agent.errors import ConfigError

TOKEN_REFRESH_SECONDS = 30.0
POOL_CONNECTIONS = 64


def from_kubeconfig(
    path: str | Path | None = None, context: str | None = None, cluster: str | None = None
) -> k8s.ApiClient:
    """From a kubeconfig file (default ``$KUBECONFIG`` or ``~/.kube/config``), a
    context (default its current one) and a cluster entry instead of the
    context's own (as ``kubectl --cluster``)."""
    configuration = k8s.Configuration()
    _loader(path, context, cluster).load_and_set(configuration)
    throttle_token_refresh(configuration)
    return api_client(configuration)


def kubeconfig_target(
    path: str | Path | None = None, context: str | None = None, cluster: str | None = None
) -> tuple[str, str]:
    """The context's name and its cluster's server, as :func:`from_kubeconfig` would connect."""
    loader = _loader(path, context, cluster)
    return str(loader.current_context["name"]), str(loader._cluster.safe_get("server") or "")


def _loader(path: str | Path | None, context: str | None, cluster: str | None) -> Any:
    """The client's own kubeconfig loader (it merges ``$KUBECONFIG``'s files
    and resolves their relative paths), with ``cluster`` put in place of the
    context's cluster: the loader has no public way to do that."""
    where = str(path) if path else "kubeconfig"
    try:
        loader = kube_config._get_kube_config_loader(  # type: ignore[no-untyped-call]
            filename=str(path) if path else kube_config.KUBE_CONFIG_DEFAULT_LOCATION,
            active_context=context,
            persist_config=False,
        )
        if cluster is not None:
            loader._cluster = loader._config["clusters"].get_with_name(cluster)["cluster"]
    except (ConfigException, OSError, TypeError) as e:
        raise ConfigError(f"{where}: {e}") from None
    return loader


def in_cluster() -> k8s.ApiClient:
    """From the service account of the pod the agent runs in."""
    configuration = k8s.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except ConfigException as e:
        raise ConfigError(f"cluster.inCluster: {e}") from None
    return api_client(configuration)


def throttle_token_refresh(configuration: k8s.Configuration) -> None:
    """The kubeconfig loader re-applies its whole configuration before every
    request (to refresh expiring tokens), which costs more than a request to a
    fast server; checking every TOKEN_REFRESH_SECONDS keeps expiring tokens
    fresh (they live for minutes) at a fraction of the cost."""
    hook = configuration.refresh_api_key_hook
    if hook is None:
        return
    last = [-TOKEN_REFRESH_SECONDS]

    def throttled(config: k8s.Configuration) -> None:
        nonlocal hook
        now = time.monotonic()
        if now - last[0] >= TOKEN_REFRESH_SECONDS:
            last[0] = now
            hook(config)
            # The loader's hook installs a fresh copy of itself on every call:
            # keep that one as the hook to call, and stay in front of it.
            hook = config.refresh_api_key_hook if config.refresh_api_key_hook is not throttled else hook
            config.refresh_api_key_hook = throttled

    configuration.refresh_api_key_hook = throttled


def api_client(configuration: k8s.Configuration) -> k8s.ApiClient:
    """The client's connection pool holds 5 connections per CPU by default:
    a sync writing with more threads than that (``parallelism``, plus a watch
    per kind while it waits for health) would open, handshake and throw
    away a connection for each request over the limit.  Connections are
    opened on demand, so a larger pool costs nothing until it is used."""
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize, POOL_CONNECTIONS)
    return k8s.ApiClient(configuration)
