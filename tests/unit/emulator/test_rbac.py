"""RBAC's pure parts (rule matching, the 403 message), the clusterrole-aggregation
controller, and service-account tokens, on an in-process emulated cluster."""

from __future__ import annotations

from typing import Any

import pytest

from agent.emulator import EmulatedCluster
from agent.emulator.rbac import Access, Attributes, User, escalation
from agent.emulator.rbac.rules import covers, forbidden_message
from agent.kube.errors import Forbidden, Unauthorized

RBAC = "rbac.authorization.k8s.io"
BOT = User("system:serviceaccount:shop:bot", ("system:serviceaccounts", "system:authenticated"))  # fmt: skip


def test_a_rule_covers_its_verbs_groups_resources_subresources_names_and_paths() -> None:
    scale = {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["update"]}
    assert covers(scale, Attributes("update", "deployments", "apps", "scale", "shop", "web"))
    assert not covers(scale, Attributes("update", "deployments", "apps", "", "shop", "web"))
    named = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"], "resourceNames": ["a"]}
    assert covers(named, Attributes("get", "configmaps", namespace="shop", name="a"))
    assert not covers(named, Attributes("list", "configmaps", namespace="shop"))  # a list names nothing
    urls = {"nonResourceURLs": ["/apis/*"], "verbs": ["get"]}
    assert covers(urls, Attributes("get", path="/apis/apps/v1"))
    assert not covers(urls, Attributes("get", path="/api"))


def test_the_forbidden_message_is_the_api_servers() -> None:
    said = forbidden_message(BOT, Attributes("patch", "deployments", "apps", "scale", "shop", "web"))
    assert said == (
        'deployments.apps "web" is forbidden: User "system:serviceaccount:shop:bot" cannot patch resource '
        '"deployments/scale" in API group "apps" in the namespace "shop"'
    )
    said = forbidden_message(BOT, Attributes("list", "namespaces"))
    assert said.startswith("namespaces is forbidden:") and said.endswith("at the cluster scope")
    assert forbidden_message(BOT, Attributes("get", path="/metrics")) == (
        'forbidden: User "system:serviceaccount:shop:bot" cannot get path "/metrics"'
    )


def _role(name: str, rules: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels}, "rules": rules}  # fmt: skip


def test_aggregated_roles_follow_the_roles_they_select() -> None:
    cluster = EmulatedCluster()
    widgets = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}

    def rules(name: str) -> list[Any]:
        return (cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", name) or {}).get("rules") or []

    assert {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]} in rules(
        "view"
    )
    assert widgets not in rules("admin")
    cluster.create(_role("widget-viewer", [widgets], {"rbac.authorization.k8s.io/aggregate-to-view": "true"}))
    assert widgets in rules("view") and widgets in rules("edit") and widgets in rules("admin")
    assert rules("admin").count(widgets) == 1


def test_a_service_account_token_lasts_as_long_as_its_account() -> None:
    cluster = EmulatedCluster()
    access = Access(cluster.store, "admin-token")
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    account = cluster.create(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot", "namespace": "shop"}}
    )
    token, _ = access.identities.issue(account, ["https://kubernetes.default.svc.cluster.local"], 600)
    user = access.identities.authenticate(f"Bearer {token}")
    assert user is not None and user.name == "system:serviceaccount:shop:bot"
    assert "system:serviceaccounts:shop" in user.groups and not user.privileged
    head, body, signature = token.split(".")
    with pytest.raises(Unauthorized):
        access.identities.authenticate(f"Bearer {head}.{body}.{signature[::-1]}")
    cluster.delete("v1", "ServiceAccount", "bot", "shop")
    with pytest.raises(Unauthorized):
        access.identities.authenticate(f"Bearer {token}")


def test_a_role_granting_more_than_its_writer_holds_is_refused_listing_what_is_missing() -> None:
    cluster = EmulatedCluster()
    access = Access(cluster.store, "admin-token")
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    held = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
    cluster.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": "held", "namespace": "shop"}, "rules": held})  # fmt: skip
    cluster.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": "bot", "namespace": "shop"},
                    "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "shop"}],
                    "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "held"}})  # fmt: skip
    rt = cluster.resource_type("rbac.authorization.k8s.io/v1", "Role")
    wide = {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "delete"]}
    role = {"metadata": {"name": "wide", "namespace": "shop"}, "rules": [wide]}
    confirm = escalation.guard(access.rbac, BOT)
    confirm(rt, {"metadata": role["metadata"], "rules": held})  # within what it holds: allowed
    with pytest.raises(Forbidden) as refused:
        confirm(rt, role)
    assert str(refused.value).endswith(
        "is attempting to grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["configmaps"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}'
    )
