"""Small facts about objects shared by the emulator's modules."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agent.kube.kinds import ResourceType

JSON = dict[str, Any]
# The field manager an in-process client is recorded as when it names none: the
# agent is the in-process cluster's client (a REST client is named by its User-Agent).
IN_PROCESS_MANAGER = "gitops-agent"


def now() -> str:
    """A timestamp as the API server writes them (RFC 3339, seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def qualified(rt: ResourceType) -> str:
    """``deployments.apps``: how the API server names a resource in messages."""
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def spec_part(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an object whose change moves ``generation``."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
