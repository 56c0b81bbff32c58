"""Values: layers, Helm's merge rules, ``--set`` syntax and the values schema.

Precedence, lowest first (the order Helm users know):

1. the chart's ``values.yaml``;
2. for a subchart: what its parent's layers set under the subchart's name
   (or alias), each parent layer in its own order, and the parent's
   ``global`` map, which every subchart sees as its own ``global``;
3. the app's values files, in order;
4. the app's inline values;
5. ``--set`` / ``--set-string`` on the command line.

Maps merge deeply; any other value replaces; ``null`` deletes the key, so an
environment can remove a default (as in Helm).  Every layer is kept apart
until it is merged into a chart's defaults, so a ``null`` in the app's
values also deletes a subchart's default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import RenderFailed
from agent.render.documents import MAX_NODES, load_documents, load_mapping, plain, type_name
from agent.render.paths import read_text

if TYPE_CHECKING:
    import jsonschema.exceptions

Values = dict[str, Any]
MAX_VALUES_BYTES = 5 * 1024 * 1024


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> Values:
    """Merge ``override`` into ``base``; maps merge, ``None`` deletes."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def coalesce(defaults: Mapping[str, Any], layers: Sequence[Mapping[str, Any]]) -> Values:
    values = dict(defaults)
    for layer in layers:
        values = deep_merge(values, layer)
    return values


def child_layers(parent_layers: Sequence[Mapping[str, Any]], key: str) -> list[Values]:
    """What each of a parent's layers sets for the subchart called ``key``,
    with the parent's ``global`` map as the subchart's ``global``."""
    out: list[Values] = []
    for layer in parent_layers:
        part = layer.get(key)
        child: Values = dict(part) if isinstance(part, Mapping) else {}
        if "global" in layer:
            glob = layer["global"]
            own = child.get("global")
            if isinstance(glob, Mapping) and isinstance(own, Mapping):
                child["global"] = {**own, **glob}
            else:
                child["global"] = glob
        if child:
            out.append(child)
    return out


