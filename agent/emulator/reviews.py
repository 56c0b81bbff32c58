"""The review kinds: asked with a POST, answered at once, never stored.

``kubectl auth can-i`` creates a SelfSubjectAccessReview (``--list``: a
SelfSubjectRulesReview), ``kubectl auth whoami`` a SelfSubjectReview; tools
that act for others create SubjectAccessReviews and TokenReviews.  The
emulated cluster has one user, whose bearer token is in ``system:masters``,
and enforces no RBAC: every access is allowed, as the real API server allows
every request of a ``system:masters`` member (its privileged-group authorizer
answers before RBAC, with no reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.emulator.objects import JSON
from agent.kube.kinds import ResourceType

USER: JSON = {"username": "emulator-admin", "groups": ["system:masters", "system:authenticated"]}
_ALL_RULES: JSON = {
    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
    "incomplete": False,
}
_ALLOWED = "the emulated cluster authorizes every request (no RBAC is enforced)"


def is_review(rt: ResourceType) -> bool:
    return rt.group in ("authorization.k8s.io", "authentication.k8s.io")


def answer(rt: ResourceType, body: Mapping[str, Any], token: str | None) -> JSON:
    """The review with its status filled in."""
    spec = dict(body.get("spec") or {})
    out: JSON = {
        "kind": rt.kind,
        "apiVersion": rt.api_version,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
    }
    if rt.kind == "SelfSubjectAccessReview":
        out["status"] = {"allowed": True}
    elif rt.kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
        out["status"] = {"allowed": True, "reason": _ALLOWED}
    elif rt.kind == "SelfSubjectRulesReview":
        out["status"] = dict(_ALL_RULES)
    elif rt.kind == "SelfSubjectReview":
        out.pop("spec")
        out["status"] = {"userInfo": dict(USER)}
    elif rt.kind == "TokenReview":
        known = token is not None and spec.get("token") == token
        out["status"] = (
            {"authenticated": True, "user": dict(USER), "audiences": list(spec.get("audiences") or ())}
            if known
            else {"authenticated": False, "error": "the token is not the emulated cluster's"}
        )
    return out
