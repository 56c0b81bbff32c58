"""The Jinja environment charts run in: sandboxed, strict, confined, metered.

- :class:`ChartEnvironment` is Jinja's ``ImmutableSandboxedEnvironment``
  (no ``__class__`` escapes, no mutation of lists and dicts) with
  ``StrictUndefined``: an undefined value is an error naming the template,
  the line and the variable.
- Every loop (``{% for %}``, rewritten at compile time to pass through
  :meth:`ChartEnvironment.iter_guard`), call, filter, ``~`` concatenation
  and output chunk is charged to the render's budget
  (:mod:`agent.render.limits`); ``*``, ``**`` and ``%`` refuse operands
  whose result would be huge *before* Python builds it; nested calls (a
  recursive macro, ``include`` or ``tpl``) are capped.
- An undefined key or attribute is named in the error only when the name
  is written in the chart's templates (``values.db``, ``values["db"]``);
  one the template computed (``values[values.key]``, ``attr(x)``) may come
  from the values, which may hold secrets, so it is not shown.
- :class:`ChartLoader` reads templates by chart-relative name, resolves
  symlinks and refuses anything outside the chart (Jinja's own file loader
  follows symlinks out of its folder).
- Environments, and so compiled templates, are cached per chart folder; a
  checkout is an immutable folder per commit, so that is per chart and
  revision.  A file edited in place (the ``render`` command on a working
  tree) is noticed by its size and modification time.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

from agent.errors import RenderFailed
from agent.render import limits
from agent.render.names import literals, unnamed
from agent.render.paths import read_text

MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
_FORMAT_NUMBER = re.compile(r"\d+")


class ChartLoader(jinja2.BaseLoader):
    """``name`` is looked up as ``templates/<name>``, then ``<name>`` in the
    chart; ``<dep>/<name>`` in a dependency (or a dependency of an
    ancestor chart: library charts are shared down the tree)."""

    def __init__(self, root: Path, shown: str, libraries: tuple[tuple[str, Path, str], ...]) -> None:
        self.root = root
        self.shown = shown
        self.libraries = libraries
        self.shown_files: set[str] = set()  # the file names templates are compiled under

    def _candidates(self, name: str) -> Iterator[tuple[Path, str, str]]:
        yield self.root, f"templates/{name}", self.shown
        yield self.root, name, self.shown
        head, _, rest = name.partition("/")
        if rest:
            for key, root, shown in self.libraries:
                if key == head:
                    yield root, f"templates/{rest}", shown
                    yield root, rest, shown

    def in_library(self, name: str) -> bool:
        """Whether ``<key>/<rest>`` names a file of a library."""
        head, _, rest = name.partition("/")
        for key, root, _shown in self.libraries:
            if key == head:
                for rel in (f"templates/{rest}", rest):
                    path = (root / rel).resolve()
                    if path.is_relative_to(root) and path.is_file():
                        return True
        return False

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        name = template.replace("\\", "/").lstrip("/")
        for base, rel, shown in self._candidates(name):
            path = (base / rel).resolve()
            if not path.is_relative_to(base):
                raise jinja2.TemplateNotFound(f"{template} (outside the chart; refused)")
            if path.is_file():
                shown_file = f"{shown}/{path.relative_to(base).as_posix()}"
                text = read_text(path, shown_file, MAX_TEMPLATE_BYTES)
                self.shown_files.add(shown_file)
                stat = path.stat()
                # The file name compiled into the template is the one users
                # see: error locations need no mapping, and a template whose
                # text did not change in a new revision reuses its code.
                return text, shown_file, _unchanged(path, stat.st_mtime_ns, stat.st_size)
        raise jinja2.TemplateNotFound(template)


def _unchanged(path: Path, mtime_ns: int, size: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            stat = path.stat()
        except OSError:
            return False
        return stat.st_mtime_ns == mtime_ns and stat.st_size == size

    return check


class _Guards(NodeTransformer):
    """Route loops and ``~`` through the environment's metered helpers."""

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env

    def _call(self, helper: str, args: list[Any], lineno: int) -> nodes.Call:
        call = nodes.Call(nodes.EnvironmentAttribute(helper), args, [], None, None)
        call.set_lineno(lineno)
        call.set_environment(self.env)
        return call

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._call("iter_guard", [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._call("concat_guard", list(node.nodes), node.lineno)


def _is_container(value: Any) -> bool:
    return isinstance(value, list | tuple | dict | Namespace)


def _children(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, Namespace):
        return list(value._Namespace__attrs.values())
    return value  # type: ignore[no-any-return]


def expanded_size(value: Any, budget: limits.Budget) -> int:
    """Nodes ``value`` has once shared references are expanded (as ``str``,
    ``to_json`` or YAML would); memoized, so a "billion laughs" structure
    costs only its real size to measure."""
    memo = budget.memo
    limit = budget.limits.max_items

    def size(v: Any, depth: int) -> int:
        if not _is_container(v):
            return 1
        hit = memo.get(id(v))
        if hit is not None and hit[0] is v:
            return hit[1]
        if depth > 200:
            raise RenderFailed("a value is nested more than 200 levels deep; refused")
        total = 1
        for child in _children(v):
            total += size(child, depth + 1)
            if total > limit:
                raise RenderFailed(f"a value expands to more than {limit:,} items; refused")
        if total >= 256 and len(memo) < 100_000:
            memo[id(v)] = (v, total)
        return total

    return size(value, 0)


def _check_args(budget: limits.Budget, args: Iterable[Any]) -> None:
    for a in args:
        if _is_container(a):
            expanded_size(a, budget)


def max_number(fmt: str) -> int:
    return max((int(n) for n in _FORMAT_NUMBER.findall(fmt) if len(n) < 30), default=0) if fmt else 0


def _precheck_method(budget: limits.Budget, obj: Any, args: tuple[Any, ...]) -> None:
    """Refuse ``str`` methods that would build a huge string."""
    target = getattr(obj, "__wrapped__", obj)
    owner = getattr(target, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(target, "__name__", "")
    if name in ("ljust", "rjust", "center", "zfill") and args and isinstance(args[0], int):
        budget.check_planned(args[0], f"str.{name}")
    elif name == "expandtabs" and args and isinstance(args[0], int):
        budget.check_planned(len(owner) + owner.count("\t") * args[0], "str.expandtabs")
    elif name == "replace" and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        budget.check_planned(
            len(owner) + (len(owner) + 1) * len(new)
            if not old
            else len(owner) // len(old) * len(new) + len(owner),
            "str.replace",
        )
    elif name == "join" and args and isinstance(args[0], list | tuple):
        budget.check_planned(
            sum(len(x) for x in args[0] if isinstance(x, str)) + len(owner) * len(args[0]), "str.join"
        )
    elif name == "format":
        budget.check_planned(max_number(owner), "str.format width")


class ChartEnvironment(jinja2.sandbox.ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def __init__(self, loader: ChartLoader) -> None:
        super().__init__(
            loader=loader,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
            auto_reload=True,
            cache_size=2000,
            finalize=self.finalize_output,
        )
        self._tpl_cache: OrderedDict[str, jinja2.Template] = OrderedDict()
        self.written: set[Any] = set()  # names and constants the chart's templates spell out
        self._tpl_lock = threading.Lock()

    def join_path(self, template: str, parent: str) -> str:
        """A name imported by a library's partial (``{% from "_names.j2" ...
        %}`` inside ``common/_labels.j2``) is looked up in that library first."""
        head, sep, _ = parent.partition("/")
        loader = self.loader
        if sep and isinstance(loader, ChartLoader) and not template.startswith(f"{head}/"):
            candidate = f"{head}/{template}"
            if loader.in_library(candidate):
                return candidate
        return template

    # -- compile time ------------------------------------------------------------
    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        """Compiled code, shared by every chart environment for the same
        text, name and file name (all of them compile alike)."""
        if raw or defer_init or not isinstance(source, str):
            return super().compile(source, name, filename, raw=raw, defer_init=defer_init)  # type: ignore[call-overload]
        key = (source, name, filename)
        with _code_lock:
            hit = _code_cache.get(key)
            if hit is not None:
                _code_cache.move_to_end(key)
        if hit is None:
            tree = self._parse(source, name, filename)
            hit = (super().compile(tree, name, filename), literals(tree))
            with _code_lock:
                _code_cache[key] = hit
                while len(_code_cache) > CODE_CACHE_SIZE:
                    _code_cache.popitem(last=False)
        if name is not None:  # a chart's file (tpl's text comes from values: not counted)
            self.written.update(hit[1])
        return hit[0]

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        _Guards(self).visit(tree)
        return tree

    def tpl_template(self, text: str) -> jinja2.Template:
        with self._tpl_lock:
            hit = self._tpl_cache.get(text)
            if hit is not None:
                self._tpl_cache.move_to_end(text)
                return hit
        template = self.from_string(text)
        with self._tpl_lock:
            self._tpl_cache[text] = template
            while len(self._tpl_cache) > 512:
                self._tpl_cache.popitem(last=False)
        return template

    # -- run time ----------------------------------------------------------------
    def iter_guard(self, iterable: Any) -> Iterator[Any]:
        budget = limits.current()
        for item in iterable:
            budget.tick()
            yield item

    def concat_guard(self, *parts: Any) -> str:
        budget = limits.current()
        _check_args(budget, parts)
        text = "".join(str(self.finalize_text(p)) for p in parts)
        return budget.check_size(text, "a ~ concatenation")  # type: ignore[no-any-return]

    @staticmethod
    def finalize_text(value: Any) -> Any:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        return value

    def finalize_output(self, value: Any) -> Any:
        """What ``{{ x }}`` prints: ``null``, ``true`` and ``false`` as YAML
        spells them; containers only after their size is checked."""
        if isinstance(value, jinja2.Undefined):
            return value
        if _is_container(value):
            expanded_size(value, limits.current())
        return self.finalize_text(value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``values.items`` is the key ``items`` when there is one (as in
        Helm), not the dict method of that name."""
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return unnamed(self, super().getattr(obj, attribute), obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return unnamed(self, super().getitem(obj, argument), obj, argument)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        budget = limits.current()
        budget.tick()
        if operator in ("*", "**"):
            budget.check_multiply(operator, left, right)
        elif operator == "%" and isinstance(left, str):
            budget.check_planned(max_number(left), "a % format width")
            _check_args(budget, right if isinstance(right, tuple) else (right,))
        elif operator == "+":
            _check_args(budget, (left, right))
        try:
            result = super().call_binop(context, operator, left, right)
        except OverflowError:  # a float out of range: 10.0 ** 400
            raise RenderFailed(f"the result of {operator} is too large a number; refused") from None
        if isinstance(result, int):
            budget.check_bits(result.bit_length(), operator)
        return budget.check_size(result, f"the result of {operator}")

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        budget = limits.current()
        budget.tick()
        _precheck_method(budget, __obj, args)
        _check_args(budget, args)
        budget.depth += 1
        try:
            if budget.depth > budget.limits.max_call_depth:
                what = getattr(__obj, "name", None) or getattr(__obj, "__name__", "a call")
                raise RenderFailed(
                    f"template recursion too deep: more than {budget.limits.max_call_depth} nested calls "
                    f"(at {what!s})"
                )
            result = __context.call(__obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        return budget.check_size(result, "a call's result")


# -- caches -----------------------------------------------------------------------
_code_cache: OrderedDict[tuple[str, str | None, str | None], tuple[Any, frozenset[Any]]] = OrderedDict()
_code_lock = threading.Lock()
CODE_CACHE_SIZE = 4096

# -- one environment per chart -----------------------------------------------------
_cache: OrderedDict[tuple[Any, ...], ChartEnvironment] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 256


def environment_for(
    root: Path,
    shown: str,
    libraries: tuple[tuple[str, Path, str], ...],
    setup: Callable[[ChartEnvironment], None],
) -> ChartEnvironment:
    """The cached environment of a chart (created by ``setup`` once)."""
    key = (root, shown, libraries)
    with _cache_lock:
        env = _cache.get(key)
        if env is not None:
            _cache.move_to_end(key)
            return env
    env = ChartEnvironment(ChartLoader(root, shown, libraries))
    setup(env)
    with _cache_lock:
        _cache[key] = env
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return env
