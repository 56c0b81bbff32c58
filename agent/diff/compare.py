"""Compare one desired object with its live counterpart (pure).

Only the fields the desired object declares are compared: the live object is
first *projected* onto the desired object's shape (:mod:`agent.diff.views`),
so server defaults, status and server-owned metadata never count as drift.
Lists of objects are keyed by the merge keys of the Kubernetes schemas before
the comparison, so order never matters for them.  deepdiff does the
comparison itself, on the few sub-maps that differ.

Three kinds of change come out: ``changed`` (declared in Git, live differs),
``removed-in-git`` (the previous revision declared it, Git no longer does,
still live) and, in strict mode, ``added-out-of-band`` (live only, written
by another field manager).  Each is attributed to the field manager that
last wrote it, from the live ``managedFields``.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from agent.diff.ignore import Ignored, ManagedEntry, managed_fields
from agent.diff.mask import mask_secret_values
from agent.diff.normalize import comparable, is_secret, normalize_desired
from agent.diff.paths import Match, Path, covers, format_path, remove
from agent.diff.views import at, covered, leaves, nodes, project, to_path, to_view, unkey
from agent.kube.shapes import Shape, shape_for
from agent.models import ChangeKind, DiffStatus, FieldChange, ObjectKey, ResourceDiff

ABSENT = "<absent>"
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when PyYAML has it
_MISSING = object()
ViewPath = tuple[Any, ...]


@dataclass(frozen=True)
class DiffOptions:
    """How to compare: ignored fields, strict mode, and the agent's own
    field manager (whose writes are never 'out of band')."""

    ignored: Ignored = field(default_factory=Ignored)
    strict: bool = False
    self_manager: str = "gitops-agent"


def _differing(a: Any, b: Any, prefix: ViewPath = ()) -> list[tuple[ViewPath, Any, Any]]:
    """The smallest pairs of sub-maps that differ (cheap equality first), so
    deepdiff only looks at what changed: most of a drifted object is equal."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [(prefix, a, b)]
    pieces: list[tuple[ViewPath, Any, Any]] = []
    left: dict[Any, Any] = {}
    right: dict[Any, Any] = {}
    for k in (*a, *(k for k in b if k not in a)):
        x, y = a.get(k, _MISSING), b.get(k, _MISSING)
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            pieces.extend(_differing(x, y, (*prefix, k)))
        else:
            if x is not _MISSING:
                left[k] = x
            if y is not _MISSING:
                right[k] = y
    if left or right:
        pieces.append((prefix, left, right))
    return pieces


def _changes(want_view: Any, live_view: Any) -> list[tuple[Path, FieldChange]]:
    # deepdiff (~40 ms to import) loads at the first difference: equal objects never need it.
    from deepdiff import DeepDiff  # noqa: PLC0415

    changes: list[tuple[Path, FieldChange]] = []
    for prefix, t1, t2 in _differing(want_view, live_view):
        tree = DeepDiff(t1, t2, verbose_level=2, view="tree")
        for report_type, levels in tree.items():
            for level in levels:
                path = to_path((*prefix, *level.path(output_format="list")))
                shown = format_path(path)
                if report_type in ("dictionary_item_removed", "iterable_item_removed"):
                    change = FieldChange(shown, unkey(level.t1), ABSENT)
                elif report_type in ("dictionary_item_added", "iterable_item_added"):
                    change = FieldChange(shown, ABSENT, unkey(level.t2))
                else:
                    change = FieldChange(shown, unkey(level.t1), unkey(level.t2))
                changes.append((path, change))
    return changes


def _unified(key: ObjectKey, live: Any, desired: Any) -> str:
    """A ``kubectl diff``-style unified diff: ``-`` live, ``+`` Git."""

    def lines(view: Any) -> list[str]:
        if view is None:
            return []
        text = yaml.dump(unkey(view), Dumper=_Dumper, sort_keys=True, default_flow_style=False)
        return text.splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(live), lines(desired), f"live/{key}", f"git/{key}"))


