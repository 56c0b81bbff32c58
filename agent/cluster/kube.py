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
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from kubernetes.dynamic.resource import Resource

from agent.cluster.base import FIELD_MANAGER, JSON
from agent.cluster.transport import Transport
from agent.errors import ConfigError
from agent.kube.errors import ClusterError, ClusterUnavailable, NotFound, error_from_status
from agent.kube.kinds import ResourceType, builtin
from agent.models import split_api_version

T = TypeVar("T")
DISCOVERY_PARALLELISM = 8
LIST_PAGE = 500  # objects per list request (continued until done)
_PATCH_CONTENT = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


def _error(e: ApiException) -> ClusterError:
    try:
        body = json.loads(e.body) if e.body else {}
    except (TypeError, ValueError):
        body = {}
    if isinstance(body, dict) and body.get("kind") == "Status":
        return error_from_status(body, int(e.status or 500))
    message = f"HTTP {e.status}: {e.reason}"
    return error_from_status({"message": message}, int(e.status or 500))


TOKEN_REFRESH_SECONDS = 30.0


def _throttle_token_refresh(configuration: k8s.Configuration) -> None:
    """The kubeconfig loader re-applies its whole configuration before every
    request (to refresh expiring tokens), which costs more than a request to a
    fast server; checking every TOKEN_REFRESH_SECONDS keeps expiring tokens
    fresh (they live for minutes) at a fraction of the cost."""
    hook = configuration.refresh_api_key_hook
    if hook is None:
        return
    last = [-TOKEN_REFRESH_SECONDS]

    def throttled(config: k8s.Configuration) -> None:
        nonlocal hook
        now = time.monotonic()
        if now - last[0] >= TOKEN_REFRESH_SECONDS:
            last[0] = now
            hook(config)
            # The loader's hook installs a fresh copy of itself on every call:
            # keep that one as the hook to call, and stay in front of it.
            hook = config.refresh_api_key_hook if config.refresh_api_key_hook is not throttled else hook
            config.refresh_api_key_hook = throttled

    configuration.refresh_api_key_hook = throttled


POOL_CONNECTIONS = 64


def _api_client(configuration: k8s.Configuration) -> k8s.ApiClient:
    """The client's connection pool holds 5 connections per CPU by default:
    a sync writing with more threads than that (``parallelism``, plus a watch
    per kind while it waits for health) would open, handshake and throw
    away a connection for each request over the limit.  Connections are
    opened on demand, so a larger pool costs nothing until it is used."""
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize, POOL_CONNECTIONS)
    return k8s.ApiClient(configuration)


