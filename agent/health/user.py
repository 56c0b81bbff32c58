"""User-written health rules: CEL in Flux's shape and Argo CD's Lua health scripts.

Both are pure computation: a CEL program reads the object's fields; a Lua
script runs in a sandbox (``lupa``, Lua 5.4) whose globals hold only the
base functions, ``string``, ``table`` and ``math`` — no ``os``, ``io``,
``require``, ``load``, ``debug``, ``pcall`` or coroutines — and which is
stopped after an instruction budget, a memory limit and a budget for its
pattern matching (see :mod:`.lua`).  A rule that fails
(a syntax error, a runtime error, a loop that never ends, a result of the
wrong shape) gives Unknown with the error named: never a crash, never
Healthy.

CEL (Flux's ``healthCheckExprs``): the object's top-level fields
(``metadata``, ``spec``, ``status``, …) are the variables; ``inProgress``,
then ``failed``, then ``current`` are evaluated, and the first that is true
decides (Progressing, Degraded, Healthy); none true is Progressing.

Lua (Argo CD's ``health.lua``): the object is the global ``obj``; the script
returns ``{status = "Healthy" | "Progressing" | "Degraded" | "Suspended" |
"Missing" | "Unknown", message = "..."}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.health.core import Health, Obj
from agent.health.lua import INSTRUCTIONS, MEMORY, PATTERN_STEPS, LuaMemoryError, LuaSandbox
from agent.models import HealthStatus

__all__ = ["INSTRUCTIONS", "MEMORY", "PATTERN_STEPS", "CelRule", "LuaScript", "UserRules"]

_FOR_STATUS = {s.label: s for s in HealthStatus}


@dataclass(frozen=True)
class CelRule:
    group: str
    kind: str
    current: str
    in_progress: str = ""
    failed: str = ""
    origin: str = "config"


@dataclass(frozen=True)
class LuaScript:
    group: str
    kind: str
    source: str
    origin: str = "config"


def unknown(rule: str, error: str) -> Health:
    return Health(HealthStatus.UNKNOWN, f"{rule}: {error}", rule)


class _Cel:
    def __init__(self, rule: CelRule) -> None:
        self.name = f"CEL rule for {rule.group or 'core'}/{rule.kind} ({rule.origin})"
        self.origin = rule.origin
        self.programs: list[tuple[str, HealthStatus, Any]] = []
        self.error = ""
        wanted = (
            ("inProgress", HealthStatus.PROGRESSING, rule.in_progress),
            ("failed", HealthStatus.DEGRADED, rule.failed),
            ("current", HealthStatus.HEALTHY, rule.current),
        )
        import cel  # noqa: PLC0415 - loaded by the first CEL rule: it brings prompt_toolkit (0.15 s)

        for label, verdict, source in wanted:
            if not source:
                continue
            try:
                self.programs.append((label, verdict, cel.compile(source)))
            except Exception as exc:
                self.error = f"{label}: {_first_line(exc)}"
                return

    def assess(self, obj: Obj) -> Health:
        if self.error:
            return unknown(self.name, self.error)
        names = {"metadata": {}, "spec": {}, "status": {}, **obj}
        for label, verdict, program in self.programs:
            try:
                value = program.execute(names)
            except Exception as exc:
                return unknown(self.name, f"{label}: {_first_line(exc)}")
            if not isinstance(value, bool):
                return unknown(self.name, f"{label}: gave {type(value).__name__}, not a bool")
            if value:
                return Health(verdict, f"{label} is true", self.name)
        return Health(HealthStatus.PROGRESSING, "no expression is true yet", self.name)


class _Lua:
    """Argo CD ``health.lua`` scripts, run one at a time in one sandbox (:mod:`.lua`)."""

    def __init__(self) -> None:
        self.sandbox = LuaSandbox()

    def assess(self, script: LuaScript, name: str, obj: Obj) -> Health:
        try:
            ok, result = self.sandbox.run(script.source, script.origin, obj)
        except LuaMemoryError:
            return unknown(name, f"over the memory limit of {MEMORY // (1024 * 1024)} MiB")
        except Exception as exc:
            return unknown(name, _first_line(exc))
        if not ok:
            return unknown(name, str(result))
        if result is None:
            return unknown(name, "the script must return a table with a status field")
        state, message = result
        verdict = _FOR_STATUS.get(state)
        if verdict is None:
            return unknown(name, f"unknown status {state!r}")
        return Health(verdict, message, name)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no such field {exc}"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class UserRules:
    """The rules users wrote, by group and kind; they take precedence over the built-in ones."""

    def __init__(self, cel_rules: Iterable[CelRule] = (), lua_scripts: Iterable[LuaScript] = ()) -> None:
        self._cel = {(r.group, r.kind): _Cel(r) for r in cel_rules}
        self._lua = {(s.group, s.kind): s for s in lua_scripts}
        self._runner: _Lua | None = None

    def __bool__(self) -> bool:
        return bool(self._cel or self._lua)

    def kinds(self) -> Mapping[tuple[str, str], str]:
        out = {k: "lua" for k in self._lua}
        out.update({k: "cel" for k in self._cel})
        return out

    def over(self, base: UserRules) -> UserRules:
        """These rules on top of ``base``: for a kind both name, this one's rule
        (Lua or CEL) replaces the base's."""
        if not self or not base:
            return self or base
        mine = set(self._cel) | set(self._lua)
        out = UserRules()
        out._cel = {k: v for k, v in base._cel.items() if k not in mine} | self._cel
        out._lua = {k: v for k, v in base._lua.items() if k not in mine} | self._lua
        return out

    def problems(self) -> list[str]:
        """What keeps a rule from ever giving a verdict: a CEL expression that
        does not compile, a Lua script with a syntax error; each names where
        the rule came from."""
        found = [f"{rule.name}: {rule.error}" for rule in self._cel.values() if rule.error]
        if self._lua:
            sandbox = LuaSandbox()
            for script in self._lua.values():
                error = sandbox.syntax_error(script.source, script.origin)
                if error is not None:
                    found.append(error)
        return found

    def assess(self, obj: Obj, group: str, kind: str) -> Health | None:
        """The verdict of the user's rule for this kind (Lua before CEL), or None without one."""
        script = self._lua.get((group, kind))
        if script is not None:
            if self._runner is None:
                self._runner = _Lua()
            name = f"Lua health script for {group or 'core'}/{kind} ({script.origin})"
            return self._runner.assess(script, name, obj)
        rule = self._cel.get((group, kind))
        return rule.assess(obj) if rule is not None else None
