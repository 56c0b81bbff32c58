"""Which names a template's error may show.

An undefined key or attribute is named in the error only when the chart's
templates spell the name out (``values.db``, ``values["db"]``,
``sort(attribute="a.b")``): then it comes from the chart, not the values.
One the template computed (``values[values.key]``, ``attr(x)``, a loop
variable) may be a value, and values may hold secrets, so it is not shown.
``tpl`` text comes from the values: its names never count as spelled out.
"""

from __future__ import annotations

from typing import Any, Protocol

import jinja2
from jinja2 import nodes
from jinja2.utils import object_type_repr


class _Env(Protocol):
    written: set[Any]  # what the chart's templates spell out

    def undefined(self, *, hint: str, obj: Any, name: Any) -> Any: ...


def literals(tree: nodes.Template) -> frozenset[Any]:
    """What a template spells out: its constants (and the parts of dotted
    ones, as ``attribute="a.b"`` looks them up), attribute and variable names."""
    found: set[Any] = set()
    for const in tree.find_all(nodes.Const):
        value = const.value
        if isinstance(value, str):
            for part in value.split("."):
                found.add(part)
                if part.isdigit() and len(part) < 20:
                    found.add(int(part))
        if isinstance(value, str | int | float):
            found.add(value)
    found.update(n.attr for n in tree.find_all(nodes.Getattr))
    found.update(n.name for n in tree.find_all(nodes.Name))
    return frozenset(found)


def unnamed(env: _Env, found: Any, obj: Any, name: Any) -> Any:
    """``found``, or when it is undefined under a name the templates do not
    spell out, an undefined whose error does not show the name."""
    if not isinstance(found, jinja2.Undefined):
        return found
    try:
        written = name in env.written
    except TypeError:  # an unhashable key
        written = False
    if written:
        return found
    what = object_type_repr(obj)
    hint = getattr(found, "_undefined_hint", None) or ""
    if "unsafe" in hint:
        hint = f"access to an attribute of {what} is unsafe (its name is not shown: it may be a value)"
    else:
        hint = f"{what} has no element at the key given (not shown: keys and values may hold secrets)"
    return env.undefined(hint=hint, obj=obj, name=None)
