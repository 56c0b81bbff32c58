"""Server-side apply and ``metadata.managedFields``.

Every write records who set which fields.  An *apply* (``application/
apply-patch+yaml``) merges the applied configuration into the live object
(lists by their list-map keys, atomic values replaced whole), refuses with
409 when it would change a field another manager owns (unless ``force``,
which takes the field over), and removes the fields this manager applied
before and now omits, unless someone else still owns them.  Any other write
(create, PUT, merge or JSON patch) is an ``Update``: its manager owns what it
added or changed, and the others lose what it changed or removed.  This is
the behaviour of structured-merge-diff as the API server uses it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.emulator.fields.fieldsets import (
    FieldSet,
    Path,
    child_node,
    describe,
    flatten,
    from_fields_v1,
    item_element,
    to_fields_v1,
)
from agent.kube.errors import Conflict
from agent.kube.nodes import Node

JSON = dict[str, Any]


@dataclass
class Entry:
    manager: str
    operation: str  # Apply or Update
    api_version: str
    time: str
    subresource: str = ""
    fields: FieldSet = field(default_factory=set)
    # the stored fieldsV1 this entry was read from, and its set: written back as they
    # were while the set is unchanged (most entries of most writes)
    stored: tuple[JSON, frozenset[Path]] | None = field(default=None, compare=False, repr=False)

    def same(self, manager: str, operation: str, subresource: str) -> bool:
        return (self.manager, self.operation, self.subresource) == (manager, operation, subresource)

    def to_json(self) -> JSON:
        out: JSON = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": (
                self.stored[0]
                if self.stored is not None and self.stored[1] == self.fields
                else to_fields_v1(self.fields)
            ),
        }
        if self.subresource:
            out["subresource"] = self.subresource
        return out


Entries = list[Entry]


def read_entries(meta: Mapping[str, Any], *, stored: bool = False) -> list[Entry]:
    """``stored``: ``meta`` is a stored object's, whose fieldsV1 are as the server writes
    them (sorted, with their ``.`` marks), so an entry that does not change keeps its own."""
    entries: list[Entry] = []
    for raw in meta.get("managedFields") or ():
        if not isinstance(raw, Mapping) or (not raw.get("manager") and not raw.get("fieldsV1")):
            continue
        tree = raw.get("fieldsV1") or {}
        fields = from_fields_v1(tree)
        entries.append(
            Entry(
                str(raw.get("manager", "")),
                str(raw.get("operation", "Update")),
                str(raw.get("apiVersion", "")),
                str(raw.get("time", "")),
                str(raw.get("subresource", "")),
                fields,
                stored=(tree, frozenset(fields)) if stored and isinstance(tree, dict) else None,
            )
        )
    return entries


def write_entries(entries: list[Entry]) -> list[JSON]:
    return [e.to_json() for e in entries if e.fields]


@dataclass(frozen=True)
class Writer:
    """Who writes, as a managedFields entry records it."""

    manager: str
    api_version: str
    time: str
    subresource: str = ""


def _own(entries: list[Entry], writer: Writer, operation: str) -> Entry:
    for e in entries:
        if e.same(writer.manager, operation, writer.subresource):
            e.api_version, e.time = writer.api_version, writer.time
            return e
    e = Entry(writer.manager, operation, writer.api_version, writer.time, writer.subresource)
    entries.append(e)
    return e


# -- Update ------------------------------------------------------------------------------------
def record_update(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    node: Node | None,
    entries: list[Entry],
    writer: Writer,
) -> list[Entry]:
    """Ownership after a non-apply write from ``old`` to ``new``."""
    manager, subresource = writer.manager, writer.subresource
    old_part, new_part = _differing(old or {}, new)
    before = flatten(old_part, node, subresource)
    after = flatten(new_part, node, subresource)
    changed = {p for p, v in after.items() if p not in before or before[p] != v}
    removed = set(before) - set(after)
    if not changed and not removed:
        return entries
    for e in entries:
        e.fields -= removed
        if not e.same(manager, "Update", subresource):
            e.fields -= changed
    mine = _own(entries, writer, "Update")
    mine.fields |= changed
    return [e for e in entries if e.fields]


def _differing(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[JSON, JSON]:
    """The top-level fields (and metadata fields) in which ``old`` and ``new`` differ: the
    paths under an equal field are the same in both, so they change no ownership, and a
    controller's status write need not flatten the whole object twice."""
    old_part: JSON = {}
    new_part: JSON = {}
    for key in {*old, *new}:
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if a == b:
            continue
        if key == "metadata" and isinstance(a, Mapping) and isinstance(b, Mapping):
            a, b = _differing(a, b)
        if a is not _ABSENT:
            old_part[key] = a
        if b is not _ABSENT:
            new_part[key] = b
    return old_part, new_part


_ABSENT = object()


# -- Apply -------------------------------------------------------------------------------------
def merge(live: Any, applied: Any, node: Node | None) -> Any:
    """The applied configuration merged into the live value."""
    if isinstance(applied, Mapping) and isinstance(live, Mapping) and not (node is not None and node.atomic):
        out = dict(live)
        for key, value in applied.items():
            out[key] = merge(live.get(key), value, child_node(node, key))
        return out
    if isinstance(applied, list) and isinstance(live, list) and node is not None:
        list_type = node.list_type
        if list_type in ("map", "set"):
            item_node = node.items()
            elements = [item_element(item, node, i) for i, item in enumerate(live)]
            out_list = list(live)
            for i, item in enumerate(applied):
                element = item_element(item, node, i)
                if element in elements:
                    at = elements.index(element)
                    out_list[at] = merge(live[at], item, item_node) if list_type == "map" else item
                else:
                    out_list.append(copy.deepcopy(item))
                    elements.append(element)
            return out_list
    return copy.deepcopy(applied)


