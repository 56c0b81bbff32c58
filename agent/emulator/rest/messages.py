"""What goes over the wire: request bodies decoded, responses and Status objects encoded.

Kept apart from the handlers so each handler reads as the verb it serves;
these are the API server's ``handlers/negotiation`` and ``responsewriters``
in the small: JSON (or YAML for apply) in, compact JSON out, errors as
``kind: Status`` with their code and Retry-After.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response

from agent.emulator.objects import JSON
from agent.kube.errors import BadRequest, ClusterError
from agent.kube.kinds import ResourceType

_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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


async def read_body(request: Request, *, yaml_ok: bool = False) -> Any:
    raw = await request.body()
    if not raw:
        raise BadRequest("the request body is empty")
    content_type = request.headers.get("content-type", "")
    if "protobuf" in content_type or "cbor" in content_type:
        # kubectl tries protobuf for built-in kinds first and falls back to JSON on 415.
        raise unsupported_media("application/json, application/yaml")
    try:
        if yaml_ok or "yaml" in content_type:
            with contextlib.suppress(ValueError):  # JSON is YAML, and most clients send it
                return json.loads(raw)
            return yaml.load(raw, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as e:
        raise BadRequest(f"the request body could not be decoded: {str(e).splitlines()[0]}") from None


async def delete_options(request: Request) -> JSON:
    raw = await request.body()
    if not raw:
        return {}
    try:
        options = json.loads(raw)
    except ValueError:
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
