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

import json
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


def check(
    body: Any, node: Node, mode: str, *, raw: bytes | None = None, kind: tuple[str, str] | None = None
) -> tuple[Any, list[str]]:
    """The body to store and the warnings to send; Strict raises on any unknown or
    duplicate field.  ``raw``: the JSON the body was decoded from (where a duplicate key
    shows); ``kind``: (version, kind) of a whole object, which a Strict refusal names as
    the decoder does (``ConfigMap in version "v1" cannot be handled as a ConfigMap: ...``)."""
    found: list[str] = []
    cleaned = _walk(body, node, "", found)
    messages = [f'duplicate field "{f}"' for f in duplicates(raw)] if raw and mode != "Ignore" else []
    messages += [f'unknown field "{f}"' for f in found]
    if not messages:
        return body, []
    if mode == "Strict":
        prefix = f'{kind[1]} in version "{kind[0]}" cannot be handled as a {kind[1]}: ' if kind else ""
        raise BadRequest(prefix + "strict decoding error: " + ", ".join(messages))
    return cleaned, messages if mode == "Warn" else []


class _Pairs(list[tuple[str, Any]]):
    """An object as decoded, every key kept (a dict would keep only the last of a duplicate)."""


def _any_duplicate(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicated
    return out


class _Duplicated(Exception):
    pass


def duplicates(raw: bytes) -> list[str]:
    """The paths of keys given twice in one JSON object (``data.a``, ``spec.ports[0].name``):
    one quick decode that only notices, and a second that names them when it did."""
    try:
        json.loads(raw, object_pairs_hook=_any_duplicate)
        return []
    except _Duplicated:
        pass
    except ValueError:
        return []  # YAML, or not decodable: the body was decoded otherwise
    found: list[str] = []
    _named(json.loads(raw, object_pairs_hook=_Pairs), "", found)
    return found


def _named(value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, child in value:
            where = f"{path}.{key}" if path else key
            if key in seen and where not in found:
                found.append(where)
            seen.add(key)
            _named(child, where, found)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _named(child, f"{path}[{i}]", found)


def warning_header(messages: list[str]) -> dict[str, str]:
    """The ``Warning`` header (RFC 7234 code 299) kubectl prints as ``Warning: ...``."""
    if not messages:
        return {}
    return {"Warning": ", ".join(f'299 - "{m.replace(chr(34), chr(92) + chr(34))}"' for m in messages)}
