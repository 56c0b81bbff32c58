"""Kinds and objects a real cluster has, against the real API server and the emulator:
creating in a namespace being deleted (the NamespaceLifecycle admission's 403)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from tests.support.differential import ns, scenario_test, status_of


def _configmap(name: str, finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "diff"}
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def _namespace_terminating(c: ClusterClient) -> Any:
    """A namespace held by content with a finalizer (the real server runs no namespace
    controller: its namespace finalizer holds it anyway) is Terminating, and refuses new
    content with 403; the finalizer removed, the content goes."""
    c.create(ns())
    c.create(_configmap("held", ["example.com/hold"]))
    c.delete("v1", "Namespace", "diff")
    namespace = c.get("v1", "Namespace", "diff") or {}
    refused = status_of(lambda: c.create(_configmap("late")))
    c.patch("v1", "ConfigMap", "held", "diff", {"metadata": {"finalizers": None}})
    return [(namespace.get("status") or {}).get("phase"), refused]


SCENARIOS = {"namespace-terminating": _namespace_terminating}
test_kinds = pytest.mark.parametrize("scenario", sorted(SCENARIOS))(scenario_test(SCENARIOS))
