"""A fast yes-or-no check of an object against Kubernetes' JSON schemas.

:mod:`agent.render.openapi` validates every rendered object against the
schemas ``kubernetes-validate`` ships, with ``jsonschema``, whose errors
name the field that is wrong.  Walking a Deployment that way costs about a
tenth of a millisecond per field; a chart of a thousand objects spent longer
validating than parsing its YAML.  Nearly every object is valid, so this
module answers only *whether* an object is valid, with plain closures
compiled from the schema, and ``jsonschema`` runs (and explains) only for an
object this check rejects.

The closures implement exactly the keywords those schemas use, with
``jsonschema``'s Draft 2020-12 semantics: ``type`` (an integral float is an
integer, a boolean is not a number), ``enum`` (of strings), ``properties``,
``additionalProperties`` (``false`` or a schema), ``required``, ``items``,
``oneOf`` (exactly one: ``null`` matches both branches of IntOrString, so
it is invalid there, as jsonschema says) and ``$ref`` into ``#/$defs``,
next to its sibling keywords.  Annotations (``description``, ``format`` --
not asserted without a format checker -- ``x-kubernetes-*``) are ignored.
Any other keyword makes :func:`checker` give up (``None``): the caller then
asks ``jsonschema``, so a schema this module does not understand can never
let an invalid object through.  Definitions are compiled when an object
first reaches them, so a check compiles only the parts of the schema that
the objects use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"description", "format", "default", "title", "example", "examples", "deprecated"})
_REF_PREFIX = "#/$defs/"


class Unsupported(Exception):
    """A keyword (or a form of one) this module does not implement."""


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


_TYPES: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    "integer": _is_integer,
    "number": lambda x: isinstance(x, int | float) and not isinstance(x, bool),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
}


class Compiler:
    """Compiles the definitions of one schema document, each at most once."""

    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self.definitions = definitions
        self.compiled: dict[str, Check] = {}

    def definition(self, name: str) -> Check:
        found = self.compiled.get(name)
        if found is None:
            if name not in self.definitions:
                raise Unsupported(f"no definition {name}")
            found = self.compiled[name] = self.schema(self.definitions[name])
        return found

    def _ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith(_REF_PREFIX):
            raise Unsupported(f"$ref {ref!r}")
        name = ref[len(_REF_PREFIX) :]
        target: list[Check] = []

        def check(x: Any) -> bool:  # compiled on first use: recursion and unused parts cost nothing
            if not target:
                target.append(self.definition(name))
            return target[0](x)

        return check

    def schema(self, node: Any) -> Check:
        if node is True:
            return lambda x: True
        if node is False:
            return lambda x: False
        if not isinstance(node, dict):
            raise Unsupported(f"schema {type(node).__name__}")
        checks: list[Check] = []
        for key, value in node.items():
            if key in _ANNOTATIONS or key.startswith("x-"):
                continue
            checks.append(self._keyword(key, value, node))
        checks = [c for c in checks if c is not _ALWAYS]
        if not checks:
            return _ALWAYS
        if len(checks) == 1:
            return checks[0]
        return lambda x: all(c(x) for c in checks)

    def _properties(self, schemas: Mapping[str, Any]) -> Check:
        """Each property's schema is compiled when an object first has it:
        a PodSpec has some forty properties, a pod template uses a few."""
        compiled: dict[str, Check] = {}

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for k, v in x.items():
                c = compiled.get(k)
                if c is None:
                    if k not in schemas:
                        continue
                    c = compiled[k] = self.schema(schemas[k])
                if not c(v):
                    return False
            return True

        return check

    def _keyword(self, key: str, value: Any, node: Mapping[str, Any]) -> Check:
        compile_keyword = _KEYWORDS.get(key)
        if compile_keyword is None:
            raise Unsupported(f"keyword {key}")
        return compile_keyword(self, value, node)


# -- one compiler per keyword: (compiler, the keyword's value, the schema node) -> check
def _type(c: Compiler, value: Any, node: Mapping[str, Any]) -> Check:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or any(n not in _TYPES for n in names):
        raise Unsupported(f"type {value!r}")
    tests = [_TYPES[n] for n in names]
    return tests[0] if len(tests) == 1 else (lambda x: any(t(x) for t in tests))


def _enum(c: Compiler, value: Any, node: Mapping[str, Any]) -> Check:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unsupported("enum of other values than strings")
    allowed = frozenset(value)
    return lambda x: isinstance(x, str) and x in allowed


def _additional_properties(c: Compiler, value: Any, node: Mapping[str, Any]) -> Check:
    known = frozenset(node.get("properties") or ())
    if value is False:
        return lambda x: not isinstance(x, dict) or all(k in known for k in x)
    extra = c.schema(value)
    return lambda x: not isinstance(x, dict) or all(extra(v) for k, v in x.items() if k not in known)


def _required(c: Compiler, value: Any, node: Mapping[str, Any]) -> Check:
    needed = tuple(value)
    return lambda x: not isinstance(x, dict) or all(k in x for k in needed)


def _items(c: Compiler, value: Any, node: Mapping[str, Any]) -> Check:
    if not isinstance(value, dict | bool):
        raise Unsupported("items as a list")
    each = c.schema(value)
    return lambda x: not isinstance(x, list) or all(each(v) for v in x)


def _one_of(c: Compiler, value: Any, node: Mapping[str, Any]) -> Check:
    branches = [c.schema(sub) for sub in value]
    return lambda x: sum(1 for b in branches if b(x)) == 1


_KEYWORDS: dict[str, Callable[[Compiler, Any, Mapping[str, Any]], Check]] = {
    "type": _type,
    "enum": _enum,
    "$ref": lambda c, value, node: c._ref(value),
    "properties": lambda c, value, node: c._properties(value),
    "additionalProperties": _additional_properties,
    "required": _required,
    "items": _items,
    "oneOf": _one_of,
}


def _always(x: Any) -> bool:
    return True


_ALWAYS: Check = _always


def checker(compiler: Compiler, definition: str) -> Callable[[Any], bool | None]:
    """``check(obj)``: True when ``obj`` is valid against ``definition``,
    False when it is not, None when the schema uses something this module
    does not implement (ask jsonschema)."""

    def check(obj: Any) -> bool | None:
        try:
            return compiler.definition(definition)(obj)
        except Unsupported:
            return None
        except RecursionError:
            return None

    return check
