"""RBAC's guard against privilege escalation: a user outside ``system:masters`` may write
a Role or ClusterRole only with every permission it grants, and bind a role only when
it holds all the role's permissions, unless it may ``escalate`` (roles) or ``bind``
(the role bound).

As ``pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/
storage.go`` and ``ConfirmNoEscalation`` in ``pkg/registry/rbac/validation/rule.go``
(kubernetes/kubernetes) decide and word it: the rules granted are broken down into one
verb of one resource each, the ones the user's own rules do not cover are compacted
(verbs of the same resource together) and listed, one a line, sorted::

    roles.rbac.authorization.k8s.io "x" is forbidden: user "u" (groups=["g" "h"]) is
    attempting to grant RBAC permissions not currently held:
    {APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}

The check runs on the object as it will be stored (after a patch or an apply), through
:data:`GUARD`, which the REST server sets around a non-admin's request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from agent.emulator.objects import JSON
from agent.emulator.rbac.rules import RBAC, Attributes, Evaluator, User, covers
from agent.kube.errors import Forbidden, NotFound
from agent.kube.kinds import ResourceType

Guard = Callable[[ResourceType, JSON], None]
GUARD: ContextVar[Guard | None] = ContextVar("rbac_escalation_guard", default=None)
_ROLES = {"Role": "roles", "ClusterRole": "clusterroles"}
_BINDINGS = {"RoleBinding": "rolebindings", "ClusterRoleBinding": "clusterrolebindings"}


def guard(rbac: Evaluator, user: User) -> Guard:
    def check(rt: ResourceType, obj: JSON) -> None:
        if rt.group == RBAC and (rt.kind in _ROLES or rt.kind in _BINDINGS):
            confirm(rbac, user, rt, obj)

    return check


def confirm(rbac: Evaluator, user: User, rt: ResourceType, obj: JSON) -> None:
    meta = obj.get("metadata") or {}
    ns, name = str(meta.get("namespace") or "") if rt.namespaced else "", str(meta.get("name") or "")
    if rbac.allowed(user, Attributes("escalate", rt.plural, RBAC, "", ns, name))[0]:
        return
    if rt.kind in _ROLES:
        granted = list(obj.get("rules") or ())
    else:
        ref = obj.get("roleRef") or {}
        plural = _ROLES.get(str(ref.get("kind")), "")
        if rbac.allowed(user, Attributes("bind", plural, RBAC, "", ns, str(ref.get("name") or "")))[0]:
            return
        role = rbac.store.get(RBAC, plural, ns if plural == "roles" else "", str(ref.get("name") or ""))
        if role is None:  # named, as the API server names it, by the kind of the request
            gone = str(ref.get("name") or "")
            raise NotFound(
                f'{rt.plural}.{RBAC} "{gone}" not found',
                details={"name": gone, "group": RBAC, "kind": rt.plural},
            )
        granted = list(role.get("rules") or ())
    unresolved: list[str] = []
    held = [rule for _, rule in rbac.bound_rules(user, ns, unresolved)]
    missing = [one for one in _broken_down(granted) if not any(covers(h, _as_request(one)) for h in held)]
    if missing:
        said = "\n".join(sorted({_compact_string(r) for r in _compacted(missing)}))
        groups = " ".join(json.dumps(g) for g in user.groups)
        if unresolved:  # a bound role that is missing, named by the kind of the request
            errors = [f"{rt.plural}.{RBAC} {u.split(maxsplit=1)[1]}" for u in unresolved]
            said += f"; resolution errors: [{' '.join(errors)}]"
        raise Forbidden(
            f'{rt.plural}.{RBAC} "{name}" is forbidden: user "{user.name}" (groups=[{groups}]) is attempting '
            f"to grant RBAC permissions not currently held:\n{said}",
            details={"name": name, "group": RBAC, "kind": rt.plural},
        )


def _broken_down(rules: list[JSON]) -> Iterator[JSON]:
    """One verb of one resource (or URL) per rule (``BreakdownRule``)."""
    for rule in rules:
        verbs = list(rule.get("verbs") or ())
        for group in rule.get("apiGroups") or ():
            for resource in rule.get("resources") or ():
                for verb in verbs:
                    names = list(rule.get("resourceNames") or ())
                    for one in names or [None]:
                        out: JSON = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                        if one is not None:
                            out["resourceNames"] = [one]
                        yield out
        for url in rule.get("nonResourceURLs") or ():
            for verb in verbs:
                yield {"nonResourceURLs": [url], "verbs": [verb]}


def _as_request(rule: JSON) -> Attributes:
    verb = rule["verbs"][0]
    if rule.get("nonResourceURLs"):
        return Attributes(verb, path=rule["nonResourceURLs"][0])
    resource, _, sub = str(rule["resources"][0]).partition("/")
    names = rule.get("resourceNames") or [""]
    return Attributes(verb, resource, rule["apiGroups"][0], sub, "", names[0])


def _compacted(rules: list[JSON]) -> list[JSON]:
    """Rules that differ only in their verb, merged (``CompactRules``)."""
    merged: dict[str, JSON] = {}
    out: list[JSON] = []
    for rule in rules:
        if rule.get("nonResourceURLs"):
            out.append(rule)
            continue
        key = json.dumps([rule["apiGroups"], rule["resources"], rule.get("resourceNames")])
        if key in merged:
            if rule["verbs"][0] not in merged[key]["verbs"]:
                merged[key]["verbs"].append(rule["verbs"][0])
        else:
            merged[key] = {**rule, "verbs": list(rule["verbs"])}
            out.append(merged[key])
    return out


def _compact_string(rule: JSON) -> str:
    """``rbacv1helpers.CompactString``: Go's ``%q`` of each list that is set."""
    parts = []
    for key, label in (("apiGroups", "APIGroups"), ("resources", "Resources"),
                       ("nonResourceURLs", "NonResourceURLs"), ("resourceNames", "ResourceNames"),
                       ("verbs", "Verbs")):  # fmt: skip
        if rule.get(key):
            parts.append(f"{label}:[{' '.join(json.dumps(v) for v in rule[key])}]")
    return "{" + ", ".join(parts) + "}"
