"""RBAC for users other than the admin, against the real API server and the emulator:
requests impersonating a service account (``kubectl --as``) allowed or refused by a
Role bound to it (resourceNames, a subresource, a missing role), refused impersonation,
and the reviews (``kubectl auth can-i``, ``--list``, ``whoami``) answered for that
account.  The real server authorizes with RBAC (tests/apiserver); no controller runs
beside it, so only namespaced roles of the scenario's own are used."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from agent.cluster.base import ClusterClient
from agent.cluster.kube import KubeCluster
from tests.support.differential import deployment, ns, scenario_test

BOT = "system:serviceaccount:diff:bot"
RBAC = "/apis/rbac.authorization.k8s.io/v1/namespaces/diff"


def _as(c: ClusterClient, method: str, path: str, body: Any = None, *, user: str = BOT, **more: str) -> Any:
    """One request impersonating ``user``: (code, the answer without volatile metadata)."""
    assert isinstance(c, KubeCluster)
    transport = c.transport
    headers = {**transport._headers("application/json"), "Impersonate-User": user, **more}
    manager = transport.api_client.rest_client.pool_manager
    data = json.dumps(body).encode() if body is not None else None
    if method == "PATCH":
        headers["Content-Type"] = "application/merge-patch+json"
    response = manager.request(method, transport.configuration.host + path, body=data, headers=headers)
    try:
        answer = json.loads(response.data) if response.data else None
    except ValueError:  # a plain-text 404 ("404 page not found")
        answer = None
    return response.status, _comparable(answer)


def _comparable(answer: Any) -> Any:
    """Without volatile metadata; and a denial's reason as Kubernetes 1.33 words it: the
    1.37 server under test names the authorizer first (``rbac: RBAC: ...``)."""
    if isinstance(answer, dict):
        for part in (answer, answer.get("status")):
            for key in ("message", "reason"):
                if isinstance(part, dict) and isinstance(part.get(key), str):
                    part[key] = part[key].replace("rbac: RBAC: ", "RBAC: ")
        answer.pop("metadata", None)
        if answer.get("kind") != "Status":
            answer = {k: answer[k] for k in ("kind", "status") if k in answer}
    return answer


def _setup(c: ClusterClient) -> None:
    c.apply(ns())
    c.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot", "namespace": "diff"}})
    c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "diff"}})
    c.apply(deployment())
    rules = [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"], "resourceNames": ["web"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["update"]},
    ]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "reader", "namespace": "diff"}, "rules": rules}  # fmt: skip
    c.apply(role)
    subject = {"kind": "ServiceAccount", "name": "bot", "namespace": "diff"}
    for name, ref in (("reader", "reader"), ("ghost", "missing")):
        ref_to = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ref}
        meta = {"name": name, "namespace": "diff"}
        c.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": meta, "subjects": [subject], "roleRef": ref_to})  # fmt: skip
    _settled(c)


def _settled(c: ClusterClient) -> None:
    """Wait until the authorizer sees both bindings: the real server's RBAC reads them
    from its informers a moment after they are written (the emulator at once).  The
    binding written last names a missing role, which a denial then mentions."""
    for _ in range(100):
        code, answer = _as(c, "GET", "/api/v1/namespaces/diff/secrets")
        if code == 403 and '"missing" not found' in str((answer or {}).get("message")):
            return
        time.sleep(0.05)


def _requests(c: ClusterClient) -> Any:
    _setup(c)
    listed = _as(c, "GET", "/api/v1/namespaces/diff/configmaps")
    return [
        (listed[0], sorted(i["metadata"]["name"] for i in (listed[1] or {}).get("items") or ())),
        _as(c, "GET", "/api/v1/namespaces/diff/secrets"),
        _as(c, "GET", "/api/v1/namespaces/diff/configmaps/a")[0],
        _as(
            c, "PATCH", "/apis/apps/v1/namespaces/diff/deployments/web", {"metadata": {"labels": {"x": "1"}}}
        )[0],
        _as(
            c,
            "PATCH",
            "/apis/apps/v1/namespaces/diff/deployments/other",
            {"metadata": {"labels": {"x": "1"}}},
        ),
        _as(c, "GET", "/apis/apps/v1/namespaces/diff/deployments/web/scale"),
        _as(c, "GET", "/api/v1/namespaces"),
        _as(c, "DELETE", "/api/v1/namespaces/diff/configmaps/a"),
        _as(c, "GET", "/apis")[0],
        _as(c, "GET", "/nothing/here"),
        _as(c, "GET", "/apis/nothing.example.com/v1")[0],
        _as(c, "GET", "/api/v1/namespaces/diff/configmaps", **{"Impersonate-Group": "system:masters"})[0],
    ]


def _reviews(c: ClusterClient) -> Any:
    _setup(c)

    def access(verb: str, resource: str, namespace: str = "diff", **more: str) -> Any:
        attrs = {"verb": verb, "resource": resource, "namespace": namespace, **more}
        return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}}  # fmt: skip

    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    rules = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
             "spec": {"namespace": "diff"}}  # fmt: skip
    code, listed = _as(c, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", rules)
    status = (listed or {}).get("status") or {}
    attrs = {"verb": "list", "resource": "configmaps", "namespace": "diff"}
    sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
           "spec": {"user": BOT, "groups": ["system:serviceaccounts"],
                    "resourceAttributes": attrs}}  # fmt: skip
    assert isinstance(c, KubeCluster)
    subject = c.transport.send("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", sar) or {}
    whoami = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    return [
        _as(c, "POST", path, access("list", "configmaps")),
        _as(c, "POST", path, access("list", "secrets")),
        _as(c, "POST", path, access("patch", "deployments", group="apps", name="web")),
        _as(c, "POST", path, access("update", "deployments", group="apps", subresource="scale")),
        _as(c, "POST", path, access("list", "configmaps", namespace="default")),
        code,
        sorted(json.dumps(r, sort_keys=True) for r in status.get("resourceRules") or ()),
        sorted(json.dumps(r, sort_keys=True) for r in status.get("nonResourceRules") or ()),
        subject.get("status"),
        _as(c, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", whoami),
        _as(c, "GET", "/api/v1/namespaces/diff/configmaps", user="someone-else")[0],
    ]


def _impersonation(c: ClusterClient) -> Any:
    """The account itself impersonating someone: refused, naming what it may not impersonate."""
    _setup(c)
    assert isinstance(c, KubeCluster)
    transport = c.transport
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    token = c.transport.send("POST", "/api/v1/namespaces/diff/serviceaccounts/bot/token", request) or {}
    manager = transport.api_client.rest_client.pool_manager
    bearer = {"Authorization": f"Bearer {token['status']['token']}", "Accept": "application/json"}
    out = []
    for more in ({}, {"Impersonate-User": "jane"}, {"Impersonate-User": BOT, "Impersonate-Group": "admins"}):
        response = manager.request(
            "GET",
            transport.configuration.host + "/api/v1/namespaces/diff/configmaps",
            headers={**bearer, **more},
        )
        answer = _comparable(json.loads(response.data))
        out.append((response.status, answer if answer.get("kind") == "Status" else answer.get("kind")))
    return [token.get("kind"), sorted(token.get("status") or ()), *out]


def _role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name, "namespace": "diff"}, "rules": rules}  # fmt: skip


def _binding(name: str, role: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": "diff"},
            "subjects": [{"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role}}  # fmt: skip


def _escalation(c: ClusterClient) -> Any:
    """The account may write Roles and RoleBindings, but grant only what it holds itself."""
    _setup(c)
    writer = [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
               "verbs": ["create", "get", "patch", "update"]}]  # fmt: skip
    c.apply(_role("writer", writer))
    c.apply(_binding("bot-writer", "writer") | {"subjects": [{"kind": "ServiceAccount", "name": "bot",
                                                              "namespace": "diff"}]})  # fmt: skip
    c.apply(_role("secrets", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]))
    scale = {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["update", "patch"]}
    wide = [{"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list", "delete"]},
            scale]  # fmt: skip
    roles = f"{RBAC}/roles"
    narrow = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
    return [
        _as(c, "POST", roles, _role("narrow", narrow))[0],
        _as(c, "POST", roles, _role("wide", wide)),
        _as(c, "PATCH", f"{roles}/narrow", {"rules": wide}),
        _as(c, "POST", f"{RBAC}/rolebindings", _binding("jane-narrow", "narrow"))[0],
        _as(c, "POST", f"{RBAC}/rolebindings", _binding("jane-secrets", "secrets")),
        _as(c, "POST", f"{RBAC}/rolebindings", _binding("jane-ghost", "ghost")),
    ]


SCENARIOS = {
    "rbac-requests": _requests,
    "rbac-reviews": _reviews,
    "rbac-impersonation": _impersonation,
    "rbac-escalation": _escalation,
}
test_rbac = pytest.mark.parametrize("scenario", sorted(SCENARIOS))(scenario_test(SCENARIOS))
