"""Authentication, impersonation and RBAC authorization of the emulated cluster.

:mod:`.identity` finds who a request is (a token, then ``Impersonate-*``
headers), :mod:`.rules` decides from the stored Roles and bindings,
:mod:`.policy` holds the bootstrap roles (the aggregated ones are kept filled by
:mod:`agent.emulator.controllers.aggregation`).  The admin (``system:masters``) is allowed before any
role is read.
"""

from __future__ import annotations

from typing import Any

from agent.emulator.objects import JSON
from agent.emulator.rbac.identity import ADMIN, Identities
from agent.emulator.rbac.rules import Attributes, Evaluator, User, forbidden_message
from agent.kube.errors import Forbidden


class Access:
    """Who a request is and what it may do, over one cluster's store."""

    def __init__(self, store: Any, token: str | None) -> None:
        self.identities = Identities(store, token)
        self.rbac = Evaluator(store)


def forbidden(rbac: Evaluator, user: User, a: Attributes) -> None:
    """Raise the API server's 403 when RBAC does not allow the request."""
    ok, reason = rbac.allowed(user, a)
    if ok:
        return
    if not a.is_resource:
        raise PathForbidden(forbidden_message(user, a, reason))
    details = {"name": a.name, "group": a.group, "kind": a.resource}
    raise Forbidden(forbidden_message(user, a, reason), details={k: v for k, v in details.items() if v})


class PathForbidden(Forbidden):
    """A non-resource path refused: the API server's Status carries empty ``details``."""

    def status(self) -> JSON:
        return {**super().status(), "details": {}}


def resource_attributes(target: Any, verb: str) -> Attributes:
    """A resource request's attributes, from the route it took."""
    return Attributes(
        verb,
        target.rt.plural,
        target.rt.group,
        target.subresource,
        target.namespace if target.rt.namespaced else "",
        target.name,
    )


__all__ = [
    "ADMIN",
    "Access",
    "Attributes",
    "Evaluator",
    "Identities",
    "User",
    "forbidden",
    "resource_attributes",
]