def _without(obj: Mapping[str, Any], paths: tuple[Path, ...]) -> Mapping[str, Any]:
    if not paths:
        return obj
    out = copy.deepcopy(dict(obj))
    for path in paths:
        remove(out, path)
    return out


def diff_object(
    key: ObjectKey,
    desired: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    last_applied: Mapping[str, Any] | None = None,
    options: DiffOptions = DiffOptions(),
) -> ResourceDiff:
    """Drift of one object. ``desired`` is None for an owned object Git no
    longer has (extraneous); ``live`` is None for one missing from the
    cluster; ``last_applied`` is what the previous revision applied (for
    fields Git dropped since)."""
    mask: Callable[[Mapping[str, Any]], dict[str, Any]] = (
        mask_secret_values if key.kind == "Secret" and not key.group else dict
    )
    if desired is None:
        creator = _creator(live or {}, options.self_manager)
        return ResourceDiff(
            key,
            DiffStatus.EXTRANEOUS,
            unified_source=lambda: _unified(key, mask(comparable(live or {})), None),
            manager=creator.manager if creator else "",
            time=creator.time if creator else "",
        )
    if live is None:
        return ResourceDiff(
            key,
            DiffStatus.MISSING,
            unified_source=lambda: _unified(key, None, mask(comparable(normalize_desired(desired)))),
        )
    if _as_declared(desired, live, last_applied, options):
        return ResourceDiff(key, DiffStatus.IN_SYNC)
    ignored = options.ignored.all_paths(live)
    want = mask(comparable(_without(normalize_desired(desired), ignored)))
    have = mask(comparable(_without(live, ignored)))
    shape = shape_for(desired)
    found = _declared_changes(want, have, shape)
    last = None
    if last_applied is not None and last_applied != desired:  # same as last time: nothing dropped
        last = mask(comparable(_without(normalize_desired(last_applied), ignored)))
        found += _removed_in_git(want, last, have, shape)
    if options.strict:
        found += _added_out_of_band(want, last or {}, have, live, options=options, shape=shape)
    if not found:
        return ResourceDiff(key, DiffStatus.IN_SYNC)
    want_view, live_view = project(want, have, shape)
    entries = managed_fields(live)
    unique: dict[str, tuple[Path, FieldChange]] = {}
    for p, c in found:  # one change per field; "removed from Git" explains more than "added"
        if c.path not in unique or c.kind is ChangeKind.REMOVED_IN_GIT:
            unique[c.path] = (p, c)
    changes = tuple(
        sorted(
            (_attribute(p, c, entries, options.self_manager) for p, c in unique.values()),
            key=lambda c: c.path,
        )
    )
    added = [(p, c.live) for p, c in unique.values() if c.kind is ChangeKind.ADDED_OUT_OF_BAND]
    return ResourceDiff(
        key, DiffStatus.MODIFIED, changes, lambda: _unified(key, _with(live_view, added), want_view)
    )


def _as_declared(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    last_applied: Mapping[str, Any] | None,
    options: DiffOptions,
) -> bool:
    """Whether the live object holds every field exactly as Git writes it,
    with nothing else to look for (no field ignored, none dropped from Git
    since the last sync, no strict mode): in sync without normalizing
    either side.  Normalizing only drops empty fields and spells values as
    the server does, so what is equal as written is equal normalized; False
    means "look closer"."""
    if options.ignored or options.strict or (last_applied is not None and last_applied != desired):
        return False
    if is_secret(desired):  # its stringData is folded into data first, as the server does
        desired = normalize_desired(desired)
    return covered(desired, live, shape_for(desired))


def _declared_changes(want: Any, have: Any, shape: Shape | None) -> list[tuple[Path, FieldChange]]:
    """Changes of the fields Git declares; none without making views when
    every one is as declared (most objects, in a sync that changes nothing)."""
    if covered(want, have, shape):
        return []
    want_view, live_view = project(want, have, shape)
    return [] if want_view == live_view else _changes(want_view, live_view)