def remove_path(obj: Any, path: Path, node: Node | None) -> None:
    """Delete the field, item or set member at ``path`` (nothing if absent)."""
    if not path:
        return
    element, rest = path[0], path[1:]
    kind, _, name = element.partition(":")
    if kind == "f" and isinstance(obj, dict):
        if name not in obj:
            return
        if rest:
            remove_path(obj[name], rest, child_node(node, name))
        else:
            del obj[name]
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            if item_element(item, node, i) == element:
                if rest:
                    remove_path(item, rest, node.items() if node is not None else None)
                else:
                    del obj[i]
                return


def applied_set(applied: Mapping[str, Any], node: Node | None, subresource: str = "") -> FieldSet:
    """The fields an applied configuration sets, as its manager's Apply entry lists them."""
    return set(flatten(applied, node, subresource, applied=True))


def _named(paths: FieldSet) -> FieldSet:
    """``paths`` with every named field above them (structured-merge-diff's
    ``EnsureNamedFieldsAreMembers``): a struct someone owns a part of is owned."""
    out = set(paths)
    for path in paths:
        for i in range(1, len(path)):
            if path[i - 1].startswith("f:"):
                out.add(path[:i])
    return out


def apply(
    live: Mapping[str, Any] | None,
    applied: Mapping[str, Any],
    node: Node | None,
    entries: list[Entry],
    writer: Writer,
    *,
    force: bool = False,
    allowed: set[Path] | None = None,
    fields: FieldSet | None = None,
) -> tuple[JSON, list[Entry]]:
    """The object after applying ``applied`` as ``writer``, and its managers.

    ``allowed``: fields whose conflicts are taken over as if forced (the API server's
    upgrade from client-side apply: what the last-applied annotation holds).
    ``fields``: the applied configuration's set when the caller made it before
    defaulting list-map keys (a defaulted ``protocol`` keys an item but is not owned).

    The result may share values with ``applied``, which the caller hands
    over (the registry's own normalized copy)."""
    subresource = writer.subresource
    applied_values = flatten(applied, node, subresource, applied=True)
    mine_now = set(applied_values) if fields is None else fields
    if not live:  # a create: nothing to merge with, no conflict, nothing to remove
        _own(entries, writer, "Apply").fields = mine_now
        created = {k: v for k, v in applied.items() if k not in ("apiVersion", "kind")}
        return created, [e for e in entries if e.fields]
    base: JSON = copy.deepcopy(dict(live))
    live_values = flatten(base, node, subresource)
    others = [e for e in entries if not e.same(writer.manager, "Apply", subresource)]
    conflicts: dict[str, list[Path]] = {}
    taken: dict[int, set[Path]] = {}
    for path in mine_now:
        value = applied_values.get(path)
        if path in live_values and live_values[path] != value:
            for i, e in enumerate(others):
                if path in e.fields:
                    conflicts.setdefault(f'conflict with "{e.manager}"' + _using(e), []).append(path)
                    taken.setdefault(i, set()).add(path)
    if conflicts and not force:
        paths = {p for ps in conflicts.values() for p in ps}
        if allowed is None or not paths <= allowed:
            _raise_conflicts(conflicts)
    for i, paths in taken.items():
        others[i].fields -= paths
    merged = merge(base, {k: v for k, v in applied.items() if k not in ("apiVersion", "kind")}, node)
    mine = _own(entries, writer, "Apply")
    previous = _named(mine.fields)
    mine.fields = mine_now
    if _prune(merged, previous, _named(mine_now.union(*(e.fields for e in others))), node):
        removed = set(live_values) - set(flatten(merged, node, subresource))
        for e in others:  # what left the object leaves every manager's set
            e.fields -= removed
    return merged, [e for e in entries if e.fields]


def _prune(merged: JSON, previous: FieldSet, managed: FieldSet, node: Node | None) -> bool:
    """Remove what the applier applied before and no manager owns now, each whole
    (structured-merge-diff's ``prune``: an item goes with every field in it, even
    one another manager changed, unless that manager owns the item itself)."""
    gone = previous - managed - {("f:metadata",)}  # the object's identity lives there
    for path in sorted(gone, key=len):
        if not any(path[:i] in gone for i in range(1, len(path))):
            remove_path(merged, path, node)
    return bool(gone)


def _using(e: Entry) -> str:
    return f" using {e.api_version}" if e.api_version else ""


def _raise_conflicts(conflicts: dict[str, list[Path]]) -> None:
    count = sum(len(v) for v in conflicts.values())
    causes = [
        {"reason": "FieldManagerConflict", "message": who, "field": describe(p)}
        for who, paths in conflicts.items()
        for p in sorted(paths)
    ]
    if count == 1:
        ((who, paths),) = conflicts.items()
        message = f"Apply failed with 1 conflict: {who}: {describe(paths[0])}"
    else:
        parts = []
        for who, paths in conflicts.items():
            plural = who.replace("conflict with", "conflicts with", 1)
            parts.append(plural + ":\n" + "\n".join(f"- {describe(p)}" for p in sorted(paths)))
        message = f"Apply failed with {count} conflicts: " + "\n".join(parts)
    raise Conflict(message, details={"causes": causes})
