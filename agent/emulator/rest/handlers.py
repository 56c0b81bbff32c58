"""One handler per verb: get, list, create, update, patch, delete, deletecollection.

Each reads its request (:class:`Call`), calls the registry's verb and shapes
the answer as the API server does: 201 for a create (and for an apply that
created), 200 with the object for a delete that waits on finalizers, a Status for one that
deleted, the ``scale`` subresource, Tables for kubectl, and the
``fieldValidation`` warnings in a ``Warning`` header.  Watches stream
(:mod:`agent.emulator.rest.watch`).  As the API server's
``endpoints/handlers`` package has ``get.go``, ``create.go``, ``patch.go`` ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from agent.emulator import protobuf, reviews
from agent.emulator.admission import causes, fieldcheck
from agent.emulator.fields import managed
from agent.emulator.objects import JSON, not_found, now
from agent.emulator.rbac import ADMIN, Access, User
from agent.emulator.registry import PATCH_TYPES, Registry
from agent.emulator.rest import listoptions, scale, tables, tokens
from agent.emulator.rest.messages import (
    delete_options,
    dry_run_of,
    json_response,
    raw_body,
    read_body,
    success,
    unsupported_media,
)
from agent.emulator.rest.routing import Target
from agent.kube.errors import BadRequest, MethodNotAllowed


@dataclass
class Call:
    """One resource request on its way to the registry."""

    request: Request
    registry: Registry
    target: Target
    dry_run: bool
    manager: str
    token: str | None = None  # the server's bearer token (a TokenReview asks about one)
    user: User = ADMIN  # who asks (a review answers for them)
    access: Access | None = None

    @property
    def q(self) -> QueryParams:
        return self.request.query_params

    def wants_table(self) -> bool:
        return not self.target.subresource and tables.wants_table(self.request.headers.get("accept", ""))

    def as_table(self, items: list[JSON], meta: JSON, *, headers: bool = True) -> JSON:
        return as_table(self.request, self.registry, self.target, items, meta, headers=headers)

    async def checked(self, body: Any, *, whole: bool = True) -> tuple[Any, list[str]]:
        """``fieldValidation``: unknown and duplicate fields dropped, warned about or refused
        (``whole``: the body is an object, not a patch, and a refusal names its kind)."""
        if not isinstance(body, dict):
            return body, []
        mode = fieldcheck.mode_of(self.q.get("fieldValidation"))
        raw = await self.request.body()  # kept by the request: no second read
        rt = self.target.rt
        kind = (rt.version if not rt.group else rt.api_version, rt.kind) if whole else None
        return fieldcheck.check(body, self.registry.catalog.schema_of(rt), mode, raw=raw, kind=kind)


def as_table(
    request: Request,
    registry: Registry,
    target: Target,
    items: list[JSON],
    meta: JSON,
    *,
    headers: bool = True,
) -> JSON:
    include = request.query_params.get("includeObject") or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        raise BadRequest(f'includeObject: Unsupported value: "{include}"')
    columns = tables.columns_for(target.rt, registry.catalog.crd_of(target.rt))
    return tables.table(columns, items, include, meta, headers)


async def get(call: Call) -> Response:
    t = call.target
    if t.subresource == "scale":
        return json_response(scale.read(call.registry, t.rt, t.name, t.namespace))
    obj = call.registry.get(t.rt, t.name, t.namespace)
    if obj is None:
        raise not_found(t.rt, t.name)
    if call.wants_table():
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        return json_response(call.as_table([obj], meta))
    return json_response(obj)


async def list_(call: Call) -> Response:
    t, q = call.target, call.q
    listoptions.check(q, watch=False)
    page = call.registry.list(
        t.rt,
        t.namespace,
        q.get("labelSelector"),
        field_selector=q.get("fieldSelector"),
        limit=int(q.get("limit") or 0),
        continue_token=q.get("continue") or "",
        exact=listoptions.exact(q),
    )
    listed = page.to_json(t.rt)
    if call.wants_table():
        return json_response(call.as_table(listed["items"], listed["metadata"]))
    return json_response(listed)


async def _body(call: Call) -> Any:
    """The request's object: a protobuf body decoded (built-in kinds), else JSON or YAML."""
    if call.request.headers.get("content-type", "").split(";")[0].strip() == protobuf.MEDIA_TYPE:
        return protobuf.decode(await raw_body(call.request))  # under the same size limit as JSON
    return await read_body(call.request)


