"""Server-side field validation: the ``fieldValidation`` query parameter.

Since Kubernetes 1.27 kubectl does not validate objects itself when the
server can: it sends ``fieldValidation=Strict`` and expects a 400 BadRequest
naming every field the schema does not know (``strict decoding error:
unknown field "spec.replica"``).  ``Warn``, the default, accepts the object
without those fields and says so in a ``Warning`` header; ``Ignore`` drops
them silently.  Built-in kinds are checked against the Kubernetes schemas,
custom resources against their CRD's structural schema (fields it preserves
are never unknown).  Patch directives (``$patch``, ``$retainKeys``,
``$setElementOrder/...``, ``$deleteFromPrimitiveList/...``) are not fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.kube.errors import BadRequest
from agent.kube.nodes import Node

MODES = ("Ignore", "Warn", "Strict")


def mode_of(value: str | None) -> str:
    if not value:
        return "Warn"
    if value not in MODES:
        raise BadRequest(
            f'fieldValidation: Unsupported value: "{value}": supported values: "Ignore", "Strict", "Warn"'
        )
    return value


def _open(node: Node) -> bool:
    """Whether anything goes beneath this node (no fields declared, or unknown ones preserved)."""
    raw = node.raw
    if raw.get("x-kubernetes-preserve-unknown-fields") or raw.get("additionalProperties") is True:
        return True
    return "properties" not in raw and not isinstance(raw.get("additionalProperties"), Mapping)


def _walk(value: Any, node: Node, path: str, found: list[str]) -> Any:
    """``value`` without its unknown fields; their paths are added to ``found``."""
    if isinstance(value, Mapping):
        if _open(node):
            return value
        out: dict[str, Any] = {}
        for key, child in value.items():
            if key.startswith("$"):
                out[key] = child
                continue
            sub = node.field(key)
            where = f"{path}.{key}" if path else key
            if sub is None:
                found.append(where)
                continue
            out[key] = _walk(child, sub, where, found) if child is not None else None
        return out
    if isinstance(value, list):
        item = node.items()
        if item is None:
            return value
        return [_walk(v, item, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def check(body: Any, node: Node, mode: str) -> tuple[Any, list[str]]:
    """The body to store and the warnings to send; Strict raises on any unknown field."""
    found: list[str] = []
    cleaned = _walk(body, node, "", found)
    if not found:
        return body, []
    messages = [f'unknown field "{f}"' for f in found]
    if mode == "Strict":
        raise BadRequest("strict decoding error: " + ", ".join(messages))
    return cleaned, messages if mode == "Warn" else []


def warning_header(messages: list[str]) -> dict[str, str]:
    """The ``Warning`` header (RFC 7234 code 299) kubectl prints as ``Warning: ...``."""
    if not messages:
        return {}
    return {"Warning": ", ".join(f'299 - "{m.replace(chr(34), chr(92) + chr(34))}"' for m in messages)}
