"""Label and field selectors, in the API server's query syntax.

``labelSelector`` accepts the full syntax of ``k8s.io/apimachinery/pkg/labels``
(``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``);
``fieldSelector`` accepts ``metadata.name`` and ``metadata.namespace`` (and a
few per-kind fields) with ``=``, ``==`` and ``!=``, like the real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.kube.errors import BadRequest

Matcher = Callable[[Mapping[str, Any]], bool]
LabelTest = Callable[[Mapping[str, str]], bool]


def _equals(key: str, value: str, negate: bool) -> LabelTest:
    return lambda labels: (labels.get(key) == value) != negate


def _member(key: str, options: set[str], negate: bool) -> LabelTest:
    return lambda labels: (labels.get(key) in options) != negate


def _exists(key: str, negate: bool) -> LabelTest:
    return lambda labels: (key in labels) != negate


def _field_equals(field: str, value: str, negate: bool) -> Matcher:
    return lambda obj: (_field_value(obj, field) == value) != negate


_SET_OP = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_OP = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")
# a field selector's value may hold any character but a comma (``type=kubernetes.io/tls``)
_FIELD_OP = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([^,]*?)\s*$")
_FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    "Pod": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
    ),
    "Secret": ("type",),
    # core/v1 Events (pkg/registry/core/event/strategy.go's ToSelectableFields)
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "Namespace": ("status.phase",),
    "Job": ("status.successful",),
}


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


@dataclass(frozen=True)
class Requirement:
    """One requirement of a label selector: ``op`` is ``=``, ``!=``, ``in``,
    ``notin``, ``exists`` or ``!`` (does not exist)."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    @property
    def indexable(self) -> bool:
        """Answerable from an index of label key -> value (what must be there, not what must not)."""
        return self.op in ("=", "in", "exists")

    def test(self) -> LabelTest:
        if self.op in ("=", "!="):
            return _equals(self.key, next(iter(self.values)), self.op == "!=")
        if self.op in ("in", "notin"):
            return _member(self.key, set(self.values), self.op == "notin")
        return _exists(self.key, self.op == "!")


def requirements(selector: str | Mapping[str, str] | None) -> list[Requirement]:
    """A label selector parsed; BadRequest names the requirement it cannot read."""
    if not selector:
        return []
    if isinstance(selector, Mapping):
        return [Requirement(str(k), "=", frozenset({str(v)})) for k, v in selector.items()]
    found: list[Requirement] = []
    for part in _split(selector):
        eq = _EQ_OP.match(part)
        if eq is not None:
            key, op, value = eq.groups()
            found.append(Requirement(key, "!=" if op == "!=" else "=", frozenset({value})))
            continue
        m = _SET_OP.match(part)
        if m is None:
            raise BadRequest(f"unable to parse requirement: {part.strip()!r}: invalid label selector")
        negate, key, op, values = m.groups()
        if negate and op:
            raise BadRequest(f"unable to parse requirement: {part.strip()!r}: invalid label selector")
        options = frozenset(v.strip() for v in (values or "").split(",") if v.strip())
        found.append(Requirement(key, op or ("!" if negate else "exists"), options))
    return found


def label_matcher(selector: str | Mapping[str, str] | None) -> Matcher | None:
    """A predicate over objects, or None when everything matches."""
    tests = [r.test() for r in requirements(selector)]
    if not tests:
        return None

    def match(obj: Mapping[str, Any]) -> bool:
        labels = ((obj.get("metadata") or {}).get("labels")) or {}
        return all(t(labels) for t in tests)

    return match


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        current = current.get(part) if isinstance(current, Mapping) else None
    if isinstance(current, bool):
        return "true" if current else "false"
    return "" if current is None else str(current)


def field_matcher(selector: str | None, kind: str) -> Matcher | None:
    if not selector:
        return None
    allowed = ("metadata.name", "metadata.namespace", *_FIELDS_BY_KIND.get(kind, ()))
    tests: list[Matcher] = []
    for part in _split(selector):
        m = _FIELD_OP.match(part)
        if m is None:
            raise BadRequest(f"invalid selector: {selector!r}; can't understand {part.strip()!r}")
        field, op, value = m.groups()
        if field not in allowed:
            raise BadRequest(
                f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'
            )
        tests.append(_field_equals(field, value, op == "!="))
    return lambda obj: all(t(obj) for t in tests)
