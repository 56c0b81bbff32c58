"""The emulated cluster's REST server: the Kubernetes API over HTTP.

Serves what clients of a real API server use: discovery (``/version``,
``/api``, ``/apis``, group and resource lists, legacy and aggregated), the
resource paths (``/api/v1/namespaces/{ns}/{plural}/{name}/{subresource}``
and ``/apis/{group}/{version}/...``) with get, list (label and field
selectors, ``limit``/``continue``), create, update, patch (merge, JSON,
strategic, apply), delete (``propagationPolicy``, preconditions),
deletecollection, the ``status`` and ``scale`` subresources, and watch
(``?watch=true`` from a resourceVersion, bookmarks, 410 Expired when the
version is too old).  Errors are ``kind: Status`` objects with the API
server's reasons and codes.  A bearer token is required (401 without it).

Starlette routes every request to one handler that parses the path the way
the API server's request-info resolver does; uvicorn (httptools) serves it
with keep-alive and streams watches.  Engine calls are short and run on the
event loop; watches wait on an asyncio event woken by every committed write.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from agent.emulator.admission import fieldcheck
from agent.emulator.engine import PATCH_TYPES, EmulatedCluster, faults_checked
from agent.emulator.objects import qualified
from agent.emulator.rest import discovery, openapi, tables
from agent.emulator.storage.selectors import field_matcher, label_matcher
from agent.kube.errors import BadRequest, ClusterError, Expired, MethodNotAllowed, NotFound, Unauthorized
from agent.kube.kinds import ResourceType

JSON = dict[str, Any]
_HEALTH = {"/healthz", "/livez", "/readyz"}
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}
WATCH_TIMEOUT = 1800.0


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(obj, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def status_response(error: ClusterError) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return _json(error.status(), error.code, headers)


def _success(rt: ResourceType, obj: JSON) -> JSON:
    meta = obj.get("metadata") or {}
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": meta.get("name", ""),
            "group": rt.group,
            "kind": rt.plural,
            "uid": meta.get("uid", ""),
        },
    }


_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class EmulatorApp:
    """The ASGI application over one :class:`EmulatedCluster`."""

    def __init__(self, cluster: EmulatedCluster, token: str | None, address: str = "127.0.0.1") -> None:
        self.cluster = cluster
        self.token = token
        self.address = address
        self.bookmark_seconds = 5.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        # watches waiting for writes, by the (group, plural) they watch
        self._wakers: dict[asyncio.Event, tuple[str, str]] = {}
        cluster.add_listener(self._on_write)
        self.documents = openapi.Documents(cluster.types, cluster.served_versions, cluster.crd_of)
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)])

    # -- watch wake-ups -------------------------------------------------------------------------
    def _on_write(self, rv: int, group: str, plural: str) -> None:
        """Wake the watches of the written kind: at once when the write was
        made on the server's own loop (a request), else through the loop (a
        controller's write on its thread)."""
        loop, kind = self._loop, (group, plural)
        if loop is None or loop.is_closed() or kind not in list(self._wakers.values()):
            return
        if threading.get_ident() == self._loop_thread:
            self._wake(kind)
        else:
            loop.call_soon_threadsafe(self._wake, kind)

    def _wake(self, kind: tuple[str, str]) -> None:
        for event, watched in list(self._wakers.items()):
            if watched == kind:
                event.set()

    # -- dispatch -------------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        if self._loop is None:
            self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        path = request.url.path.rstrip("/") or "/"
        try:
            if self.cluster.faults.config.down:
                self.cluster.faults.check("get")
            if path in _HEALTH:
                return PlainTextResponse("ok")
            self._authenticate(request)
            if path == "/version":
                return _json(discovery.version_info())
            if path.startswith("/emulator/v1/faults"):
                return await self._faults(request)
            if path == "/openapi" or path.startswith("/openapi/"):
                return self._openapi(request, path)
            return await self._api(request, path)
        except ClusterError as e:
            return status_response(e)

    def _authenticate(self, request: Request) -> None:
        if self.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise Unauthorized("Unauthorized")

    async def _faults(self, request: Request) -> Response:
        if request.method == "GET":
            return _json(self.cluster.faults.to_json())
        if request.method in ("PUT", "POST"):
            body = await self._body(request)
            self.cluster.faults.replace(body if isinstance(body, dict) else {})
            return _json(self.cluster.faults.to_json())
        raise MethodNotAllowed(
            f"the server does not allow this method on the requested resource ({request.method})"
        )

    def _openapi(self, request: Request, path: str) -> Response:
        accept = request.headers.get("accept", "") or "*/*"
        if not any(m in accept for m in ("json", "*/*")):
            raise ClusterError(
                "only application/json is served for OpenAPI documents", code=406, reason="NotAcceptable"
            )
        if path == "/openapi/v2":
            return Response(self.documents.v2(), media_type="application/json")
        if path == "/openapi/v3":
            return _json(self.documents.v3_root())
        found = (
            self.documents.v3(path.removeprefix("/openapi/v3/")) if path.startswith("/openapi/v3/") else None
        )
        if found is None:
            raise NotFound("the server could not find the requested resource")
        raw, digest = found
        # A URL with the current hash never changes: clients may keep it for good.
        cache = "public, immutable" if request.query_params.get("hash") == digest else "no-cache, private"
        return Response(
            raw, media_type="application/json", headers={"Cache-Control": cache, "Etag": f'"{digest}"'}
        )

    def _versions_of(self, t: ResourceType) -> tuple[str, ...]:
        return self.cluster.served_versions(t)

    async def _api(self, request: Request, path: str) -> Response:
        parts = [p for p in path.split("/") if p]
        types = list(self.cluster.types().values())
        aggregated = "apidiscovery.k8s.io" in request.headers.get("accept", "")
        if parts == ["api"]:
            if aggregated:
                return self._aggregated(discovery.aggregated(types, self._versions_of, legacy=True))
            return _json(discovery.api_versions(self.address))
        if parts == ["apis"]:
            if aggregated:
                return self._aggregated(discovery.aggregated(types, self._versions_of, legacy=False))
            return _json(discovery.api_group_list(types, self._versions_of))
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
            if version != "v1":
                raise NotFound("the server could not find the requested resource")
        elif parts[:1] == ["apis"] and len(parts) >= 2:
            if len(parts) == 2:
                doc = discovery.api_group(types, self._versions_of, parts[1])
                if doc is None:
                    raise NotFound("the server could not find the requested resource")
                return _json(doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise NotFound("the server could not find the requested resource")
        if not rest:
            served = [t for t in types if t.group == group and version in self._versions_of(t)]
            if not served:
                raise NotFound("the server could not find the requested resource")
            return _json(discovery.resource_list(served, f"{group}/{version}" if group else version))
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
            raise NotFound("the server could not find the requested resource")
        plural, name = rest[0], rest[1] if len(rest) > 1 else ""
        subresource = rest[2] if len(rest) > 2 else ""
        rt = self.cluster.resource_by_plural(group, version, plural)
        if (namespace and not rt.namespaced) or (subresource and subresource not in rt.subresources):
            raise NotFound("the server could not find the requested resource")
        if rt.namespaced and name and not namespace:
            raise NotFound("the server could not find the requested resource")
        watch = watch_path or request.query_params.get("watch") in ("true", "1")
        return await self._resource(request, rt, namespace, name, subresource, watch)

    def _aggregated(self, doc: JSON) -> Response:
        media = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        return Response(json.dumps(doc, separators=(",", ":")), media_type=media)

    # -- resources ------------------------------------------------------------------------------
    async def _resource(
        self, request: Request, rt: ResourceType, ns: str, name: str, sub: str, watch: bool
    ) -> Response:
        method = request.method
        q = request.query_params
        verb = {
            "GET": ("watch" if watch else "get" if name else "list"),
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete" if name else "deletecollection",
        }[method]
        delay = self.cluster.faults.check(verb, rt.kind, rt.plural)
        if delay:
            await asyncio.sleep(delay)
        if verb == "watch":
            return self._watch(request, rt, ns, name)
        dry_run = self._dry_run(q.getlist("dryRun"))
        manager = q.get("fieldManager") or self._default_manager(request, verb)
        token = faults_checked.set(True)
        try:
            return await self._call(request, rt, ns, name, sub, verb, dry_run, manager)
        finally:
            faults_checked.reset(token)

    @staticmethod
    def _default_manager(request: Request, verb: str) -> str:
        agent = request.headers.get("user-agent", "unknown")
        return agent.split("/")[0][:128] or "unknown"

    @staticmethod
    def _dry_run(values: list[str]) -> bool:
        for v in values:
            if v != "All":
                raise BadRequest(f'Invalid dry run value: "{v}": supported values: "All"')
        return bool(values)

    async def _call(
        self,
        request: Request,
        rt: ResourceType,
        ns: str,
        name: str,
        sub: str,
        verb: str,
        dry_run: bool,
        manager: str,
    ) -> Response:
        c = self.cluster
        q = request.query_params
        if verb == "get":
            c.requests["get"] += 1
            c.controllers.tick()
            obj = c.read(rt, name, ns)
            if obj is None:
                raise NotFound(
                    f'{qualified(rt)} "{name}" not found',
                    details={"name": name, "group": rt.group, "kind": rt.plural},
                )
            if sub == "scale":
                return _json(_scale_of(rt, obj))
            if self._table(request, sub):
                meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                return _json(self._as_table(request, rt, [obj], meta))
            return _json(obj)
        if verb == "list":
            c.requests["list"] += 1
            c.controllers.tick()
            limit = int(q.get("limit") or 0)
            page = c.list_page(
                rt, ns, q.get("labelSelector"), q.get("fieldSelector"), limit, q.get("continue") or ""
            )
            listed = page.to_json(rt)
            if self._table(request, sub):
                return _json(self._as_table(request, rt, listed["items"], listed["metadata"]))
            return _json(listed)
        validation = fieldcheck.mode_of(q.get("fieldValidation"))
        warned: list[str] = []
        if verb == "create":
            if name:
                raise MethodNotAllowed("the server does not allow this method on the requested resource")
            body, warned = self._checked(rt, await self._body(request), validation)
            made = c.create(body, field_manager=manager, dry_run=dry_run, namespace=ns)
            return _json(made, 201, fieldcheck.warning_header(warned))
        if verb == "update":
            body = await self._body(request)
            if sub == "scale":
                return _json(_scale_of(rt, self._scale(rt, ns, name, body, "merge", manager, dry_run)))
            body, warned = self._checked(rt, body, validation)
            replaced = c.replace(
                body, field_manager=manager, dry_run=dry_run, subresource=sub, namespace=ns, name=name
            )
            return _json(replaced, 200, fieldcheck.warning_header(warned))
        if verb == "patch":
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type not in PATCH_TYPES:
                raise ClusterError(
                    f"the body of the request was in an unknown format - accepted media types include: "
                    f"{', '.join(PATCH_TYPES)}",
                    code=415,
                    reason="UnsupportedMediaType",
                )
            patch = await self._body(request, yaml_ok=PATCH_TYPES[content_type] == "apply")
            if sub == "scale":
                return _json(
                    _scale_of(
                        rt, self._scale(rt, ns, name, patch, PATCH_TYPES[content_type], manager, dry_run)
                    )
                )
            warned = []
            if PATCH_TYPES[content_type] != "json":
                patch, warned = self._checked(rt, patch, validation)
            force = q.get("force") in ("true", "1")
            if PATCH_TYPES[content_type] == "apply":  # 201 when the apply created the object
                obj, created = c.apply_resource(
                    rt,
                    name,
                    ns,
                    patch,
                    field_manager=manager,
                    force=force,
                    dry_run=dry_run,
                    subresource=sub,
                    owned=True,
                )
                return _json(obj, 201 if created else 200, fieldcheck.warning_header(warned))
            obj = c.patch_resource(
                rt,
                name,
                ns,
                patch,
                patch_type=content_type,
                field_manager=manager,
                force=force,
                dry_run=dry_run,
                subresource=sub,
                owned=True,
            )
            return _json(obj, 200, fieldcheck.warning_header(warned))
        if verb == "delete":
            options = await self._delete_options(request)
            policy = q.get("propagationPolicy") or options.get("propagationPolicy")
            if options.get("orphanDependents") is True and not policy:
                policy = "Orphan"
            dry_run = dry_run or self._dry_run(list(options.get("dryRun") or ()))
            result = c.delete(
                rt.api_version,
                rt.kind,
                name,
                ns,
                dry_run=dry_run,
                propagation_policy=policy,
                preconditions=options.get("preconditions") or None,
            )
            if result is None or dry_run:
                return _json(result or {})
            if (result.get("metadata") or {}).get("deletionTimestamp") and c.read(rt, name, ns) is not None:
                return _json(result, 202)
            return _json(_success(rt, result))
        if verb == "deletecollection":
            options = await self._delete_options(request)
            deleted = c.delete_collection(
                rt,
                ns,
                q.get("labelSelector"),
                q.get("fieldSelector"),
                dry_run=dry_run,
                propagation_policy=q.get("propagationPolicy") or options.get("propagationPolicy"),
            )
            return _json(
                {
                    "kind": f"{rt.kind}List",
                    "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": str(c.store.current_rv())},
                    "items": deleted,
                }
            )
        raise MethodNotAllowed("the server does not allow this method on the requested resource")

    @staticmethod
    def _table(request: Request, sub: str) -> bool:
        return not sub and tables.wants_table(request.headers.get("accept", ""))

    def _as_table(
        self, request: Request, rt: ResourceType, items: list[JSON], meta: JSON, headers: bool = True
    ) -> JSON:
        include = request.query_params.get("includeObject") or "Metadata"
        if include not in ("None", "Metadata", "Object"):
            raise BadRequest(f'includeObject: Unsupported value: "{include}"')
        columns = tables.columns_for(rt, self.cluster.crd_of(rt))
        return tables.table(columns, items, include, meta, headers)

    def _checked(self, rt: ResourceType, body: Any, mode: str) -> tuple[Any, list[str]]:
        if not isinstance(body, dict):
            return body, []
        return fieldcheck.check(body, self.cluster.schema_of(rt), mode)

    def _scale(
        self, rt: ResourceType, ns: str, name: str, body: Any, patch_type: str, manager: str, dry_run: bool
    ) -> JSON:
        replicas = ((body or {}).get("spec") or {}).get("replicas") if isinstance(body, dict) else None
        if patch_type == "json" and isinstance(body, list):
            replicas = next((op.get("value") for op in body if op.get("path") == "/spec/replicas"), None)
        if not isinstance(replicas, int) or replicas < 0:
            raise BadRequest("spec.replicas: Invalid value: must be a non-negative integer")
        return self.cluster.patch_resource(
            rt,
            name,
            ns,
            {"spec": {"replicas": replicas}},
            patch_type="merge",
            field_manager=manager,
            dry_run=dry_run,
        )

    async def _body(self, request: Request, *, yaml_ok: bool = False) -> Any:
        raw = await request.body()
        if not raw:
            raise BadRequest("the request body is empty")
        content_type = request.headers.get("content-type", "")
        if "protobuf" in content_type or "cbor" in content_type:
            # kubectl tries protobuf for built-in kinds first and falls back to JSON on 415.
            raise ClusterError(
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json, application/yaml",
                code=415,
                reason="UnsupportedMediaType",
            )
        try:
            if yaml_ok or "yaml" in content_type:
                with contextlib.suppress(ValueError):  # JSON is YAML, and most clients send it
                    return json.loads(raw)
                return yaml.load(raw, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise BadRequest(f"the request body could not be decoded: {str(e).splitlines()[0]}") from None

    async def _delete_options(self, request: Request) -> JSON:
        raw = await request.body()
        if not raw:
            return {}
        try:
            options = json.loads(raw)
        except ValueError:
            raise BadRequest("the DeleteOptions body could not be decoded") from None
        return options if isinstance(options, dict) else {}

    # -- watch ----------------------------------------------------------------------------------
    def _watch(self, request: Request, rt: ResourceType, ns: str, name: str) -> Response:
        q = request.query_params
        self.cluster.requests["watch"] += 1
        labels = label_matcher(q.get("labelSelector"))
        field_selector = q.get("fieldSelector")
        if name:
            field_selector = f"metadata.name={name}" + (f",{field_selector}" if field_selector else "")
        fields = field_matcher(field_selector, rt.kind)
        since_text = q.get("resourceVersion") or ""
        store = self.cluster.store
        if since_text not in ("", "0"):
            try:
                since = int(since_text)
            except ValueError:
                raise BadRequest(f'invalid resource version "{since_text}"') from None
        else:
            since = -1
        if since >= 0 and since < store.oldest_event_rv() - 1:
            error = Expired(f"too old resource version: {since} ({store.oldest_event_rv() - 1})")
            line = json.dumps({"type": "ERROR", "object": error.status()}) + "\n"
            return Response(line, media_type="application/json")
        timeout = float(q.get("timeoutSeconds") or WATCH_TIMEOUT)
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        initial_end = q.get("sendInitialEvents") in ("true", "1")
        as_table = None
        if tables.wants_table(request.headers.get("accept", "")):
            sent = [False]

            def as_table(obj: JSON) -> JSON:
                first, sent[0] = not sent[0], True
                return self._as_table(request, rt, [obj], {}, headers=first)

        return StreamingResponse(
            self._stream(rt, ns, since, labels, fields, timeout, bookmarks, initial_end, as_table),
            media_type="application/json",
        )

    async def _stream(
        self,
        rt: ResourceType,
        ns: str,
        since: int,
        labels: Any,
        fields: Any,
        timeout: float,
        bookmarks: bool,
        initial_end: bool,
        as_table: Any = None,
    ) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wake = asyncio.Event()
        self._wakers[wake] = (rt.group, rt.plural)
        store = self.cluster.store

        def keep(obj: JSON) -> bool:
            return (labels is None or labels(obj)) and (fields is None or fields(obj))

        def line(kind: str, obj: JSON) -> bytes:
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            if as_table is not None and kind != "BOOKMARK":
                obj = as_table(obj)
            return (json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n").encode()

        def bookmark(rv: int, end: bool = False) -> bytes:
            meta: JSON = {"resourceVersion": str(rv)}
            if end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            return line("BOOKMARK", {"metadata": meta})

        try:
            if since < 0:
                page = self.cluster.list_page(rt, ns)
                since = int(page.resource_version)
                for chunk in _chunks(line("ADDED", obj) for obj in page.items if keep(obj)):
                    yield chunk
                if initial_end:
                    yield bookmark(since, end=True)
            last_bookmark = loop.time()
            while loop.time() < deadline:
                wake.clear()
                self.cluster.controllers.tick()
                events = store.events_since(since, rt.group, rt.plural, ns or None)
                if events:
                    since = events[-1][0]
                    for chunk in _chunks(line(kind, obj) for _, kind, obj in events if keep(obj)):
                        yield chunk
                    continue
                if bookmarks and loop.time() - last_bookmark >= self.bookmark_seconds:
                    last_bookmark = loop.time()
                    yield bookmark(max(since, store.current_rv()))
                wait = min(1.0, max(0.0, deadline - loop.time()))
                if bookmarks:
                    wait = min(wait, self.bookmark_seconds)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=wait)
        finally:
            self._wakers.pop(wake, None)


CHUNK_BYTES = 64 * 1024


def _chunks(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Event lines joined into chunks of about CHUNK_BYTES: a watch that
    starts on two hundred objects sends a few writes, not two hundred (each
    costs a TLS record and a trip through the ASGI stack); clients read
    lines, whatever the chunks."""
    part: list[bytes] = []
    size = 0
    for one in lines:
        part.append(one)
        size += len(one)
        if size >= CHUNK_BYTES:
            yield b"".join(part)
            part, size = [], 0
    if part:
        yield b"".join(part)


def _scale_of(rt: ResourceType, obj: JSON) -> JSON:
    meta = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in selector.items()),
        },
    }
