"""The review kinds: asked with a POST, answered at once, never stored.

``kubectl auth can-i`` creates a SelfSubjectAccessReview (``--list``: a
SelfSubjectRulesReview), ``kubectl auth whoami`` a SelfSubjectReview; tools
that act for others create SubjectAccessReviews and TokenReviews.  Each is
answered from the same evaluation that authorizes requests
(:mod:`agent.emulator.rbac`): a ``system:masters`` member is allowed
everything with no reason (the privileged-group authorizer answers before
RBAC), anyone else by the stored Roles and bindings, with the binding that
allowed as the reason (``pkg/registry/authorization/*`` in kubernetes/kubernetes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.emulator.objects import JSON
from agent.emulator.rbac import ADMIN, Access, Attributes, User
from agent.emulator.rbac.rules import everything
from agent.kube.kinds import ResourceType

USER: JSON = ADMIN.info()


def is_review(rt: ResourceType) -> bool:
    return rt.group in ("authorization.k8s.io", "authentication.k8s.io")


def _attributes(spec: Mapping[str, Any], namespace: str = "") -> Attributes:
    res = spec.get("resourceAttributes")
    if isinstance(res, Mapping):
        return Attributes(
            str(res.get("verb") or ""),
            str(res.get("resource") or ""),
            str(res.get("group") or ""),
            str(res.get("subresource") or ""),
            namespace or str(res.get("namespace") or ""),
            str(res.get("name") or ""),
        )
    other = spec.get("nonResourceAttributes") or {}
    return Attributes(str(other.get("verb") or ""), path=str(other.get("path") or ""))


def _subject(spec: Mapping[str, Any]) -> User:
    extra = spec.get("extra") or {}
    return User(
        str(spec.get("user") or ""), tuple(spec.get("groups") or ()), str(spec.get("uid") or ""), extra
    )


def _decision(access: Access | None, user: User, a: Attributes) -> JSON:
    if access is None or user.privileged:
        return {"allowed": True}
    ok, reason = access.rbac.allowed(user, a)
    return {"allowed": ok, "reason": reason} if reason else {"allowed": ok}


def answer(
    rt: ResourceType,
    body: Mapping[str, Any],
    token: str | None,
    *,
    user: User = ADMIN,
    access: Access | None = None,
    namespace: str = "",
) -> JSON:
    """The review with its status filled in, for the user who asks."""
    spec = dict(body.get("spec") or {})
    out: JSON = {
        "kind": rt.kind,
        "apiVersion": rt.api_version,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
    }
    if rt.kind == "SelfSubjectAccessReview":
        out["status"] = _decision(access, user, _attributes(spec))
    elif rt.kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
        out["status"] = _decision(access, _subject(spec), _attributes(spec, namespace))
    elif rt.kind == "SelfSubjectRulesReview":
        ns = str(spec.get("namespace") or "")
        resource, other = access.rbac.rules(user, ns) if access is not None else everything()
        out["status"] = {"resourceRules": resource, "nonResourceRules": other, "incomplete": False}
    elif rt.kind == "SelfSubjectReview":
        out.pop("spec")
        out["status"] = {"userInfo": user.info()}
    elif rt.kind == "TokenReview":
        out["status"] = _token_review(spec, token, access)
    return out


def _token_review(spec: Mapping[str, Any], token: str | None, access: Access | None) -> JSON:
    given = str(spec.get("token") or "")
    found: User | None = None
    if token is not None and given == token:
        found = ADMIN
    elif access is not None and given:
        try:
            found = access.identities.authenticate(f"Bearer {given}")
        except Exception:  # an unknown, expired or forged token: not authenticated
            found = None
    if found is None:
        return {"authenticated": False, "error": "the token is not one the emulated cluster issued"}
    return {"authenticated": True, "user": found.info(), "audiences": list(spec.get("audiences") or ())}