def _lines(response: Any) -> Iterator[bytes]:
    """The lines of a streamed response, as the server flushes them."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        *whole, pending = pending.split(b"\n")
        yield from (line for line in whole if line.strip())
    if pending.strip():
        yield pending


def _shut_when_stopped(response: Any, stop: threading.Event, ended: threading.Event) -> None:
    """Shut the watch's socket for reading when ``stop`` is set, which ends a
    read that is waiting for the server; returns when the watch ends anyway."""
    while not ended.is_set():
        if stop.wait(0.25):
            if not ended.is_set():
                with contextlib.suppress(Exception):  # already released, closed or never connected
                    response.shutdown()
            return


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
        cls, path: str | Path | None = None, context: str | None = None, **kw: Any
    ) -> KubeCluster:
        """From a kubeconfig file (default ``$KUBECONFIG`` or ``~/.kube/config``) and context."""
        configuration = k8s.Configuration()
        try:
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(path) if path else None,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        except (ConfigException, OSError, TypeError) as e:
            where = str(path) if path else "kubeconfig"
            raise ConfigError(f"{where}: {e}") from None
        _throttle_token_refresh(configuration)
        return cls(_api_client(configuration), **kw)

    @classmethod
    def in_cluster(cls, **kw: Any) -> KubeCluster:
        """From the service account of the pod the agent runs in."""
        configuration = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException as e:
            raise ConfigError(f"cluster.inCluster: {e}") from None
        return cls(_api_client(configuration), **kw)

    @property
    def dynamic(self) -> DynamicClient:
        if self._dynamic is None:
            with self._lookup:
                if self._dynamic is None:
                    self._dynamic = self._call(self._discover)
        return self._dynamic

    def _discover(self) -> DynamicClient:
        return DynamicClient(self.api_client, cache_file=self._discovery_cache)  # type: ignore[no-untyped-call]

    # -- plumbing -------------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        self.requests += 1
        try:
            return fn()
        except ApiException as e:
            raise _error(e) from None
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
            group, version = split_api_version(api_version)
            prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
            known = builtin(group, kind)
            if known is not None:
                found = Endpoint(prefix, known.plural, known.namespaced)
            else:
                r = self._resource(api_version, kind)
                found = Endpoint(prefix, str(r.name), bool(r.namespaced))
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
        r = self._resource(api_version, kind)
        group, version = split_api_version(api_version)
        subresources = tuple(sorted(getattr(r, "subresources", {}) or {}))
        return ResourceType(
            group,
            version,
            kind,
            r.name,
            bool(r.namespaced),
            tuple(r.short_names or ()),
            tuple(r.verbs or ()),
            subresources,
            tuple(getattr(r, "categories", None) or ()),
            (version,),
        )

    def server_version(self) -> str:
        return str(self._send("GET", "/version").get("gitVersion", ""))

    def server_info(self) -> tuple[str, list[str]]:
        """The server's version and every API version and kind it serves
        (``apps/v1``, ``apps/v1/Deployment``), asked fresh each time (CRDs
        come and go): ``/version``, ``/api`` and ``/apis``, then each group
        version's resources, side by side.  A group version that cannot say
        (an aggregated API whose backend is down, as ``metrics.k8s.io``
        often is) is served without kinds, as kubectl goes on past it.
        The dynamic client's discovery cache is left alone (it refreshes
        itself when a kind is missing)."""
        with ThreadPoolExecutor(max_workers=DISCOVERY_PARALLELISM, thread_name_prefix="discovery") as pool:
            version = pool.submit(self._send, "GET", "/version")
            core = pool.submit(self._send, "GET", "/api")
            groups = self._send("GET", "/apis")
            versions = [str(v) for v in core.result().get("versions") or ()]
            versions += [
                str(v["groupVersion"])
                for g in groups.get("groups") or ()
                for v in g.get("versions") or ()
                if v.get("groupVersion")
            ]
            served: set[str] = set(versions)
            for gv, resources in zip(versions, pool.map(self._resources_of, versions), strict=True):
                for r in resources:
                    name, kind = str(r.get("name", "")), r.get("kind")
                    if kind and "/" not in name:  # subresources (deployments/scale) are not kinds
                        served.add(f"{gv}/{kind}")
            return str(version.result().get("gitVersion", "")), sorted(served)

    def _resources_of(self, group_version: str) -> list[JSON]:
        path = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
        try:
            return list(self._send("GET", path).get("resources") or ())
        except ClusterError:
            return []

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
        where = self.endpoint(api_version, kind)
        path = where.path(namespace=namespace)
        query = {"labelSelector": _selector(label_selector) or None, "limit": str(LIST_PAGE)}
        items: list[JSON] = []
        while True:
            data = self._send("GET", path, query=query)
            for item in data.get("items") or ():
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            token = (data.get("metadata") or {}).get("continue")
            if not token:
                return items
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
        where = self.endpoint(api_version, kind)
        query = {
            "watch": "true",
            "labelSelector": _selector(label_selector) or None,
            "timeoutSeconds": str(max(1, int(timeout))),
        }
        self.requests += 1
        response = self.transport.open(where.path(namespace=namespace), query=query)
        ended = threading.Event()
        if stop is not None:
            threading.Thread(
                target=_shut_when_stopped, args=(response, stop, ended), daemon=True, name="watch-stop"
            ).start()
        try:
            for line in _lines(response):
                if stop is not None and stop.is_set():
                    return
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    raise error_from_status(obj, int(obj.get("code") or 500))
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
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

    def patch(  # noqa: PLR0913, RUF100 - the PATCH verb's parameters, as the API server takes them
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
    ) -> JSON | None:
        where = self.endpoint(api_version, kind)
        body: JSON = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if dry_run:
            body["dryRun"] = ["All"]
        return self._send("DELETE", where.path(name, namespace), body) or None

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]
