"""The review kinds against the real API server and the emulator: what ``kubectl auth
can-i`` (a SelfSubjectAccessReview, ``--list`` a SelfSubjectRulesReview) and ``kubectl
auth whoami`` (a SelfSubjectReview) read.  Both clusters' users are in ``system:masters``;
their names differ (``username`` is not compared)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from tests.support.differential import scenario_test


def _reviews(c: ClusterClient) -> Any:
    assert isinstance(c, KubeCluster)
    send = c.transport.send
    access = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "create", "resource": "deployments", "group": "apps",
                                              "namespace": "default"}}}  # fmt: skip
    rules = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": "default"},
    }
    whoami = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    who = send("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", whoami) or {}
    groups = sorted(((who.get("status") or {}).get("userInfo") or {}).get("groups") or ())
    listed = send("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", rules) or {}
    everything = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    return [
        send("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", access),
        everything in (listed.get("status") or {}).get("resourceRules", []),
        [who.get("kind"), who.get("apiVersion"), "system:masters" in groups],
    ]


SCENARIOS = {"reviews": _reviews}
test_reviews = pytest.mark.parametrize("scenario", sorted(SCENARIOS))(scenario_test(SCENARIOS))
