"""Lists: selectors, ``limit`` and ``continue``, as the API server pages them.

Pages are cut in key order (namespace, name); a continue token carries the
list's resourceVersion and the key after which the next page starts, and the
next page shows the objects as they were at that resourceVersion
(:mod:`.snapshot`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agent.emulator.storage.index import Query
from agent.emulator.storage.selectors import LabelTest, Requirement, field_matcher, requirements
from agent.emulator.storage.snapshot import EXACT_TOO_OLD, select_at
from agent.emulator.storage.store import Store
from agent.kube.errors import BadRequest, Timeout
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


def _labels(obj: JSON) -> Any:
    return (obj.get("metadata") or {}).get("labels") or {}


def _start_key(start: str) -> tuple[str, str]:
    """The (namespace, name) a continue token's start key names (``ns/name\\0``)."""
    namespace, _, name = start.rstrip("\x00").partition("/")
    return namespace, name


def list_from(  # noqa: PLR0913 - a list request's parts, keyword-only past the kind
    store: Store,
    rt: ResourceType,
    namespace: str | None,
    convert: Callable[[JSON], JSON],
    *,
    label_selector: Mapping[str, str] | str | None = None,
    field_selector: str | None = None,
    limit: int = 0,
    continue_token: str = "",
    exact: int | None = None,
) -> ListResult:
    """One page of a list, read from the store through its label index and
    in key order from the page's start: only the rows the page needs (and,
    with a selector that says what must not be there, the rows it tests).
    ``remainingItemCount`` is given when nothing filters the list, as the
    API server gives it (with a selector the count is unknown there).  ``exact``: the list
    as it was at that resourceVersion (``resourceVersionMatch=Exact``)."""
    wanted = requirements(label_selector)
    tests = [r.test() for r in wanted if not r.indexable]
    fields = field_matcher(field_selector, rt.kind)
    with store.lock:  # the page and its resourceVersion read as one
        return _page(store, rt, namespace, convert, wanted, tests, fields, limit, continue_token, exact)


def _page(  # noqa: PLR0913, PLR0917 - list_from's request, parsed
    store: Store,
    rt: ResourceType,
    namespace: str | None,
    convert: Callable[[JSON], JSON],
    wanted: list[Requirement],
    tests: list[LabelTest],
    fields: Callable[[JSON], bool] | None,
    limit: int,
    continue_token: str,
    exact: int | None,
) -> ListResult:
    query = Query(rt.group, rt.plural, namespace, wanted)
    rows: Iterator[JSON]
    if continue_token:  # a later page: as the objects were when the first page was read
        rv, start = decode_continue(continue_token)
        query = query.following(*_start_key(start))
        every = [r.test() for r in wanted]
        rows = select_at(store, query, rv, lambda o: all(t(_labels(o)) for t in every))
    elif exact is not None:
        current = store.current_rv()
        if exact > current:
            raise Timeout(
                f"Too large resource version: {exact}, current: {current}",
                details={
                    "causes": [
                        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
                    ],
                    "retryAfterSeconds": 1,
                },
            )
        every = [r.test() for r in wanted]
        rv, rows = (
            exact,
            select_at(store, query, exact, lambda o: all(t(_labels(o)) for t in every), EXACT_TOO_OLD),
        )
    else:
        rv, rows = store.current_rv(), store.select(query)
    items: list[JSON] = []
    for stored in rows:
        if tests and not all(t(_labels(stored)) for t in tests):
            continue
        obj = convert(stored)
        if fields is not None and not fields(obj):
            continue
        items.append(obj)
        if 0 < limit < len(items):
            break
    if 0 < limit < len(items):
        page = items[:limit]
        last = page[-1].get("metadata") or {}
        remaining = None
        if not wanted and fields is None:
            remaining = store.count(query.following(str(last.get("namespace") or ""), str(last["name"])))
        return ListResult(page, str(rv), encode_continue(rv, _key(page[-1])), remaining)
    return ListResult(items, str(rv))