async def create(call: Call) -> Response:
    t = call.target
    if t.subresource == "token" and t.rt.kind == "ServiceAccount" and call.access is not None:
        return json_response(tokens.token_request(call.registry, call.access, t, await _body(call)), 201)
    if t.name:
        raise MethodNotAllowed("the server does not allow this method on the requested resource")
    body = await _body(call)
    if reviews.is_review(t.rt) and isinstance(body, dict):  # answered, never stored
        answered = reviews.answer(
            t.rt, body, call.token, user=call.user, access=call.access, namespace=t.namespace
        )
        writer = managed.Writer(call.manager, t.rt.api_version, now())
        node = call.registry.catalog.schema_of(t.rt)
        entries = managed.record_update(None, {"spec": answered.get("spec") or {}}, node, [], writer)
        if entries:
            answered["metadata"]["managedFields"] = managed.write_entries(entries)
        return json_response(answered, 201)
    if isinstance(body, dict) and call.registry.catalog.crd_of(t.rt) is None:
        # the decoder fills what the body leaves out from the URL's kind (a plain dict from a client)
        body.setdefault("apiVersion", t.rt.api_version)
        body.setdefault("kind", t.rt.kind)
    body, warned = await call.checked(body)
    registry = call.registry
    rt, body, ns = registry.resolve(body, t.namespace)
    made = registry.create(rt, body, ns, manager=call.manager, dry_run=call.dry_run)
    return json_response(made, 201, fieldcheck.warning_header(warned))


async def update(call: Call) -> Response:
    t = call.target
    body = await _body(call)
    if t.subresource == "scale":
        return json_response(_scale(call, body, "update"))
    body, warned = await call.checked(body)
    registry = call.registry
    rt, body, ns = registry.resolve(body, t.namespace)
    replaced = registry.update(
        rt, body, ns, name=t.name, manager=call.manager, dry_run=call.dry_run, subresource=t.subresource
    )
    return json_response(replaced, 200, fieldcheck.warning_header(warned))


async def patch(call: Call) -> Response:
    t = call.target
    content_type = call.request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in PATCH_TYPES:
        raise unsupported_media(", ".join(PATCH_TYPES))
    patch_type = PATCH_TYPES[content_type]
    causes.check_patch_options(
        apply=patch_type == "apply", manager=call.q.get("fieldManager", ""), force_given="force" in call.q
    )
    body = await read_body(call.request, yaml_ok=patch_type == "apply")
    if t.subresource == "scale":
        return json_response(_scale(call, body, patch_type))
    warned: list[str] = []
    if patch_type != "json":
        body, warned = await call.checked(body, whole=False)
    force = call.q.get("force") in ("true", "1")
    registry = call.registry
    if patch_type == "apply":  # 201 when the apply created the object
        obj, created = registry.apply(
            t.rt, t.name, t.namespace, body, manager=call.manager, force=force, dry_run=call.dry_run,
            subresource=t.subresource, owned=True,
        )  # fmt: skip
        return json_response(obj, 201 if created else 200, fieldcheck.warning_header(warned))
    obj = registry.patch(
        t.rt, t.name, t.namespace, body, patch_type=content_type, manager=call.manager, force=force,
        dry_run=call.dry_run, subresource=t.subresource, owned=True,
    )  # fmt: skip
    return json_response(obj, 200, fieldcheck.warning_header(warned))


async def delete(call: Call) -> Response:
    t, registry = call.target, call.registry
    options = await delete_options(call.request)
    policy = call.q.get("propagationPolicy") or options.get("propagationPolicy")
    if options.get("orphanDependents") is True and not policy:
        policy = "Orphan"
    dry_run = call.dry_run or dry_run_of(list(options.get("dryRun") or ()))
    result = registry.delete(
        t.rt,
        t.name,
        t.namespace,
        dry_run=dry_run,
        policy=policy,
        preconditions=options.get("preconditions") or None,
    )
    if result is None or dry_run:
        return json_response(result or {})
    if (result.get("metadata") or {}).get("deletionTimestamp") and registry.read(
        t.rt, t.name, t.namespace
    ) is not None:
        # still there (finalizers): 200 with the object; 202 only for orphanDependents=false,
        # as the API server's handlers/delete.go keeps it for old clients
        return json_response(result, 202 if options.get("orphanDependents") is False else 200)
    return json_response(success(t.rt, result))


async def delete_collection(call: Call) -> Response:
    t, q, registry = call.target, call.q, call.registry
    options = await delete_options(call.request)
    deleted = registry.delete_collection(
        t.rt,
        t.namespace,
        q.get("labelSelector"),
        q.get("fieldSelector"),
        dry_run=call.dry_run,
        policy=q.get("propagationPolicy") or options.get("propagationPolicy"),
    )
    return json_response(
        {
            "kind": f"{t.rt.kind}List",
            "apiVersion": t.rt.api_version,
            "metadata": {"resourceVersion": str(registry.current_rv())},
            "items": deleted,
        }
    )


def _scale(call: Call, body: Any, patch_type: str) -> JSON:
    t = call.target
    return scale.write(
        call.registry, t.rt, t.name, t.namespace, body,
        patch_type=patch_type, manager=call.manager, dry_run=call.dry_run,
    )  # fmt: skip


Handler = Callable[[Call], Awaitable[Response]]
HANDLERS: dict[str, Handler] = {
    "get": get,
    "list": list_,
    "create": create,
    "update": update,
    "patch": patch,
    "delete": delete,
    "deletecollection": delete_collection,
}
