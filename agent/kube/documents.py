"""YAML documents, loaded safely and turned into plain JSON-like data.

Everything the agent reads as YAML goes through :func:`load_documents`:
values files, ``Chart.yaml``, plain manifests, rendered templates and
``from_yaml`` in a template (:mod:`agent.render.documents`), ``agent.yaml``
(with ``error=ConfigError``), and the emulated cluster's request bodies and
its ``--faults`` file (with ``error=BadRequest``):

- PyYAML's safe loader (its C implementation when present: ~10x faster), with
  the YAML 1.1 timestamp and ``=`` resolvers removed, so ``2024-01-01`` stays
  the string Kubernetes would see instead of a ``datetime``;
- every document is copied into fresh dicts and lists by :func:`plain`, which
  counts the nodes it expands: an alias "billion laughs" bomb (a few hundred
  bytes that expand to billions of nodes), a recursive alias, or nesting
  deeper than any manifest needs is refused before anything downstream
  (JSON encoding, diffing) can blow up; anchors that expand to a sane size
  keep working, and no two objects share a dict after the copy.  Map keys
  are written as Kubernetes' YAML-to-JSON conversion writes them.
"""

from __future__ import annotations

import datetime
import math
from sys import intern
from typing import Any

import yaml

from agent.errors import AgentError, RenderFailed

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DROPPED_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}

MAX_NODES = 1_000_000  # per document, after alias expansion
MAX_DEPTH = 100  # nesting of maps and lists
_INTERNED = 64  # strings up to this long are shared (keys and short values recur in every object)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Unusual(Exception):
    """A document the quick construction leaves to PyYAML's own constructor."""


class _Loader(_Base):  # type: ignore[misc]
    """The safe loader without the YAML 1.1 timestamp and value resolvers.

    Documents are built by a quick walk over the composed nodes: string
    scalars, string-keyed mappings and sequences, which is nearly all of a
    Kubernetes manifest, without the constructor's per-node bookkeeping (a
    third of the time of loading a large file).  Any other scalar goes
    through the safe constructor as usual.  A node met twice (an alias), a
    merge key, a key that is not a string or any other tag hands the whole
    document to PyYAML's own constructor, which keeps aliases shared, so
    :func:`plain` still sees an alias bomb for what it is."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED_TAGS]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }

    max_nodes = MAX_NODES
    quick = False  # the last document was built by the quick walk (fresh, checked: no copy needed)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """A scalar's tag, remembered per loader: the C parser asks for every
        scalar, and a manifest repeats its keys and many values."""
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        try:
            return self._resolved[key]
        except AttributeError:
            self._resolved: dict[Any, Any] = {}
        except KeyError:
            pass
        tag = self._resolved[key] = super().resolve(kind, value, implicit)
        return tag

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        """A node as PyYAML builds it; a scalar its tag cannot hold
        (``!!float ";"``, an empty ``!!float``, ``!!timestamp nope``) is a
        YAML error at the node's line, not a Python exception."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
            tag = str(node.tag).rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"the value is not a valid !!{tag}", node.start_mark
            ) from None

    def construct_document(self, node: Any) -> Any:
        self.left = self.max_nodes
        try:
            data = self._quick(node, set(), 0)
        except _Unusual:
            self.quick = False
            self.constructed_objects: dict[Any, Any] = {}  # scalars the quick walk made
            return super().construct_document(node)
        self.quick = True
        self.constructed_objects = {}
        return data

    def _quick(self, node: Any, seen: set[int], depth: int) -> Any:
        """The document as plain data, with :func:`plain`'s checks: any node
        that needs more (an alias, a value JSON has no room for, too many
        nodes or levels) raises :class:`_Unusual`."""
        self.left -= 1
        if self.left < 0 or depth > MAX_DEPTH:
            raise _Unusual  # plain() says what is wrong
        if id(node) in seen:
            raise _Unusual  # an alias
        seen.add(id(node))
        tag = node.tag
        if tag == _STR and isinstance(node, yaml.ScalarNode):
            value = node.value
            return intern(value) if len(value) <= _INTERNED else value
        if isinstance(node, yaml.ScalarNode):
            value = self.construct_object(node)
            if value is None or isinstance(value, str | bool | int):
                return value
            if isinstance(value, float) and math.isfinite(value):
                return value
            raise _Unusual  # a timestamp, binary, nan or inf
        if tag == _MAP and isinstance(node, yaml.MappingNode):
            out = {}
            for key, value in node.value:
                if key.tag != _STR or not isinstance(key, yaml.ScalarNode):
                    raise _Unusual  # a merge key (<<), a number or null as a key
                self.left -= 1
                out[intern(key.value)] = self._quick(value, seen, depth + 1)
            return out
        if tag == _SEQ and isinstance(node, yaml.SequenceNode):
            return [self._quick(item, seen, depth + 1) for item in node.value]
        raise _Unusual


