"""What goes over the wire: request bodies decoded, responses and Status objects encoded.

Kept apart from the handlers so each handler reads as the verb it serves;
these are the API server's ``handlers/negotiation`` and ``responsewriters``
in the small: JSON (or YAML for apply) in, compact JSON out, errors as
``kind: Status`` with their code and Retry-After.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from agent.emulator.objects import JSON
from agent.kube.documents import MAX_DEPTH, load_documents, nested_deeper
from agent.kube.errors import BadRequest, ClusterError
from agent.kube.kinds import ResourceType

MAX_BODY_BYTES = 3 * 1024 * 1024
DRAIN_BYTES = 64 * 1024 * 1024
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(obj, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def aggregated_response(doc: JSON) -> Response:
    return Response(json.dumps(doc, separators=(",", ":")), media_type=AGGREGATED)


def status_response(error: ClusterError) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return json_response(error.status(), error.code, headers)


def unsupported_media(accepted: str) -> ClusterError:
    return ClusterError(
        f"the body of the request was in an unknown format - accepted media types include: {accepted}",
        code=415,
        reason="UnsupportedMediaType",
    )


def success(rt: ResourceType, obj: JSON) -> JSON:
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


async def raw_body(request: Request) -> bytes:
    """The body, refused with 413 beyond :data:`MAX_BODY_BYTES` (the API
    server's ``--max-request-body-bytes`` default); the rest of a body too
    large is read and dropped (up to :data:`DRAIN_BYTES`), so the client
    gets the answer instead of a broken pipe."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            if size > DRAIN_BYTES:
                break
            chunks.clear()
            continue
        chunks.append(chunk)
    if size > MAX_BODY_BYTES:
        raise _too_large()
    body = b"".join(chunks)
    request._body = body  # Starlette's own cache: a later request.body() gets it, not "Stream consumed"
    return body


def _too_large() -> ClusterError:
    return ClusterError(
        f"Request entity too large: limit is {MAX_BODY_BYTES}", code=413, reason="RequestEntityTooLarge"
    )


def decode_body(raw: bytes, *, yaml_ok: bool, where: str = "the request body") -> Any:
    """JSON, or YAML through the agent's one loader (its node, depth and
    alias limits, tag errors with their line): any body that cannot be
    decoded, or nests deeper than :data:`~agent.kube.documents.MAX_DEPTH`
    levels, is a 400."""
    try:
        try:
            return _shallow(json.loads(raw), where)
        except ValueError:
            if not yaml_ok:
                raise
        text = raw.decode("utf-8")
        docs = [d for d in load_documents(text, where, error=BadRequest) if d is not None]
    except RecursionError:
        raise BadRequest(f"{where} could not be decoded: nested too deeply") from None
    except ValueError as e:  # JSON, or text that is not UTF-8
        raise BadRequest(f"{where} could not be decoded: {str(e).splitlines()[0]}") from None
    if len(docs) != 1:
        raise BadRequest(f"{where} must be one YAML document, found {len(docs)}")
    return docs[0]


def _shallow(value: Any, where: str) -> Any:
    if nested_deeper(value):
        raise BadRequest(f"{where} could not be decoded: nested more than {MAX_DEPTH} levels deep")
    return value


async def read_body(request: Request, *, yaml_ok: bool = False) -> Any:
    raw = await raw_body(request)
    if not raw:
        raise BadRequest("the request body is empty")
    content_type = request.headers.get("content-type", "")
    if "protobuf" in content_type or "cbor" in content_type:
        # kubectl tries protobuf for built-in kinds first and falls back to JSON on 415.
        raise unsupported_media("application/json, application/yaml")
    return decode_body(raw, yaml_ok=yaml_ok or "yaml" in content_type)


async def delete_options(request: Request) -> JSON:
    raw = await raw_body(request)
    if not raw:
        return {}
    try:
        options = _shallow(json.loads(raw), "the DeleteOptions body")
    except (ValueError, RecursionError):
        raise BadRequest("the DeleteOptions body could not be decoded") from None
    return options if isinstance(options, dict) else {}


def dry_run_of(values: list[str]) -> bool:
    for v in values:
        if v != "All":
            raise BadRequest(f'Invalid dry run value: "{v}": supported values: "All"')
    return bool(values)


def default_manager(request: Request) -> str:
    """The field manager of a request that names none: its User-Agent's product, as the API server."""
    agent = request.headers.get("user-agent", "unknown")
    return agent.split("/")[0][:128] or "unknown"
