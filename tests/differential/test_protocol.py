"""Protocol details against the real API server and the emulator: a DELETE that waits on
finalizers, field selectors whose values hold a ``/``, and the ``involvedObject``
selectors of Events (``kubectl describe`` lists an object's Events by them)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from tests.support.differential import ns, scenario_test, status_of


def _delete_with_finalizers(c: ClusterClient) -> Any:
    assert isinstance(c, KubeCluster)
    c.create(ns())
    meta = {"name": "kept", "namespace": "diff", "finalizers": ["example.com/keep"]}
    c.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
    path = "/api/v1/namespaces/diff/configmaps/kept"
    pool = c.transport.api_client.rest_client.pool_manager
    headers = c.transport._headers("application/json")
    answer = pool.request("DELETE", c.transport.configuration.host + path, headers=headers)
    c.patch("v1", "ConfigMap", "kept", "diff", {"metadata": {"finalizers": None}})
    return [answer.status, sorted(k for k in __import__("json").loads(answer.data)["metadata"])]


def _field_selectors(c: ClusterClient) -> Any:
    assert isinstance(c, KubeCluster)
    c.create(ns())
    tls = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls", "namespace": "diff"},
           "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}  # fmt: skip
    c.create(tls)
    c.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain", "namespace": "diff"}})
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "diff"},
             "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "diff", "uid": "u1"},
             "reason": "Scheduled", "message": "placed", "type": "Normal"}  # fmt: skip
    c.create(event)
    send = c.transport.send
    secrets = send(
        "GET", "/api/v1/namespaces/diff/secrets", query={"fieldSelector": "type=kubernetes.io/tls"}
    )
    events = send(
        "GET",
        "/api/v1/namespaces/diff/events",
        query={"fieldSelector": "involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.uid=u1"},
    )
    none = send("GET", "/api/v1/namespaces/diff/events", query={"fieldSelector": "involvedObject.name=other"})
    bad = status_of(
        lambda: send("GET", "/api/v1/namespaces/diff/events", query={"fieldSelector": "reason=x"})
    )
    names = lambda doc: [o["metadata"]["name"] for o in (doc or {}).get("items") or ()]  # noqa: E731
    return [names(secrets), names(events), names(none), bad]


def _list_options(c: ClusterClient) -> Any:
    """resourceVersionMatch and sendInitialEvents, refused where the API server refuses them."""
    assert isinstance(c, KubeCluster)
    send = c.transport.send
    path = "/api/v1/namespaces/default/configmaps"
    asks = [
        {"resourceVersionMatch": "Exact"},
        {"resourceVersionMatch": "Sometime", "resourceVersion": "1"},
        {"resourceVersionMatch": "Exact", "resourceVersion": "0"},
        {"sendInitialEvents": "true"},
        {"watch": "true", "sendInitialEvents": "true", "timeoutSeconds": "1"},
        {
            "watch": "true",
            "resourceVersionMatch": "NotOlderThan",
            "resourceVersion": "1",
            "timeoutSeconds": "1",
        },
    ]
    return [status_of(lambda q=q: send("GET", path, query=q) and "served") for q in asks]


SCENARIOS = {
    "delete-finalizers": _delete_with_finalizers,
    "field-selectors": _field_selectors,
    "list-options": _list_options,
}
test_protocol = pytest.mark.parametrize("scenario", sorted(SCENARIOS))(scenario_test(SCENARIOS))