def lookup(values: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """``a.b.c`` in ``values``: (found, value)."""
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def load_values_file(path: Path, shown: str) -> Values:
    """A values file: one YAML mapping, safe loader, alias bombs refused."""
    return load_mapping(read_text(path, shown, MAX_VALUES_BYTES), shown, "a values file")


# -- --set ------------------------------------------------------------------------
_INDEX = re.compile(r"^(?P<name>.*?)\[(?P<index>\d+)\]$")
MAX_SET_INDEX = 10_000


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside ``{...}`` lists, honouring ``\\`` escapes."""
    parts, buf, depth, i = [], "", 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf += ch + text[i + 1]
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
        if ch == sep and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
        i += 1
    parts.append(buf)
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _scalar(raw: str, as_string: bool) -> Any:
    if as_string:
        return _unescape(raw)
    if raw.startswith("{") and raw.endswith("}"):
        return [_scalar(x, False) for x in _split(raw[1:-1], ",") if x != ""]
    text = _unescape(raw)
    if text == "":
        return ""
    if text == "null":
        return None
    try:
        value = load_documents(text, "--set")[0]
    except RenderFailed:
        return text
    # Like Helm: numbers, booleans and null are typed; anything structured stays a string.
    return value if isinstance(value, bool | int | float) else text


def parse_set(items: Sequence[str], as_string: bool = False) -> Values:
    """Helm's ``--set`` syntax: ``a.b=1,c=x``, ``list[0].name=web``,
    ``tags={a,b}``, ``\\,`` and ``\\.`` for literal commas and dots,
    ``key=null`` to delete a default; ``--set-string`` keeps every value a string."""
    values: Values = {}
    for item in items:
        for pair in _split(item, ","):
            key, sep, raw = pair.partition("=")
            if not sep or not key:
                raise RenderFailed(f"--set {item!r}: expected key.path=value")
            path = [_unescape(p) for p in re.split(r"(?<!\\)\.", key)]
            _assign(values, path, _scalar(raw, as_string), item)
    return values


def _assign(node: Values, path: list[str], value: Any, item: str) -> None:
    head, rest = path[0], path[1:]
    m = _INDEX.match(head)
    if m is None:
        if not rest:
            node[head] = value
            return
        child = node.get(head)
        if not isinstance(child, dict):
            child = node[head] = {}
        _assign(child, rest, value, item)
        return
    name, index = m.group("name"), int(m.group("index"))
    if index > MAX_SET_INDEX:
        raise RenderFailed(f"--set {item!r}: list index {index} is too large")
    lst = node.get(name)
    if not isinstance(lst, list):
        lst = node[name] = []
    while len(lst) <= index:
        lst.append(None)
    if not rest:
        lst[index] = value
        return
    if not isinstance(lst[index], dict):
        lst[index] = {}
    _assign(lst[index], rest, value, item)


# -- values.schema.json ------------------------------------------------------------
def load_schema(path: Path, shown: str) -> dict[str, Any]:
    try:
        schema = plain(json.loads(read_text(path, shown, MAX_VALUES_BYTES)), shown, MAX_NODES)
    except json.JSONDecodeError as e:
        raise RenderFailed(f"{shown}:{e.lineno}: invalid JSON: {e.msg}") from None
    if not isinstance(schema, dict):
        raise RenderFailed(f"{shown}: a JSON Schema must be an object")
    # jsonschema (~90 ms to import, with referencing and attrs) only for charts that ship a schema.
    import jsonschema  # noqa: PLC0415

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        raise RenderFailed(
            f"{shown}: not a valid JSON Schema: {_where(e.absolute_path)}{e.message}"
        ) from None
    return schema


def check_values(values: Mapping[str, Any], schema: Mapping[str, Any], shown: str) -> None:
    """Check a chart's final values against its schema; name every field
    that fails, never the value (values often hold passwords)."""
    import jsonschema  # noqa: PLC0415
    from referencing import Registry  # noqa: PLC0415

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    # An empty registry: a "$ref" to a remote schema is an error, never a download.
    validator = cls(schema, registry=Registry())
    try:
        errors = sorted(
            validator.iter_errors(values), key=lambda e: ([str(p) for p in e.absolute_path], e.validator)
        )
    except Exception as e:  # an unresolvable $ref and the like
        raise RenderFailed(f"{shown}: cannot check values: {e}") from None
    if errors:
        problems = "; ".join(describe(e) for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise RenderFailed(f"{shown}: values do not match the schema: {problems}{more}")


def _where(path: Sequence[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"{text}: " if text else ""


def describe(error: jsonschema.exceptions.ValidationError) -> str:
    """One schema violation as ``field.path: what is wrong``, without the
    offending value itself."""
    import jsonschema.exceptions  # noqa: PLC0415

    error = jsonschema.exceptions.best_match([error])
    where = _where(error.absolute_path) or "(top level): "
    kind, expected = error.validator, error.validator_value
    if kind == "additionalProperties" and isinstance(error.instance, dict) and isinstance(error.schema, dict):
        known = error.schema.get("properties") or {}
        extra = [k for k in error.instance if k not in known]
        if extra:
            return "; ".join(f"{_where([*error.absolute_path, k])}unknown field" for k in extra)
    if kind in ("required", "additionalProperties", "dependentRequired", "dependencies", "propertyNames"):
        message = error.message  # names fields, not values
    elif kind == "type":
        message = f"must be of type {_alternatives(expected)}, not {type_name(error.instance)}"
    elif kind == "enum":
        message = f"must be one of {json.dumps(expected)}"
    elif kind == "const":
        message = f"must be {json.dumps(expected)}"
    elif kind in _BOUNDS:
        message = f"must satisfy {kind} {expected}"
    elif kind in ("pattern", "format"):
        message = f"must match {kind} {expected!r}"
    else:
        message = f"fails {kind!r}"
    return f"{where}{message}"


_BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)


def _alternatives(expected: Any) -> str:
    if isinstance(expected, list):
        return " or ".join(str(x) for x in expected)
    return str(expected)
