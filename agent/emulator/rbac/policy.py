"""The roles and bindings the API server's RBAC bootstrap policy makes, as data.

From ``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`` in
kubernetes/kubernetes: ``cluster-admin`` bound to ``system:masters``; the
user-facing ``admin``, ``edit`` and ``view``, which hold no rules of their own
but an ``aggregationRule`` (the clusterrole-aggregation controller,
:mod:`agent.emulator.controllers.aggregation`, fills them from the ``system:aggregate-to-*`` roles and
any other ClusterRole labelled ``rbac.authorization.k8s.io/aggregate-to-*``);
and what every authenticated user may do (``system:basic-user``: the
self-reviews; ``system:discovery`` and ``system:public-info-viewer``: the
discovery and health paths), with what every service account may read
(``system:cluster-trust-bundle-discovery``,
``system:service-account-issuer-discovery``).  The controllers' own roles
are left out: no controller of the emulated cluster authenticates.
"""

from __future__ import annotations

from agent.emulator.objects import JSON

RBAC_V1 = "rbac.authorization.k8s.io/v1"
_AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_ALL = sorted(_READ + _WRITE)


def _rule(groups: str, resources: str, verbs: list[str]) -> JSON:
    return {
        "apiGroups": groups.split(",") if groups else [""],
        "resources": resources.split(),
        "verbs": verbs,
    }


_VIEW = [
    _rule("", "configmaps endpoints persistentvolumeclaims persistentvolumeclaims/status pods "
          "replicationcontrollers replicationcontrollers/scale serviceaccounts services "
          "services/status", _READ),
    _rule("", "bindings limitranges namespaces/status pods/log pods/status replicationcontrollers/status "
          "resourcequotas resourcequotas/status", _READ),
    _rule("", "namespaces", _READ),
    _rule(",events.k8s.io", "events", _READ),
    _rule("discovery.k8s.io", "endpointslices", _READ),
    _rule("apps", "controllerrevisions daemonsets daemonsets/status deployments deployments/scale "
          "deployments/status replicasets replicasets/scale replicasets/status statefulsets "
          "statefulsets/scale statefulsets/status", _READ),
    _rule("autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status", _READ),
    _rule("batch", "cronjobs cronjobs/status jobs jobs/status", _READ),
    _rule("extensions", "daemonsets daemonsets/status deployments deployments/scale deployments/status "
          "ingresses ingresses/status networkpolicies replicasets replicasets/scale replicasets/status "
          "replicationcontrollers/scale", _READ),
    _rule("policy", "poddisruptionbudgets poddisruptionbudgets/status", _READ),
    _rule("networking.k8s.io", "ingresses ingresses/status networkpolicies", _READ),
    _rule("resource.k8s.io", "resourceclaims resourceclaims/status resourceclaimtemplates", _READ),
]  # fmt: skip
_EDIT = [
    _rule("", "pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy", _READ),
    _rule("", "serviceaccounts", ["impersonate"]),
    _rule("", "pods pods/attach pods/exec pods/portforward pods/proxy", _WRITE),
    _rule("", "pods/eviction", ["create"]),
    _rule("", "configmaps persistentvolumeclaims replicationcontrollers replicationcontrollers/scale "
          "secrets serviceaccounts services services/proxy", _WRITE),
    _rule("", "serviceaccounts/token", ["create"]),
    _rule(",events.k8s.io", "events", _WRITE),
    _rule("apps", "daemonsets deployments deployments/rollback deployments/scale replicasets "
          "replicasets/scale statefulsets statefulsets/scale", _WRITE),
    _rule("autoscaling", "horizontalpodautoscalers", _WRITE),
    _rule("batch", "cronjobs jobs", _WRITE),
    _rule("extensions", "daemonsets deployments deployments/rollback deployments/scale ingresses "
          "networkpolicies replicasets replicasets/scale replicationcontrollers/scale", _WRITE),
    _rule("policy", "poddisruptionbudgets", _WRITE),
    _rule("networking.k8s.io", "ingresses networkpolicies", _WRITE),
    _rule("coordination.k8s.io", "leases", _ALL),
    _rule("resource.k8s.io", "resourceclaims resourceclaimtemplates", _WRITE),
]  # fmt: skip
_ADMIN = [
    _rule("authorization.k8s.io", "localsubjectaccessreviews", ["create"]),
    _rule("rbac.authorization.k8s.io", "rolebindings roles", _ALL),
]
_DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                   "/readyz", "/version", "/version/"]  # fmt: skip
_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
_ISSUER_URLS = ["/.well-known/openid-configuration", "/.well-known/openid-configuration/",
                "/openid/v1/jwks", "/openid/v1/jwks/"]  # fmt: skip


def _urls(urls: list[str]) -> list[JSON]:
    return [{"nonResourceURLs": urls, "verbs": ["get"]}]


def _meta(name: str, labels: dict[str, str] | None = None) -> JSON:
    return {
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    }


def _cluster_role(name: str, rules: list[JSON], labels: dict[str, str] | None = None) -> JSON:
    return {"apiVersion": RBAC_V1, "kind": "ClusterRole", "metadata": _meta(name, labels), "rules": rules}


def _aggregated(name: str, to: str = "") -> JSON:
    role = _cluster_role(name, [], {f"{_AGGREGATE}{to}": "true"} if to else None)
    role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {f"{_AGGREGATE}{name}": "true"}}]}
    return role


def _binding(name: str, groups: list[str]) -> JSON:
    return {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRoleBinding",
        "metadata": _meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups],
    }


def objects() -> list[JSON]:
    """The bootstrap ClusterRoles, then their ClusterRoleBindings."""
    return [
        _cluster_role("cluster-admin", [_rule("*", "*", ["*"]), {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        _aggregated("admin"),
        _aggregated("edit", "admin"),
        _aggregated("view", "edit"),
        _cluster_role("system:aggregate-to-admin", _ADMIN, {f"{_AGGREGATE}admin": "true"}),
        _cluster_role("system:aggregate-to-edit", _EDIT, {f"{_AGGREGATE}edit": "true"}),
        _cluster_role("system:aggregate-to-view", _VIEW, {f"{_AGGREGATE}view": "true"}),
        _cluster_role(
            "system:basic-user",
            [
                _rule("authorization.k8s.io", "selfsubjectaccessreviews selfsubjectrulesreviews", ["create"]),
                _rule("authentication.k8s.io", "selfsubjectreviews", ["create"]),
            ],
        ),
        _cluster_role("system:discovery", _urls(_DISCOVERY_URLS)),
        _cluster_role("system:public-info-viewer", _urls(_PUBLIC_URLS)),
        _cluster_role(
            "system:cluster-trust-bundle-discovery",
            [_rule("certificates.k8s.io", "clustertrustbundles", _READ)],
        ),
        _cluster_role("system:service-account-issuer-discovery", _urls(_ISSUER_URLS)),
        _binding("cluster-admin", ["system:masters"]),
        _binding("system:basic-user", ["system:authenticated"]),
        _binding("system:discovery", ["system:authenticated"]),
        _binding("system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]),
        _binding("system:cluster-trust-bundle-discovery", ["system:serviceaccounts"]),
        _binding("system:service-account-issuer-discovery", ["system:serviceaccounts"]),
    ]
