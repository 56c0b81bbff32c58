"""Real clusters through the official ``kubernetes`` client.

One code path serves every API server, the emulated cluster's REST server
included.  Requests go through :class:`Transport` over the client's own
configuration and connections, to each kind's :class:`Endpoint`: a built-in
kind's is known without asking (its plural and scope never change); any
other kind is found by the dynamic client's discovery (cached in a file by
the client's lazy discoverer, and per kind here), so custom resources need
no generated code.  Configuration comes from a kubeconfig (``KUBECONFIG`` or
``~/.kube/config`` unless a path is given, and a context) or from the
service account of the pod the agent runs in.  API errors become the same
:class:`ClusterError` classes the emulated cluster raises, from the
``kind: Status`` the server answered.

Beside it: :mod:`~agent.cluster.connection` (the client's configuration),
:mod:`~agent.cluster.transport` (requests and streamed responses) and
:mod:`~agent.cluster.discovery` (endpoints and what the server serves).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from agent.cluster import connection, discovery
from agent.cluster.base import FIELD_MANAGER, JSON
from agent.cluster.discovery import Endpoint
from agent.cluster.transport import Transport, api_error, lines, shut_when_stopped
from agent.kube.errors import ClusterError, ClusterUnavailable, NotFound, error_from_status
from agent.kube.kinds import ResourceType, builtin
from agent.models import split_api_version

if TYPE_CHECKING:  # the dynamic client (which loads jsonschema) loads with the first discovery
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.resource import Resource

T = TypeVar("T")
Objects = list[JSON]
LIST_PAGE = 500  # objects per list request (continued until done)
_PATCH_CONTENT = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


def _selector(labels: Mapping[str, str] | str | None) -> str:
    """A label selector as the API takes it (``a=1,b=2``)."""
    if isinstance(labels, str):
        return labels
    return ",".join(f"{k}={v}" for k, v in (labels or {}).items())


def _write_query(field_manager: str, dry_run: bool) -> dict[str, str]:
    query = {"fieldManager": field_manager}
    if dry_run:
        query["dryRun"] = "All"
    return query


class KubeCluster:
    """A ClusterClient over any Kubernetes API server."""

    def __init__(self, api_client: k8s.ApiClient, *, discovery_cache: str | Path | None = None) -> None:
        self.api_client = api_client
        self._dynamic: DynamicClient | None = None
        self._discovery_cache = str(discovery_cache) if discovery_cache else None
        self._resources: dict[tuple[str, str], Resource] = {}
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._lookup = threading.RLock()
        self.transport = Transport(api_client)
        self.requests = 0

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_kubeconfig(
        cls, path: str | Path | None = None, context: str | None = None, cluster: str | None = None, **kw: Any
    ) -> KubeCluster:
        """From a kubeconfig file (default ``$KUBECONFIG`` or ``~/.kube/config``),
        context and cluster (default the context's)."""
        return cls(connection.from_kubeconfig(path, context, cluster), **kw)

    @classmethod
    def in_cluster(cls, **kw: Any) -> KubeCluster:
        """From the service account of the pod the agent runs in."""
        return cls(connection.in_cluster(), **kw)

    @property
    def dynamic(self) -> DynamicClient:
        if self._dynamic is None:
            with self._lookup:
                if self._dynamic is None:
                    self._dynamic = self._call(self._discover)
        return self._dynamic

    def _discover(self) -> DynamicClient:
        from kubernetes.dynamic import DynamicClient  # noqa: PLC0415 - see above: a built-in kind needs none

        return DynamicClient(self.api_client, cache_file=self._discovery_cache)  # type: ignore[no-untyped-call]

    # -- plumbing -------------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        self.requests += 1
        try:
            return fn()
        except ApiException as e:
            raise api_error(e) from None
        except urllib3.exceptions.HTTPError as e:
            raise ClusterUnavailable(f"the cluster cannot be reached: {e}") from None

    def _resource(self, api_version: str, kind: str) -> Resource:
        """The kind's resource, found once.  The dynamic client's discovery
        is not safe for threads (a lookup that misses resets its cache while
        another fills it), and reads run side by side: one lookup at a time."""
        key = (api_version, kind)
        found = self._resources.get(key)
        if found is not None:
            return found
        from kubernetes.dynamic.exceptions import ResourceNotFoundError  # noqa: PLC0415 - see above

        with self._lookup:
            found = self._resources.get(key)
            if found is None:
                try:
                    found = self._call(lambda: self.dynamic.resources.get(api_version=api_version, kind=kind))
                except ResourceNotFoundError:
                    raise NotFound(
                        f"the server could not find the requested resource ({kind} in {api_version})"
                    ) from None
                self._resources[key] = found
        return found

    def endpoint(self, api_version: str, kind: str) -> Endpoint:
        """Where the kind's objects are.  A built-in kind's place is known
        (its plural and scope never change), so reads and writes of it need
        no discovery; any other kind (a custom resource) is looked up."""
        key = (api_version, kind)
        found = self._endpoints.get(key)
        if found is None:
            known = builtin(split_api_version(api_version)[0], kind)
            if known is not None:
                found = Endpoint.of(api_version, known.plural, known.namespaced)
            else:
                r = self._resource(api_version, kind)
                found = Endpoint.of(api_version, str(r.name), bool(r.namespaced))
            self._endpoints[key] = found
        return found

    def _for(self, obj: Mapping[str, Any]) -> tuple[Endpoint, str]:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            raise ClusterError("Object 'Kind' or 'apiVersion' is missing", code=400, reason="BadRequest")
        where = self.endpoint(api_version, kind)
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        return where, namespace if where.namespaced else ""

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: Mapping[str, str | None] | None = None,
    ) -> JSON:
        """A request through :class:`Transport`."""
        self.requests += 1
        payload = dict(body) if isinstance(body, Mapping) else body
        return self.transport.send(method, path, payload, content_type=content_type, query=query) or {}

    # -- the ClusterClient protocol ----------------------------------------------------------
    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        return discovery.resource_type(api_version, kind, self._resource(api_version, kind))

    def server_version(self) -> str:
        return str(self._send("GET", "/version").get("gitVersion", ""))

    def server_info(self) -> tuple[str, list[str]]:
        """The server's version and every API version and kind it serves
        (:func:`agent.cluster.discovery.served`), asked fresh each time.  The
        dynamic client's discovery cache is left alone (it refreshes itself
        when a kind is missing)."""
        return discovery.served(lambda path: self._send("GET", path))

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> JSON | None:
        try:
            where = self.endpoint(api_version, kind)
            return self._send("GET", where.path(name, namespace))
        except NotFound:
            return None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
    ) -> list[JSON]:
        return self.list_at(api_version, kind, namespace, label_selector)[0]

    def list_at(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
    ) -> tuple[Objects, str]:
        """The objects, and the resourceVersion of the list (where a watch resumes)."""
        where = self.endpoint(api_version, kind)
        path = where.path(namespace=namespace)
        query = {"labelSelector": _selector(label_selector) or None, "limit": str(LIST_PAGE)}
        items: Objects = []
        while True:
            data = self._send("GET", path, query=query)
            for item in data.get("items") or ():
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            meta = data.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                return items, str(meta.get("resourceVersion") or "")
            query = {**query, "continue": token}

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
        *,
        timeout: float = 60,
        stop: threading.Event | None = None,
    ) -> Iterator[tuple[str, JSON]]:
        """``(event type, object)``: ADDED for each current object (a watch
        without a resourceVersion), then changes, until ``timeout`` or
        ``stop``.  Setting ``stop`` ends the watch at once, even while it
        waits for the next event: its connection is shut down, so a caller
        that joins the watching thread does not wait for the server.

        The stream is read here rather than through the client's
        ``Watch``, which wraps every event in a ``ResourceInstance`` and
        can only be stopped between events."""
        return self.watch_from(api_version, kind, namespace, label_selector, timeout=timeout, stop=stop)

    def watch_from(
        self,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: Mapping[str, str] | str | None = None,
        *,
        resource_version: str = "",
        bookmarks: bool = False,
        timeout: float = 60,
        stop: threading.Event | None = None,
    ) -> Iterator[tuple[str, JSON]]:
        """As :meth:`watch`, from ``resource_version`` (only the changes after
        it); with ``bookmarks``, BOOKMARK events carry the resourceVersion
        reached while nothing changes.  A version the server no longer keeps
        raises Expired (410): list again and watch from the list's version."""
        where = self.endpoint(api_version, kind)
        query = {
            "watch": "true",
            "labelSelector": _selector(label_selector) or None,
            "timeoutSeconds": str(max(1, int(timeout))),
            "resourceVersion": resource_version or None,
            "allowWatchBookmarks": "true" if bookmarks else None,
        }
        self.requests += 1
        response = self.transport.open(where.path(namespace=namespace), query=query)
        ended = threading.Event()
        if stop is not None:
            threading.Thread(
                target=shut_when_stopped, args=(response, stop, ended), daemon=True, name="watch-stop"
            ).start()
        try:
            for line in lines(response):
                if stop is not None and stop.is_set():
                    return
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    raise error_from_status(obj, int(obj.get("code") or 500))
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
                    obj.setdefault("apiVersion", api_version)
                    obj.setdefault("kind", kind)
                    yield str(event["type"]), obj
        except (urllib3.exceptions.HTTPError, OSError) as e:
            if stop is not None and stop.is_set():
                return  # the read was cut short on purpose
            raise ClusterUnavailable(f"cannot reach the API server: {e}") from None
        finally:
            ended.set()
            response.close()
            response.release_conn()

    def create(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON:
        where, ns = self._for(obj)
        return self._send("POST", where.path(namespace=ns), obj, query=_write_query(field_manager, dry_run))

    def replace(
        self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JSON:
        where, ns = self._for(obj)
        name = str((obj.get("metadata") or {}).get("name", ""))
        return self._send("PUT", where.path(name, ns), obj, query=_write_query(field_manager, dry_run))

    def patch(  # noqa: PLR0913 - the PATCH verb's parameters, as the API server takes them
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> JSON:
        if patch_type == "apply":
            body = {**dict(patch), "apiVersion": api_version, "kind": kind}
            body.setdefault("metadata", {})["name"] = name
            return self.apply(body, field_manager=field_manager, force=force, dry_run=dry_run)
        where = self.endpoint(api_version, kind)
        return self._send(
            "PATCH",
            where.path(name, namespace, subresource),
            patch,
            content_type=_PATCH_CONTENT[patch_type],
            query=_write_query(field_manager, dry_run),
        )

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> JSON:
        """Server-side apply (``application/apply-patch+yaml``)."""
        where, ns = self._for(obj)
        name = str((obj.get("metadata") or {}).get("name", ""))
        query = _write_query(field_manager, dry_run)
        if force:
            query["force"] = "true"
        return self._send(
            "PATCH", where.path(name, ns), obj, content_type="application/apply-patch+yaml", query=query
        )

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        *,
        dry_run: bool = False,
        propagation_policy: str | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> JSON | None:
        where = self.endpoint(api_version, kind)
        body: JSON = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if preconditions:
            body["preconditions"] = dict(preconditions)
        if dry_run:
            body["dryRun"] = ["All"]
        return self._send("DELETE", where.path(name, namespace), body) or None

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]
