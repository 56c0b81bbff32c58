"""Discovery documents: what ``/api``, ``/apis`` and friends answer.

Clients find resources here before they touch them: the official Python
client's dynamic client reads the legacy documents (``APIVersions``,
``APIGroupList``, ``APIResourceList``); kubectl since 1.26 asks for the
aggregated form (``APIGroupDiscoveryList``, ``apidiscovery.k8s.io/v2``) and
falls back to the legacy one.  Both are built from the same served types.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent.kube.kinds import KUBERNETES_VERSION, ResourceType, version_priority

JSON = dict[str, Any]
_SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"]}


def version_info() -> JSON:
    major, minor, _ = KUBERNETES_VERSION.lstrip("v").split(".")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"{KUBERNETES_VERSION}+gitops-agent-emulator",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def _groups(types: Iterable[ResourceType], versions_of: Any) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for t in types:
        if not t.group:
            continue
        known = groups.setdefault(t.group, [])
        for v in versions_of(t):
            if v not in known:
                known.append(v)
    return groups


def api_versions(address: str) -> JSON:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group_json(group: str, versions: list[str]) -> JSON:
    ordered = sorted(versions, key=version_priority)
    return {
        "name": group,
        "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in ordered],
        "preferredVersion": {"groupVersion": f"{group}/{ordered[0]}", "version": ordered[0]},
    }


def api_group_list(types: Iterable[ResourceType], versions_of: Any) -> JSON:
    groups = _groups(types, versions_of)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_json(g, vs) for g, vs in groups.items()],
    }


def api_group(types: Iterable[ResourceType], versions_of: Any, group: str) -> JSON | None:
    versions = _groups(types, versions_of).get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_json(group, versions)}


def _resource_json(t: ResourceType) -> JSON:
    out: JSON = {
        "name": t.plural,
        "singularName": t.singular,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        out["shortNames"] = list(t.short_names)
    if t.categories:
        out["categories"] = list(t.categories)
    return out


def resource_list(types: Iterable[ResourceType], group_version: str) -> JSON:
    resources: list[JSON] = []
    for t in types:
        resources.append(_resource_json(t))
        for sub in t.subresources:
            if sub in _SUBRESOURCE_VERBS:
                kind = "Scale" if sub == "scale" else t.kind
                resources.append(
                    {
                        "name": f"{t.plural}/{sub}",
                        "singularName": "",
                        "namespaced": t.namespaced,
                        "kind": kind,
                        "verbs": _SUBRESOURCE_VERBS[sub],
                        **({"group": "autoscaling", "version": "v1"} if sub == "scale" else {}),
                    }
                )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def aggregated(types: Iterable[ResourceType], versions_of: Any, legacy: bool) -> JSON:
    """``APIGroupDiscoveryList`` (``apidiscovery.k8s.io/v2``) for ``/api`` (legacy) or ``/apis``."""
    by_group: dict[str, dict[str, list[ResourceType]]] = {}
    for t in types:
        if bool(t.group) == legacy:
            continue
        for v in versions_of(t):
            by_group.setdefault(t.group, {}).setdefault(v, []).append(t)
    items = []
    for group, versions in by_group.items():
        entries = []
        for v in sorted(versions, key=version_priority):
            resources = []
            for t in versions[v]:
                res: JSON = {
                    "resource": t.plural,
                    "responseKind": {"group": t.group, "version": v, "kind": t.kind},
                    "scope": "Namespaced" if t.namespaced else "Cluster",
                    "singularResource": t.singular,
                    "verbs": list(t.verbs),
                }
                if t.short_names:
                    res["shortNames"] = list(t.short_names)
                if t.categories:
                    res["categories"] = list(t.categories)
                subs = [
                    {
                        "subresource": sub,
                        "responseKind": {
                            "group": "autoscaling" if sub == "scale" else t.group,
                            "version": "v1" if sub == "scale" else v,
                            "kind": "Scale" if sub == "scale" else t.kind,
                        },
                        "verbs": _SUBRESOURCE_VERBS[sub],
                    }
                    for sub in t.subresources
                    if sub in _SUBRESOURCE_VERBS
                ]
                if subs:
                    res["subresources"] = subs
                resources.append(res)
            entries.append({"version": v, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": entries})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
