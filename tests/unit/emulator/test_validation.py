"""Validation: name causes and the updates the API server refuses."""

from __future__ import annotations

import pytest

from agent.emulator.admission.causes import name_causes, raise_invalid
from agent.emulator.admission.immutability import update_causes
from agent.emulator.admission.validation import object_causes
from agent.kube import kinds
from agent.kube.errors import Invalid
from agent.kube.kinds import ResourceType


def builtin(group: str, kind: str) -> ResourceType:
    return next(t for t in kinds.BUILTIN if (t.group, t.kind) == (group, kind))


CONFIGMAP = builtin("", "ConfigMap")
NAMESPACE = builtin("", "Namespace")
ROLE = builtin("rbac.authorization.k8s.io", "Role")
DEPLOYMENT = builtin("apps", "Deployment")
SERVICE = builtin("", "Service")


def test_names_by_kind() -> None:
    assert name_causes(CONFIGMAP, "settings.v1") == []  # a DNS-1123 subdomain
    assert name_causes(NAMESPACE, "team-a") == []
    assert name_causes(ROLE, "system:reader") == []  # a path segment
    (cause,) = name_causes(NAMESPACE, "team.a")  # a label: no dots
    assert cause.field == "metadata.name" and cause.reason == "FieldValueInvalid"
    assert "RFC 1123 label" in cause.message
    (cause,) = name_causes(CONFIGMAP, "Upper")
    assert "RFC 1123 subdomain" in cause.message
    (cause,) = name_causes(ROLE, "a/b")
    assert "may not contain '/'" in cause.message
    (cause,) = name_causes(CONFIGMAP, "")
    assert cause.reason == "FieldValueRequired"
    assert name_causes(CONFIGMAP, "x" * 254) != []


def test_raise_invalid_names_each_field() -> None:
    with pytest.raises(Invalid) as caught:
        raise_invalid(NAMESPACE, "team.a", name_causes(NAMESPACE, "team.a"))
    error = caught.value
    assert str(error).startswith('Namespace "team.a" is invalid: metadata.name: Invalid value: "team.a"')
    assert error.status()["details"]["causes"][0]["field"] == "metadata.name"
    raise_invalid(NAMESPACE, "ok", [])  # no causes: nothing raised


def test_a_deployment_whose_selector_does_not_match_its_template() -> None:
    deployment = {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "other"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    fields = [c.field for c in object_causes(DEPLOYMENT, deployment)]
    assert fields == ["spec.template.metadata.labels"]


def test_an_update_of_an_immutable_field() -> None:
    old = {"spec": {"selector": {"matchLabels": {"app": "web"}}}}
    new = {"spec": {"selector": {"matchLabels": {"app": "other"}}}}
    (cause,) = update_causes("apps", "Deployment", old, new)
    assert cause.field == "spec.selector" and "field is immutable" in cause.message
    assert update_causes("apps", "Deployment", old, old) == []


def test_a_service_keeps_its_cluster_ip_and_an_immutable_config_map_its_data() -> None:
    old = {"spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]}}
    new = {"spec": {"clusterIP": "10.96.0.11", "clusterIPs": ["10.96.0.11"]}}
    assert [c.field for c in update_causes("", "Service", old, new)] == ["spec.clusterIPs[0]"]
    frozen = {"immutable": True, "data": {"a": "1"}}
    assert [
        c.field for c in update_causes("", "ConfigMap", frozen, {"immutable": True, "data": {"a": "2"}})
    ] == ["data"]
    assert update_causes("", "ConfigMap", {"data": {"a": "1"}}, {"data": {"a": "2"}}) == []
