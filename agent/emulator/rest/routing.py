"""Routing: a request path to a discovery document or to the resource it names.

Parses paths the way the API server's request-info resolver does
(``apiserver/pkg/endpoints/request/requestinfo.go``): ``/api`` and ``/apis``
discovery (legacy and aggregated), ``/apis/{group}`` and the resource lists
of a group version, then ``/api/v1/namespaces/{ns}/{plural}/{name}/{subresource}``
and ``/apis/{group}/{version}/...`` (with the old ``/watch/`` prefix) to a
:class:`Target`.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from agent.emulator.catalog import Catalog
from agent.emulator.rest import discovery
from agent.emulator.rest.messages import aggregated_response, json_response
from agent.kube.errors import NotFound
from agent.kube.kinds import ResourceType

_NAMESPACE_SUBRESOURCES = {"status", "finalize"}


@dataclass(frozen=True)
class Target:
    """The resource a request names."""

    rt: ResourceType
    namespace: str
    name: str
    subresource: str
    watch: bool


def _missing() -> NotFound:
    return NotFound("the server could not find the requested resource")


def route(catalog: Catalog, path: str, accept: str, address: str, *, watch_query: bool) -> Response | Target:
    parts = [p for p in path.split("/") if p]
    found = _discovery(catalog, parts, accept, address)
    if found is not None:
        return found
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
        if version != "v1":
            raise _missing()
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise _missing()
    if not rest:
        versions_of = catalog.served_versions
        served = [t for t in catalog.types().values() if t.group == group and version in versions_of(t)]
        if not served:
            raise _missing()
        return json_response(discovery.resource_list(served, f"{group}/{version}" if group else version))
    return _target(catalog, group, version, rest, watch_query=watch_query)


def _wants_aggregated(accept: str) -> bool:
    """Whether the client takes ``apidiscovery.k8s.io/v2``; one that asks only for v2beta1
    (kubectl 1.27) gets the legacy documents it also accepts, as from a server without it."""
    for media in accept.split(","):
        params = dict(p.strip().partition("=")[::2] for p in media.split(";")[1:])
        if params.get("g") == "apidiscovery.k8s.io" and params.get("v") == "v2":
            return True
    return False


def _discovery(catalog: Catalog, parts: list[str], accept: str, address: str) -> Response | None:
    """``/api``, ``/apis`` and ``/apis/{group}``; None for any other path."""
    types = list(catalog.types().values())
    aggregated = _wants_aggregated(accept)
    if parts == ["api"]:
        if aggregated:
            return aggregated_response(discovery.aggregated(types, catalog.served_versions, legacy=True))
        return json_response(discovery.api_versions(address))
    if parts == ["apis"]:
        if aggregated:
            return aggregated_response(discovery.aggregated(types, catalog.served_versions, legacy=False))
        return json_response(discovery.api_group_list(types, catalog.served_versions))
    if len(parts) == 2 and parts[0] == "apis":
        doc = discovery.api_group(types, catalog.served_versions, parts[1])
        if doc is None:
            raise _missing()
        return json_response(doc)
    return None


def _target(catalog: Catalog, group: str, version: str, rest: list[str], *, watch_query: bool) -> Target:
    watch_path = rest[0] == "watch"
    if watch_path:
        rest = rest[1:]
    namespace = ""
    if (
        len(rest) >= 3
        and rest[0] == "namespaces"
        and not (group == "" and len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES)
    ):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3 or not rest:
        raise _missing()
    plural, name = rest[0], rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    rt = catalog.by_plural(group, version, plural)
    if (namespace and not rt.namespaced) or (subresource and subresource not in rt.subresources):
        raise _missing()
    if rt.namespaced and name and not namespace:
        raise _missing()
    return Target(rt, namespace, name, subresource, watch_path or watch_query)
