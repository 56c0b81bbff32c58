"""RBAC evaluation over the Roles and bindings the emulated cluster stores.

As the API server's RBAC authorizer decides (``plugin/pkg/auth/authorizer/rbac/
rbac.go`` and ``pkg/registry/rbac/validation/rule.go`` in kubernetes/kubernetes):
a request is allowed when one rule of a role bound to the user, or to one of
its groups, covers it.  ClusterRoleBindings apply everywhere, RoleBindings in
their namespace (a RoleBinding may name a ClusterRole: its rules, in that
namespace only).  A rule covers a resource request when its verbs, API groups
and resources match (``*`` matches any; ``deployments/scale`` names a
subresource, ``*/scale`` any resource's) and, when it lists ``resourceNames``,
the request names one of them (so never a list or a create); a non-resource
request when its verbs and ``nonResourceURLs`` match (a trailing ``*`` is a
prefix).  A binding whose role is missing grants nothing and is named in the
reason, as ``RBAC: clusterrole.rbac.authorization.k8s.io "x" not found``.

Members of ``system:masters`` are allowed before any of this, as the
privileged-group authorizer in front of RBAC allows them: the emulated
cluster's own user costs nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from agent.emulator.objects import JSON

MASTERS = "system:masters"
RBAC = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def privileged(self) -> bool:
        return MASTERS in self.groups

    def info(self) -> JSON:
        out: JSON = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


@dataclass(frozen=True)
class Attributes:
    """What a request does, as the API server's request-info filter reads it off the URL."""

    verb: str
    resource: str = ""  # empty: a non-resource request (``path``)
    group: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)


def _has(values: Any, wanted: str) -> bool:
    values = values or ()
    return "*" in values or wanted in values


def _resource_matches(rule: JSON, a: Attributes) -> bool:
    combined = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    for r in rule.get("resources") or ():
        if r in ("*", combined):
            return True
        if a.subresource and r == f"*/{a.subresource}":
            return True
    return False


def _url_matches(rule: JSON, path: str) -> bool:
    for u in rule.get("nonResourceURLs") or ():
        if u in ("*", path) or (u.endswith("*") and path.startswith(u[:-1])):
            return True
    return False


def covers(rule: JSON, a: Attributes) -> bool:
    """Whether one PolicyRule allows the request."""
    if not _has(rule.get("verbs"), a.verb):
        return False
    if not a.is_resource:
        return _url_matches(rule, a.path)
    if not _has(rule.get("apiGroups"), a.group) or not _resource_matches(rule, a):
        return False
    names = rule.get("resourceNames") or ()
    return not names or a.name in names


def applies_to(subject: JSON, user: User, binding_ns: str) -> bool:
    """Whether a binding's subject is this user (``rbac.go``'s ``appliesToUser``)."""
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return bool(user.name == name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return bool(ns) and user.name == f"system:serviceaccount:{ns}:{name}"
    return False


class Evaluator:
    """The rules that apply to a user, read from the store on every question (only
    requests of users outside ``system:masters`` ask)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _role_rules(self, ref: JSON, ns: str, missing: list[str]) -> list[JSON]:
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "ClusterRole":
            role = self.store.get(RBAC, "clusterroles", "", name)
            if role is None:
                missing.append(f'clusterrole.rbac.authorization.k8s.io "{name}" not found')
        else:
            role = self.store.get(RBAC, "roles", ns, name)
            if role is None:
                missing.append(f'role.rbac.authorization.k8s.io "{name}" not found')
        return list((role or {}).get("rules") or ())

    def bound_rules(self, user: User, namespace: str, missing: list[str]) -> Iterator[tuple[str, JSON]]:
        """Every rule of every role bound to the user, with the binding that grants it:
        cluster-wide ones first, then the namespace's RoleBindings (``RulesFor``'s order)."""
        for binding in self.store.list(RBAC, "clusterrolebindings"):
            yield from self._granted(binding, user, "", missing)
        if namespace:
            for binding in self.store.list(RBAC, "rolebindings", namespace):
                yield from self._granted(binding, user, namespace, missing)

    def _granted(self, binding: JSON, user: User, ns: str, missing: list[str]) -> Iterator[tuple[str, JSON]]:
        subject = next((s for s in binding.get("subjects") or () if applies_to(s, user, ns)), None)
        if subject is None:
            return
        ref, name = binding.get("roleRef") or {}, binding["metadata"]["name"]
        # rule.go's describers: how an allowing review names its source
        kind = "RoleBinding" if ns else "ClusterRoleBinding"
        said = f'{kind} "{name}/{ns}"' if ns else f'{kind} "{name}"'
        who = subject.get("name", "")
        if subject.get("kind") == "ServiceAccount":
            who = f"{who}/{subject.get('namespace') or ns}"
        source = f'{said} of {ref.get("kind")} "{ref.get("name")}" to {subject.get("kind")} "{who}"'
        for rule in self._role_rules(ref, ns, missing):
            yield source, rule

    def allowed(self, user: User, a: Attributes) -> tuple[bool, str]:
        """The decision and its reason: the granting binding when allowed; when denied,
        empty unless a bound role is missing."""
        if user.privileged:
            return True, ""
        missing: list[str] = []
        for source, rule in self.bound_rules(user, a.namespace, missing):
            if covers(rule, a):
                return True, f"RBAC: allowed by {source}"
        if not missing:
            return False, ""
        return False, f"RBAC: [{', '.join(missing)}]" if len(missing) > 1 else f"RBAC: {missing[0]}"

    def rules(self, user: User, namespace: str) -> tuple[list[JSON], list[JSON]]:
        """The user's resource and non-resource rules in a namespace, as a
        SelfSubjectRulesReview lists them."""
        if user.privileged:
            return everything()
        resource: list[JSON] = []
        other: list[JSON] = []
        for _, rule in self.bound_rules(user, namespace, []):
            if rule.get("resources"):
                out = {"verbs": list(rule.get("verbs") or ()), "apiGroups": list(rule.get("apiGroups") or ())}
                out["resources"] = list(rule["resources"])
                if rule.get("resourceNames"):
                    out["resourceNames"] = list(rule["resourceNames"])
                resource.append(out)
            if rule.get("nonResourceURLs"):
                other.append(
                    {"verbs": list(rule.get("verbs") or ()), "nonResourceURLs": rule["nonResourceURLs"]}
                )
        return resource, other


def everything() -> tuple[list[JSON], list[JSON]]:
    """A ``system:masters`` member's rules."""
    return [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}], [
        {"verbs": ["*"], "nonResourceURLs": ["*"]}
    ]


def forbidden_message(user: User, a: Attributes, reason: str = "") -> str:
    """The API server's words for a denial (``forbiddenMessage`` in apiserver's
    ``endpoints/handlers/responsewriters/errors.go``, wrapped by ``NewForbidden``)."""
    if not a.is_resource:
        said = f'User "{user.name}" cannot {a.verb} path "{a.path}"'
        return f"forbidden: {said}" + (f": {reason}" if reason else "")
    resource = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    said = f'User "{user.name}" cannot {a.verb} resource "{resource}" in API group "{a.group}"'
    said += f' in the namespace "{a.namespace}"' if a.namespace else " at the cluster scope"
    if reason:
        said += f": {reason}"
    qualified = f"{a.resource}.{a.group}" if a.group else a.resource
    return f'{qualified} "{a.name}" is forbidden: {said}' if a.name else f"{qualified} is forbidden: {said}"