def load_documents(
    text: str,
    source: str,
    max_nodes: int = MAX_NODES,
    rendered: bool = False,
    error: type[AgentError] = RenderFailed,
) -> list[Any]:
    """All documents of a YAML stream as plain data (``None`` for empty
    ones); ``rendered`` says the text is a template's output, so a line
    number in an error is one of the output, not of the template.  Every
    YAML the agent reads comes through here (``agent.yaml`` too, with
    ``error=ConfigError``): no input can grow without bound or raise
    anything but ``error``."""
    docs: list[Any] = []
    try:
        loader = _Loader(text)
        loader.max_nodes = max_nodes
        try:
            while loader.check_data():
                i = len(docs)
                doc = loader.get_data()
                docs.append(
                    doc if loader.quick else plain(doc, f"{source} (document {i + 1})", max_nodes, error)
                )
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = ""
        if mark is not None:
            where = f" (rendered output, line {mark.line + 1})" if rendered else f":{mark.line + 1}"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"{source}{where}: invalid YAML: {problem}") from None
    except RecursionError:
        raise error(f"{source}: YAML nested too deeply") from None
    return docs


# JSON Schema's names of YAML's types, bool before int (a bool is an int in Python).
_TYPE_NAMES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    ((list, tuple), "list"),
    (dict, "mapping"),
)


def type_name(value: Any) -> str:
    return next((name for t, name in _TYPE_NAMES if isinstance(value, t)), type(value).__name__)


class _Copier:
    __slots__ = ("error", "left", "max_nodes", "on_path", "where")

    def __init__(self, where: str, max_nodes: int, error: type[AgentError] = RenderFailed) -> None:
        self.where = where
        self.max_nodes = max_nodes
        self.left = max_nodes
        self.on_path: set[int] = set()
        self.error = error

    def fail(self, message: str) -> AgentError:
        return self.error(f"{self.where}: {message}")

    def copy(self, value: Any, depth: int) -> Any:
        self.left -= 1
        if self.left < 0:
            raise self.fail(f"expands to more than {self.max_nodes:,} nodes (a YAML alias bomb?); refused")
        if isinstance(value, str | bool | int) or value is None:
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail(f"{value} is not a valid number")
            return value
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep; refused")
        if isinstance(value, dict | list | tuple):
            ident = id(value)
            if ident in self.on_path:
                raise self.fail("a YAML alias refers to itself (recursive structure); refused")
            self.on_path.add(ident)
            try:
                if isinstance(value, dict):
                    return {self.key(k): self.copy(v, depth + 1) for k, v in value.items()}
                return [self.copy(v, depth + 1) for v in value]
            finally:
                self.on_path.discard(ident)
        if isinstance(value, datetime.date):
            return value.isoformat()
        raise self.fail(f"a {type_name(value)} value (YAML tag) is not valid in JSON or Kubernetes objects")

    def key(self, key: Any) -> str:
        """Map keys as Kubernetes' YAML-to-JSON conversion writes them."""
        if isinstance(key, str):
            return key
        if isinstance(key, bool):
            return "true" if key else "false"
        if key is None:
            return "null"
        if isinstance(key, int | float):
            return str(key)
        raise self.fail(f"a map key of type {type_name(key)} is not valid in JSON")


def plain(value: Any, where: str, max_nodes: int = MAX_NODES, error: type[AgentError] = RenderFailed) -> Any:
    """A fresh JSON-compatible copy of ``value``; refuses bombs and cycles."""
    return _Copier(where, max_nodes, error).copy(value, 0)


def nested_deeper(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` (JSON-like data) nests maps and lists more than
    ``limit`` levels deep; looks no deeper than that."""
    level = [value]
    for _ in range(limit + 1):
        level = [
            child
            for v in level
            if isinstance(v, dict | list)
            for child in (v.values() if isinstance(v, dict) else v)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True
