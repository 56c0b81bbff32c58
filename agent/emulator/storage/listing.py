"""Lists: selectors, ``limit`` and ``continue``, as the API server pages them."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.emulator.storage.selectors import field_matcher, label_matcher
from agent.kube.errors import BadRequest
from agent.kube.kinds import ResourceType

JSON = dict[str, Any]


@dataclass
class ListResult:
    items: list[JSON]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None

    def to_json(self, rt: ResourceType) -> JSON:
        meta: JSON = {"resourceVersion": self.resource_version}
        if self.continue_token:
            meta["continue"] = self.continue_token
        if self.remaining is not None:
            meta["remainingItemCount"] = self.remaining
        return {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": self.items}


def _key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def encode_continue(rv: int, last: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": last + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadRequest("continue key is not valid: incorrect encoded start resourceVersion") from None


def list_page(
    items: list[JSON],
    rt: ResourceType,
    rv: int,
    *,
    label_selector: Mapping[str, str] | str | None = None,
    field_selector: str | None = None,
    limit: int = 0,
    continue_token: str = "",
) -> ListResult:
    labels = label_matcher(label_selector)
    fields = field_matcher(field_selector, rt.kind)
    if labels is not None:
        items = [o for o in items if labels(o)]
    if fields is not None:
        items = [o for o in items if fields(o)]
    if continue_token:
        token_rv, start = decode_continue(continue_token)
        rv = token_rv
        items = [o for o in items if _key(o) >= start]
    if limit and limit > 0 and len(items) > limit:
        page, rest = items[:limit], items[limit:]
        return ListResult(page, str(rv), encode_continue(rv, _key(page[-1])), len(rest))
    return ListResult(items, str(rv))
