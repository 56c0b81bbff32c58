"""The clusterrole-aggregation controller: a ClusterRole with an ``aggregationRule``
holds the rules of every ClusterRole its selectors match.

As ``pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go``
in kubernetes/kubernetes does it: the matching roles (never the role itself) are
taken in name order and their rules appended, each only once; the role is
written only when its rules change.  Any ClusterRole written queues this pass,
so labelling a new role ``rbac.authorization.k8s.io/aggregate-to-edit: "true"``
widens ``edit`` and ``admin`` at once.
"""

from __future__ import annotations

from agent.emulator.admission.causes import selector_matches
from agent.emulator.controllers.status import Context, Desired
from agent.emulator.objects import JSON

MANAGER = "clusterrole-aggregation-controller"


def aggregate(ctx: Context, _written: JSON, _now: float) -> None:
    c = ctx.cluster
    roles = sorted(
        c.store.list("rbac.authorization.k8s.io", "clusterroles"), key=lambda r: r["metadata"]["name"]
    )
    rt = c.resource_type("rbac.authorization.k8s.io/v1", "ClusterRole")
    for role in roles:
        selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or ()
        if not selectors:
            continue
        name = role["metadata"]["name"]
        rules: list[JSON] = []
        for other in roles:
            labels = other["metadata"].get("labels") or {}
            if other["metadata"]["name"] == name or not any(selector_matches(s, labels) for s in selectors):
                continue
            for rule in other.get("rules") or ():
                if rule not in rules:
                    rules.append(rule)
        if rules != (role.get("rules") or []):

            def change(obj: JSON, rules: list[JSON] = rules) -> JSON:
                obj["rules"] = rules
                return obj

            c.system_write(rt, "", name, change, manager=MANAGER)


def nothing(_ctx: Context, _obj: JSON, _now: float) -> Desired:
    return None, None
