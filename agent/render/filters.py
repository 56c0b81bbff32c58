"""The filters and functions of Helm's usual toolbox, for Jinja charts.

Filters: ``to_yaml to_json from_yaml from_json indent nindent quote squote
b64enc b64dec sha256sum sha1sum required default trunc trim_suffix
trim_prefix``; functions: ``include fail required tpl semver_compare semver
merge empty``.  Jinja's own filters stay available (``upper``, ``replace``,
``join``, ``dictsort``, ...) except ``random`` and ``pprint``, and the
``lipsum`` global is gone: the output must be a pure function of the inputs,
so there is no clock, randomness, environment, network, cluster lookup or
regular expression (which no budget can interrupt) in a template.

Every filter is metered: it counts against the render's budget and its
result may not exceed the size limit (:mod:`agent.render.limits`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
import jinja2.filters
from jinja2.utils import Namespace

from agent.errors import RenderFailed
from agent.render import limits, semver
from agent.render.documents import dump_yaml, load_documents, plain
from agent.render.sandbox import ChartEnvironment, expanded_size, max_number
from agent.render.values import deep_merge


def text(value: Any) -> str:
    """A value as Go templates print it: ``true``, ``1`` for ``1.0``, ``""`` for null."""
    if value is None or isinstance(value, jinja2.Undefined):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, list | tuple | dict | Namespace):
        expanded_size(value, limits.current())
        return json.dumps(plain(value, "a value"), ensure_ascii=False, sort_keys=True)
    return str(value)


def to_yaml(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        value = str(value)  # StrictUndefined raises here, naming the variable
    data = plain(value, "to_yaml")
    return dump_yaml(data).rstrip("\n") if data not in ({}, []) else json.dumps(data)


def to_json(value: Any) -> str:
    """Compact, keys sorted: the bytes Helm's ``toJson`` gives."""
    if isinstance(value, jinja2.Undefined):
        value = str(value)
    return json.dumps(plain(value, "to_json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def from_yaml(value: Any) -> Any:
    docs = load_documents(text(value), "from_yaml")
    return docs[0] if docs else None


def from_json(value: Any) -> Any:
    try:
        data = json.loads(text(value))
    except json.JSONDecodeError as e:
        raise RenderFailed(f"from_json: invalid JSON at line {e.lineno}: {e.msg}") from None
    return plain(data, "from_json")


def indent(value: Any, width: int = 4) -> str:
    """Every non-empty line, the first too (Helm's ``indent``; Jinja's own
    leaves the first line alone)."""
    s = text(value)
    limits.current().check_planned(len(s) + (s.count("\n") + 1) * max(width, 0), "indent")
    pad = " " * width
    return "\n".join(pad + line if line else line for line in s.split("\n"))


def nindent(value: Any, width: int = 4) -> str:
    return "\n" + indent(value, width)


def quote(value: Any) -> str:
    return json.dumps(text(value), ensure_ascii=False)


def squote(value: Any) -> str:
    return "'" + text(value).replace("'", "''") + "'"


def b64enc(value: Any) -> str:
    return base64.b64encode(text(value).encode()).decode()


def b64dec(value: Any) -> str:
    try:
        return base64.b64decode(text(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise RenderFailed("b64dec: not valid base64 of UTF-8 text") from None


def sha256sum(value: Any) -> str:
    return hashlib.sha256(text(value).encode()).hexdigest()


def sha1sum(value: Any) -> str:
    return hashlib.sha1(text(value).encode(), usedforsecurity=False).hexdigest()


def empty(value: Any) -> bool:
    """Helm's notion of empty: undefined, null, false, 0, "", [] and {}."""
    if isinstance(value, jinja2.Undefined) or value is None:
        return True
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return not value
    return False


def default(value: Any, fallback: Any = "", *_: Any) -> Any:
    """``value`` unless it is empty (Helm's ``default``: also for ``false``
    and ``0``; test ``is defined`` to keep a ``false``)."""
    return fallback if empty(value) else value


def required(value: Any, message: str = "a required value is missing") -> Any:
    if value is None or isinstance(value, jinja2.Undefined) or value == "":
        raise RenderFailed(str(message))
    return value


def fail(message: Any) -> None:
    raise RenderFailed(text(message))


def trunc(value: Any, length: int = 63) -> str:
    """The first ``length`` characters (the last ones when negative)."""
    s = text(value)
    return s[length:] if length < 0 else s[:length]


def trim_suffix(value: Any, suffix: str = "-") -> str:
    return text(value).removesuffix(suffix)


def trim_prefix(value: Any, prefix: str = "-") -> str:
    return text(value).removeprefix(prefix)


def semver_compare(constraint: str, version: Any) -> bool:
    return semver.satisfies(text(version), constraint)


def semver_parse(version: Any) -> semver.Version:
    return semver.parse(text(version))


def merge(*maps: Any) -> dict[str, Any]:
    """A new map: ``maps`` merged deeply, later ones winning (nothing is modified)."""
    out: dict[str, Any] = {}
    for m in maps:
        if not isinstance(m, Mapping):
            raise RenderFailed(f"merge: expected maps, got {type(m).__name__}")
        out = deep_merge(out, m)
    return out


@jinja2.pass_context
def tpl(context: jinja2.runtime.Context, template: Any, **extra: Any) -> str:
    """Render a string (often from values) as a template, with the current
    context (``tpl(values.annotation_template)``)."""
    env = context.environment
    if not isinstance(env, ChartEnvironment):
        raise RenderFailed("tpl: only available in chart templates")
    try:
        compiled = env.tpl_template(text(template))
    except jinja2.TemplateSyntaxError as e:
        raise RenderFailed(f"tpl: line {e.lineno} of the string: {e.message}") from None
    return compiled.render({**context.get_all(), **extra})


@jinja2.pass_context
def include(
    context: jinja2.runtime.Context, template: str, macro: str | None = None, *args: Any, **kwargs: Any
) -> str:
    """Render a partial (with the current context and ``kwargs``), or call
    one of its macros, to a string that can be piped:
    ``include("_helpers.j2", "labels", release, chart) | indent(4)``."""
    env = context.environment
    tmpl = env.get_template(template)
    if macro is None:
        return tmpl.render({**context.get_all(), **kwargs})
    module = tmpl.make_module(context.get_all())
    fn = getattr(module, macro, None)
    if macro.startswith("_") or not callable(fn):
        raise RenderFailed(f"include: {template} has no macro {macro!r}")
    return str(fn(*args, **kwargs))


def _metered(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        budget = limits.current()
        budget.tick()
        for a in args[:2]:
            if isinstance(a, list | tuple | dict | Namespace):
                expanded_size(a, budget)
        return budget.check_size(fn(*args, **kwargs), f"the {name} filter's result")

    return wrapper


def _center(value: Any, width: int = 80) -> str:
    limits.current().check_planned(width, "center")
    return text(value).center(width)


@jinja2.pass_eval_context
def _replace(ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    s, old, new = text(s), text(old), text(new)
    grow = (len(s) + 1) * len(new) if not old else len(s) // len(old) * len(new)
    limits.current().check_planned(len(s) + grow, "replace")
    return str(jinja2.filters.do_replace(ctx, s, old, new, count))


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    limits.current().check_planned(max_number(text(value)), "a format width")
    return jinja2.filters.do_format(value, *args, **kwargs)


@jinja2.pass_eval_context
def _join(ctx: Any, value: Any, d: str = "", attribute: str | int | None = None) -> str:
    if isinstance(value, list | tuple):
        size = sum(len(x) if isinstance(x, str) else 1 for x in value) + len(d) * len(value)
        limits.current().check_planned(size, "join")
    return str(jinja2.filters.do_join(ctx, value, d, attribute))


@jinja2.pass_environment
def _attr(env: jinja2.Environment, obj: Any, name: str) -> Any:
    """Jinja's ``attr``, through the sandbox's lookup: an undefined name
    computed from the values is not shown in the error."""
    return env.getattr(obj, name)


FILTERS: dict[str, Callable[..., Any]] = {
    "attr": _attr,
    "to_yaml": to_yaml,
    "to_json": to_json,
    "tojson": to_json,
    "from_yaml": from_yaml,
    "from_json": from_json,
    "indent": indent,
    "nindent": nindent,
    "quote": quote,
    "squote": squote,
    "b64enc": b64enc,
    "b64dec": b64dec,
    "sha256sum": sha256sum,
    "sha1sum": sha1sum,
    "required": required,
    "default": default,
    "d": default,
    "trunc": trunc,
    "trim_suffix": trim_suffix,
    "trim_prefix": trim_prefix,
    "center": _center,
    "replace": _replace,
    "format": _format,
    "join": _join,
    "string": text,
}

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "include": include,
    "tpl": tpl,
    "fail": fail,
    "required": required,
    "semver_compare": semver_compare,
    "semver": semver_parse,
    "merge": merge,
    "empty": empty,
}


def install(env: ChartEnvironment) -> None:
    """Put the toolbox into ``env``; meter every filter, Jinja's too."""
    for unsafe in ("random", "pprint"):
        env.filters.pop(unsafe, None)
    env.globals.pop("lipsum", None)
    env.filters.update(FILTERS)
    for name, fn in list(env.filters.items()):
        env.filters[name] = _metered(name, fn)
    env.globals.update(FUNCTIONS)
