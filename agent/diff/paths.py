"""Field paths: parse, format, match and remove (pure).

One representation serves ignore rules (JSON pointers and the dotted syntax),
managedFields (FieldsV1) and display: a path is a tuple of segments, each

- ``Key(name)``: a map key;
- ``Match({field: value, ...})``: the list items whose fields have those values
  (``containers[name=web]``, FieldsV1's ``k:{"name":"web"}``);
- ``Index(n)``: a list position (JSON pointers ``/containers/0``);
- ``Value(v)``: the set item equal to ``v`` (FieldsV1's ``v:"x"``);
- ``ANY``: any key or any list item (``*`` in the dotted syntax).

Dotted syntax: ``spec.template.spec.containers[name=web].env[name=DEBUG].value``,
``metadata.annotations["example.com/note"]``, ``spec.*.replicas``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agent.kube.nodes import LIST_KEY_DEFAULTS

# Fields of list-map keys that the server defaults when a manifest leaves
# them out: ``ports`` are keyed by port *and* protocol, TCP unless stated.
KEY_DEFAULTS: Mapping[str, str] = LIST_KEY_DEFAULTS


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Match:
    fields: tuple[tuple[str, str], ...]  # (field, value as text), sorted

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> Match:
        return cls(tuple(sorted((k, _text(v)) for k, v in fields.items())))

    def matches(self, item: Any) -> bool:
        return isinstance(item, Mapping) and all(k in item and _text(item[k]) == v for k, v in self.fields)


@dataclass(frozen=True)
class Index:
    n: int


@dataclass(frozen=True)
class Value:
    value: str  # JSON text of the value


@dataclass(frozen=True)
class Any_:
    pass


ANY = Any_()
Segment = Key | Match | Index | Value | Any_
Path = tuple[Segment, ...]


class PathError(ValueError):
    """A path that cannot be parsed; the message quotes it."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# -- parsing -----------------------------------------------------------------------
def parse_pointer(pointer: str) -> Path:
    """RFC 6901: ``/spec/template/spec/containers/0/image``."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise PathError(f"{pointer!r}: a JSON pointer starts with '/'")
    out: list[Segment] = []
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        out.append(Index(int(token)) if token.isdigit() else Key(token))
    return tuple(out)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<star>\*)
      | \[\s*"(?P<quoted>(?:[^"\\]|\\.)*)"\s*\]
      | \[\s*(?P<index>\d+)\s*\]
      | \[\s*(?P<sel>[^\]=]+?)\s*=\s*(?P<val>"(?:[^"\\]|\\.)*"|[^\]]*?)\s*\]
      | \[\s*\*\s*\]
      | (?P<name>[^.\[\]"]+)
    )\s*(?P<dot>\.)?""",
    re.VERBOSE,
)


def parse_dotted(text: str) -> Path:
    """``spec.containers[name=web].image``, ``metadata.labels["a.b/c"]``, ``*``."""
    out: list[Segment] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise PathError(f"{text!r}: cannot parse at {text[pos:]!r}")
        try:
            out.append(_segment(m))
        except ValueError:  # a quoted key or value that is not a JSON string
            raise PathError(f"{text!r}: cannot parse at {text[pos:]!r}") from None
        pos = m.end()
    return tuple(out)


def _segment(m: re.Match[str]) -> Segment:
    """One step of a dotted path."""
    if m.group("star") or m.group(0).strip().startswith("[*"):
        return ANY
    if m.group("quoted") is not None:
        return Key(json.loads(f'"{m.group("quoted")}"'))
    if m.group("index") is not None:
        return Index(int(m.group("index")))
    if m.group("sel") is not None:
        raw = m.group("val")
        value = json.loads(raw) if raw.startswith('"') else raw
        return Match(((m.group("sel").strip(), str(value)),))
    return Key(m.group("name").strip())


def fields_v1_paths(tree: Mapping[str, Any], prefix: Path = ()) -> Iterator[Path]:
    """Leaf paths of a managedFields ``fieldsV1`` tree (``f:``, ``k:``, ``v:``,
    ``i:`` keys; ``.`` marks the field itself)."""
    if not tree:
        yield prefix
        return
    for raw, sub in tree.items():
        if raw == ".":
            yield prefix
            continue
        kind, _, rest = raw.partition(":")
        segment: Segment
        if kind == "f":
            segment = Key(rest)
        elif kind == "k":
            segment = Match.of(json.loads(rest))
        elif kind == "v":
            segment = Value(_text(json.loads(rest)))
        elif kind == "i":
            segment = Index(int(rest))
        else:
            continue
        yield from fields_v1_paths(sub if isinstance(sub, Mapping) else {}, (*prefix, segment))


# -- display -----------------------------------------------------------------------
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(path: Path) -> str:
    out = ""
    for seg in path:
        if isinstance(seg, Key):
            out += (f".{seg.name}" if out else seg.name) if _PLAIN.match(seg.name) else f'["{seg.name}"]'
        elif isinstance(seg, Match):
            out += "[" + ",".join(f"{k}={v}" for k, v in seg.fields) + "]"
        elif isinstance(seg, Index):
            out += f"[{seg.n}]"
        elif isinstance(seg, Value):
            out += f"[={seg.value}]"
        else:
            out += ".*" if out else "*"
    return out


# -- removal -----------------------------------------------------------------------
def remove(obj: Any, path: Path) -> None:
    """Delete every field ``path`` selects from ``obj`` (in place)."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        keys = list(obj) if isinstance(head, Any_) else [head.name] if isinstance(head, Key) else []
        for k in keys:
            if k not in obj:
                continue
            if rest:
                remove(obj[k], rest)
            else:
                del obj[k]
    elif isinstance(obj, list):
        if isinstance(head, Any_):
            chosen = list(range(len(obj)))
        elif isinstance(head, Index):
            chosen = [head.n] if head.n < len(obj) else []
        elif isinstance(head, Match):
            chosen = [i for i, item in enumerate(obj) if head.matches(item)]
        elif isinstance(head, Value):
            chosen = [i for i, item in enumerate(obj) if _text(item) == head.value]
        else:
            chosen = []
        for i in reversed(chosen):
            if rest:
                remove(obj[i], rest)
            else:
                del obj[i]


def covers(owner: Path, path: Path) -> bool:
    """Does a field set entry ``owner`` own ``path`` (itself, or a parent of it)?"""
    if len(owner) > len(path):
        return False
    return all(_segment_covers(o, p) for o, p in zip(owner, path, strict=False))


def _segment_covers(owner: Segment, seg: Segment) -> bool:
    if isinstance(owner, Any_) or owner == seg:
        return True
    if isinstance(owner, Match) and isinstance(seg, Match):
        # FieldsV1 keys carry every list-map key (name and protocol, say);
        # the diff keys items by one merge key: the shared fields must agree.
        # A key field left out on one side has its default (protocol TCP).
        mine, theirs = dict(owner.fields), dict(seg.fields)
        shared = set(mine) & set(theirs)
        if not shared:
            return False
        for k in set(mine) ^ set(theirs):
            default = KEY_DEFAULTS.get(k)
            if default is not None and mine.get(k, default) != theirs.get(k, default):
                return False
        return all(mine[k] == theirs[k] for k in shared)
    return False
