"""The controllers' loop: a reconciler that raises is logged and its item retried."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from agent.emulator import EmulatedCluster
from agent.emulator.controllers.status import Context, Desired

DEPLOYMENT = ("apps", "Deployment")


def deployment() -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            },
        },
    }


def stored_status(cluster: EmulatedCluster) -> dict[str, Any]:
    """Read past the verbs: a read through them would run the due work itself."""
    obj = cluster.store.get("apps", "deployments", "default", "web") or {}
    return obj.get("status") or {}


def test_a_controller_that_raises_is_logged_and_retried_until_it_reconciles(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = EmulatedCluster()
    controllers = cluster.controllers
    real = controllers.reconcilers[DEPLOYMENT]
    calls: list[float] = []

    def broken_once(ctx: Context, obj: dict[str, Any], now: float) -> Desired:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("the deployment controller broke on purpose")
        return real(ctx, obj, now)

    monkeypatch.setitem(controllers.reconcilers, DEPLOYMENT, broken_once)
    controllers.start()  # the background loop, not a request, must retry the item
    try:
        with caplog.at_level(logging.ERROR, logger="agent.emulator.controllers.loop"):
            cluster.create(deployment())  # reconciled right after the write: the first call raises
            deadline = time.monotonic() + 10
            while stored_status(cluster).get("availableReplicas") != 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            status = stored_status(cluster)
    finally:
        controllers.stop()
        cluster.close()
    failures = [r for r in caplog.records if r.exc_info and "broke on purpose" in str(r.exc_info[1])]
    assert len(failures) == 1
    assert "Deployment" in failures[0].getMessage() and "default/web" in failures[0].getMessage()
    assert len(calls) >= 2  # retried after the failure
    assert status["availableReplicas"] == 2 and status["observedGeneration"] == 1


def test_the_retry_waits_longer_after_each_failure(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = EmulatedCluster()
    controllers = cluster.controllers

    def always_broken(ctx: Context, obj: dict[str, Any], now: float) -> Desired:
        raise RuntimeError("still broken")

    monkeypatch.setitem(controllers.reconcilers, DEPLOYMENT, always_broken)
    try:
        with caplog.at_level(logging.ERROR, logger="agent.emulator.controllers.loop"):
            cluster.create(deployment())  # fails once at once
            due = controllers.next_due()
            assert due is not None
            time.sleep(max(0.0, due - time.time()) + 0.01)
            cluster.get("v1", "Namespace", "default")  # a request runs the due retry: it fails again
    finally:
        cluster.close()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "(attempt 1); retrying in 0.05s" in messages[0]
    assert "(attempt 2); retrying in 0.10s" in messages[1]
