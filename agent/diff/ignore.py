"""Ignore rules (pure): fields an app declares it does not care about.

A rule selects objects by group, kind, name and namespace (each optional)
and names fields three ways, as in Argo CD's ``ignoreDifferences``:

- ``jsonPointers``: ``/spec/replicas``;
- ``paths``: the dotted syntax of :mod:`agent.diff.paths`, with ``*`` and
  ``[name=value]`` selectors;
- ``managedFieldsManagers``: whatever a named field manager owns in the live
  object (an autoscaler's ``spec.replicas``, a mesh injector's sidecar).

Ignored fields are never drift, and sync leaves them alone: before an object
is written, :func:`keep_live_values` puts the live values of its ignored fields
into what is applied (Argo CD's ``RespectIgnoreDifferences``, always on).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.diff.paths import (
    ANY,
    KEY_DEFAULTS,
    Any_,
    Index,
    Key,
    Match,
    Path,
    fields_v1_paths,
    parse_dotted,
    parse_pointer,
)
from agent.models import ObjectKey


@dataclass(frozen=True)
class IgnoreRule:
    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    json_pointers: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()

    def selects(self, key: ObjectKey) -> bool:
        return all(
            want is None or want in ("*", have)
            for want, have in (
                (self.group, key.group),
                (self.kind, key.kind),
                (self.name, key.name),
                (self.namespace, key.namespace),
            )
        )

    def field_paths(self) -> tuple[Path, ...]:
        return tuple(parse_pointer(p) for p in self.json_pointers) + tuple(
            parse_dotted(p) for p in self.paths
        )


@dataclass(frozen=True)
class Ignored:
    """What to ignore in one object: explicit paths, and managers' fields."""

    paths: tuple[Path, ...] = ()
    managers: frozenset[str] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.paths or self.managers)

    def all_paths(self, live: Mapping[str, Any] | None) -> tuple[Path, ...]:
        """Explicit paths plus the paths the ignored managers own in ``live``."""
        if not self.managers or live is None:
            return self.paths
        owned = [p for m in managed_fields(live) if m.manager in self.managers for p in m.paths]
        return self.paths + tuple(owned)


def ignored_for(key: ObjectKey, rules: Sequence[IgnoreRule]) -> Ignored:
    chosen = [r for r in rules if r.selects(key)]
    if not chosen:
        return Ignored()
    return Ignored(
        tuple(p for r in chosen for p in r.field_paths()), frozenset(m for r in chosen for m in r.managers)
    )


@dataclass(frozen=True)
class ManagedEntry:
    manager: str
    operation: str
    time: str
    subresource: str
    paths: tuple[Path, ...]


def managed_fields(live: Mapping[str, Any]) -> list[ManagedEntry]:
    """Parse ``metadata.managedFields`` (FieldsV1) of a live object."""
    out: list[ManagedEntry] = []
    for entry in (live.get("metadata") or {}).get("managedFields") or ():
        if not isinstance(entry, Mapping) or entry.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        tree = entry.get("fieldsV1") or {}
        paths = tuple(p for p in fields_v1_paths(tree) if p) if isinstance(tree, Mapping) else ()
        out.append(
            ManagedEntry(
                str(entry.get("manager", "")),
                str(entry.get("operation", "")),
                str(entry.get("time", "")),
                str(entry.get("subresource", "")),
                paths,
            )
        )
    return out


def keep_live_values(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, paths: Iterable[Path]
) -> dict[str, Any]:
    """A copy of ``desired`` whose ignored fields hold the live values (or
    are absent where live has none), so writing it changes none of them."""
    out = copy.deepcopy(dict(desired))
    for path in paths:
        _transplant(live, out, path)
    return out


def _transplant(src: Any, dst: Any, path: Path) -> None:
    if isinstance(dst, dict):
        _transplant_fields(src if isinstance(src, Mapping) else {}, dst, path)
    elif isinstance(dst, list):
        _transplant_items(src if isinstance(src, list) else [], dst, path)


def _transplant_fields(src_map: Mapping[str, Any], dst: dict[str, Any], path: Path) -> None:
    head, rest = path[0], path[1:]
    names = (
        list(dst) + [k for k in src_map if k not in dst]
        if isinstance(head, Any_)
        else ([head.name] if isinstance(head, Key) else [])
    )
    for name in names:
        if not rest:
            if name in src_map:
                dst[name] = copy.deepcopy(src_map[name])
            else:
                dst.pop(name, None)
        elif name in dst:
            _transplant(src_map.get(name), dst[name], rest)
        elif name in src_map:
            dst[name] = copy.deepcopy(src_map[name])


def _transplant_items(src_list: list[Any], dst: list[Any], path: Path) -> None:
    """Into the items ``path[0]`` selects (set items, by value, carry no fields)."""
    head, rest = path[0], path[1:]
    if not rest:
        return
    for i, item in enumerate(list(dst)):
        if isinstance(head, Index):
            if i == head.n:
                _transplant(src_list[i] if i < len(src_list) else None, item, rest)
        elif isinstance(head, Any_) or (isinstance(head, Match) and head.matches(item)):
            _transplant(_twin(item, src_list), item, rest)


_IDENTITY = ("name", "mountPath", "containerPort", "port", "key", "ip")


def _twin(item: Any, items: list[Any]) -> Any:
    """The live list item that corresponds to a desired one: the same value
    of the first identifying field it has (and the same protocol, TCP when
    unstated, for ports: 53/UDP and 53/TCP are two items)."""
    if not isinstance(item, Mapping):
        return None
    for key in _IDENTITY:
        if key in item:
            fields = [key] + [k for k in KEY_DEFAULTS if key in ("containerPort", "port")]
            return next((x for x in items if isinstance(x, Mapping) and _same(item, x, fields)), None)
    return None


def _same(a: Mapping[str, Any], b: Mapping[str, Any], fields: list[str]) -> bool:
    return all(a.get(f, KEY_DEFAULTS.get(f)) == b.get(f, KEY_DEFAULTS.get(f)) for f in fields)


__all__ = [
    "ANY",
    "IgnoreRule",
    "Ignored",
    "ManagedEntry",
    "ignored_for",
    "keep_live_values",
    "managed_fields",
]
