from __future__ import annotations

from pathlib import Path

import yaml
from kubernetes import client as k8s

from agent.cluster.connection import POOL_CONNECTIONS, throttle_token_refresh
from agent.cluster.kube import KubeCluster


def test_token_refresh_runs_at_most_every_interval() -> None:
    calls: list[object] = []
    configuration = k8s.Configuration()
    configuration.refresh_api_key_hook = calls.append
    throttle_token_refresh(configuration)
    for _ in range(100):
        configuration.refresh_api_key_hook(configuration)
    assert calls == [configuration]  # the first request refreshes; the next 99 do not


def test_throttle_stays_in_front_of_a_hook_that_reinstalls_itself() -> None:
    """The kubeconfig loader's hook assigns a fresh copy of itself on every
    call; the throttle must survive that, or every request runs the loader."""
    calls: list[object] = []

    def loader_hook(config: k8s.Configuration) -> None:
        calls.append(config)
        config.refresh_api_key_hook = loader_hook  # what KubeConfigLoader._set_config does

    configuration = k8s.Configuration()
    configuration.refresh_api_key_hook = loader_hook
    throttle_token_refresh(configuration)
    for _ in range(100):
        configuration.refresh_api_key_hook(configuration)
    assert calls == [configuration]


def test_kubeconfig_token_refresh_is_throttled_with_the_real_loader(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t0ken"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    cluster = KubeCluster.from_kubeconfig(kubeconfig)
    configuration = cluster.api_client.configuration
    hook = configuration.refresh_api_key_hook
    for _ in range(3):
        assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer t0ken"
    assert configuration.refresh_api_key_hook is hook  # still the throttle, not the loader's own hook
    assert configuration.connection_pool_maxsize >= POOL_CONNECTIONS