def _with(view: Any, additions: list[tuple[Path, Any]]) -> Any:
    """``view`` with fields others added put back, for the unified diff."""
    if not additions or not isinstance(view, dict):
        return view
    out = copy.deepcopy(view)
    for path, value in additions:
        here = out
        parts = [seg if isinstance(seg, Match) else getattr(seg, "name", None) for seg in path]
        if None in parts or not parts:
            continue
        for part in parts[:-1]:
            here = here.setdefault(part, {})
            if not isinstance(here, dict):
                break
        else:
            here[parts[-1]] = value
    return out


def _top_missing(path: ViewPath, present: set[ViewPath], declared: set[ViewPath]) -> ViewPath | None:
    """The topmost ancestor of ``path`` absent from ``present`` (None when a
    declared leaf covers it: an atomic value Git still declares)."""
    for n in range(1, len(path) + 1):
        if path[:n] in declared:
            return None
        if path[:n] not in present:
            return path[:n]
    return None


def _removed_in_git(
    want: Mapping[str, Any], last: Mapping[str, Any], have: Mapping[str, Any], shape: Shape | None
) -> list[tuple[Path, FieldChange]]:
    """Fields the previous revision applied and Git no longer declares, still
    live (reported at the topmost field Git dropped)."""
    want_view, live_view = to_view(want, shape), to_view(have, shape)
    present, declared_leaves, live_nodes = nodes(want_view), set(leaves(want_view)), nodes(live_view)
    tops = {_top_missing(path, present, declared_leaves) for path in leaves(to_view(last, shape))}
    out: list[tuple[Path, FieldChange]] = []
    for top in sorted((t for t in tops if t is not None and t in live_nodes), key=str):
        p = to_path(top)
        value = unkey(at(live_view, top))
        out.append((p, FieldChange(format_path(p), ABSENT, value, ChangeKind.REMOVED_IN_GIT)))
    return out


def _added_out_of_band(
    want: Mapping[str, Any],
    last: Mapping[str, Any],
    have: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    options: DiffOptions,
    shape: Shape | None,
) -> list[tuple[Path, FieldChange]]:
    """Strict mode: live fields that neither Git nor the last revision
    declares, written by a manager other than the agent (server defaults
    have no manager, so they never show up here)."""
    want_view, last_view, live_view = to_view(want, shape), to_view(last, shape), to_view(have, shape)
    present = nodes(want_view) | nodes(last_view)
    declared_leaves = set(leaves(want_view)) | set(leaves(last_view))
    others = [
        e
        for e in managed_fields(live)
        if e.manager != options.self_manager
        and e.manager not in options.ignored.managers
        and e.subresource != "status"
    ]
    owned = [path for e in others for path in e.paths]
    if not owned:
        return []
    tops: set[ViewPath] = set()
    for path in leaves(live_view):
        top = _top_missing(path, present, declared_leaves) if path else None
        if top is None:
            continue
        # report at the shallowest undeclared field another manager owns
        for n in range(len(top), len(path) + 1):
            if any(covers(o, to_path(path[:n])) for o in owned):
                tops.add(path[:n])
                break
    out: list[tuple[Path, FieldChange]] = []
    for top in sorted(tops, key=str):
        p = to_path(top)
        out.append(
            (p, FieldChange(format_path(p), ABSENT, unkey(at(live_view, top)), ChangeKind.ADDED_OUT_OF_BAND))
        )
    return out


def _attribute(
    path: Path, change: FieldChange, entries: list[ManagedEntry], self_manager: str
) -> FieldChange:
    """Name who last wrote a changed field, from the live managedFields."""
    owners = [
        e
        for e in entries
        if e.manager != self_manager
        and e.subresource != "status"
        and any(covers(owned, path) or covers(path, owned) for owned in e.paths)
    ]
    if not owners:
        return change
    latest = max(owners, key=lambda e: e.time)
    return replace(change, manager=latest.manager, time=latest.time)


def _creator(live: Mapping[str, Any], self_manager: str) -> ManagedEntry | None:
    """Who wrote an object the agent did not create: the earliest field
    manager other than the agent (None for the agent's own objects)."""
    entries = [e for e in managed_fields(live) if e.subresource != "status"]
    if not entries or any(e.manager == self_manager for e in entries):
        return None
    return min(entries, key=lambda e: e.time)
