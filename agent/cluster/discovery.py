"""What an API server serves: where a kind's objects are (:class:`Endpoint`),
a kind's resource type as discovery describes it, and every API version and
kind the server serves (:func:`served`), as ``kubectl api-resources`` asks.

Cut from :mod:`agent.cluster.kube` as client-go cuts its ``discovery``
package from the REST client: these answers are read from the server's
discovery documents, then the client sends requests where they say.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from agent.cluster.base import JSON
from agent.kube.errors import ClusterError
from agent.kube.kinds import ResourceType
from agent.models import split_api_version

DISCOVERY_PARALLELISM = 8


@dataclass(frozen=True)
class Endpoint:
    """Where a kind's objects are on the REST API: ``/apis/apps/v1``, ``deployments``."""

    prefix: str
    plural: str
    namespaced: bool

    def path(self, name: str = "", namespace: str = "", subresource: str = "") -> str:
        ns = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        tail = f"/{name}" if name else ""
        if name and subresource:
            tail += f"/{subresource}"
        return f"{self.prefix}{ns}/{self.plural}{tail}"

    @classmethod
    def of(cls, api_version: str, plural: str, namespaced: bool) -> Endpoint:
        group, version = split_api_version(api_version)
        return cls(f"/apis/{group}/{version}" if group else f"/api/{version}", plural, namespaced)


def resource_type(api_version: str, kind: str, resource: Any) -> ResourceType:
    """A kind's resource type from the dynamic client's discovered ``Resource``."""
    group, version = split_api_version(api_version)
    subresources = tuple(sorted(getattr(resource, "subresources", {}) or {}))
    return ResourceType(
        group,
        version,
        kind,
        resource.name,
        bool(resource.namespaced),
        tuple(resource.short_names or ()),
        tuple(resource.verbs or ()),
        subresources,
        tuple(getattr(resource, "categories", None) or ()),
        (version,),
    )


def served(get: Callable[[str], JSON]) -> tuple[str, list[str]]:
    """The server's version and every API version and kind it serves
    (``apps/v1``, ``apps/v1/Deployment``), asked fresh with ``get`` (CRDs
    come and go): ``/version``, ``/api`` and ``/apis``, then each group
    version's resources, side by side.  A group version that cannot say
    (an aggregated API whose backend is down, as ``metrics.k8s.io`` often
    is) is served without kinds, as kubectl goes on past it."""

    def resources_of(group_version: str) -> list[JSON]:
        path = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
        try:
            return list(get(path).get("resources") or ())
        except ClusterError:
            return []

    with ThreadPoolExecutor(max_workers=DISCOVERY_PARALLELISM, thread_name_prefix="discovery") as pool:
        version = pool.submit(get, "/version")
        core = pool.submit(get, "/api")
        groups = get("/apis")
        versions = [str(v) for v in core.result().get("versions") or ()]
        versions += [
            str(v["groupVersion"])
            for g in groups.get("groups") or ()
            for v in g.get("versions") or ()
            if v.get("groupVersion")
        ]
        found: set[str] = set(versions)
        for gv, resources in zip(versions, pool.map(resources_of, versions), strict=True):
            for r in resources:
                name, kind = str(r.get("name", "")), r.get("kind")
                if kind and "/" not in name:  # subresources (deployments/scale) are not kinds
                    found.add(f"{gv}/{kind}")
        return str(version.result().get("gitVersion", "")), sorted(found)
