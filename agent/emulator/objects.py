"""Small facts about objects shared by the emulator's modules."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from agent.emulator import conversion
from agent.kube.errors import Conflict, NotFound
from agent.kube.kinds import ResourceType

JSON = dict[str, Any]
# The field manager an in-process client is recorded as when it names none: the
# agent is the in-process cluster's client (a REST client is named by its User-Agent).
IN_PROCESS_MANAGER = "gitops-agent"
T = TypeVar("T")


def now() -> str:
    """A timestamp as the API server writes them (RFC 3339, seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def qualified(rt: ResourceType) -> str:
    """``deployments.apps``: how the API server names a resource in messages."""
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def spec_part(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an object whose change moves ``generation``."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def as_version(obj: JSON, rt: ResourceType) -> JSON:
    """``obj`` stamped with the apiVersion and kind it is served as (in place: stored
    objects are read fresh from the store, so no copy is needed); a kind stored in another
    version converted (:mod:`agent.emulator.conversion`)."""
    if rt.group == "autoscaling" and rt.version == "v1" and obj.get("apiVersion") != "autoscaling/v1":
        served = conversion.hpa_to_v1(obj)
        obj.clear()
        obj.update(served)
    obj["apiVersion"] = rt.api_version
    obj["kind"] = rt.kind
    return obj


def clone(value: T) -> T:
    """A deep copy of JSON data (dicts, lists, scalars), as ``copy.deepcopy`` makes it
    but about three times as fast: stored objects hold nothing else, and every write
    copies the live object it changes."""
    return cast(T, _clone(value))


def _clone(value: Any) -> Any:
    if type(value) is dict:
        return {k: _clone(v) for k, v in value.items()}
    if type(value) is list:
        return [_clone(v) for v in value]
    return value


def not_found(rt: ResourceType, name: str) -> NotFound:
    return NotFound(
        f'{qualified(rt)} "{name}" not found', details={"name": name, "group": rt.group, "kind": rt.plural}
    )


def modified(rt: ResourceType, name: str, *, details: bool = True) -> Conflict:
    """The 409 of a write whose resourceVersion precondition no longer holds."""
    return Conflict(
        f'Operation cannot be fulfilled on {qualified(rt)} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        details={"name": name, "group": rt.group, "kind": rt.plural} if details else None,
    )
