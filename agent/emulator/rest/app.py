"""The emulated cluster's REST server: the Kubernetes API over HTTP.

Serves what clients of a real API server use: discovery (``/version``,
``/api``, ``/apis``, group and resource lists, legacy and aggregated), the
resource paths with get, list (label and field selectors,
``limit``/``continue``), create, update, patch (merge, JSON, strategic,
apply), delete (``propagationPolicy``, preconditions), deletecollection, the
``status`` and ``scale`` subresources, and watch (from a resourceVersion,
bookmarks, 410 Expired when the version is too old).  Errors are ``kind:
Status`` objects with the API server's reasons and codes.  A bearer token is
required (401 without it).

Starlette routes every request to :meth:`EmulatorApp.handle`, which checks
health, authentication and faults, then hands over: :mod:`.routing` finds the
discovery document or the resource, :mod:`.handlers` has one handler per
verb, :mod:`.watch` streams.  Registry calls are short and run on the event
loop; the fault gate's latency is awaited here, not slept.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from agent.emulator.cluster import EmulatedCluster
from agent.emulator.objects import JSON
from agent.emulator.protobuf import openapiv2
from agent.emulator.rbac import ADMIN, Access, Attributes, User, escalation, forbidden, resource_attributes
from agent.emulator.rest import discovery, openapi, tables, watch
from agent.emulator.rest.handlers import HANDLERS, Call, as_table
from agent.emulator.rest.messages import (
    default_manager,
    dry_run_of,
    json_response,
    read_body,
    status_response,
)
from agent.emulator.rest.routing import Target, route
from agent.kube.errors import BadRequest, ClusterError, MethodNotAllowed, NotFound

_HEALTH = {"/healthz", "/livez", "/readyz"}
WATCH_TIMEOUT = watch.WATCH_TIMEOUT


_NO_CONTAINERS = ("log", "exec", "attach", "portforward", "proxy")


class EmulatorApp:
    """The ASGI application over one :class:`EmulatedCluster`."""

    def __init__(self, cluster: EmulatedCluster, token: str | None, address: str = "127.0.0.1") -> None:
        self.cluster = cluster
        self.registry = cluster.registry
        self.token = token
        self.access = Access(cluster.store, token)
        self.address = address
        self.bookmark_seconds = 5.0
        self.wakers = watch.Wakers()
        self.registry.add_listener(self.wakers.on_write)
        catalog = self.registry.catalog
        self.documents = openapi.Documents(catalog.types, catalog.served_versions, catalog.crd_of)
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)])

    async def handle(self, request: Request) -> Response:
        self.wakers.bind()
        path = request.url.path.rstrip("/") or "/"
        try:
            if path.startswith("/emulator/v1/faults"):  # reachable while "down" is on: it undoes it
                self._authorize_path(self._authenticate(request), request, path)
                return await self._faults(request)
            self.registry.faults.check_down()
            if path in _HEALTH:
                return PlainTextResponse("ok")
            user = self._authenticate(request)
            try:
                found = await self._special(request, path) or route(
                    self.registry.catalog,
                    path,
                    request.headers.get("accept", ""),
                    self.address,
                    watch_query=request.query_params.get("watch") in ("true", "1"),
                )
            except NotFound:
                self._authorize_path(user, request, path)  # a path not allowed is refused, not looked up
                raise
            if isinstance(found, Response):
                self._authorize_path(user, request, path)
                return found
            return await self._resource(request, found, user)
        except ClusterError as e:
            return status_response(e)

    async def _special(self, request: Request, path: str) -> Response | None:
        """The paths outside the API groups: version, fault rules, OpenAPI documents."""
        if path == "/version":
            return json_response(discovery.version_info())
        if path == "/openapi" or path.startswith("/openapi/"):
            return self._openapi(request, path)
        return None

    def _authenticate(self, request: Request) -> User:
        """The request's user: its token's (:mod:`agent.emulator.rbac.identity`), then the one
        it impersonates."""
        user = self.access.identities.authenticate(request.headers.get("authorization", "")) or ADMIN
        if any(k.startswith(b"impersonate-") for k, _ in request.scope["headers"]):  # raw, lower-cased
            user = self.access.identities.impersonated(user, request.headers, self.access.rbac)
        return user

    def _authorize_path(self, user: User, request: Request, path: str) -> None:
        if not user.privileged:
            forbidden(self.access.rbac, user, Attributes(request.method.lower(), path=path))

    async def _faults(self, request: Request) -> Response:
        faults = self.registry.faults
        if request.method == "GET":
            return json_response(faults.to_json())
        if request.method in ("PUT", "POST"):
            body = await read_body(request)
            persist = request.query_params.get("persist") in ("true", "1")
            faults.replace(body if isinstance(body, dict) else {}, persist=persist)
            return json_response(faults.to_json())
        raise MethodNotAllowed(
            f"the server does not allow this method on the requested resource ({request.method})"
        )

    def _openapi(self, request: Request, path: str) -> Response:
        accept = request.headers.get("accept", "") or "*/*"
        wanted = [m.split(";")[0].strip() for m in accept.split(",")]
        protobuf = path == "/openapi/v2" and _first_protobuf(wanted)
        if not protobuf and not any(m in accept for m in ("json", "*/*")):
            raise ClusterError(
                "only application/json is served for OpenAPI documents", code=406, reason="NotAcceptable"
            )
        if path == "/openapi/v2":
            if protobuf:
                return Response(self.documents.v2(protobuf=True), media_type=openapiv2.MEDIA_TYPE)
            return Response(self.documents.v2(), media_type="application/json")
        if path == "/openapi/v3":
            return json_response(self.documents.v3_root())
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

    async def _resource(self, request: Request, target: Target, user: User = ADMIN) -> Response:
        rt, name = target.rt, target.name
        if target.subresource in _NO_CONTAINERS:  # answered at once: nothing runs to connect to
            raise BadRequest(
                f'{target.subresource} is not available for pod "{name}": the emulated cluster runs no '
                "containers (its pods, their status and their logs are simulated; there are no logs)"
            )
        verb = {
            "GET": ("watch" if target.watch else "get" if name else "list"),
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete" if name else "deletecollection",
        }[request.method]
        if not user.privileged:  # the admin is allowed before RBAC is read
            forbidden(self.access.rbac, user, resource_attributes(target, verb))
        faults = self.registry.faults
        delay = faults.check(verb, rt.kind, rt.plural)  # the gate, its latency awaited
        if delay:
            await asyncio.sleep(delay)
        if verb == "watch":
            return self._watch(request, target)
        dry_run = dry_run_of(request.query_params.getlist("dryRun"))
        manager = request.query_params.get("fieldManager") or default_manager(request)
        reset = escalation.GUARD.set(None if user.privileged else escalation.guard(self.access.rbac, user))
        try:
            with faults.passed():
                call = Call(request, self.registry, target, dry_run, manager, self.token, user, self.access)
                return await HANDLERS[verb](call)
        finally:
            escalation.GUARD.reset(reset)

    def _watch(self, request: Request, target: Target) -> Response:
        self.registry.count("watch")
        as_one_row = None
        if tables.wants_table(request.headers.get("accept", "")):
            sent = [False]

            def as_one_row(obj: JSON) -> JSON:
                first, sent[0] = not sent[0], True
                return as_table(request, self.registry, target, [obj], {}, headers=first)

        parsed = watch.parse(request, target.rt, target.namespace, target.name, as_one_row)
        return watch.respond(self.registry, self.wakers, parsed, self.bookmark_seconds)


def _first_protobuf(wanted: list[str]) -> bool:
    """Whether the first of the accepted media types the server has is v2's protobuf form
    (``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``, or the same with ``.v1.0``)."""
    for media in wanted:
        if media.startswith("application/com.github.proto-openapi.spec.v2") and media.endswith("+protobuf"):
            return True
        if "json" in media or media == "*/*":
            return False
    return False
