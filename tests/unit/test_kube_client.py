from __future__ import annotations

from kubernetes import client as k8s

from agent.cluster.kube import _throttle_token_refresh


def test_token_refresh_runs_at_most_every_interval() -> None:
    calls: list[object] = []
    configuration = k8s.Configuration()
    configuration.refresh_api_key_hook = calls.append
    _throttle_token_refresh(configuration)
    for _ in range(100):
        configuration.refresh_api_key_hook(configuration)
    assert calls == [configuration]  # the first request refreshes; the next 99 do not
